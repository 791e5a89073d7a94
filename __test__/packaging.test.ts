// The published packages work with a plain `npm install`, without a Rust
// toolchain: the release workflow's linux-x64-gnu steps run here (its build
// command, against glibc 2.17 with cargo-zigbuild, the same build setup.js
// made, so cargo finds nothing to do; its glibc check; the publish job's
// pack step), an empty project installs both tarballs (plus apache-arrow)
// with a PATH that has no cargo/rustc, and CommonJS and ESM scripts use the
// installed package.
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve, sep } from "node:path";
import { parse } from "yaml";

const ROOT = resolve(__dirname, "..");
const rootPkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { name: string; version: string };
const PLATFORM_PKG = `${rootPkg.name}-linux-x64-gnu`;
const BINARY = `${rootPkg.name}.linux-x64-gnu.node`;

// The build step is a no-op for cargo after setup.js (same command, same
// target dir); the margin is for napi's own work and a loaded machine.
const SETUP_TIMEOUT = 400_000;

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { nativeBuild } = require("../scripts/common.js");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { checkBaseline } = require("../scripts/glibc.js");

interface Step {
  name?: string;
  run?: string;
}
const workflow = parse(readFileSync(join(ROOT, ".github", "workflows", "release.yml"), "utf8"));
const linuxJob = (workflow.jobs.build.strategy.matrix.settings as { platform: string; build: string }[]).find(
  (m) => m.platform === "linux-x64-gnu",
)!;

/** A workflow step's command for this machine: the matrix values filled in, `artifacts` moved to `artifactsDir`. */
function localCommand(command: string, artifactsDir: string): string[] {
  const filled = command
    .replace("${{ matrix.settings.build }}", linuxJob.build)
    .replace(/\$\{\{ matrix\.settings\.platform \}\}/g, "linux-x64-gnu");
  const args = filled.split(/\s+/).map((a) => a.replace(/^artifacts(?=\/|$)/, artifactsDir).replace(/^target\/pack$/, join(artifactsDir, "..", "pack")));
  // `npx napi` is the napi CLI of this repository's node_modules.
  return args[0] === "npx" ? [join(ROOT, "node_modules", ".bin", args[1]), ...args.slice(2)] : args;
}

// node's own directory first (npm sits next to it), then the system dirs:
// no ~/.cargo/bin, no node_modules/.bin.
const CLEAN_PATH = [...new Set([dirname(process.execPath), "/usr/bin", "/bin"])].join(":");

/** The environment for npm and the probes: no cargo, no loader overrides, no npm_* from `npx jest`. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(npm_|NAPI_RS_|CARGO|RUSTUP|RUSTC|NODE_PATH$|NODE_OPTIONS$)/i.test(k)) continue;
    env[k] = v;
  }
  env.PATH = CLEAN_PATH;
  env.AWS_EC2_METADATA_DISABLED = "true";
  return env;
}

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): SpawnSyncReturns<string> {
  const r = spawnSync(cmd, args, { cwd, env, encoding: "utf8", maxBuffer: 64 * 1024 * 1024, timeout: 150_000 });
  if (r.error) throw r.error;
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(" ")} exited with ${r.status}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
  }
  return r;
}

/** Every path under `dir`, relative to it. */
function walk(dir: string, base = dir): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    out.push(relative(base, p) + (e.isDirectory() ? "/" : ""));
    if (e.isDirectory()) out.push(...walk(p, base));
  }
  return out;
}

/** `key=value` lines of a probe's stdout. */
function parseProbe(stdout: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of stdout.split("\n")) {
    const eq = line.indexOf("=");
    if (eq > 0) out[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return out;
}

// The body shared by both probes; `lancedb` and `require` are bound by the
// CommonJS or ESM preamble. argv[2] is the database directory.
const PROBE_BODY = `
const dir = process.argv[2];
const main = async () => {
  const db = await lancedb.connect(dir);
  const t = await db.createTable("items", [
    { id: 1, name: "a", vector: [0.1, 0.2, 0.3] },
    { id: 2, name: "b", vector: [0.4, 0.5, 0.6] },
  ]);
  await t.add([{ id: 3, name: "c", vector: [0.7, 0.8, 0.9] }]);
  console.log("count=" + (await t.countRows()));
  const reopened = await (await lancedb.connect(dir)).openTable("items");
  const rows = await reopened.query().toArray();
  console.log("ids=" + rows.map((r) => r.id).join(","));
  console.log("names=" + rows.map((r) => r.name).join(","));
  console.log("vector3=" + Array.from(rows[2].vector, (x) => x.toFixed(2)).join(","));
  console.log("tables=" + (await db.tableNames()).join(","));

  const err = await lancedb.connect("ftp://x").then(() => null, (e) => e);
  console.log("ftpError=" + (err && err.code));
  console.log("ftpErrorIsStowageError=" + (err instanceof lancedb.StowageError));

  const s3 = await lancedb.connect("s3://bucket/db", {
    storageOptions: { awsAccessKeyId: "AKIDEXAMPLE", awsSecretAccessKey: "not-a-real-secret" },
  });
  const secret = s3.effectiveStorageOptions().find((o) => o.key === "aws_secret_access_key");
  console.log("secret=" + JSON.stringify(secret && { value: secret.value, source: secret.source, secret: secret.secret }));

  console.log("resolvedBinding=" + require.resolve("${PLATFORM_PKG}", { paths: [require.resolve("stowage")] }));
  const loaded = process.report.getReport().sharedObjects.filter((p) => p.endsWith(".node"));
  console.log("loadedNodeFiles=" + JSON.stringify(loaded));
};
main().catch((e) => {
  console.error(e && e.stack ? e.stack : e);
  process.exit(1);
});
`;

const CJS_PROBE = `"use strict";\nconst lancedb = require("stowage");\n${PROBE_BODY}`;
const ESM_PROBE = `import * as lancedb from "stowage";\nimport { createRequire } from "node:module";\nconst require = createRequire(import.meta.url);\n${PROBE_BODY}`;

describe("installing the packed packages without a Rust toolchain", () => {
  let work: string;
  let project: string;
  let tarballs: string[];
  let glibcCheck: string;
  const env = cleanEnv();

  beforeAll(() => {
    work = realpathSync(mkdtempSync(join(tmpdir(), "stowage-packaging-")));
    const packDir = join(work, "pack");
    project = join(work, "project");

    // The release workflow's linux-x64-gnu job, with the developer's
    // environment (only the install side is cleaned): build, glibc check,
    // then the publish job's pack step (without --all: one target here).
    const artifacts = join(work, "artifacts");
    const steps: Step[] = workflow.jobs.build.steps;
    const build = nativeBuild();
    expect(build.zig).toBe(true); // the release build needs zig here, as in CI
    const [napi, ...buildArgs] = localCommand(steps.find((s) => s.name === "Build")!.run!, artifacts);
    run(napi, buildArgs, ROOT, { ...process.env, ...build.env });
    const [, glibcScript, binaryArg] = localCommand(steps.find((s) => s.name === "Check the glibc baseline")!.run!, artifacts);
    glibcCheck = run(process.execPath, [join(ROOT, glibcScript), binaryArg], ROOT, process.env).stdout;
    const packStep = (workflow.jobs.publish.steps as Step[]).find((s) => s.run?.startsWith("node scripts/pack.js"))!.run!;
    const [, packScript, ...packArgs] = localCommand(packStep, artifacts).filter((a) => a !== "--all");
    expect(packArgs).toEqual(["--artifacts", artifacts, packDir]);
    const packed = run(process.execPath, [join(ROOT, packScript), ...packArgs], ROOT, process.env);
    tarballs = packed.stdout.trim().split("\n");

    // An empty project: a bare package.json pins npm's prefix to this dir.
    mkdirSync(project);
    writeFileSync(join(project, "package.json"), JSON.stringify({ name: "stowage-packaging-probe", private: true }, null, 2));
    // One command with both tarballs: the main package's optional dependency
    // stowage-linux-x64-gnu@<version> is then satisfied by the local tarball
    // and npm never asks the registry for it.
    run(
      "npm",
      ["install", "--no-audit", "--no-fund", "--prefer-offline", "--save-exact", "--loglevel=error", ...tarballs, "apache-arrow@18.1.0"],
      project,
      env,
    );
    writeFileSync(join(project, "probe.cjs"), CJS_PROBE);
    writeFileSync(join(project, "probe.mjs"), ESM_PROBE);
  }, SETUP_TIMEOUT);

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  test("the install PATH has node and npm but no cargo or rustc", () => {
    const which = (cmd: string) => spawnSync("/bin/sh", ["-c", `command -v ${cmd}`], { env, encoding: "utf8" });
    expect(which("cargo").status).not.toBe(0);
    expect(which("rustc").status).not.toBe(0);
    expect(which("node").status).toBe(0);
    expect(which("npm").status).toBe(0);
  });

  test("the packed binary needs no glibc newer than 2.17", () => {
    const binary = join(project, "node_modules", PLATFORM_PKG, BINARY);
    const { max, newer, count } = checkBaseline(binary, "2.17");
    // An imported symbol list that is there at all (the check reads something real).
    expect(count).toBeGreaterThan(50);
    expect(newer).toEqual([]);
    expect(max).toBe("2.17");
    expect(glibcCheck).toContain("newest GLIBC_2.17 (baseline 2.17)");
  });

  test("pack.js refuses a linux-gnu binary above the glibc baseline", () => {
    // A stand-in binary importing memcpy@GLIBC_2.14 and getrandom@GLIBC_2.25 is
    // not at hand, so a real one is checked against a lower baseline instead.
    const binary = join(project, "node_modules", PLATFORM_PKG, BINARY);
    expect(checkBaseline(binary, "2.16").newer.map((s: { version: string }) => s.version)).toContain("2.17");
    const r = spawnSync(process.execPath, [join(ROOT, "scripts", "pack.js"), "--artifacts", dirname(binary), join(work, "refused")], {
      cwd: ROOT,
      env: { ...process.env, STOWAGE_GLIBC_BASELINE: "2.16" },
      encoding: "utf8",
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("needs glibc 2.17, more than the 2.16 baseline");
  });

  test("pack.js produced both tarballs", () => {
    expect(tarballs.map((t) => t.split(sep).pop())).toEqual([`${PLATFORM_PKG}-${rootPkg.version}.tgz`, `${rootPkg.name}-${rootPkg.version}.tgz`]);
    for (const t of tarballs) expect(existsSync(t)).toBe(true);
  });

  test("the installed packages hold no Rust sources and the binary sits in the platform package", () => {
    const main = join(project, "node_modules", rootPkg.name);
    const platform = join(project, "node_modules", PLATFORM_PKG);
    const mainFiles = walk(main);
    for (const f of mainFiles) {
      expect(f).not.toMatch(/^(src|target)\/|(^|\/)(Cargo\.(toml|lock)|build\.rs)$|\.rs$|\.node$/);
    }
    expect(mainFiles).toEqual(expect.arrayContaining(["index.js", "index.d.ts", "dist/index.js", "dist/index.mjs", "dist/index.d.ts"]));
    expect(walk(platform).sort()).toEqual(["README.md", BINARY, "package.json"].sort());

    const installedMain = JSON.parse(readFileSync(join(main, "package.json"), "utf8"));
    expect(installedMain.optionalDependencies).toEqual({ [PLATFORM_PKG]: rootPkg.version });
    const installedPlatform = JSON.parse(readFileSync(join(platform, "package.json"), "utf8"));
    expect(installedPlatform).toMatchObject({
      name: PLATFORM_PKG,
      version: rootPkg.version,
      os: ["linux"],
      cpu: ["x64"],
      libc: ["glibc"],
      main: BINARY,
    });
    // The commit conformance suite is test-only: nothing of it ships.
    expect(readFileSync(join(platform, BINARY)).includes("onformance")).toBe(false);
    expect(readFileSync(join(main, "index.js"), "utf8")).not.toMatch(/onformance/);
    // Both came from the tarballs, not from a registry.
    const lock = JSON.parse(readFileSync(join(project, "package-lock.json"), "utf8"));
    expect(lock.packages[`node_modules/${PLATFORM_PKG}`].resolved).toMatch(/^file:.*\.tgz$/);
    expect(lock.packages[`node_modules/${rootPkg.name}`].resolved).toMatch(/^file:.*\.tgz$/);
  });

  test.each([
    ["CommonJS", "probe.cjs"],
    ["ESM", "probe.mjs"],
  ])("%s: connect, create, add, count, read, coded errors", (_label, script) => {
    const dbDir = join(work, `db-${script.replace(".", "-")}`);
    const r = run("node", [script, dbDir], project, env);
    const out = parseProbe(r.stdout);

    expect(out.count).toBe("3");
    expect(out.ids).toBe("1,2,3");
    expect(out.names).toBe("a,b,c");
    expect(out.vector3).toBe("0.70,0.80,0.90");
    expect(out.tables).toBe("items");
    expect(out.ftpError).toBe("INVALID_URI");
    expect(out.ftpErrorIsStowageError).toBe("true");
    expect(JSON.parse(out.secret)).toEqual({ value: "****", source: "connection", secret: true });

    const expectedBinary = join(project, "node_modules", PLATFORM_PKG, BINARY);
    expect(out.resolvedBinding).toBe(expectedBinary);
    // What the process actually dlopen()ed: the platform package's binary only.
    expect(JSON.parse(out.loadedNodeFiles)).toEqual([expectedBinary]);
    expect(r.stdout).not.toContain(ROOT + sep);
    // The table went to the given directory.
    expect(readdirSync(dbDir).length).toBeGreaterThan(0);
  });

  // What `require("stowage")` throws when no binary fits: one coded error
  // naming the platform, the package and the two fixes, for CommonJS and ESM.
  const MISSING_PROBE_CJS = `try { require("stowage"); console.log("loaded"); } catch (e) {
  console.log(JSON.stringify({ name: e.name, code: e.code, message: e.message })); }`;

  function loadError(args: string[]): { name: string; code: string; message: string } {
    const r = run("node", args, project, env);
    expect(r.stdout).not.toContain("loaded");
    return JSON.parse(r.stdout);
  }

  /** Runs `fn` with the installed platform package moved away (npm install --omit=optional). */
  function withoutPlatformPackage<T>(fn: () => T): T {
    const dir = join(project, "node_modules", PLATFORM_PKG);
    renameSync(dir, `${dir}.hidden`);
    try {
      return fn();
    } finally {
      renameSync(`${dir}.hidden`, dir);
    }
  }

  test("CommonJS: a skipped optional dependency is one NATIVE_BINDING_MISSING error naming the package and both fixes", () => {
    const err = withoutPlatformPackage(() => loadError(["-e", MISSING_PROBE_CJS]));
    expect(err.name).toBe("StowageError");
    expect(err.code).toBe("NATIVE_BINDING_MISSING");
    expect(err.message).toContain("linux-x64-gnu");
    expect(err.message).toContain(`optional dependency ${PLATFORM_PKG} is not installed`);
    expect(err.message).toContain(`npm install ${PLATFORM_PKG}`);
    expect(err.message).toContain("build from source with cargo");
    expect(err.message).not.toContain("Cannot find module");
  });

  test("ESM: an uncaught missing binary prints one error, not the loader's chain", () => {
    writeFileSync(join(project, "missing.mjs"), `import * as lancedb from "stowage";\nconsole.log("loaded", Object.keys(lancedb).length);\n`);
    const r = withoutPlatformPackage(() => spawnSync("node", ["missing.mjs"], { cwd: project, env, encoding: "utf8" }));
    expect(r.status).toBe(1);
    expect(r.stdout).not.toContain("loaded");
    expect(r.stderr.match(/^StowageError: /gm)).toEqual(["StowageError: "]);
    expect(r.stderr).toContain(`optional dependency ${PLATFORM_PKG} is not installed`);
    expect(r.stderr).toContain("build from source with cargo");
    expect(r.stderr).toContain("code: 'NATIVE_BINDING_MISSING'");
    expect(r.stderr).not.toContain("Cannot find module");
  });

  test("the installed package has the stowage command", () => {
    const r = run(join(project, "node_modules", ".bin", "stowage"), ["--help"], project, env);
    expect(r.stdout).toContain("usage: stowage <command>");
    expect(r.stdout).toContain("import-lance");
    const missing = spawnSync(join(project, "node_modules", ".bin", "stowage"), ["import-lance", "a", join(work, "b")], { cwd: project, env, encoding: "utf8" });
    // @lancedb/lancedb is an optional peer dependency: not installed here.
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain("@lancedb/lancedb, which is not installed");
  });

  test("a platform without a prebuilt package names it and the prebuilt ones", () => {
    // The loader and the error read process.arch: pretend to be linux-riscv64.
    writeFileSync(join(project, "riscv.cjs"), `Object.defineProperty(process, "arch", { value: "riscv64" });`);
    const err = loadError(["-r", "./riscv.cjs", "-e", MISSING_PROBE_CJS]);
    expect(err.code).toBe("NATIVE_BINDING_MISSING");
    expect(err.message).toContain("no prebuilt native addon for linux-riscv64-gnu");
    expect(err.message).toContain("looked for package stowage-linux-riscv64-gnu");
    expect(err.message).toContain("linux-x64-gnu, linux-x64-musl, linux-arm64-gnu");
    expect(err.message).toContain("build from source with cargo");
  });

  test("a binary that is installed but cannot load says why", () => {
    const binary = join(project, "node_modules", PLATFORM_PKG, BINARY);
    const good = readFileSync(binary);
    writeFileSync(binary, "not an ELF file");
    try {
      const err = loadError(["-e", MISSING_PROBE_CJS]);
      expect(err.code).toBe("NATIVE_BINDING_MISSING");
      expect(err.message).toContain(`(package ${PLATFORM_PKG}) is installed but failed to load`);
      expect(err.message).toMatch(/invalid ELF header|file too short/);
      expect(err.message).toContain("build from source with cargo");
    } finally {
      writeFileSync(binary, good);
    }
  });
});
