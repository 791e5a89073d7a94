// The napi addon, loaded through the napi-rs generated loader (../index.js),
// which picks the local build or the prebuilt platform package.
import type * as Native from "../index";
import { ErrorCode, StowageError } from "./errors";

export type NativeConnection = Native.JsConnection;
export type NativeTable = Native.JsTable;
export type EffectiveOption = Native.JsEffectiveOption;

const PREFIX = "STOWAGE_ERR:";

/** Turns an error from the addon into a StowageError with a stable `code`. */
export function translateError(err: unknown): unknown {
  if (err instanceof StowageError) return err;
  // Duck-typed: errors made by the addon belong to Node's main realm, so
  // `instanceof Error` is false for them inside vm contexts (Jest, REPLs).
  if (typeof err === "object" && err !== null && typeof (err as Error).message === "string") {
    const msg = (err as Error).message;
    const at = msg.indexOf(PREFIX);
    if (at >= 0) {
      const rest = msg.slice(at + PREFIX.length);
      const colon = rest.indexOf(":");
      return new StowageError(rest.slice(0, colon) as ErrorCode, rest.slice(colon + 1));
    }
    // napi's own argument checks (wrong JS type for a parameter).
    const code = (err as { code?: string }).code;
    if (code === "InvalidArg" || code === "NumberExpected" || code === "StringExpected" || code === "ObjectExpected") {
      return new StowageError("INVALID_ARGUMENT", msg);
    }
  }
  return err;
}

/** Awaits a native call, translating its errors. */
export async function call<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw translateError(e);
  }
}

/** Runs a synchronous native call, translating its errors. */
export function callSync<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw translateError(e);
  }
}

/** The platform packages a release publishes (`napi.targets` in package.json, see npm/). */
const PLATFORM_PACKAGES = [
  "linux-x64-gnu",
  "linux-x64-musl",
  "linux-arm64-gnu",
  "linux-arm64-musl",
  "darwin-x64",
  "darwin-arm64",
  "win32-x64-msvc",
];

/** The napi platform name of this process, e.g. `linux-x64-gnu` (what the generated loader looks for). */
export function platformName(): string {
  const { platform, arch } = process;
  if (platform === "linux") {
    // glibc reports its version in the process report; musl does not.
    const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined;
    return `linux-${arch}-${report?.header?.glibcVersionRuntime ? "gnu" : "musl"}`;
  }
  if (platform === "win32") return `win32-${arch}-msvc`;
  return `${platform}-${arch}`;
}

/**
 * Loads the addon through the napi-rs generated loader (../index.js, which
 * `napi build` regenerates, so it is wrapped here rather than edited). When
 * no binary loads, the loader throws "Cannot find native binding" with a
 * chain of one `Cannot find module` per candidate; that becomes one
 * NATIVE_BINDING_MISSING error naming the platform, the package and the fixes.
 */
function loadNative(): typeof Native {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require("../index.js");
  } catch (e) {
    throw missingBindingError(e);
  }
}

function missingBindingError(cause: unknown): StowageError {
  const name = platformName();
  const pkg = `stowage-${name}`;
  // The loader's chain: the first error that is not a plain "not found" is
  // the interesting one (a binary that exists but does not load, e.g. a glibc
  // too old); otherwise the package is simply not installed.
  const reasons: string[] = [];
  for (let e = cause as { message?: string; cause?: unknown } | undefined; e && reasons.length < 20; e = e.cause as typeof e) {
    if (typeof e.message === "string") reasons.push(e.message.split("\n")[0]);
  }
  const loadFailure = /^Cannot find native binding/.test(reasons[0] ?? "")
    ? reasons.slice(1).find((r) => !/Cannot find module/.test(r))
    : reasons[0];
  const supported = PLATFORM_PACKAGES.includes(name);
  const what = supported
    ? loadFailure
      ? `The native addon for ${name} (package ${pkg}) is installed but failed to load: ${loadFailure}.`
      : `The native addon for ${name} was not found: the optional dependency ${pkg} is not installed ` +
        `(npm skips it with --no-optional/--omit=optional, or when the lockfile was made on another OS).`
    : `There is no prebuilt native addon for ${name} (looked for package ${pkg}; prebuilt: ${PLATFORM_PACKAGES.join(", ")}).`;
  const fixes = supported
    ? `Fix: install it (\`npm install ${pkg}\`, or reinstall without --no-optional), ` +
      `or build from source with cargo (Rust toolchain; \`npm run build\` in a clone of stowage). See docs/install.md.`
    : `Fix: install a platform package that fits, or build from source with cargo ` +
      `(Rust toolchain; \`npm run build\` in a clone of stowage). See docs/install.md.`;
  // No `cause`: Node prints an uncaught error's cause chain, which would bring
  // back the loader's list of `Cannot find module` errors; the reason that
  // matters is in the message.
  return new StowageError("NATIVE_BINDING_MISSING", `${what} ${fixes}`);
}

// Last, after the tables above: loading runs at module initialisation.
export const native: typeof Native = loadNative();
