// Side-by-side benchmark: Stowage vs @lancedb/lancedb 0.31.0 in one run.
// Each library runs in its own child process (so peak RSS is its own), on
// the same generated data, in a local directory. Prints medians and ratios
// (reference time / Stowage time: above 1 means Stowage is faster).
//   npm run build && node bench/run.mjs [rows=100000] [dim=128] [rounds=1]
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const [rows = "100000", dim = "128", rounds = "1"] = process.argv.slice(2);
const dir = mkdtempSync(join(tmpdir(), "stowage-bench-"));

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const results = { stowage: [], lancedb: [] };
try {
  // Alternate the order each round so neither always runs on a warm page cache.
  for (let r = 0; r < Number(rounds); r++) {
    for (const lib of r % 2 ? ["lancedb", "stowage"] : ["stowage", "lancedb"]) {
      const out = execFileSync(process.execPath, [join(here, "worker.mjs"), lib, dir, rows, dim], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "ignore"],
        maxBuffer: 1 << 24,
      });
      results[lib].push(JSON.parse(out));
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const ops = Object.keys(results.stowage[0].timings);
const merged = (lib, op) => results[lib].flatMap((r) => r.timings[op]);
const lines = [];
lines.push(`rows=${rows} dim=${dim} rounds=${rounds} node=${process.version}`);
lines.push("| operation | stowage median ms | @lancedb/lancedb median ms | speed-up (ref/stowage) |");
lines.push("|---|---:|---:|---:|");
const summary = {};
for (const op of ops) {
  const s = median(merged("stowage", op));
  const l = median(merged("lancedb", op));
  summary[op] = { stowage: s, lancedb: l, ratio: l / s };
  lines.push(`| ${op} | ${s.toFixed(2)} | ${l.toFixed(2)} | ${(l / s).toFixed(2)}x |`);
}
const rss = (lib) => Math.max(...results[lib].map((r) => r.peakRssMb));
summary.peakRssMb = { stowage: rss("stowage"), lancedb: rss("lancedb"), ratio: rss("stowage") / rss("lancedb") };
lines.push(`| peak RSS (MB) | ${rss("stowage").toFixed(0)} | ${rss("lancedb").toFixed(0)} | ${(rss("stowage") / rss("lancedb")).toFixed(2)} (stowage/ref, lower is better) |`);
console.log(lines.join("\n"));
writeFileSync(join(here, "results.json"), JSON.stringify({ rows: Number(rows), dim: Number(dim), summary }, null, 2) + "\n");
