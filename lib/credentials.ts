// SPDX-License-Identifier: Apache-2.0
// Credentials provider functions: `connect(uri, { credentials })`, and the
// same on openTable/createTable. The native side calls the wrapped function
// when it needs credentials (lazily, cached until shortly before `expiresAt`,
// refreshed in the background, one call in flight at a time). Which fields
// are needed depends on the database's backend (see docs/credentials.md);
// this file checks types only, the native side checks the shape for the URI.
import { StowageError } from "./errors";

/** When the credentials stop working: a Date or milliseconds since the epoch. Unset: they never expire. */
export type ExpiresAt = Date | number;

/** AWS keys, for s3:// and s3+ddb:// (S3 and DynamoDB). */
export interface AwsCredentialsValue {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiresAt?: ExpiresAt;
}

/** A shared access signature for az:// (the query string, with or without a leading "?"). */
export interface AzureSasCredentialsValue {
  sasToken: string;
  expiresAt?: ExpiresAt;
}

/** An OAuth bearer token: for az:// (Microsoft Entra ID) or gs:// (Google OAuth 2.0). */
export interface TokenCredentialsValue {
  token: string;
  expiresAt?: ExpiresAt;
}

/** A storage account key (base64) for az://, for key rotation. */
export interface AzureAccountKeyCredentialsValue {
  accountKey: string;
  expiresAt?: ExpiresAt;
}

/** What a credentials provider returns; the shape depends on the URI's backend. */
export type CredentialsValue =
  | AwsCredentialsValue
  | AzureSasCredentialsValue
  | TokenCredentialsValue
  | AzureAccountKeyCredentialsValue;

/** An async function handing out credentials (see docs/credentials.md for each backend's shape). */
export type CredentialsProvider = () => Promise<CredentialsValue> | CredentialsValue;

const STRING_FIELDS = ["accessKeyId", "secretAccessKey", "sessionToken", "sasToken", "token", "accountKey"] as const;

function kind(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  return typeof v === "object" ? "an object" : `a ${typeof v}`;
}

/**
 * What is wrong with a provider's answer, naming fields and types, never values. `shape` errors get
 * the backend's expected fields appended natively.
 */
function check(v: unknown): { ok: Record<string, unknown> } | { error: string; shape: true } {
  if (typeof v !== "object" || v === null || Array.isArray(v) || v instanceof Date) {
    return { error: `it returned ${kind(v)}`, shape: true };
  }
  const o = v as Record<string, unknown>;
  const ok: Record<string, unknown> = {};
  for (const f of STRING_FIELDS) {
    const x = o[f];
    if (x === undefined || x === null) continue;
    if (typeof x !== "string") return { error: `${f} is ${kind(x)}`, shape: true };
    ok[f] = x;
  }
  let expiresAt: number | undefined;
  if (o.expiresAt instanceof Date) expiresAt = o.expiresAt.getTime();
  else if (typeof o.expiresAt === "number") expiresAt = o.expiresAt;
  else if (o.expiresAt !== undefined && o.expiresAt !== null) return { error: `expiresAt is ${kind(o.expiresAt)}`, shape: true };
  if (expiresAt !== undefined && !Number.isFinite(expiresAt)) return { error: "expiresAt is not a valid time", shape: true };
  ok.expiresAt = expiresAt;
  return { ok };
}

/**
 * The user's function wrapped so that it always resolves to a JSON string the
 * native side reads: `{"ok":{...}}` or `{"error":"...","shape":bool}`. A
 * provider's own error message is kept (cut to 300 characters): do not put
 * secrets in it.
 */
export function wrapCredentials(fn: unknown, where: string): (() => Promise<string>) | undefined {
  if (fn === undefined || fn === null) return undefined;
  if (typeof fn !== "function") {
    throw new StowageError(
      "INVALID_ARGUMENT",
      `${where} credentials must be an async function returning credentials (see docs/credentials.md); got ${kind(fn)}`,
    );
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
