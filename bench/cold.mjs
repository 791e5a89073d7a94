// Cold reads: requests and bytes to moto (S3) through a counting proxy, and
// cold local reads, for Stowage and @lancedb/lancedb 0.31.0 in the same run.
//   node bench/cold.mjs [rows=100000] [dim=128]
// Starts its own moto (scripts/emulators/servers.js). Prints a table; not a test.
import { createRequire } from "node:module";
import { mkdtempSync, rmSync } from "node:fs";
import * as http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";

const require = createRequire(import.meta.url);
const { Field, FixedSizeList, Float32, Int32, Schema, Table, Utf8, makeData, makeVector, vectorFromArray, RecordBatch, Struct } = require("apache-arrow");
const servers = require("../scripts/emulators/servers.js");
const libs = { stowage: require("../dist/index.js"), lancedb: require("@lancedb/lancedb") };

const ROWS = Number(process.argv[2] ?? 100000);
const DIM = Number(process.argv[3] ?? 128);

function rng(seed) {
  let s = seed >>> 0;
  return () => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32;
}

function makeTable(n) {
  const rand = rng(7);
  const ids = new Int32Array(n);
  const names = new Array(n);
  const values = new Float32Array(n * DIM);
  for (let i = 0; i < n; i++) {
    ids[i] = i;
    names[i] = `item-${i % 1000}`;
  }
  for (let i = 0; i < values.length; i++) values[i] = rand() * 2 - 1;
  const vecType = new FixedSizeList(DIM, new Field("item", new Float32(), true));
  const vecData = makeData({ type: vecType, length: n, nullCount: 0, child: makeData({ type: new Float32(), length: n * DIM, data: values }) });
  const schema = new Schema([new Field("id", new Int32(), true), new Field("name", new Utf8(), true), new Field("vector", vecType, true)]);
  const struct = makeData({ type: new Struct(schema.fields), length: n, nullCount: 0, children: [makeVector(ids).data[0], vectorFromArray(names, new Utf8()).data[0], vecData] });
  return new Table(schema, new RecordBatch(schema, struct));
}

/** A reverse proxy in front of moto counting requests and response bytes. */
function countingProxy(target) {
  const t = new URL(target);
  const c = { requests: 0, bytes: 0 };
  const srv = http.createServer((req, res) => {
    c.requests++;
    const up = http.request({ host: t.hostname, port: t.port, method: req.method, path: req.url, headers: req.headers }, (ur) => {
      res.writeHead(ur.statusCode ?? 502, ur.headers);
      ur.on("data", (d) => (c.bytes += d.length));
      ur.pipe(res);
    });
    up.on("error", () => res.destroy());
    req.pipe(up);
  });
  return new Promise((r) => srv.listen(0, "127.0.0.1", () => r({ url: `http://127.0.0.1:${srv.address().port}`, c, close: () => { srv.closeAllConnections(); srv.close(); } })));
}

async function s3Put(endpoint, bucket) {
  await new Promise((resolve, reject) => {
    const u = new URL(`${endpoint}/${bucket}`);
    const req = http.request({ host: u.hostname, port: u.port, path: u.pathname, method: "PUT", headers: { authorization: "AWS4-HMAC-SHA256 Credential=test/20250101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0" } }, (res) => {
      res.resume();
      res.on("end", resolve);
    });
    req.on("error", reject);
    req.end();
  });
}

const opts = (endpoint, lib) =>
  lib === "stowage"
    ? { endpoint, region: "us-east-1", awsAccessKeyId: "test", awsSecretAccessKey: "test", allowHttp: true }
    : { endpoint, region: "us-east-1", aws_access_key_id: "test", aws_secret_access_key: "test", allow_http: "true" };

async function measure(proxy, fn) {
  const before = { ...proxy.c };
  const t0 = performance.now();
  await fn();
  return { requests: proxy.c.requests - before.requests, bytes: proxy.c.bytes - before.bytes, ms: performance.now() - t0 };
}

async function cloud(lib, endpoint, proxy, data) {
  const m = libs[lib];
  const bucket = `cold-${lib}-${Date.now()}`;
  await s3Put(endpoint, bucket);
  const writer = await m.connect(`s3://${bucket}/db`, { storageOptions: opts(endpoint, lib) });
  await writer.createTable("t", data);
  const q = new Float32Array(DIM).fill(0.1);
  const out = {};
  // Each "first" runs on a fresh connection and table handle; for Stowage also with a column cache
  // of its own (a distinct columnCacheSize), so nothing read by an earlier step is reused.
  let fresh = 0;
  const open = async () => {
    const so = opts(proxy.url, lib);
    if (lib === "stowage") so.columnCacheSize = 512 * 2 ** 20 + ++fresh;
    const db = await m.connect(`s3://${bucket}/db`, { storageOptions: so });
    return db.openTable("t");
  };
  let t;
  out["connect+openTable+countRows"] = await measure(proxy, async () => {
    t = await open();
    await t.countRows();
  });
  out["repeat countRows"] = await measure(proxy, () => t.countRows());
  const steps = {
    "full scan": (tt) => tt.query().toArrow(),
    "filtered query id > 50000 limit 100": (tt) => tt.query().where("id > 50000").limit(100).toArray(),
    "vector search top-10": (tt) => tt.search(q).limit(10).toArray(),
  };
  for (const [name, fn] of Object.entries(steps)) {
    const tt = await open();
    out[`first ${name}`] = await measure(proxy, () => fn(tt));
    out[`repeat ${name}`] = await measure(proxy, () => fn(tt));
  }
  return out;
}

async function local(lib, data) {
  const m = libs[lib];
  const dir = mkdtempSync(join(tmpdir(), `cold-${lib}-`));
  const so = lib === "stowage" ? { storageOptions: { columnCacheSize: 0 } } : {};
  const out = { "first full scan (local)": [], "first id > 50000 limit 100 (local)": [] };
  for (let i = 0; i < 3; i++) {
    const w = await m.connect(dir, so);
    await w.createTable(`t${i}`, data);
    let db = await m.connect(dir, so);
    let t = await db.openTable(`t${i}`);
    let t0 = performance.now();
    await t.query().toArrow();
    out["first full scan (local)"].push(performance.now() - t0);
    db = await m.connect(dir, so);
    t = await db.openTable(`t${i}`);
    t0 = performance.now();
    await t.query().where("id > 50000").limit(100).toArray();
    out["first id > 50000 limit 100 (local)"].push(performance.now() - t0);
  }
  rmSync(dir, { recursive: true, force: true });
  const med = (a) => a.sort((x, y) => x - y)[Math.floor(a.length / 2)];
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, med(v)]));
}

const emu = await servers.start(["s3"], { file: join(tmpdir(), `cold-emu-${process.pid}.json`) });
try {
  const data = makeTable(ROWS);
  const proxy = await countingProxy(emu.s3.endpoint);
  const res = {};
  for (const lib of ["stowage", "lancedb"]) res[lib] = await cloud(lib, emu.s3.endpoint, proxy, data);
  proxy.close();
  console.log(`S3 (moto through a counting proxy), ${ROWS} rows x ${DIM}-d; requests / response bytes`);
  console.log("| step | stowage req | stowage bytes | lancedb req | lancedb bytes | req ratio (ref/stowage) |");
  console.log("|---|---:|---:|---:|---:|---:|");
  for (const k of Object.keys(res.stowage)) {
    const a = res.stowage[k];
    const b = res.lancedb[k];
    console.log(`| ${k} | ${a.requests} | ${a.bytes} | ${b.requests} | ${b.bytes} | ${a.requests ? (b.requests / a.requests).toFixed(2) : "-"} |`);
  }
  const loc = { stowage: await local("stowage", data), lancedb: await local("lancedb", data) };
  console.log("\nCold local reads (median of 3, ms; Stowage with columnCacheSize 0)");
  console.log("| step | stowage ms | lancedb ms | speed-up |");
  console.log("|---|---:|---:|---:|");
  for (const k of Object.keys(loc.stowage)) console.log(`| ${k} | ${loc.stowage[k].toFixed(1)} | ${loc.lancedb[k].toFixed(1)} | ${(loc.lancedb[k] / loc.stowage[k]).toFixed(2)}x |`);
} finally {
  await emu.stop();
}
