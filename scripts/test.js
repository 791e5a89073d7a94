#!/usr/bin/env node
// The whole test suite: Rust unit tests, then Jest (with the emulators the
// cloud suites need, started here on 127.0.0.1 and stopped afterwards).
"use strict";
const path = require("node:path");
const { ROOT, run, nativeBuild } = require("./common");

async function main() {
  const started = Date.now();
  const failures = [];
  const step = async (name, fn) => {
    try {
      await fn();
    } catch (e) {
      console.error(`\n${name} FAILED: ${e.message}\n`);
      failures.push(name);
    }
  };

  // Nothing in the suite may reach real cloud hosts or instance metadata.
  const env = { ...process.env, AWS_EC2_METADATA_DISABLED: "true" };

  // The same compilers and target as setup.js's addon build, so the
  // dependency tree is not built a second time.
  await step("cargo test", () => {
    const build = nativeBuild();
    const [cmd, ...args] = build.test;
    return run(cmd, [...args, "--", "--test-threads=2"], { env: { ...build.env, ...env, PATH: build.env.PATH } });
  });

  // Installs the emulators (cached); Jest's globalSetup starts and stops them.
  await step("emulators install", () => run("node", [path.join(ROOT, "scripts", "emulators", "install.js")], { env }));
  await step("jest", () =>
    run(path.join(ROOT, "node_modules", ".bin", "jest"), ["--ci", "--maxWorkers=2", ...process.argv.slice(2)], { env }),
  );
  const secs = ((Date.now() - started) / 1000).toFixed(0);
  if (failures.length) {
    console.error(`\nFAILED after ${secs}s: ${failures.join(", ")}`);
    process.exit(1);
  }
  console.log(`\nAll test steps passed in ${secs}s`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
