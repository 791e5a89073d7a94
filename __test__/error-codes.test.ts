// The error codes have one source, the Rust `ErrorCode` list: napi generates
// the TypeScript `ErrorCode` type from it, and the README lists the same codes.
import { readFileSync } from "node:fs";
import { join } from "node:path";

const ROOT = join(__dirname, "..");

function generatedCodes(): string[] {
  const dts = readFileSync(join(ROOT, "index.d.ts"), "utf8");
  const union = /export type ErrorCode = (.*)/.exec(dts);
  expect(union).not.toBeNull();
  return [...union![1].matchAll(/'([A-Z_]+)'/g)].map((m) => m[1]);
}

test("the README lists exactly the codes of the generated ErrorCode type", () => {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const at = readme.indexOf("Every error a caller can cause is a `StowageError`");
  expect(at).toBeGreaterThan(0);
  const paragraph = readme.slice(at, readme.indexOf("\n\n", at));
  const listed = [...paragraph.matchAll(/`([A-Z_]{3,})`/g)].map((m) => m[1]);
  const codes = generatedCodes();
  expect(codes.length).toBeGreaterThan(20);
  expect(listed).toEqual(codes);
});

test("the runtime enum the addon exports matches the type", () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const native = require("../index.js");
  expect(Object.values(native.ErrorCode)).toEqual(generatedCodes());
});
