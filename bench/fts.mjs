// Full-text search benchmark: Stowage vs @lancedb/lancedb 0.31.0 in one run,
// on real prose: the paragraphs of the manual pages installed under
// /usr/share/man (Debian's man-db/manpages packages; installed with
// apt-get when too few are present). Each library builds an FTS index over
// the same passages (stemming and stop words off, so both see the same
// tokens) in its own child process; then both run the same one-word,
// multi-word and phrase queries. Prints build time, index size, p50/p95 per
// query kind, and the mean overlap of Stowage's top-10 with the reference's.
//   npm run build && node bench/fts.mjs [passages=100000] [queries=50]
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const [passagesArg = "100000", queriesArg = "50", role, lib, dbDir] = process.argv.slice(2);

/** Paragraphs of man pages as plain text (troff requests and escapes dropped). */
function corpus(limit) {
  const roots = readdirSync("/usr/share/man").filter((d) => /^man\d/.test(d)).map((d) => join("/usr/share/man", d));
  const out = [];
  for (const root of roots.sort()) {
    for (const f of readdirSync(root).sort()) {
      let src;
      try {
        const raw = readFileSync(join(root, f));
        src = f.endsWith(".gz") ? gunzipSync(raw).toString("utf8") : raw.toString("utf8");
      } catch {
        continue;
      }
      let para = [];
      const flush = () => {
        const t = para.join(" ").replace(/\s+/g, " ").trim();
        if (t.split(" ").length >= 5) out.push(t);
        para = [];
      };
      for (const line of src.split("\n")) {
        if (/^\.(PP|P|LP|SH|SS|TP|IP|HP|sp|br)\b/.test(line) || line.trim() === "") {
          flush();
          continue;
        }
        if (line.startsWith(".") || line.startsWith("'")) continue;
        para.push(
          line
            .replace(/\\f[BIRP]|\\f\(..|\\f\[[^\]]*\]/g, "")
            .replace(/\\\(..|\\\[[^\]]*\]|\\[&|^~0 -]/g, " ")
            .replace(/\\e/g, "\\")
            .replace(/\\(.)/g, "$1"),
        );
      }
      flush();
      if (out.length >= limit) return out.slice(0, limit);
    }
  }
  return out;
}

function ensureCorpus(n) {
  let docs = corpus(n);
  if (docs.length < n) {
    try {
      execFileSync("apt-get", ["install", "-y", "--no-install-recommends", "manpages", "manpages-dev", "manpages-posix", "manpages-posix-dev"], { stdio: "ignore" });
    } catch {
      /* reported below */
    }
    docs = corpus(n);
  }
  return docs;
}

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
function dirSize(d) {
  let n = 0;
  for (const e of readdirSync(d, { withFileTypes: true })) {
    const p = join(d, e.name);
    if (e.isDirectory()) n += dirSize(p);
    else n += readFileSync(p).length;
  }
  return n;
}

if (role === "worker") {
  const mod = lib === "stowage" ? await import(join(here, "..", "dist", "index.js")) : await import("@lancedb/lancedb");
  const m = mod.default ?? mod;
  const { docs, queries } = JSON.parse(readFileSync(join(dbDir, "input.json"), "utf8"));
  const db = await m.connect(join(dbDir, lib));
  const t = await db.createTable("docs", docs.map((text, id) => ({ id, text })));
  const opts = { withPosition: process.env.FTS_BENCH_POSITIONS !== "0", stem: false, removeStopWords: false };
  const t0 = performance.now();
  await t.createIndex("text", { config: m.Index.fts(opts) });
  const buildMs = performance.now() - t0;
  const tableDir = readdirSync(join(dbDir, lib)).find((d) => d.startsWith("docs"));
  const idxDir = join(dbDir, lib, tableDir, "_indices");
  const indexBytes = existsSync(idxDir) ? dirSize(idxDir) : 0;
  const out = { buildMs, indexBytes, latency: {}, top: {} };
  for (const [kind, qs] of Object.entries(queries)) {
    out.latency[kind] = [];
    out.top[kind] = [];
    for (const q of qs) {
      const query = kind === "phrase" ? new m.PhraseQuery(q, "text") : q;
      await t.query().fullTextSearch(query).select(["id"]).limit(10).toArray(); // warm
      const s = performance.now();
      const rs = await t.query().fullTextSearch(query).select(["id"]).limit(10).toArray();
      out.latency[kind].push(performance.now() - s);
      out.top[kind].push(rs.map((r) => [Number(r.id), r._score]));
    }
  }
  process.stdout.write(JSON.stringify(out));
  process.exit(0);
}

const n = Number(passagesArg);
const docs = ensureCorpus(n);
const dir = mkdtempSync(join(tmpdir(), "stowage-ftsbench-"));
// Queries: words and phrases drawn from the passages themselves.
let seed = 12345;
const rnd = () => ((seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32);
const words = (s) => s.toLowerCase().split(/[^\p{L}\p{N}]+/u).filter((w) => w.length > 3 && w.length < 15);
const nq = Number(queriesArg);
const pickDoc = () => words(docs[Math.floor(rnd() * docs.length)]);
const queries = { "one word": [], "multi-word": [], phrase: [] };
while (queries["one word"].length < nq) {
  const w = pickDoc();
  if (w.length >= 3) {
    queries["one word"].push(w[Math.floor(rnd() * w.length)]);
    const i = Math.floor(rnd() * (w.length - 2));
    queries["multi-word"].push(`${w[i]} ${w[(i + 2) % w.length]} ${w[Math.floor(rnd() * w.length)]}`);
  }
}
while (queries.phrase.length < nq) {
  const d = docs[Math.floor(rnd() * docs.length)].toLowerCase().split(/[^\p{L}\p{N}]+/u).filter(Boolean);
  if (d.length >= 4) {
    const i = Math.floor(rnd() * (d.length - 2));
    queries.phrase.push(`${d[i]} ${d[i + 1]}`);
  }
}
writeFileSync(join(dir, "input.json"), JSON.stringify({ docs, queries }));
const res = {};
try {
  for (const lib of ["stowage", "lancedb"]) {
    res[lib] = JSON.parse(
      execFileSync(process.execPath, [fileURLToPath(import.meta.url), "0", "0", "worker", lib, dir], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "inherit"],
        maxBuffer: 1 << 28,
        // The reference's FTS build deadlocks on this 2-core machine with its
        // default CPU pool (2 threads) past ~15k man-page passages; 4 works.
        env: { ...process.env, LANCE_CPU_THREADS: process.env.LANCE_CPU_THREADS ?? "4" },
      }),
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
/** Overlap of top-10 id sets, counting rows tied with the reference's 10th score as shared. */
function overlap(a, b) {
  if (b.length === 0) return a.length === 0 ? 1 : 0;
  const ids = new Set(b.map((x) => x[0]));
  const last = b[b.length - 1][1];
  const hit = a.filter((x) => ids.has(x[0]) || Math.abs(x[1] - last) < 1e-4).length;
  return Math.min(1, hit / b.length);
}
const lines = [`passages=${docs.length} (man pages) queries=${nq} per kind, stemming and stop words off, withPosition, node=${process.version}`];
lines.push("| measure | stowage | @lancedb/lancedb | ratio (ref/stowage) |", "|---|---:|---:|---:|");
lines.push(`| index build (ms) | ${res.stowage.buildMs.toFixed(0)} | ${res.lancedb.buildMs.toFixed(0)} | ${(res.lancedb.buildMs / res.stowage.buildMs).toFixed(2)}x |`);
lines.push(`| index size (MB) | ${(res.stowage.indexBytes / 1e6).toFixed(1)} | ${(res.lancedb.indexBytes / 1e6).toFixed(1)} | ${(res.lancedb.indexBytes / res.stowage.indexBytes).toFixed(2)}x |`);
const summary = { passages: docs.length, build: [res.stowage.buildMs, res.lancedb.buildMs], size: [res.stowage.indexBytes, res.lancedb.indexBytes], kinds: {} };
for (const kind of Object.keys(queries)) {
  const [s, l] = [res.stowage.latency[kind], res.lancedb.latency[kind]];
  const ov = res.stowage.top[kind].map((a, i) => overlap(a, res.lancedb.top[kind][i]));
  const mean = ov.reduce((x, y) => x + y, 0) / ov.length;
  ov.forEach((o, i) => {
    if (o < 1) console.error(`overlap ${o.toFixed(2)} for ${kind} ${JSON.stringify(queries[kind][i])}: stowage ${JSON.stringify(res.stowage.top[kind][i])} reference ${JSON.stringify(res.lancedb.top[kind][i])}`);
  });
  summary.kinds[kind] = { p50: [pct(s, 50), pct(l, 50)], p95: [pct(s, 95), pct(l, 95)], overlap: mean };
  lines.push(`| ${kind} p50 (ms) | ${pct(s, 50).toFixed(2)} | ${pct(l, 50).toFixed(2)} | ${(pct(l, 50) / pct(s, 50)).toFixed(2)}x |`);
  lines.push(`| ${kind} p95 (ms) | ${pct(s, 95).toFixed(2)} | ${pct(l, 95).toFixed(2)} | ${(pct(l, 95) / pct(s, 95)).toFixed(2)}x |`);
  lines.push(`| ${kind} top-10 overlap | ${mean.toFixed(3)} | (reference) | |`);
}
console.log(lines.join("\n"));
writeFileSync(join(here, "fts-results.json"), JSON.stringify(summary, null, 2) + "\n");
