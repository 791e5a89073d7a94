/**
 * A fresh, empty place for a table on each store the suites run against (a temp directory, a new
 * bucket on moto, a bucket plus a DynamoDB commit table, a new GCS bucket or Azure container),
 * and the one way the multi-process suites run a fixture and read its output lines.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { azureOptions, gcsOptions, s3Options, uniq } from "./cloud";
import { ddbCreateTable } from "./ddb";
import { azureCreateContainer, Endpoints, gcsCreateBucket, s3CreateBucket } from "./emulators";
import { tempDir } from "./tmp";

export type StoreKind = "local" | "s3" | "s3+ddb" | "gcs" | "azure";

export interface Store {
  uri: string;
  options: Record<string, unknown>;
  /** the bucket or container (cloud stores) */
  bucket?: string;
  /** the DynamoDB commit table (s3+ddb) */
  ddbTable?: string;
}

/** A new empty database location on `kind`; `emu` must have the store's emulator started. */
export async function freshStore(emu: Endpoints, kind: StoreKind): Promise<Store> {
  const bucket = uniq("st").toLowerCase();
  switch (kind) {
    case "local":
      return { uri: tempDir().dir, options: {} };
    case "s3":
      await s3CreateBucket(emu.s3!, bucket);
      return { uri: `s3://${bucket}/db`, options: s3Options(emu.s3!), bucket };
    case "s3+ddb": {
      const ddbTable = uniq("commits");
      await s3CreateBucket(emu.s3!, bucket);
      await ddbCreateTable(emu.s3!, ddbTable);
      return { uri: `s3+ddb://${bucket}/db?ddbTableName=${ddbTable}`, options: s3Options(emu.s3!), bucket, ddbTable };
    }
    case "gcs":
      await gcsCreateBucket(emu.gcs!, bucket);
      return { uri: `gs://${bucket}/db`, options: gcsOptions(emu.gcs!), bucket };
    case "azure":
      await azureCreateContainer(emu.azure!, bucket);
      return { uri: `az://${bucket}/db`, options: azureOptions(emu.azure!), bucket };
  }
}

/** `[label, setup]` rows for describe.each / test.each, one per store kind. */
export function storeCases(emu: Endpoints, kinds: StoreKind[]): [string, () => Promise<Store>][] {
  const label: Record<StoreKind, string> = { local: "local", s3: "s3 (moto)", "s3+ddb": "s3+ddb (moto)", gcs: "gcs", azure: "azure" };
  return kinds.map((k) => [label[k], () => freshStore(emu, k)]);
}

/** Runs fixtures/`fixture` with `args` to its end; resolves with its non-empty stdout lines. */
export function runFixture(fixture: string, args: string[]): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(__dirname, "..", "fixtures", fixture), ...args], {
      env: { ...process.env },
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.on("error", reject);
    child.on("close", () => resolve(out.split("\n").filter(Boolean)));
  });
}
