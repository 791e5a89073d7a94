// How listing versions and opening a table scale with the number of versions,
// Stowage and @lancedb/lancedb 0.31.0 side by side on a local directory.
//   node bench/versions.mjs [checkpoints=1000,5000]
// Appends one row per version up to each checkpoint, then times
// listVersions() (median of 3) and openTable() + version() (median of 5) on a
// fresh connection. A script, not a test: nothing asserts on time.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const stowage = require("../dist/index.js");
const lancedb = require("@lancedb/lancedb");

const checkpoints = (process.argv[2] ?? "1000,5000").split(",").map(Number);

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function timed(n, fn) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    await fn();
    out.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return median(out);
}

async function run(lib, name) {
  const dir = mkdtempSync(join(tmpdir(), `versions-${name}-`));
  try {
    const db = await lib.connect(dir);
    const t = await db.createTable("t", [{ id: 0 }]);
    let versions = 1;
    const rows = [];
    for (const target of checkpoints) {
      while (versions < target) {
        await t.add([{ id: versions }]);
        versions++;
      }
      const fresh = await lib.connect(dir);
      const list = await timed(3, async () => {
        const vs = await (await fresh.openTable("t")).listVersions();
        if (vs.length !== target) throw new Error(`${name}: ${vs.length} versions, expected ${target}`);
      });
      const open = await timed(5, async () => {
        const tt = await (await lib.connect(dir)).openTable("t");
        await tt.version();
      });
      rows.push({ versions: target, listMs: list, openMs: open });
    }
    return rows;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const ours = await run(stowage, "stowage");
const ref = await run(lancedb, "lancedb");
console.log("| versions | listVersions stowage ms | @lancedb/lancedb ms | ratio | openTable stowage ms | @lancedb/lancedb ms | ratio |");
console.log("|---:|---:|---:|---:|---:|---:|---:|");
for (let i = 0; i < ours.length; i++) {
  const a = ours[i];
  const b = ref[i];
  console.log(
    `| ${a.versions} | ${a.listMs.toFixed(1)} | ${b.listMs.toFixed(1)} | ${(b.listMs / a.listMs).toFixed(2)}x | ${a.openMs.toFixed(2)} | ${b.openMs.toFixed(2)} | ${(b.openMs / a.openMs).toFixed(2)}x |`,
  );
}
