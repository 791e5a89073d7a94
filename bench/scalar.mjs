// Scalar index speed-up: Stowage vs @lancedb/lancedb 0.31.0 in one run, on
// the same 1M-row table (float64 id 0..N-1, float64 value uniform in
// [0, 1000), ten appends of 100k rows). For each library: the median time of a selective
// equality (`id = k`, one row) and a range (`value BETWEEN a AND a + 1`,
// ~0.1% of rows) as toArray() of `id`, without and then with a BTREE index on
// the column (same rows checked). Prints ms and the speed-up per library.
//   npm run build && node bench/scalar.mjs [rows=1000000] [reps=20]
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const [rowsArg = "1000000", repsArg = "20"] = process.argv.slice(2);
const N = Number(rowsArg);
const REPS = Number(repsArg);
let seed = 99;
const rnd = () => ((seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32);
const value = Float64Array.from({ length: N }, () => rnd() * 1000);
// Plain records (both libraries infer float64 columns), in chunks of 100k.
const chunk = (from, to) => Array.from({ length: to - from }, (_, k) => ({ id: from + k, value: value[from + k] }));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const dir = mkdtempSync(join(tmpdir(), "stowage-scalarbench-"));
const libs = {
  stowage: (await import(join(here, "..", "dist", "index.js"))).default ?? (await import(join(here, "..", "dist", "index.js"))),
  lancedb: await import("@lancedb/lancedb"),
};
const queries = {
  equality: "id = 765432",
  range: "value BETWEEN 500 AND 501",
};
const out = {};
try {
  for (const [name, m] of Object.entries(libs)) {
    const db = await m.connect(join(dir, name));
    const t = await db.createTable("t", chunk(0, Math.min(N, 100000)));
    for (let from = 100000; from < N; from += 100000) await t.add(chunk(from, Math.min(N, from + 100000)));
    const run = async (f) => {
      const rs = await t.query().where(f).select(["id"]).toArray(); // warm
      const times = [];
      for (let i = 0; i < REPS; i++) {
        const s = performance.now();
        await t.query().where(f).select(["id"]).toArray();
        times.push(performance.now() - s);
      }
      return { ms: median(times), rows: rs.length };
    };
    const before = {};
    for (const [k, f] of Object.entries(queries)) before[k] = await run(f);
    const s = performance.now();
    await t.createIndex("id", { config: m.Index.btree() });
    await t.createIndex("value", { config: m.Index.btree() });
    const buildMs = performance.now() - s;
    const after = {};
    for (const [k, f] of Object.entries(queries)) after[k] = await run(f);
    out[name] = { before, after, buildMs };
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
const lines = [`rows=${N} reps=${REPS} node=${process.version}`, "| filter | library | rows | no index (ms) | BTREE (ms) | speed-up |", "|---|---|---:|---:|---:|---:|"];
for (const k of Object.keys(queries)) {
  for (const lib of Object.keys(out)) {
    const b = out[lib].before[k];
    const a = out[lib].after[k];
    if (a.rows !== b.rows) throw new Error(`${lib} ${k}: ${a.rows} rows with the index, ${b.rows} without`);
    lines.push(`| \`${queries[k]}\` | ${lib} | ${a.rows} | ${b.ms.toFixed(2)} | ${a.ms.toFixed(2)} | ${(b.ms / a.ms).toFixed(1)}x |`);
  }
}
lines.push(`| index build, both columns (ms) | stowage ${out.stowage.buildMs.toFixed(0)} | lancedb ${out.lancedb.buildMs.toFixed(0)} | | | |`);
console.log(lines.join("\n"));
