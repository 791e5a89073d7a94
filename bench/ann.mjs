// Approximate nearest-neighbour benchmark: Stowage vs @lancedb/lancedb 0.31.0
// (IVF-PQ, same options and each library's defaults), Stowage HNSW-SQ vs
// hnswlib-node and usearch. Every build runs in its own child process, so
// build time and peak RSS are its own. Data is deterministic and structured:
// a Gaussian mixture of anisotropic clusters and a low-rank-plus-noise set;
// queries are held-out points; ground truth is exact search.
//   npm run build && node bench/ann.mjs [rows=100000] [dim=128] [queries=200]
//   MOTO=1 also counts requests of a cold and a warm indexed search on moto.
//   ANN_DIR=/some/dir keeps the tables, indexes and ground truth there and
//   reuses them on the next run (only the queries run again: build numbers
//   are those of the run that built); ANN_ONLY=hnsw (or ivf, or
//   "stowage hnsw,hnswlib") runs only the specs whose "lib index" contains
//   one of the comma-separated words; ANN_KINDS=lowrank (or mixture) runs
//   only that data set. Each build also reports its CPU
//   seconds (all threads), steadier than wall time on a busy machine.
//   hnswlib-node and usearch are devDependencies (npm install; NODE_PATH may
//   point at another install of them).
// Never a test: timings depend on the machine. Results: bench/README.md.
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, existsSync, rmSync, writeFileSync, readFileSync, readdirSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import http from "node:http";

const require = createRequire(import.meta.url);
const here = dirname(fileURLToPath(import.meta.url));

// ---- data ----
function lcg(seed) {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) + 0.5) / 2 ** 32;
}
function gaussian(r) {
  let spare = null;
  return () => {
    if (spare !== null) {
      const v = spare;
      spare = null;
      return v;
    }
    const u = r(), v = r();
    const m = Math.sqrt(-2 * Math.log(u));
    spare = m * Math.sin(2 * Math.PI * v);
    return m * Math.cos(2 * Math.PI * v);
  };
}
/** rows + queries as Float32Arrays (row-major). */
function dataset(kind, n, q, dim) {
  const r = lcg(kind === "mixture" ? 11 : 23);
  const g = gaussian(r);
  const total = n + q;
  const out = new Float32Array(total * dim);
  if (kind === "mixture") {
    const k = 100;
    const centers = Float32Array.from({ length: k * dim }, () => g() * 3);
    const scales = Float32Array.from({ length: k * dim }, () => 0.1 + 1.9 * r() ** 2);
    for (let i = 0; i < total; i++) {
      const c = Math.floor(r() * k);
      for (let j = 0; j < dim; j++) out[i * dim + j] = centers[c * dim + j] + g() * scales[c * dim + j];
    }
  } else {
    const rank = 16;
    const a = Float32Array.from({ length: dim * rank }, () => g());
    const z = new Float32Array(rank);
    for (let i = 0; i < total; i++) {
      for (let t = 0; t < rank; t++) z[t] = g();
      for (let j = 0; j < dim; j++) {
        let s = 0;
        for (let t = 0; t < rank; t++) s += a[j * rank + t] * z[t];
        out[i * dim + j] = s + 0.3 * g();
      }
    }
  }
  return { rows: out.subarray(0, n * dim), queries: out.subarray(n * dim) };
}
async function arrowTable(rows, dim) {
  const arrow = require("apache-arrow");
  const n = rows.length / dim;
  const child = new arrow.Field("item", new arrow.Float32(), true);
  const type = new arrow.FixedSizeList(dim, child);
  const values = arrow.makeData({ type: new arrow.Float32(), length: rows.length, data: rows });
  const list = arrow.makeData({ type, length: n, child: values });
  const ids = arrow.makeData({ type: new arrow.Int32(), length: n, data: Int32Array.from({ length: n }, (_, i) => i) });
  const schema = new arrow.Schema([new arrow.Field("id", new arrow.Int32(), false), new arrow.Field("vector", type, true)]);
  const batch = new arrow.RecordBatch(schema, arrow.makeData({ type: new arrow.Struct(schema.fields), length: n, children: [ids, list] }));
  return new arrow.Table([batch]);
}
function dirSize(p) {
  let s = 0;
  for (const e of readdirSync(p, { withFileTypes: true })) {
    const f = join(p, e.name);
    s += e.isDirectory() ? dirSize(f) : statSync(f).size;
  }
  return s;
}
function findDirs(p, name, out = []) {
  for (const e of readdirSync(p, { withFileTypes: true })) {
    if (!e.isDirectory()) continue;
    const f = join(p, e.name);
    if (e.name === name) out.push(f);
    else findDirs(f, name, out);
  }
  return out;
}
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const rssMb = () => process.resourceUsage().maxRSS / 1024;
/** CPU seconds (user + system, all threads) since `c0`: steadier than wall time on a shared machine. */
const cpuSince = (c0) => {
  const d = process.cpuUsage(c0);
  return (d.user + d.system) / 1e6;
};

// ---- one build + sweep, in a child process ----
async function child(spec) {
  const { lib, kind, n, dim, q, index, sweep, dir } = spec;
  const { rows, queries } = dataset(kind, n, q, dim);
  const truth = JSON.parse(readFileSync(spec.truth, "utf8"));
  const qv = Array.from({ length: q }, (_, i) => Array.from(queries.subarray(i * dim, (i + 1) * dim)));
  const res = { lib, kind, index, sweep: [] };
  const recallOf = (got) => {
    let hit = 0;
    got.forEach((g, i) => {
      const t = new Set(truth[i]);
      hit += g.filter((x) => t.has(x)).length;
    });
    return hit / (10 * got.length);
  };
  const run = async (label, search) => {
    for (let i = 0; i < Math.min(10, q); i++) await search(qv[i]); // warm
    const lat = [];
    const got = [];
    for (const v of qv) {
      const t0 = performance.now();
      got.push(await search(v));
      lat.push(performance.now() - t0);
    }
    res.sweep.push({ setting: label, recall: recallOf(got), p50: pct(lat, 50), p95: pct(lat, 95) });
  };
  if (lib === "stowage" || lib === "lancedb") {
    const mod = lib === "stowage" ? await import(join(here, "..", "dist", "index.js")) : await import("@lancedb/lancedb");
    const db = await (mod.connect ?? mod.default.connect)(join(dir, lib));
    const Index = mod.Index ?? mod.default.Index;
    const built = join(dir, "built.json");
    let t;
    if (spec.keep && existsSync(built)) {
      t = await db.openTable("t");
      Object.assign(res, JSON.parse(readFileSync(built, "utf8")), { reused: true });
    } else {
      t = await db.createTable("t", await arrowTable(rows, dim));
      const before = rssMb();
      const t0 = performance.now();
      const cpu0 = process.cpuUsage();
      const opts = index === "ivfpq-same" ? { numPartitions: spec.partitions, numSubVectors: 16 } : {};
      // "hnsw-sq": Stowage's defaults (efConstruction 150); "hnsw-sq-300": hnswlib's
      // efConstruction here; ANN_HNSW_EFC=n overrides both.
      const efc = process.env.ANN_HNSW_EFC ?? (index === "hnsw-sq-300" ? "300" : undefined);
      const hnswOpts = efc ? { efConstruction: Number(efc) } : {};
      await t.createIndex("vector", { config: index.startsWith("hnsw") ? Index.hnswSq(hnswOpts) : Index.ivfPq(opts) });
      res.buildS = (performance.now() - t0) / 1000;
      res.buildCpuS = cpuSince(cpu0);
      res.peakRssMb = rssMb();
      res.rssBeforeBuildMb = before;
      res.indexBytes = findDirs(join(dir, lib), "_indices").reduce((s, d) => s + dirSize(d), 0);
      if (spec.keep) writeFileSync(built, JSON.stringify({ buildS: res.buildS, buildCpuS: res.buildCpuS, peakRssMb: res.peakRssMb, rssBeforeBuildMb: res.rssBeforeBuildMb, indexBytes: res.indexBytes }));
    }
    const ids = async (qb) => (await qb.limit(10).select(["id"]).toArray()).map((r) => Number(r.id));
    // Whole rows (id, vector, _distance) as a user calling toArray() without select() gets them.
    const full = async (qb) => (await qb.limit(10).toArray()).map((r) => Number(r.id));
    if (index.startsWith("hnsw")) {
      for (const ef of [16, 32, 64, 128]) await run(`ef ${ef}`, (v) => ids(t.search(v).ef(ef)));
      await run("ef 64, full rows", (v) => full(t.search(v).ef(64)));
    } else {
      await run("defaults", (v) => ids(t.search(v)));
      for (const np of [5, 10, 20, 40]) {
        for (const rf of [1, 5, 10, 20]) await run(`nprobes ${np}, refine ${rf}`, (v) => ids(t.search(v).nprobes(np).refineFactor(rf)));
      }
      await run("nprobes 10, refine 10, full rows", (v) => full(t.search(v).nprobes(10).refineFactor(10)));
    }
  } else if (lib === "hnswlib") {
    const { HierarchicalNSW } = require("hnswlib-node");
    const h = new HierarchicalNSW("l2", dim);
    const saved = join(dir, "hnswlib.bin");
    if (spec.keep && existsSync(saved)) {
      h.readIndexSync(saved);
      Object.assign(res, JSON.parse(readFileSync(join(dir, "built.json"), "utf8")), { reused: true });
    } else {
      const before = rssMb();
      const t0 = performance.now();
      const cpu0 = process.cpuUsage();
      h.initIndex(n, 20, 300);
      for (let i = 0; i < n; i++) h.addPoint(Array.from(rows.subarray(i * dim, (i + 1) * dim)), i);
      res.buildS = (performance.now() - t0) / 1000;
      res.buildCpuS = cpuSince(cpu0);
      res.peakRssMb = rssMb();
      res.rssBeforeBuildMb = before;
      if (spec.keep) {
        h.writeIndexSync(saved);
        writeFileSync(join(dir, "built.json"), JSON.stringify({ buildS: res.buildS, buildCpuS: res.buildCpuS, peakRssMb: res.peakRssMb, rssBeforeBuildMb: res.rssBeforeBuildMb }));
      }
    }
    for (const ef of [16, 32, 64, 128]) {
      h.setEf(ef);
      await run(`ef ${ef}`, async (v) => h.searchKnn(v, 10).neighbors);
    }
  } else if (lib === "usearch") {
    const usearch = require("usearch");
    const before = rssMb();
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    const idx = new usearch.Index({ metric: "l2sq", dimensions: dim, connectivity: 20, expansion_add: 300 });
    idx.add(BigUint64Array.from({ length: n }, (_, i) => BigInt(i)), rows);
    res.buildS = (performance.now() - t0) / 1000;
    res.buildCpuS = cpuSince(cpu0);
    res.peakRssMb = rssMb();
    res.rssBeforeBuildMb = before;
    await run("default expansion_search", async (v) => Array.from(idx.search(Float32Array.from(v), 10).keys, Number));
  }
  process.stdout.write(JSON.stringify(res));
}

// ---- request counts on moto: one process writes, a fresh one (cold caches) reads ----
async function motoSearch(spec) {
  const { endpoint, n, dim, bucket } = spec;
  const target = new URL(endpoint);
  let count = 0;
  const proxy = http.createServer((req, res) => {
    count++;
    const up = http.request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode, r.headers);
      r.pipe(res);
    });
    up.on("error", () => res.destroy());
    req.pipe(up);
  });
  await new Promise((r) => proxy.listen(0, "127.0.0.1", r));
  const opts = { awsAccessKeyId: "testing", awsSecretAccessKey: "testing", region: "us-east-1", endpoint: `http://127.0.0.1:${proxy.address().port}`, allowHttp: true };
  const mod = await import(join(here, "..", "dist", "index.js"));
  const { rows, queries } = dataset("mixture", n, 2, dim);
  {
    // Writer connection (its caches are process-wide, so the reader below
    // runs in a fresh process).
    const db = await mod.connect(`s3://${bucket}/db`, { storageOptions: opts });
    const t = await db.createTable("t", await arrowTable(rows, dim));
    await t.createIndex("vector", { config: mod.Index.ivfPq() });
  }
  proxy.close();
  const reader = await new Promise((resolve) => {
    const c = spawn(process.execPath, [fileURLToPath(import.meta.url), "--moto-read", JSON.stringify({ endpoint, dim, bucket, q: Array.from(queries.subarray(0, dim)) })], { stdio: ["ignore", "pipe", "inherit"] });
    let s = "";
    c.stdout.on("data", (d) => (s += d));
    c.on("close", () => resolve(JSON.parse(s)));
  });
  process.stdout.write(JSON.stringify(reader));
}

async function motoRead(spec) {
  const { endpoint, bucket, q } = spec;
  const target = new URL(endpoint);
  let count = 0;
  let bytes = 0;
  const proxy = http.createServer((req, res) => {
    count++;
    const up = http.request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode, r.headers);
      r.on("data", (d) => (bytes += d.length));
      r.pipe(res);
    });
    up.on("error", () => res.destroy());
    req.pipe(up);
  });
  await new Promise((r) => proxy.listen(0, "127.0.0.1", r));
  const opts = { awsAccessKeyId: "testing", awsSecretAccessKey: "testing", region: "us-east-1", endpoint: `http://127.0.0.1:${proxy.address().port}`, allowHttp: true };
  const mod = await import(join(here, "..", "dist", "index.js"));
  const db = await mod.connect(`s3://${bucket}/db`, { storageOptions: opts });
  const t = await db.openTable("t");
  const c0 = count;
  const b0 = bytes;
  await t.search(q).limit(10).toArray();
  const cold = count - c0;
  const coldBytes = bytes - b0;
  const c1 = count;
  await t.search(q).limit(10).toArray();
  const warm = count - c1;
  const c2 = count;
  await t.search(q).limit(10).select(["id"]).toArray();
  const warmIdOnly = count - c2;
  proxy.close();
  process.stdout.write(JSON.stringify({ openTableRequests: c0, coldSearch: cold, coldSearchBytes: coldBytes, warmRepeat: warm, warmSelectId: warmIdOnly, nprobes: 20 }));
}

// ---- parent ----
async function main() {
  const [rowsArg = "100000", dimArg = "128", qArg = "200"] = process.argv.slice(2);
  const n = Number(rowsArg), dim = Number(dimArg), q = Number(qArg);
  const keep = process.env.ANN_DIR;
  const only = process.env.ANN_ONLY ? process.env.ANN_ONLY.split(",") : null;
  const dir = keep ?? mkdtempSync(join(tmpdir(), "stowage-ann-"));
  if (keep) mkdirSync(keep, { recursive: true });
  const results = [];
  const partitions = Math.round(Math.sqrt(n));
  try {
    const kinds = process.env.ANN_KINDS ? process.env.ANN_KINDS.split(",") : only && only.every((w) => w.includes("hnsw")) ? ["mixture"] : ["mixture", "lowrank"];
    for (const kind of kinds) {
      // Ground truth: exact search (Stowage without an index).
      const { rows, queries } = dataset(kind, n, q, dim);
      const mod = await import(join(here, "..", "dist", "index.js"));
      const db = await mod.connect(join(dir, `truth-${kind}-${n}x${dim}`));
      const t = keep && (await db.tableNames()).includes("t") ? await db.openTable("t") : await db.createTable("t", await arrowTable(rows, dim));
      const truth = [];
      const exact = [];
      for (let i = 0; i < q; i++) {
        const t0 = performance.now();
        const r = await t.search(Array.from(queries.subarray(i * dim, (i + 1) * dim))).limit(10).select(["id"]).toArray();
        exact.push(performance.now() - t0);
        truth.push(r.map((x) => Number(x.id)));
      }
      const truthFile = join(dir, `truth-${kind}-${n}x${dim}.json`);
      writeFileSync(truthFile, JSON.stringify(truth));
      results.push({ lib: "stowage", kind, index: "exact", sweep: [{ setting: "flat", recall: 1, p50: pct(exact, 50), p95: pct(exact, 95) }] });
      const specs = [
        { lib: "stowage", index: "ivfpq-same" },
        { lib: "lancedb", index: "ivfpq-same" },
        { lib: "stowage", index: "ivfpq-default" },
        { lib: "lancedb", index: "ivfpq-default" },
      ];
      if (kind === "mixture" && process.env.ANN_HNSW_OURS_ONLY) specs.push({ lib: "stowage", index: "hnsw-sq" });
      else if (kind === "mixture") specs.push({ lib: "stowage", index: "hnsw-sq" }, { lib: "stowage", index: "hnsw-sq-300" }, { lib: "usearch", index: "hnsw" }, { lib: "hnswlib", index: "hnsw" });
      for (const s of specs) {
        if (only && !only.some((w) => `${s.lib} ${s.index}`.includes(w))) continue;
        const runDir = keep ? join(dir, `${kind}-${s.lib}-${s.index}-${n}x${dim}`) : mkdtempSync(join(dir, "run-"));
        mkdirSync(runDir, { recursive: true });
        const spec = { ...s, kind, n, dim, q, dir: runDir, keep: !!keep, truth: truthFile, partitions };
        process.stderr.write(`[ann] ${kind} ${s.lib} ${s.index}...\n`);
        const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), "--child", JSON.stringify(spec)], { encoding: "utf8", maxBuffer: 1 << 26, stdio: ["ignore", "pipe", "inherit"], env: { LANCEDB_LOG: "error", RUST_LOG: "error", ...process.env } });
        results.push(JSON.parse(out));
        if (!keep) rmSync(spec.dir, { recursive: true, force: true });
      }
    }
    let moto;
    if (process.env.MOTO_ENDPOINT) {
      const target = new URL(process.env.MOTO_ENDPOINT);
      const bucket = `ann${Date.now()}`;
      await new Promise((resolve, reject) => {
        const r = http.request({ host: "127.0.0.1", port: target.port, method: "PUT", path: `/${bucket}` }, (x) => { x.resume(); x.on("end", resolve); });
        r.on("error", reject);
        r.end();
      });
      const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), "--moto", JSON.stringify({ endpoint: process.env.MOTO_ENDPOINT, n: Number(process.env.MOTO_ROWS ?? 100000), dim, bucket })], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
      moto = JSON.parse(out);
    }
    const report = { rows: n, dim, queries: q, partitionsSame: partitions, subVectorsSame: 16, node: process.version, results, moto };
    const out = process.env.ANN_ONLY ? `ann-results-${process.env.ANN_ONLY.replace(/[^a-z0-9,-]+/gi, "_")}.json` : "ann-results.json";
    writeFileSync(join(here, out), JSON.stringify(report, null, 2) + "\n");
    for (const r of results) {
      console.log(`\n${r.kind} ${r.lib} ${r.index}: build ${r.buildS?.toFixed(1) ?? "-"} s (CPU ${r.buildCpuS?.toFixed(1) ?? "-"} s), peak RSS ${r.peakRssMb?.toFixed(0) ?? "-"} MB (before build ${r.rssBeforeBuildMb?.toFixed(0) ?? "-"}), index ${r.indexBytes ? (r.indexBytes / 1e6).toFixed(1) + " MB" : "-"}`);
      for (const s of r.sweep) console.log(`  ${s.setting.padEnd(26)} recall@10 ${s.recall.toFixed(3)}  p50 ${s.p50.toFixed(2)} ms  p95 ${s.p95.toFixed(2)} ms`);
    }
    if (moto) console.log("\nmoto requests:", JSON.stringify(moto));
  } finally {
    if (!keep) rmSync(dir, { recursive: true, force: true });
  }
}

const mode = process.argv[2];
if (mode === "--child") await child(JSON.parse(process.argv[3]));
else if (mode === "--moto") await motoSearch(JSON.parse(process.argv[3]));
else if (mode === "--moto-read") await motoRead(JSON.parse(process.argv[3]));
else await main();
