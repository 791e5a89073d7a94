// optimize() after many small appends, Stowage vs @lancedb/lancedb 0.31.0 in
// one run: N rows × DIM in APPENDS appends, an IVF-PQ index (same options for
// both: numPartitions √N, numSubVectors DIM/8), then optimize(). Prints the
// optimize() time, the index stats after it, and recall@10 (nprobes 20,
// refineFactor 10) against exact search before and after, on 50 queries.
//   npm run build && node bench/optimize.mjs [rows=200000] [appends=200] [dim=128]
// STOWAGE_DIST=<dir> runs another build of Stowage (e.g. main's dist/ to
// compare before and after a change); BENCH_ONLY=stowage skips the reference.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const [rowsArg = "200000", appendsArg = "200", dimArg = "128"] = process.argv.slice(2);
const N = Number(rowsArg);
const APPENDS = Number(appendsArg);
const DIM = Number(dimArg);
const PER = Math.ceil(N / APPENDS);
let seed = 7;
const rnd = () => ((seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32);
const gauss = () => Math.sqrt(-2 * Math.log(rnd() + 1e-12)) * Math.cos(2 * Math.PI * rnd());
// A Gaussian mixture: 64 clusters.
const centers = Array.from({ length: 64 }, () => Array.from({ length: DIM }, () => gauss() * 4));
const point = () => {
  const c = centers[Math.floor(rnd() * centers.length)];
  return c.map((x) => x + gauss());
};
const vectors = Array.from({ length: N }, point);
const queries = Array.from({ length: 50 }, point);
const distPath = process.env.STOWAGE_DIST ?? join(here, "..", "dist");
const stowage = await import(join(distPath, "index.js"));
const libs = { stowage: stowage.default ?? stowage };
if (process.env.BENCH_ONLY !== "stowage") libs.lancedb = await import("@lancedb/lancedb");
const dir = mkdtempSync(join(tmpdir(), "stowage-optbench-"));
const ids = async (q) => (await q.select(["id"]).toArray()).map((r) => Number(r.id));
const out = {};
try {
  for (const [name, m] of Object.entries(libs)) {
    const db = await m.connect(join(dir, name));
    const rows = (from) => Array.from({ length: Math.min(PER, N - from) }, (_, k) => ({ id: from + k, vector: vectors[from + k] }));
    const t = await db.createTable("t", rows(0));
    for (let from = PER; from < N; from += PER) await t.add(rows(from));
    let s = performance.now();
    await t.createIndex("vector", {
      config: m.Index.ivfPq({ numPartitions: Math.round(Math.sqrt(N)), numSubVectors: DIM / 8 }),
    });
    const buildMs = performance.now() - s;
    const truth = await Promise.all(queries.map((q) => ids(t.search(q).bypassVectorIndex().limit(10))));
    const recall = async () => {
      const got = await Promise.all(queries.map((q) => ids(t.search(q).nprobes(20).refineFactor(10).limit(10))));
      let hit = 0;
      got.forEach((g, i) => (hit += g.filter((id) => truth[i].includes(id)).length));
      return hit / (10 * queries.length);
    };
    const recallBefore = await recall();
    s = performance.now();
    await t.optimize();
    const optimizeMs = performance.now() - s;
    const st = await t.indexStats("vector_idx");
    out[name] = {
      buildMs: Math.round(buildMs),
      optimizeMs: Math.round(optimizeMs),
      recallBefore,
      recallAfter: await recall(),
      indexed: st.numIndexedRows,
      unindexed: st.numUnindexedRows,
      rows: await t.countRows(),
    };
    console.error(name, out[name]);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(JSON.stringify({ rows: N, appends: APPENDS, dim: DIM, stowage: distPath, ...out }, null, 2));
