// The release workflow (.github/workflows/release.yml) parses as YAML and
// builds exactly the platform packages under npm/ that package.json's
// napi.targets names, in the napi-rs convention. Its linux-x64-gnu job's
// steps run for real in packaging.test.ts.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";

const ROOT = join(__dirname, "..");
const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));

interface Settings {
  platform: string;
  host: string;
  target: string;
  zig: boolean;
  build: string;
}
interface Step {
  name?: string;
  uses?: string;
  run?: string;
  if?: string;
  with?: Record<string, unknown>;
}

const workflow = parse(readFileSync(join(ROOT, ".github", "workflows", "release.yml"), "utf8"));
const matrix: Settings[] = workflow.jobs.build.strategy.matrix.settings;

const PLATFORMS: Record<string, string> = {
  "linux-x64-gnu": "x86_64-unknown-linux-gnu",
  "linux-x64-musl": "x86_64-unknown-linux-musl",
  "linux-arm64-gnu": "aarch64-unknown-linux-gnu",
  "linux-arm64-musl": "aarch64-unknown-linux-musl",
  "darwin-x64": "x86_64-apple-darwin",
  "darwin-arm64": "aarch64-apple-darwin",
  "win32-x64-msvc": "x86_64-pc-windows-msvc",
};

test("the matrix builds the seven platforms of napi.targets, each with its npm/ package", () => {
  expect(matrix.map((m) => m.platform).sort()).toEqual(Object.keys(PLATFORMS).sort());
  expect([...pkg.napi.targets].sort()).toEqual(Object.values(PLATFORMS).sort());
  expect(readdirSync(join(ROOT, "npm")).sort()).toEqual(Object.keys(PLATFORMS).sort());
  for (const m of matrix) {
    expect(m.target).toBe(PLATFORMS[m.platform]);
    const manifest = JSON.parse(readFileSync(join(ROOT, "npm", m.platform, "package.json"), "utf8"));
    expect(manifest).toMatchObject({ name: `${pkg.name}-${m.platform}`, version: pkg.version, main: `stowage.${m.platform}.node` });
    // Runs on the OS it builds for (macOS and Windows cannot be cross-built here).
    const os = m.platform.split("-")[0];
    expect(m.host).toMatch(os === "linux" ? /^ubuntu-/ : os === "darwin" ? /^macos-/ : /^windows-/);
  }
});

test("each build command is napi build for its target; linux-gnu targets link against glibc 2.17 with zig", () => {
  for (const m of matrix) {
    const args = m.build.split(/\s+/);
    expect(args.slice(0, 3)).toEqual(["npx", "napi", "build"]);
    expect(args).toEqual(expect.arrayContaining(["--platform", "--release", "--no-js", "--output-dir", "artifacts"]));
    const target = args[args.indexOf("--target") + 1];
    // Only musl needs flags: its static C runtime cannot make a shared library.
    expect((m as Settings & { rustflags?: string }).rustflags).toBe(m.platform.endsWith("-musl") ? "-C target-feature=-crt-static" : undefined);
    if (m.platform.startsWith("linux-")) {
      expect(m.zig).toBe(true);
      expect(args).toContain("-x");
      expect(target).toBe(m.platform.endsWith("-gnu") ? `${m.target}.2.17` : m.target);
    } else {
      expect(m.zig).toBe(false);
      expect(target).toBe(m.target);
    }
  }
});

test("the build job uploads the binary it built, after checking the glibc baseline", () => {
  const steps: Step[] = workflow.jobs.build.steps;
  const names = steps.map((s) => s.name ?? s.uses);
  const build = names.indexOf("Build");
  const glibc = names.indexOf("Check the glibc baseline");
  const upload = names.findIndex((n) => n?.startsWith("actions/upload-artifact"));
  expect(build).toBeGreaterThan(names.indexOf("Install dependencies"));
  expect(glibc).toBeGreaterThan(build);
  expect(upload).toBeGreaterThan(glibc);
  expect(steps[build].run).toBe("${{ matrix.settings.build }}");
  expect(steps[glibc].run).toBe("node scripts/glibc.js artifacts/stowage.${{ matrix.settings.platform }}.node");
  expect(steps[upload].with?.path).toBe("artifacts/stowage.${{ matrix.settings.platform }}.node");
  // The scripts the steps call exist.
  for (const s of steps.filter((x) => x.run?.startsWith("node scripts/"))) {
    expect(existsSync(join(ROOT, s.run!.split(/\s+/)[1]))).toBe(true);
  }
});

test("the publish job packs every platform package with the main package", () => {
  expect(workflow.jobs.publish.needs).toBe("build");
  const runs = (workflow.jobs.publish.steps as Step[]).map((s) => s.run).filter(Boolean);
  expect(runs).toContain("node scripts/pack.js --all --artifacts artifacts target/pack");
  expect(runs.some((r) => /npm publish .*\$t/.test(r!))).toBe(true);
  expect(workflow.on.push.tags).toEqual(["v*"]);
});
