// Cold reads: requests and bytes to moto (S3) through a counting proxy, and
// cold local reads, for Stowage and @lancedb/lancedb 0.31.0 in the same run.
//   node bench/cold.mjs [rows=100000] [dim=128]
// Starts its own moto (scripts/emulators/servers.js). Prints two tables (each step in a fresh
// process; the sequence on one connection) and cold local times; not a test.
import { createRequire } from "node:module";
import { mkdtempSync, rmSync } from "node:fs";
import * as http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";

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

// Every measured reader runs in a child process of its own (the same script with --child), so
// nothing one reading caches (Parquet footers, columns, index objects, rows) helps another: a
// "first" step is first for the whole process. The parent counts what reaches moto through the
// proxy between a step's start and end.
async function child(lib, bucket, table, readConsistencyInterval) {
  const c = fork(fileURLToPath(import.meta.url), ["--child"], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const pending = [];
  c.on("message", (m) => pending.shift()?.(m));
  const ask = (msg) =>
    new Promise((resolve, reject) => {
      pending.push((m) => (m.error ? reject(new Error(`${lib} ${msg.step}: ${m.error}`)) : resolve(m)));
      c.send(msg);
    });
  await ask({ step: "init", lib, bucket, table, readConsistencyInterval, dim: DIM });
  return { ask, close: () => c.kill() };
}

async function runChild() {
  let m, t, db, q, init;
  const steps = {
    open: async () => {
      db = await m.connect(`s3://${init.bucket}/db`, { storageOptions: opts(init.endpoint, init.lib), readConsistencyInterval: init.readConsistencyInterval });
      t = await db.openTable(init.table);
      await t.countRows();
    },
    count: () => t.countRows(),
    scan: () => t.query().toArrow(),
    filter: () => t.query().where("id > 50000").limit(100).toArray(),
    search: () => t.search(q).limit(10).toArray(),
    prewarm: () => t.prewarmData(),
  };
  process.on("message", async (msg) => {
    try {
      if (msg.step === "init") {
        init = msg;
        m = init.lib === "stowage" ? require("../dist/index.js") : require("@lancedb/lancedb");
        q = new Float32Array(init.dim).fill(0.1);
        init.endpoint = process.env.COLD_ENDPOINT;
      } else await steps[msg.step]();
      process.send({ ok: true });
    } catch (e) {
      process.send({ error: String(e?.message ?? e) });
    }
  });
}

async function cloud(lib, endpoint, proxy, data) {
  const m = libs[lib];
  const bucket = `cold-${lib}-${Date.now()}`;
  await s3Put(endpoint, bucket);
  const writer = await m.connect(`s3://${bucket}/db`, { storageOptions: opts(endpoint, lib) });
  await writer.createTable("t", data);
  const indexed = await writer.createTable("ti", data);
  await indexed.createIndex("vector", { config: m.Index.ivfPq({ numPartitions: 100, numSubVectors: 16 }) });
  process.env.COLD_ENDPOINT = proxy.url;
  const step = async (c, name) => {
    const before = { ...proxy.c };
    await c.ask({ step: name });
    return { requests: proxy.c.requests - before.requests, bytes: proxy.c.bytes - before.bytes };
  };
  const isolated = {};
  let c = await child(lib, bucket, "t");
  isolated["connect+openTable+countRows"] = await step(c, "open");
  isolated["repeat countRows"] = await step(c, "count");
  c.close();
  for (const name of ["scan", "filter", "search"]) {
    c = await child(lib, bucket, "t");
    await step(c, "open");
    isolated[`first ${name}`] = await step(c, name);
    isolated[`repeat ${name}`] = await step(c, name);
    c.close();
  }
  c = await child(lib, bucket, "ti");
  await step(c, "open");
  isolated["first search (IVF-PQ index)"] = await step(c, "search");
  isolated["repeat search (IVF-PQ index)"] = await step(c, "search");
  c.close();
  // The sequence on one connection: what earlier steps read counts.
  const sequence = {};
  c = await child(lib, bucket, "t");
  sequence["connect+openTable+countRows"] = await step(c, "open");
  for (const name of ["scan", "filter", "search"]) sequence[`first ${name}`] = await step(c, name);
  for (const name of ["count", "scan", "filter", "search"]) sequence[`repeat ${name}`] = await step(c, name);
  c.close();
  // With readConsistencyInterval 0 every read may check for a newer version (one request).
  c = await child(lib, bucket, "t", 0);
  await step(c, "open");
  await step(c, "search");
  sequence["repeat search, readConsistencyInterval 0"] = await step(c, "search");
  c.close();
  if (lib === "stowage") {
    c = await child(lib, bucket, "t");
    await step(c, "open");
    sequence["prewarmData() (all columns)"] = await step(c, "prewarm");
    for (const name of ["scan", "filter", "search"]) sequence[`${name} after prewarmData`] = await step(c, name);
    c.close();
  }
  return { isolated, sequence };
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

function table(title, a, b) {
  console.log(`\n${title}`);
  console.log("| step | stowage req | stowage bytes | lancedb req | lancedb bytes | req ratio (stowage/ref) | bytes ratio (stowage/ref) |");
  console.log("|---|---:|---:|---:|---:|---:|---:|");
  const ratio = (x, y) => (y ? (x / y).toFixed(2) : "-");
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const x = a[k] ?? { requests: "-", bytes: "-" };
    const y = b[k] ?? { requests: "-", bytes: "-" };
    console.log(`| ${k} | ${x.requests} | ${x.bytes} | ${y.requests} | ${y.bytes} | ${ratio(x.requests, y.requests)} | ${ratio(x.bytes, y.bytes)} |`);
  }
}

if (process.argv.includes("--child")) {
  await runChild();
} else {
  const emu = await servers.start(["s3"], { file: join(tmpdir(), `cold-emu-${process.pid}.json`) });
  try {
    const data = makeTable(ROWS);
    const proxy = await countingProxy(emu.s3.endpoint);
    const res = {};
    for (const lib of ["stowage", "lancedb"]) res[lib] = await cloud(lib, emu.s3.endpoint, proxy, data);
    proxy.close();
    console.log(`S3 (moto through a counting proxy), ${ROWS} rows x ${DIM}-d; requests / response bytes`);
    table("Reading 1: each step in a fresh process (first = nothing cached)", res.stowage.isolated, res.lancedb.isolated);
    table("Reading 2: the issue's sequence on one connection (earlier steps' caches count)", res.stowage.sequence, res.lancedb.sequence);
    const loc = { stowage: await local("stowage", data), lancedb: await local("lancedb", data) };
    console.log("\nCold local reads (median of 3, ms; Stowage with columnCacheSize 0)");
    console.log("| step | stowage ms | lancedb ms | speed-up |");
    console.log("|---|---:|---:|---:|");
    for (const k of Object.keys(loc.stowage)) console.log(`| ${k} | ${loc.stowage[k].toFixed(1)} | ${loc.lancedb[k].toFixed(1)} | ${(loc.lancedb[k] / loc.stowage[k]).toFixed(2)}x |`);
  } finally {
    await emu.stop();
  }
}
