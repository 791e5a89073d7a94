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

/**
 * How the addon is built and its Rust tests run: through cargo-zigbuild
 * against glibc 2.17 (the release baseline) when scripts/zig.js can install
 * the pinned tools, else natively. Both commands compile the dependency tree
 * with the same compilers and flags, so they share one build of it.
 * `args` are napi build's (the release workflow's linux-x64-gnu command, less
 * its output flags); `test` is the command and arguments that run the Rust tests.
 */
function nativeBuild() {
  const { ensureZig, zigEnv, GLIBC_BASELINE } = require("./zig");
  const zig = process.env.STOWAGE_NATIVE_GLIBC !== "1" && ensureZig();
  if (!zig) {
    console.error(
      "setup: building against the host's glibc (python3 -m pip could not install cargo-zigbuild/ziglang); " +
        "fine for development, but scripts/pack.js refuses such a binary",
    );
  }
  const target = zig ? `${TARGET}.${GLIBC_BASELINE}` : TARGET;
  return {
    zig,
    args: ["build", "--platform", "--release", "--target", target, ...(zig ? ["-x"] : [])],
    // cargo-zigbuild's own `test` subcommand (`cargo zigbuild` means its build).
    test: [zig ? "cargo-zigbuild" : "cargo", "test", "--release", "--target", target],
    env: zig ? zigEnv(cargoEnv()) : cargoEnv(),
  };
}

function has(cmd) {
  return spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" }).status === 0;
}

module.exports = { ROOT, CACHE_DIR, TARGET, cargoEnv, run, has, nativeBuild };
