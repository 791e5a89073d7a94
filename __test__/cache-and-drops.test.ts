// The column cache size as a storage option (with STOWAGE_CACHE_MB as its environment fallback), and
// Azure dropTable: batch delete with an account key, and over an account SAS the fallback to
// blob-by-blob deletes when the batch is refused (azurite's 500, or a 403).
import { spawnSync } from "child_process";
import * as http from "http";
import * as os from "os";
import * as fs from "fs";
import * as path from "path";
import * as lancedb from "../lib";
import { azureAccountSas, more, records, uniq } from "./helpers/cloud";
import { azureCreateContainer, azureListBlobs, useEmulators } from "./helpers/emulators";
import type { AzureEndpoint } from "./helpers/emulators";

jest.setTimeout(60_000);

let az: AzureEndpoint;
let stop: () => Promise<void>;

beforeAll(async () => {
  const r = await useEmulators(["azure"]);
  az = r.endpoints.azure!;
  stop = r.stop;
});
afterAll(() => stop());

describe("column cache size", () => {
  test("an option in bytes, shown in the effective configuration; 0 disables the cache and reads stay right", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cache-opt-"));
    const db = await lancedb.connect(dir, { storageOptions: { columnCacheSize: "1MiB" } });
    expect(db.effectiveStorageOptions().find((e) => e.key === "column_cache_size")).toMatchObject({ source: "connection", givenAs: "columnCacheSize" });
    const t = await db.createTable("t", records);
    expect((await t.query().toArray()).length).toBe(2);
    const off = await db.openTable("t", { storageOptions: { cacheSize: 0 } });
    expect(off.effectiveStorageOptions().find((e) => e.key === "column_cache_size")).toMatchObject({ source: "table", givenAs: "cacheSize" });
    await off.add(more);
    expect((await off.query().toArray()).map((r) => r.id).sort()).toEqual([1, 2, 3]);
    const bad = await lancedb.connect(dir, { storageOptions: { columnCacheSize: "lots" } }).catch((e) => e);
    expect(bad.code).toBe("INVALID_STORAGE_OPTION");
    expect(bad.message).toContain("columnCacheSize");
    const dflt = (await lancedb.connect(dir)).effectiveStorageOptions().find((e) => e.key === "column_cache_size");
    expect(dflt?.source).toBe("default");
  });

  test("STOWAGE_CACHE_MB (MiB) is the environment fallback; STOWAGE_CACHE_SIZE takes bytes", () => {
    const script = `require(${JSON.stringify(path.join(__dirname, "..", "dist", "index.js"))}).connect(${JSON.stringify(os.tmpdir())}).then(db => console.log(JSON.stringify(db.effectiveStorageOptions().find(e => e.key === "column_cache_size"))))`;
    const run = (env: Record<string, string>) => {
      const r = spawnSync(process.execPath, ["-e", script], { env: { PATH: process.env.PATH ?? "", ...env }, encoding: "utf8" });
      expect(r.stderr).toBe("");
      return JSON.parse(r.stdout);
    };
    const mb = run({ STOWAGE_CACHE_MB: "64" });
    expect(mb).toMatchObject({ source: "env", givenAs: "STOWAGE_CACHE_MB" });
    const bytes = run({ STOWAGE_CACHE_SIZE: String(64 << 20) });
    expect(bytes).toMatchObject({ source: "env", givenAs: "STOWAGE_CACHE_SIZE" });
    expect(bytes.value).toBe(mb.value);
    expect(run({ STOWAGE_CACHE_MB: "0" }).value).not.toBe(mb.value);
  });
});

/** A reverse proxy to azurite that records requests and can refuse batch deletes with 403. */
async function azureProxy(refuseBatch: boolean) {
  const seen: { method: string; url: string }[] = [];
  const srv = http.createServer((req, res) => {
    seen.push({ method: req.method ?? "", url: req.url ?? "" });
    if (refuseBatch && (req.url ?? "").includes("comp=batch")) {
      req.resume();
      res.writeHead(403, { "content-type": "application/xml" });
      res.end('<?xml version="1.0" encoding="utf-8"?><Error><Code>AuthorizationPermissionMismatch</Code><Message>refused by the test proxy</Message></Error>');
      return;
    }
    const up = http.request({ host: "127.0.0.1", port: az.port, method: req.method, path: req.url, headers: req.headers }, (ur) => {
      res.writeHead(ur.statusCode ?? 502, ur.headers);
      ur.pipe(res);
    });
    up.on("error", () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
  const port = (srv.address() as { port: number }).port;
  return {
    endpoint: `http://127.0.0.1:${port}/${az.account}`,
    seen,
    close: () => new Promise<void>((r) => { srv.closeAllConnections(); srv.close(() => r()); }),
  };
}

describe("Azure dropTable", () => {
  const cases: [string, boolean, boolean, { batch: boolean; singles: boolean }][] = [
    // label, use a SAS, proxy refuses batches, expected requests
    ["account key: one batch delete", false, false, { batch: true, singles: false }],
    // azurite answers 500 to a batch over an account SAS (its sub-requests lose the SAS)
    ["account SAS, batch refused by azurite: falls back to blob by blob", true, false, { batch: true, singles: true }],
    ["account SAS, batch refused with 403: falls back to blob by blob", true, true, { batch: true, singles: true }],
  ];
  test.each(cases)("%s", async (_label, sas, refuse, expected) => {
    const c = uniq("drop");
    await azureCreateContainer(az, c);
    const proxy = await azureProxy(refuse);
    try {
      const auth = sas ? { sasToken: azureAccountSas(az) } : { accountKey: az.key };
      const db = await lancedb.connect(`az://${c}/db`, {
        storageOptions: { accountName: az.account, endpoint: proxy.endpoint, allowHttp: true, clientMaxRetries: 0, ...auth },
      });
      const t = await db.createTable("gone", records);
      await t.add(more);
      await db.createTable("kept", records);
      expect((await azureListBlobs(az, c, "db/gone.stowage/")).length).toBeGreaterThan(2);
      const before = proxy.seen.length;
      await db.dropTable("gone");
      const drop = proxy.seen.slice(before);
      expect(drop.some((r) => r.method === "POST" && r.url.includes("comp=batch"))).toBe(expected.batch);
      expect(drop.some((r) => r.method === "DELETE")).toBe(expected.singles);
      expect(await azureListBlobs(az, c, "db/gone.stowage/")).toEqual([]);
      expect(await db.tableNames()).toEqual(["kept"]);
      expect(await (await db.openTable("kept")).countRows()).toBe(2);
    } finally {
      await proxy.close();
    }
  });
});
