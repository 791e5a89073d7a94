// Hostile and careless input to the storage layer, as a user meets it:
// option values checked on every backend, bounded error messages, no
// secrets from URIs in errors, and reads that never create directories.
import { existsSync } from "node:fs";
import { join } from "node:path";
import * as lancedb from "../lib";
import { expectCode, memoryUri, tempDir } from "./helpers/tmp";

const KEYS = { awsAccessKeyId: "AKIDTEST", awsSecretAccessKey: "secret-test-value" };

describe("option values are checked whatever the backend", () => {
  test.each([["memory"], ["local"]])("%s: a bad client timeout is INVALID_STORAGE_OPTION naming the key", async (kind) => {
    const { dir, cleanup } = tempDir();
    try {
      const uri = kind === "memory" ? memoryUri() : dir;
      await expectCode(lancedb.connect(uri, { storageOptions: { timeout: "sixty" } }), "INVALID_STORAGE_OPTION", /'timeout'.*duration/);
      await expectCode(lancedb.connect(uri, { storageOptions: { awsServerSideEncryption: "rot13" } }), "INVALID_STORAGE_OPTION", /'awsServerSideEncryption'/);
    } finally {
      cleanup();
    }
  });

  test("general client keys given on local and memory are reported as not applying", async () => {
    const db = await lancedb.connect(memoryUri(), { storageOptions: { timeout: "5s", clientMaxRetries: 2, awsRegion: "x", uploadConcurrency: 3 } });
    const eff = db.effectiveStorageOptions();
    expect(eff.find((e) => e.key === "timeout")).toMatchObject({ value: "5s", source: "connection", givenAs: "timeout", applies: false });
    expect(eff.find((e) => e.key === "client_max_retries")).toMatchObject({ value: "2", applies: false });
    expect(eff.find((e) => e.key === "upload_concurrency")).toMatchObject({ value: "3", applies: true });
    expect(eff.map((e) => e.key)).not.toContain("aws_region");
  });

  test("out-of-range sizes and counts are errors with the accepted range, not clamps", async () => {
    await expectCode(lancedb.connect(memoryUri(), { storageOptions: { uploadPartSize: "1MiB" } }), "INVALID_STORAGE_OPTION", /'uploadPartSize'.*5MiB \(5242880 bytes\) to 5GiB/);
    await expectCode(lancedb.connect(memoryUri(), { storageOptions: { uploadConcurrency: 0 } }), "INVALID_STORAGE_OPTION", /'uploadConcurrency'.*from 1 to 256/);
  });

  test("the default region shows in the effective configuration", async () => {
    const db = await lancedb.connect("s3://bucket/db", { storageOptions: KEYS });
    expect(db.effectiveStorageOptions().find((e) => e.key === "aws_region")).toMatchObject({ value: "us-east-1", source: "default", applies: true });
  });
});

describe("huge input gives bounded messages", () => {
  const bounded = (msg: string, n: number) => {
    expect(msg.length).toBeLessThan(1000);
    expect(msg).toContain(`… (${n} characters)`);
  };

  test("a 1 MB unknown key", async () => {
    const key = "k".repeat(1 << 20);
    const t0 = Date.now();
    const err = await expectCode(lancedb.connect(memoryUri(), { storageOptions: { [key]: "x" } }), "UNKNOWN_STORAGE_OPTION");
    bounded(err.message, 1 << 20);
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  test("a 10 MB option value", async () => {
    const err = await expectCode(lancedb.connect(memoryUri(), { storageOptions: { timeout: "v".repeat(10 << 20) } }), "INVALID_STORAGE_OPTION");
    bounded(err.message, 10 << 20);
  });

  test("a 100,000-character table name", async () => {
    const db = await lancedb.connect(memoryUri());
    const err = await expectCode(db.openTable("t".repeat(100_000)), "INVALID_TABLE_NAME");
    bounded(err.message, 100_000);
  });
});

test("credentials in a URI are refused and never echoed", async () => {
  const err = await expectCode(lancedb.connect("s3://AKID:SECRETVALUE123@bucket/db"), "INVALID_URI", /credentials in the URI/);
  expect(err.message).not.toContain("SECRETVALUE123");
  expect(err.message).not.toContain("AKID");
});

test("reads of a missing local database create nothing; the first write creates it", async () => {
  const { dir, cleanup } = tempDir();
  try {
    const deep = join(dir, "nonexistent", "deep");
    const db = await lancedb.connect(`file://${deep}`);
    expect(await db.tableNames()).toEqual([]);
    await expectCode(db.openTable("t"), "TABLE_NOT_FOUND");
    expect(existsSync(join(dir, "nonexistent"))).toBe(false);
    await db.createTable("t", [{ a: 1 }]);
    expect(existsSync(deep)).toBe(true);
    expect(await db.tableNames()).toEqual(["t"]);
    expect(await (await db.openTable("t")).countRows()).toBe(1);
  } finally {
    cleanup();
  }
});
