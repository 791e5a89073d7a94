// SPDX-License-Identifier: Apache-2.0
// `stowage.doctor(uri, options)`: live permission and capability checks with
// the user's own configuration (see docs/cli.md). The same report the CLI prints.
import type { StorageOptions } from "./connection";
import { CredentialsProvider, wrapCredentials } from "./credentials";
import { StowageError } from "./errors";
import { call, callSync, native, EffectiveOption } from "./native";

export interface DoctorCheck {
  /** e.g. "list", "put", "create-only put", "ddb PutItem". */
  name: string;
  ok: boolean;
  /** Whether a table needs it: a failed optional check does not fail the run. */
  required: boolean;
  /** The request made. */
  request: string;
  /** On failure, when the store refused: the missing permission and its resource. */
  permission?: string;
  /** On failure: the store's answer (no secrets). */
  error?: string;
  /** On failure: what to do. */
  fix?: string;
  note?: string;
}

export interface DoctorReport {
  uri: string;
  backend: string;
  /** True when every required check passed. */
  ok: boolean;
  checks: DoctorCheck[];
  /** The effective configuration the checks ran with (secrets masked). */
  configuration: EffectiveOption[];
}

export interface DoctorOptions {
  storageOptions?: StorageOptions;
  credentials?: CredentialsProvider;
}

function clean(c: DoctorCheck): DoctorCheck {
  const out: DoctorCheck = { name: c.name, ok: c.ok, required: c.required, request: c.request };
  for (const k of ["permission", "error", "fix", "note"] as const) if (c[k] != null) out[k] = c[k];
  return out;
}

/** Starts a run; `interrupt()` stops it early (what it wrote is still removed). */
export function startDoctor(uri: string, options: DoctorOptions = {}): { report: Promise<DoctorReport>; interrupt: () => void } {
  if (typeof uri !== "string") throw new StowageError("INVALID_URI", `doctor() needs a URI string, got ${typeof uri}`);
  const run = new native.JsDoctor();
  const credentials = wrapCredentials(options.credentials, "doctor");
  const report = call(() => run.run({ uri, storageOptions: options.storageOptions, credentials })).then((r) => ({
    uri: r.uri,
    backend: r.backend,
    ok: r.ok,
    checks: r.checks.map((c) => clean(c as DoctorCheck)),
    configuration: r.configuration,
  }));
  return { report, interrupt: () => run.interrupt() };
}

/**
 * Checks, live, every permission and capability a table at `uri` needs
 * (list, get, put, delete, create-only put, multipart create/abort, SSE-KMS,
 * and the DynamoDB commit table for s3+ddb://). Objects it writes are removed.
 */
export async function doctor(uri: string, options: DoctorOptions = {}): Promise<DoctorReport> {
  return startDoctor(uri, options).report;
}

/** The effective configuration for `uri` and options, as connect() would resolve it; no request is made. */
export function resolveConfiguration(uri: string, options: DoctorOptions = {}): EffectiveOption[] {
  const credentials = wrapCredentials(options.credentials, "config");
  return callSync(() => native.resolveStorageOptions({ uri, storageOptions: options.storageOptions, credentials }));
}

/** The report as the CLI prints it: one line per check. */
export function formatDoctorReport(r: DoctorReport): string {
  const lines = [`stowage doctor ${r.uri} (${r.backend})`];
  for (const c of r.checks) {
    const mark = c.ok ? "✔" : c.required ? "✘" : "!";
    lines.push(`${mark} ${c.name}: ${c.request}${c.note ? ` (${c.note})` : ""}`);
    if (!c.ok) {
      if (c.permission) lines.push(`    missing permission: ${c.permission}`);
      if (c.error) lines.push(`    error: ${c.error}`);
      if (c.fix) lines.push(`    fix: ${c.fix}`);
    }
  }
  const failed = r.checks.filter((c) => !c.ok && c.required).length;
  lines.push(r.ok ? "All checks passed: tables can be read and written here." : `${failed} required check(s) failed.`);
  return lines.join("\n");
}
