// SPDX-License-Identifier: Apache-2.0
// Credentials provider functions: `connect(uri, { credentials })`, and the
// same on openTable/createTable. The native side calls the wrapped function
// when it needs keys (lazily, cached until shortly before `expiresAt`,
// refreshed in the background, one call in flight at a time).
import { StowageError } from "./errors";

/** What a credentials provider returns (AWS keys, for s3:// and s3+ddb://). */
export interface AwsCredentialsValue {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  /** When these keys stop working: a Date or milliseconds since the epoch. Unset: they never expire. */
  expiresAt?: Date | number;
}

/** An async function handing out AWS credentials. */
export type CredentialsProvider = () => Promise<AwsCredentialsValue> | AwsCredentialsValue;

const SHAPE =
  "it must return { accessKeyId: string, secretAccessKey: string, sessionToken?: string, expiresAt?: Date | number }";

function kind(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  return typeof v === "object" ? "an object" : `a ${typeof v}`;
}

/** What is wrong with a provider's answer, naming fields and types, never values. */
function check(v: unknown): { ok: Record<string, unknown> } | { error: string } {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return { error: `it returned ${kind(v)}; ${SHAPE}` };
  const o = v as Record<string, unknown>;
  for (const f of ["accessKeyId", "secretAccessKey"]) {
    if (typeof o[f] !== "string" || (o[f] as string).length === 0) {
      const got = o[f] === undefined ? "is missing" : typeof o[f] === "string" ? "is empty" : `is ${kind(o[f])}`;
      return { error: `${f} ${got}; ${SHAPE}` };
    }
  }
  if (o.sessionToken !== undefined && o.sessionToken !== null && typeof o.sessionToken !== "string") {
    return { error: `sessionToken is ${kind(o.sessionToken)}; ${SHAPE}` };
  }
  let expiresAt: number | undefined;
  if (o.expiresAt instanceof Date) expiresAt = o.expiresAt.getTime();
  else if (typeof o.expiresAt === "number") expiresAt = o.expiresAt;
  else if (o.expiresAt !== undefined && o.expiresAt !== null) return { error: `expiresAt is ${kind(o.expiresAt)}; ${SHAPE}` };
  if (expiresAt !== undefined && !Number.isFinite(expiresAt)) return { error: `expiresAt is not a valid time; ${SHAPE}` };
  return {
    ok: {
      accessKeyId: o.accessKeyId,
      secretAccessKey: o.secretAccessKey,
      sessionToken: typeof o.sessionToken === "string" ? o.sessionToken : undefined,
      expiresAt,
    },
  };
}

/**
 * The user's function wrapped so that it always resolves to a JSON string the
 * native side reads: `{"ok":{...}}` or `{"error":"..."}`. A provider's own
 * error message is kept (cut to 300 characters): do not put secrets in it.
 */
export function wrapCredentials(fn: unknown, where: string): (() => Promise<string>) | undefined {
  if (fn === undefined || fn === null) return undefined;
  if (typeof fn !== "function") {
    throw new StowageError("INVALID_ARGUMENT", `${where} credentials must be an async function returning AWS credentials; got ${kind(fn)}`);
  }
  return async () => {
    try {
      return JSON.stringify(check(await (fn as CredentialsProvider)()));
    } catch (e) {
      const msg = e instanceof Error || (typeof e === "object" && e !== null && "message" in e) ? String((e as Error).message) : String(e);
      return JSON.stringify({ error: `it threw: ${msg.slice(0, 300)}` });
    }
  };
}
