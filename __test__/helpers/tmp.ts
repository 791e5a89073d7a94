import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A fresh temporary directory, removed by the returned cleanup. */
export function tempDir(prefix = "stowage-test-"): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A memory:// URI no other test uses. */
export function memoryUri(): string {
  return `memory://test-${process.pid}-${Math.random().toString(36).slice(2)}`;
}

/** A fresh database URI in a temporary local directory or in memory, and its cleanup. */
export function placeUri(where: "local directory" | "memory"): { uri: string; cleanup: () => void } {
  if (where === "memory") return { uri: memoryUri(), cleanup: () => undefined };
  const d = tempDir();
  return { uri: d.dir, cleanup: d.cleanup };
}

/** Asserts that `p` rejects with a StowageError of `code` whose message matches. */
export async function expectCode(p: Promise<unknown> | (() => unknown), code: string, message?: RegExp | string): Promise<Error> {
  let err: unknown;
  try {
    if (typeof p === "function") await p();
    else await p;
  } catch (e) {
    err = e;
  }
  if (typeof err !== "object" || err === null || typeof (err as Error).message !== "string") {
    throw new Error(`expected an error with code ${code}, but got ${String(err)}`);
  }
  const e = err as Error & { code?: string };
  expect({ code: e.code, message: e.message }).toMatchObject({ code });
  if (message !== undefined) expect(e.message).toMatch(message);
  return e;
}
