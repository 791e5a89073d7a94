// Shared by the setup and test scripts: paths, cache dir, and a spawn helper
// that streams output and fails loudly.
"use strict";
const { spawnSync } = require("node:child_process");
const os = require("node:os");
const path = require("node:path");

const ROOT = path.resolve(__dirname, "..");
const CACHE_DIR = path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache"), "stowage");
const TARGET = "x86_64-unknown-linux-gnu";

// A fixed cargo target directory under the user's cache: fresh clones reuse
// earlier builds; a cold machine simply builds from scratch.
function cargoEnv() {
  return { ...process.env, CARGO_TARGET_DIR: process.env.CARGO_TARGET_DIR || path.join(CACHE_DIR, "target") };
}

function run(cmd, args, opts = {}) {
  const started = Date.now();
  console.log(`$ ${cmd} ${args.join(" ")}`);
  const r = spawnSync(cmd, args, { cwd: ROOT, stdio: "inherit", ...opts });
  if (r.error) throw r.error;
  if (r.status !== 0) {
    const err = new Error(`${cmd} ${args.join(" ")} failed with exit code ${r.status}`);
    err.exitCode = r.status || 1;
    throw err;
  }
  console.log(`  (${((Date.now() - started) / 1000).toFixed(1)}s)`);
}

function has(cmd) {
  return spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" }).status === 0;
}

module.exports = { ROOT, CACHE_DIR, TARGET, cargoEnv, run, has };
