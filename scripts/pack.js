#!/usr/bin/env node
// Packs the npm packages a release publishes, without building anything:
//
//   node scripts/pack.js [--all] [--artifacts DIR] [outDir]   (default outDir: target/pack)
//
// 1. copies each built addon (stowage.<platform>.node, from DIR, default the
//    repo root, where `npm run build` puts it) into its platform package,
//    npm/<platform>/, as `napi artifacts` would; a linux-*-gnu binary must
//    keep the glibc baseline (scripts/glibc.js);
// 2. `npm pack`s each platform package whose binary is there into outDir
//    (only the host's on a developer machine; with --all, as the release
//    workflow runs it, every target in package.json's napi.targets must be);
// 3. `npm pack`s the main package into outDir, with `optionalDependencies`
//    naming every platform package at the main package's version, the way
//    `napi pre-publish` rewrites package.json right before it publishes.
//    The repository's package.json is not touched: the platform packages are
//    not on the registry, and declaring them there would put package.json
//    out of sync with package-lock.json (`npm ci` refuses to run).
//
// Prints the absolute tarball paths on stdout, one a line, platform packages
// first; progress goes to stderr. Running it again overwrites the tarballs.
// Needs the build output (dist/, index.js, the .node); run `npm run build`
// first if it is missing.
"use strict";
const { spawnSync } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");

const { checkBaseline } = require("./glibc");
const { GLIBC_BASELINE } = require("./zig");

const ROOT = path.resolve(__dirname, "..");
const NPM_DIR = path.join(ROOT, "npm");

function fail(message) {
  console.error(`pack: ${message}`);
  process.exit(1);
}

function log(message) {
  console.error(`pack: ${message}`);
}

/** Runs `npm <args>` in `cwd` and returns its stdout; throws with its stderr on failure. */
function npm(args, cwd) {
  const r = spawnSync("npm", args, { cwd, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw r.error;
  if (r.status !== 0) {
    throw new Error(`npm ${args.join(" ")} (in ${cwd}) failed with exit code ${r.status}:\n${r.stderr}`);
  }
  return r.stdout;
}

/** `npm pack --json` output: one entry per packed package. */
function parsePackJson(stdout) {
  // npm prints the JSON array on stdout; lifecycle output would precede it,
  // but --ignore-scripts keeps stdout to the JSON alone.
  return JSON.parse(stdout.slice(stdout.indexOf("[")));
}

function packInto(dir, outDir) {
  const [entry] = parsePackJson(npm(["pack", "--json", "--ignore-scripts", "--pack-destination", outDir], dir));
  return path.join(outDir, entry.filename);
}

function readJson(file) {
  return JSON.parse(fs.readFileSync(file, "utf8"));
}

async function main() {
  const args = process.argv.slice(2);
  const all = args.includes("--all");
  const at = args.indexOf("--artifacts");
  const artifacts = path.resolve(at >= 0 ? args[at + 1] : ROOT);
  const positional = args.filter((a, i) => !a.startsWith("--") && (at < 0 || i !== at + 1));
  const outDir = path.resolve(positional[0] || path.join(ROOT, "target", "pack"));
  // The same reading of the "napi" field that the napi CLI uses.
  const { readNapiConfig } = require("@napi-rs/cli");
  const config = await readNapiConfig(path.join(ROOT, "package.json"));
  const rootPkg = readJson(path.join(ROOT, "package.json"));
  const { packageName, binaryName, targets } = config;
  const version = rootPkg.version;

  for (const file of ["dist/index.js", "dist/index.mjs", "dist/index.d.ts", "index.js", "index.d.ts"]) {
    if (!fs.existsSync(path.join(ROOT, file))) fail(`${file} is missing; run \`npm run build\` first`);
  }

  fs.mkdirSync(outDir, { recursive: true });
  const tarballs = [];
  const optionalDependencies = { ...(rootPkg.optionalDependencies || {}) };

  for (const target of targets) {
    const abi = target.platformArchABI;
    const pkgDir = path.join(NPM_DIR, abi);
    const manifestPath = path.join(pkgDir, "package.json");
    if (!fs.existsSync(manifestPath)) fail(`${path.relative(ROOT, manifestPath)} is missing; run \`npx napi create-npm-dirs\``);
    const manifest = readJson(manifestPath);
    const expectedName = `${packageName}-${abi}`;
    const binary = `${binaryName}.${abi}.node`;
    if (manifest.name !== expectedName) fail(`${path.relative(ROOT, manifestPath)} names ${manifest.name}, expected ${expectedName}`);
    if (manifest.version !== version) {
      fail(`${path.relative(ROOT, manifestPath)} has version ${manifest.version}, the main package ${version}; run \`npx napi version\``);
    }
    if (manifest.main !== binary) fail(`${path.relative(ROOT, manifestPath)} has main ${manifest.main}, expected ${binary}`);

    const built = path.join(artifacts, binary);
    if (!fs.existsSync(built)) {
      if (all) fail(`${binary} is missing in ${artifacts}; the release packs every target`);
      continue;
    }
    if (abi.startsWith("linux-") && abi.endsWith("-gnu")) {
      // What the platform package promises users (docs/install.md); a
      // STOWAGE_GLIBC_BASELINE override exists for the packaging test.
      const baseline = process.env.STOWAGE_GLIBC_BASELINE || GLIBC_BASELINE;
      const { max, newer } = checkBaseline(built, baseline);
      if (newer.length) {
        const list = newer.slice(0, 5).map((s) => `${s.symbol}@GLIBC_${s.version}`).join(", ");
        fail(`${binary} needs glibc ${max}, more than the ${baseline} baseline (${list}); build it with \`npm run build\` where python3 -m pip can install cargo-zigbuild (docs/install.md)`);
      }
    }
    fs.copyFileSync(built, path.join(pkgDir, binary));
    // npm/*/README.md is generated (and git-ignored); recreate it as
    // `napi create-npm-dirs` writes it.
    const readme = path.join(pkgDir, "README.md");
    if (!fs.existsSync(readme)) {
      fs.writeFileSync(readme, `# \`${expectedName}\`\n\nThis is the **${target.triple}** binary for \`${packageName}\`\n`);
    }
    log(`packing ${expectedName}@${version}`);
    tarballs.push(packInto(pkgDir, outDir));
    optionalDependencies[expectedName] = version;
  }

  if (tarballs.length === 0) fail(`no stowage.<platform>.node in ${artifacts}; run \`npm run build\` first`);

  // The main package: stage exactly the files `npm pack` would take from the
  // repository, with package.json gaining the optionalDependencies.
  const files = parsePackJson(npm(["pack", "--dry-run", "--json", "--ignore-scripts"], ROOT))[0].files.map((f) => f.path);
  const stageRoot = fs.mkdtempSync(path.join(os.tmpdir(), "stowage-pack-"));
  try {
    const stage = path.join(stageRoot, "package");
    for (const file of files) {
      fs.mkdirSync(path.dirname(path.join(stage, file)), { recursive: true });
      fs.copyFileSync(path.join(ROOT, file), path.join(stage, file));
    }
    const staged = { ...rootPkg, optionalDependencies };
    fs.writeFileSync(path.join(stage, "package.json"), `${JSON.stringify(staged, null, 2)}\n`);
    log(`packing ${rootPkg.name}@${version} (optionalDependencies: ${JSON.stringify(optionalDependencies)})`);
    tarballs.push(packInto(stage, outDir));
  } finally {
    fs.rmSync(stageRoot, { recursive: true, force: true });
  }

  for (const t of tarballs) console.log(t);
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : e);
  process.exit(1);
});
