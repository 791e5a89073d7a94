// One library's side of the benchmark, in its own process so peak RSS is
// its own. Prints JSON: { op: [ms, ...], peakRssMb }.
//   node bench/worker.mjs stowage|lancedb <dir> <rows> <dim>
import { createRequire } from "node:module";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";

const require = createRequire(import.meta.url);
// The CommonJS build, the one both libraries load: two copies of
// apache-arrow (ESM and CJS) would break their instanceof checks.
const { Field, FixedSizeList, Float32, Int32, Schema, Table, Utf8, makeData, makeVector, vectorFromArray, RecordBatch, Struct } =
  require("apache-arrow");
const [lib, dir, rowsArg, dimArg] = process.argv.slice(2);
const ROWS = Number(rowsArg ?? 100000);
const DIM = Number(dimArg ?? 128);
const db_mod = lib === "stowage" ? require("../dist/index.js") : require("@lancedb/lancedb");

function rng(seed) {
  let s = seed >>> 0;
  return () => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32;
}

// The same Arrow table for both libraries: int id, short string, 128-d float32 vector.
function makeTable(n, start, seed) {
  const rand = rng(seed);
  const ids = new Int32Array(n);
  const names = new Array(n);
  const values = new Float32Array(n * DIM);
  for (let i = 0; i < n; i++) {
    ids[i] = start + i;
    names[i] = `item-${(start + i) % 1000}`;
  }
  for (let i = 0; i < values.length; i++) values[i] = rand() * 2 - 1;
  const vecType = new FixedSizeList(DIM, new Field("item", new Float32(), true));
  const child = makeData({ type: new Float32(), length: n * DIM, data: values });
  const vecData = makeData({ type: vecType, length: n, nullCount: 0, child });
  const schema = new Schema([
    new Field("id", new Int32(), true),
    new Field("name", new Utf8(), true),
    new Field("vector", vecType, true),
  ]);
  const idVec = makeVector(ids);
  const nameVec = vectorFromArray(names, new Utf8());
  const struct = makeData({
    type: new Struct(schema.fields),
    length: n,
    nullCount: 0,
    children: [idVec.data[0], nameVec.data[0], vecData],
  });
  return new Table(schema, new RecordBatch(schema, struct));
}

const timings = {};
async function time(op, fn, reps = 1) {
  const out = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await fn(i);
    out.push(performance.now() - t0);
  }
  timings[op] = out;
}

const data = makeTable(ROWS, 0, 1);
const appends = Array.from({ length: 10 }, (_, i) => makeTable(1000, ROWS + i * 1000, 100 + i));
const queries = Array.from({ length: 20 }, (_, i) => {
  const r = rng(1000 + i);
  return Array.from({ length: DIM }, () => r() * 2 - 1);
});

const path = join(dir, lib);
rmSync(path, { recursive: true, force: true });
const db = await db_mod.connect(path);

// Three fresh creates; the last table stays for the reads.
await time("createTable", async (i) => db.createTable(`t${i}`, data, { mode: "overwrite" }), 3);
let table;
await time("openTable", async () => (table = await db.openTable("t2")), 5);
await time("countRows", async () => table.countRows(), 5);
await time("fullScanToArrow", async () => {
  const t = await table.query().toArrow();
  if (t.numRows !== ROWS) throw new Error(`scan returned ${t.numRows}`);
}, 5);
await time("filterIdGtHalfLimit100", async () => {
  const t = await table.query().where(`id > ${ROWS / 2}`).limit(100).toArrow();
  if (t.numRows !== 100) throw new Error(`filter returned ${t.numRows}`);
}, 5);
await time("flatSearchTop10", async (i) => {
  const r = await table.search(queries[i]).distanceType("l2").limit(10).toArrow();
  if (r.numRows !== 10) throw new Error(`search returned ${r.numRows}`);
}, 20);
await time("append1k", async (i) => table.add(appends[i]), 10);
if ((await table.countRows()) !== ROWS + 10000) throw new Error("append count wrong");

process.stdout.write(JSON.stringify({ timings, peakRssMb: process.resourceUsage().maxRSS / 1024 }));
