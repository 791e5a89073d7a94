// The napi addon, loaded through the napi-rs generated loader (../index.js),
// which picks the local build or the prebuilt platform package.
import type * as Native from "../index";
import { ErrorCode, StowageError } from "./errors";

// eslint-disable-next-line @typescript-eslint/no-require-imports
export const native: typeof Native = require("../index.js");
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
