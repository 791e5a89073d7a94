// Runs one test of the Rust unit-test binary (`cargo test --release`), for
// suites that need servers only Jest starts: the commit conformance suite is
// test-only Rust code, so the shipped addon does not carry it.
import { execFile, spawnSync } from "node:child_process";
import { join } from "node:path";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { ROOT, nativeBuild } = require(join(__dirname, "..", "..", "scripts", "common.js"));

let binary: string | undefined;

/**
 * The Rust test binary. `npm test` has just built it (its first step is
 * `cargo test`), so this is a no-op build that only reports the path.
 */
export function rustTestBinary(): string {
  if (binary) return binary;
  // The same command (cargo-zigbuild for the glibc 2.17 target, or cargo)
  // as scripts/test.js, so the build it did is reused, not redone natively.
  const b = nativeBuild();
  const r = spawnSync(b.test[0], [...b.test.slice(1), "--lib", "--no-run", "--message-format=json"], {
    cwd: ROOT,
    env: b.env,
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`cargo test --no-run failed (${r.status}):\n${r.stderr}`);
  for (const line of r.stdout.split("\n")) {
    if (!line.startsWith("{")) continue;
    const msg = JSON.parse(line);
    if (msg.reason === "compiler-artifact" && msg.profile?.test && msg.executable) binary = msg.executable as string;
  }
  if (!binary) throw new Error("cargo test --no-run reported no test binary");
  return binary;
}

/** Runs the test whose full path is `name`, exactly, with `env` added; resolves with its output. */
export function runRustTest(name: string, env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      rustTestBinary(),
      [name, "--exact", "--nocapture", "--test-threads=1"],
      { env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}
