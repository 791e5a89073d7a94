// A store that silently ignores If-None-Match (as some S3-compatible servers
// and proxies do) must be detected, not trusted: the reference package lost
// acknowledged rows behind such a proxy. Here a loopback proxy in front of
// moto strips the header; Stowage probes once, refuses to commit with a
// clear error naming the fixes, and the explicit opt-out works for a single
// writer.
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as lancedb from "../lib";
import { s3Options, uniq } from "./helpers/cloud";
import { readEndpoints, s3CreateBucket, s3ListObjects, useEmulators } from "./helpers/emulators";
import type { Endpoints } from "./helpers/emulators";

let emu: Endpoints;
let stopEmu: () => Promise<void> = async () => undefined;
let proxy: http.Server;
let proxyUrl: string;
let stripped = 0;

beforeAll(async () => {
  stopEmu = (await useEmulators(["s3"])).stop;
  emu = readEndpoints();
  const target = new URL(emu.s3!.endpoint);
  proxy = http.createServer((req, res) => {
    const headers = { ...req.headers };
    if (headers["if-none-match"] !== undefined) {
      stripped++;
      delete headers["if-none-match"];
    }
    const up = http.request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      },
    );
    up.on("error", () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
}, 120000);

afterAll(async () => {
  await new Promise((r) => proxy.close(r));
  await stopEmu();
});

test("a store that drops If-None-Match is detected before any commit", async () => {
  const bucket = uniq("strip").toLowerCase();
  await s3CreateBucket(emu.s3!, bucket);
  const options = s3Options(emu.s3!, { endpoint: proxyUrl });
  const db = await lancedb.connect(`s3://${bucket}/db`, { storageOptions: options as never });
  const err = await db.createTable("t", [{ id: 1 }]).catch((e) => e);
  expect(err.code).toBe("CONDITIONAL_PUT_UNSUPPORTED");
  expect(err.message).toMatch(/ignores conditional writes/);
  expect(err.message).toMatch(/s3\+ddb:\/\/bucket\/path\?ddbTableName=T/);
  expect(err.message).toMatch(/awsConditionalPut: "disabled"/);
  expect(stripped).toBeGreaterThan(0);
  // Nothing was committed: no manifest, no probe left behind.
  const keys = await s3ListObjects(emu.s3!, bucket);
  expect(keys.filter((k) => k.includes("_versions/") || k.includes("_stowage_probe"))).toEqual([]);
  await expect(db.openTable("t")).rejects.toMatchObject({ code: "TABLE_NOT_FOUND" });
});

test("the same server reached directly honours the condition, and commits work", async () => {
  const bucket = uniq("direct").toLowerCase();
  await s3CreateBucket(emu.s3!, bucket);
  const db = await lancedb.connect(`s3://${bucket}/db`, { storageOptions: s3Options(emu.s3!) as never });
  const t = await db.createTable("t", [{ id: 1 }]);
  await t.add([{ id: 2 }]);
  expect(await t.countRows()).toBe(2);
});

test("explicit opt-out (awsConditionalPut: disabled) commits through the stripping proxy, for a single writer", async () => {
  const bucket = uniq("optout").toLowerCase();
  await s3CreateBucket(emu.s3!, bucket);
  const options = s3Options(emu.s3!, { endpoint: proxyUrl, awsConditionalPut: "disabled" });
  const db = await lancedb.connect(`s3://${bucket}/db`, { storageOptions: options as never });
  expect(db.effectiveStorageOptions().find((e) => e.key === "aws_conditional_put")).toMatchObject({ value: "disabled", source: "connection" });
  const t = await db.createTable("t", [{ id: 1 }]);
  await t.add([{ id: 2 }]);
  expect(await (await db.openTable("t")).countRows()).toBe(2);
});
