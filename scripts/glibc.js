#!/usr/bin/env node
// The glibc baseline of a linux-gnu binary: every dynamic symbol it imports
// with a GLIBC_x.y version, read with `readelf` (binutils; it reads any ELF
// architecture, so the publish job can check the arm64 binary too).
//   node scripts/glibc.js FILE.node [BASELINE]   exits 1 if a symbol needs more than BASELINE (default 2.17)
"use strict";
const { spawnSync } = require("node:child_process");

function cmp(a, b) {
  const x = a.split(".").map(Number);
  const y = b.split(".").map(Number);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] || 0) - (y[i] || 0);
    if (d) return d;
  }
  return 0;
}

/** [{ symbol, version }] for every imported symbol versioned GLIBC_*. */
function glibcSymbols(file) {
  const r = spawnSync("readelf", ["--dyn-syms", "--wide", file], { encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
  if (r.error) throw new Error(`readelf (binutils) is needed to check the glibc baseline: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`readelf --dyn-syms ${file} failed: ${r.stderr}`);
  const out = [];
  for (const line of r.stdout.split("\n")) {
    const m = /\s(\S+)@GLIBC_([0-9.]+)(?:\s|$)/.exec(line);
    if (m) out.push({ symbol: m[1], version: m[2] });
  }
  return out;
}

/** The symbols of `file` that need a glibc newer than `baseline`, and the highest version any symbol needs. */
function checkBaseline(file, baseline) {
  const syms = glibcSymbols(file);
  const newer = syms.filter((s) => cmp(s.version, baseline) > 0).sort((a, b) => cmp(b.version, a.version));
  const max = syms.reduce((m, s) => (cmp(s.version, m) > 0 ? s.version : m), "0");
  return { max, newer, count: syms.length };
}

module.exports = { glibcSymbols, checkBaseline, cmp };

if (require.main === module) {
  const [file, baseline = require("./zig").GLIBC_BASELINE] = process.argv.slice(2);
  if (!file) {
    console.error("usage: node scripts/glibc.js FILE.node [BASELINE]");
    process.exit(2);
  }
  const { max, newer, count } = checkBaseline(file, baseline);
  if (newer.length) {
    console.error(`${file} needs glibc ${max}, more than the ${baseline} baseline:`);
    for (const s of newer) console.error(`  ${s.symbol}@GLIBC_${s.version}`);
    process.exit(1);
  }
  console.log(`${file}: ${count} glibc symbols, newest GLIBC_${max} (baseline ${baseline})`);
}
