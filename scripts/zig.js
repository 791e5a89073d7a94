#!/usr/bin/env node
// zig and cargo-zigbuild, pinned, from PyPI into the cache directory: what
// links the linux-gnu addon against glibc 2.17 (the `.2.17` target suffix),
// the way napi-rs projects build their release binaries.
//   node scripts/zig.js               installs them if missing
//   node scripts/zig.js --print-path  installs, then prints the two bin dirs
//                                     (for $GITHUB_PATH in the release workflow)
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const { spawnSync } = require("node:child_process");
const { CACHE_DIR } = require("./common");

// Bump together; the directory name carries the versions, so a bump installs
// afresh beside the old one.
const CARGO_ZIGBUILD = "0.24.0";
const ZIGLANG = "0.17.0";
const GLIBC_BASELINE = "2.17";
const TOOLS = path.join(CACHE_DIR, `zigtools-${CARGO_ZIGBUILD}-${ZIGLANG}`);
const BIN_DIRS = [path.join(TOOLS, "bin"), path.join(TOOLS, "ziglang")];

function installed() {
  return fs.existsSync(path.join(TOOLS, "bin", "cargo-zigbuild")) && fs.existsSync(path.join(TOOLS, "ziglang", "zig"));
}

/** Installs the pinned tools if missing; returns false (with the reason logged) when pip cannot. */
function ensureZig({ quiet = false } = {}) {
  if (installed()) return true;
  const python = ["python3", "python"].find((p) => spawnSync(p, ["-m", "pip", "--version"], { stdio: "ignore" }).status === 0);
  if (!python) {
    if (!quiet) console.error("zig: python3 with pip is not available; cannot install cargo-zigbuild and ziglang");
    return false;
  }
  const staging = `${TOOLS}.tmp-${process.pid}`;
  fs.rmSync(staging, { recursive: true, force: true });
  const args = ["-m", "pip", "install", "--disable-pip-version-check", "--no-input", "--quiet", "--target", staging,
    `cargo-zigbuild==${CARGO_ZIGBUILD}`, `ziglang==${ZIGLANG}`];
  console.error(`$ ${python} ${args.join(" ")}`);
  const r = spawnSync(python, args, { stdio: ["ignore", "inherit", "inherit"] });
  if (r.status !== 0) {
    fs.rmSync(staging, { recursive: true, force: true });
    console.error(`zig: pip install failed (exit ${r.status})`);
    return false;
  }
  // Renamed into place only when complete, so a killed install is retried.
  fs.rmSync(TOOLS, { recursive: true, force: true });
  fs.renameSync(staging, TOOLS);
  return installed();
}

/** `env` with the zig tools first on PATH (napi's `-x` looks for `zig` and `cargo zigbuild` there). */
function zigEnv(env = process.env) {
  return { ...env, PATH: [...BIN_DIRS, env.PATH || ""].join(path.delimiter) };
}

module.exports = { ensureZig, zigEnv, GLIBC_BASELINE, CARGO_ZIGBUILD, ZIGLANG, BIN_DIRS };

if (require.main === module) {
  if (!ensureZig()) process.exit(1);
  if (process.argv.includes("--print-path")) console.log(BIN_DIRS.join("\n"));
}
