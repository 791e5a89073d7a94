#!/usr/bin/env node
// Runs a cargo subcommand with the same compilers, target and target
// directory as the addon build (scripts/common.js nativeBuild()), so it
// reuses the dependency build instead of starting another one:
//   node scripts/cargo.js test [FILTER]     Rust tests (release, 2 threads)
//   node scripts/cargo.js check | clippy    type check / lints (-D warnings)
"use strict";
const { run, nativeBuild } = require("./common");

async function main() {
  const [sub = "test", ...rest] = process.argv.slice(2);
  const build = nativeBuild();
  const [cmd, , ...targetArgs] = build.test; // "<cargo> test --release --target T"
  const env = { ...build.env, AWS_EC2_METADATA_DISABLED: "true", PATH: build.env.PATH };
  const tail = {
    test: ["--", "--test-threads=2", ...rest],
    clippy: [...rest, "--", "-D", "warnings"],
  }[sub] || rest;
  await run(cmd, [sub, ...targetArgs, ...tail], { env });
}

main().catch((e) => {
  console.error(e.message);
  process.exit(1);
});
