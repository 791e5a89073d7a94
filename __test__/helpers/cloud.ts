/**
 * Shared helpers for the cloud-* suites (real emulators on 127.0.0.1, see helpers/emulators.ts).
 *
 * Nothing here may send traffic anywhere but loopback: every connection the suites make gives an
 * endpoint on 127.0.0.1 (or a service-account file whose gcs_base_url is on 127.0.0.1), and
 * `assertLoopback()` checks the resolved configuration (effectiveStorageOptions) before any I/O.
 */
import { spawn } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as http from "http";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import * as lancedb from "../../lib";
import type { AzureEndpoint, Endpoints, GcsEndpoint, S3Endpoint } from "./emulators";
import { confusingPort, listenOnLoopback } from "./listen";

export interface Effective {
  key: string;
  value: string;
  source: string;
  givenAs: string;
  secret: boolean;
}

export const records = [
  { id: 1, name: "a", vector: [0.1, 0.2] },
  { id: 2, name: "b", vector: [0.3, 0.4] },
];
export const more = [{ id: 3, name: "c", vector: [0.5, 0.6] }];

/**
 * A bucket/container/table name no other test uses (valid for S3, GCS and Azure: [a-z0-9-], no "--").
 * Letters only: stowage's error classification looks for "401"/"403" anywhere in the message, URLs
 * included, so random digits in a name could change an error's code (see cloud-errors).
 */
export function uniq(prefix: string): string {
  return `${prefix}-${Array.from(crypto.randomBytes(10), (b) => String.fromCharCode(97 + (b % 26))).join("")}`;
}

export function plain(rows: unknown[]): Record<string, unknown>[] {
  return rows.map((r) => JSON.parse(JSON.stringify((r as { toJSON(): unknown }).toJSON())));
}

export function eff(list: Effective[], key: string): Effective | undefined {
  return list.find((e) => e.key === key);
}

/** { key: source } for the given keys, for compact assertions. */
export function sources(list: Effective[], keys: string[]): Record<string, string | undefined> {
  return Object.fromEntries(keys.map((k) => [k, eff(list, k)?.source]));
}

function isLoopback(u: string): boolean {
  try {
    const h = new URL(u).hostname;
    return h === "127.0.0.1" || h === "localhost" || h === "[::1]";
  } catch {
    return false;
  }
}

/** Connects, then refuses to go on unless the resolved configuration stays on loopback. */
export async function connectOnLoopback(
  uri: string,
  storageOptions: Record<string, unknown>,
  backend: "s3" | "gcs" | "azure",
): Promise<lancedb.Connection> {
  const db = await lancedb.connect(uri, { storageOptions: storageOptions as lancedb.StorageOptions });
  assertLoopback(db.effectiveStorageOptions(), backend);
  return db;
}

/** Throws unless the resolved configuration can only reach 127.0.0.1 (call before any I/O). */
export function assertLoopback(list: Effective[], backend: "s3" | "gcs" | "azure"): void {
  for (const k of ["aws_endpoint", "azure_endpoint", "proxy_url", "dynamodb_endpoint"]) {
    const e = eff(list, k);
    if (e && !isLoopback(e.value)) throw new Error(`loopback guard: ${k}=${e.value}`);
  }
  if (backend === "s3" && !eff(list, "aws_endpoint")) throw new Error("loopback guard: no aws_endpoint resolved");
  if (backend === "azure" && !eff(list, "azure_endpoint") && eff(list, "azure_storage_use_emulator")?.value !== "true") {
    throw new Error("loopback guard: no azure_endpoint and not use_emulator");
  }
  if (backend === "gcs") {
    const sa = eff(list, "google_service_account") ?? eff(list, "google_application_credentials");
    const key = eff(list, "google_service_account_key");
    if (sa) {
      const j = JSON.parse(fs.readFileSync(sa.value, "utf8")) as { gcs_base_url?: string };
      if (!j.gcs_base_url || !isLoopback(j.gcs_base_url)) throw new Error(`loopback guard: gcs_base_url=${j.gcs_base_url}`);
    } else if (!key) {
      throw new Error("loopback guard: no GCS credentials naming a loopback gcs_base_url");
    }
  }
}

// ---- options for each emulator ----------------------------------------------------------------

export function s3Options(s3: S3Endpoint, extra: Record<string, unknown> = {}): Record<string, string | boolean | number> {
  return {
    region: s3.region,
    endpoint: s3.endpoint,
    allowHttp: true,
    awsAccessKeyId: s3.accessKeyId,
    awsSecretAccessKey: s3.secretAccessKey,
    ...(extra as Record<string, string>),
  };
}

export function gcsOptions(gcs: GcsEndpoint, extra: Record<string, unknown> = {}): Record<string, string | boolean | number> {
  return { serviceAccount: gcs.serviceAccountPath, allowHttp: true, ...(extra as Record<string, string>) };
}

export function azureOptions(az: AzureEndpoint, extra: Record<string, unknown> = {}): Record<string, string | boolean | number> {
  return { accountName: az.account, accountKey: az.key, endpoint: az.endpoint, allowHttp: true, ...(extra as Record<string, string>) };
}

/** A service-account JSON for object_store's GCS client pointing at `baseUrl` (disable_oauth). */
export function writeServiceAccount(dir: string, baseUrl: string, name = "sa.json"): string {
  const file = path.join(dir, name);
  fs.writeFileSync(
    file,
    JSON.stringify({
      type: "service_account",
      private_key: "unused (disable_oauth is true)",
      private_key_id: "stowage-test",
      client_email: "stowage-test@localhost.invalid",
      gcs_base_url: baseUrl,
      disable_oauth: true,
    }),
  );
  return file;
}

// ---- Azure account SAS ------------------------------------------------------------------------

/**
 * An account SAS for the blob service, signed with the account key, as in
 * https://learn.microsoft.com/rest/api/storageservices/create-account-sas (version >= 2020-12-06:
 * the string-to-sign has the encryption-scope line). Returned percent-encoded, as the portal gives it.
 */
export function azureAccountSas(
  az: AzureEndpoint,
  opts: { permissions?: string; expiry?: Date; version?: string } = {},
): string {
  const sv = opts.version ?? "2021-08-06";
  const sp = opts.permissions ?? "rwdlac";
  const ss = "b";
  const srt = "sco";
  const spr = "https,http";
  const se = (opts.expiry ?? new Date(Date.now() + 3600_000)).toISOString().replace(/\.\d{3}Z$/, "Z");
  const stringToSign = [az.account, sp, ss, srt, "", se, "", spr, sv, "", ""].join("\n");
  const sig = crypto.createHmac("sha256", Buffer.from(az.key, "base64")).update(stringToSign, "utf8").digest("base64");
  return new URLSearchParams({ sv, ss, srt, sp, se, spr, sig }).toString();
}

// ---- errors and timing ------------------------------------------------------------------------

export interface CaughtError {
  code?: string;
  message: string;
  name?: string;
  ms: number;
  stack?: string;
}

/** Runs `fn`, which must reject; returns the error with how long it took. */
export async function failure(fn: () => Promise<unknown>): Promise<CaughtError> {
  const t0 = Date.now();
  try {
    await fn();
  } catch (e) {
    const err = e as Error & { code?: string };
    return { code: err.code, message: String(err.message), name: err.name, ms: Date.now() - t0, stack: err.stack };
  }
  throw new Error(`expected a failure, but it succeeded after ${Date.now() - t0} ms`);
}

/** Asserts that none of `secrets` (nor their URL-encoded forms) appears in `text`. */
export function expectNoSecrets(text: string, secrets: string[]): void {
  for (const s of secrets.filter((x) => x && x.length >= 4)) {
    for (const form of new Set([s, encodeURIComponent(s)])) {
      if (text.includes(form)) throw new Error(`a secret leaked into: ${text.slice(0, 2000)}`);
    }
  }
}

// ---- table layout in the bucket ---------------------------------------------------------------

/** Asserts that `keys` (every object under `<db>/<table>.stowage/`) is a committed table's layout. */
export function expectTableLayout(keys: string[], prefix: string, versions: number, dataFiles: number): void {
  const rel = keys.map((k) => {
    expect(k.startsWith(prefix)).toBe(true);
    return k.slice(prefix.length);
  });
  const manifests = rel.filter((k) => /^_versions\/\d{20}\.manifest$/.test(k));
  const data = rel.filter((k) => /^data\/[0-9a-f-]{36}\.parquet$/.test(k));
  expect({ manifests: manifests.length, data: data.length, other: rel.length - manifests.length - data.length }).toEqual({
    manifests: versions,
    data: dataFiles,
    other: 0,
  });
  // version 1 is u64::MAX - 1 (docs/FORMAT.md)
  expect(manifests).toContain("_versions/18446744073709551614.manifest");
}

// ---- child processes ---------------------------------------------------------------------------

export interface ChildSpec {
  uri: string;
  storageOptions?: Record<string, unknown>;
  tableOptions?: Record<string, unknown>;
  table: string;
  ops: string[];
  loopback?: "s3" | "gcs" | "azure";
}

export interface ChildResult {
  ok: boolean;
  steps: Record<string, unknown>;
  effective: Effective[] | null;
  tableEffective: Effective[] | null;
  error: { code?: string; message: string } | null;
  ms: number;
  stderr: string;
  exitCode: number | null;
}

const childScript = path.join(__dirname, "cloud-child.js");
let childHome: string | undefined;

/**
 * The whole environment of a child: nothing is inherited but PATH, so no ambient AWS_/AZURE_/GOOGLE_
 * variable or ~/.aws, ~/.config/gcloud file can take part (HOME is an empty directory).
 */
export function childEnv(vars: Record<string, string>): Record<string, string> {
  if (!childHome) {
    // one empty directory, reused by every run (nothing is ever written to it)
    childHome = path.join(os.tmpdir(), "stowage-cloud-empty-home");
    fs.mkdirSync(childHome, { recursive: true });
  }
  return { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: childHome, AWS_EC2_METADATA_DISABLED: "true", ...vars };
}

/**
 * Runs helpers/cloud-child.js with exactly `env` (plus childEnv's base). `onPause` is called at each
 * "pause" op with the steps so far; the child continues when it returns.
 */
export function runChild(
  spec: ChildSpec,
  env: Record<string, string>,
  onPause?: (steps: Record<string, unknown>) => Promise<void>,
  timeoutMs = 30_000,
): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [childScript, JSON.stringify(spec)], {
      env: childEnv(env),
      stdio: ["pipe", "pipe", "pipe"],
    });
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`child did not finish within ${timeoutMs} ms: ${stderr}`));
    }, timeoutMs);
    let stdout = "";
    let stderr = "";
    let last: Omit<ChildResult, "stderr" | "exitCode"> | undefined;
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
      let nl: number;
      while ((nl = stdout.indexOf("\n")) >= 0) {
        const line = stdout.slice(0, nl);
        stdout = stdout.slice(nl + 1);
        if (!line.trim()) continue;
        const msg = JSON.parse(line);
        if (msg.paused) {
          (onPause ? onPause(msg.steps) : Promise.resolve()).then(
            () => child.stdin.write("go\n"),
            (e) => {
              child.kill("SIGKILL");
              reject(e);
            },
          );
        } else {
          last = msg;
        }
      }
    });
    child.on("error", reject);
    child.on("close", (exitCode) => {
      clearTimeout(timer);
      if (!last) return reject(new Error(`child printed no result (exit ${exitCode}): ${stderr}`));
      resolve({ ...last, stderr, exitCode });
    });
  });
}

/** Runs `tasks` with at most `n` in flight. */
export async function pool<T>(n: number, tasks: (() => Promise<T>)[]): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, tasks.length) }, async () => {
      while (next < tasks.length) {
        const i = next++;
        results[i] = await tasks[i]();
      }
    }),
  );
  return results;
}

// ---- loopback HTTP servers for observing what the client sends --------------------------------

export interface Recorded {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  at: number;
  /** Response body bytes (recordingProxy only). */
  bytes?: number;
}

export interface TestServer {
  url: string;
  port: number;
  seen: Recorded[];
  close: () => Promise<void>;
}

async function listen(srv: http.Server, seen: Recorded[]): Promise<TestServer> {
  const port = await listenOnLoopback(srv);
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    seen,
    close: () =>
      new Promise<void>((c) => {
        srv.closeAllConnections();
        srv.close(() => c());
      }),
  };
}

/**
 * A recording HTTP proxy in front of `target` (an emulator on 127.0.0.1). Works both as a reverse
 * proxy (give its URL as the endpoint) and as a forward proxy (give it as proxy_url: requests arrive
 * in absolute form). CONNECT (an https tunnel to anywhere) is refused and recorded, never forwarded.
 */
export function recordingProxy(target: string): Promise<TestServer> {
  const seen: Recorded[] = [];
  const t = new URL(target);
  const srv = http.createServer((req, res) => {
    const rec: Recorded = { method: req.method ?? "", url: req.url ?? "", headers: req.headers, at: Date.now(), bytes: 0 };
    seen.push(rec);
    let p = req.url ?? "/";
    if (/^https?:\/\//.test(p)) {
      const u = new URL(p);
      if (!isLoopback(u.href)) {
        res.writeHead(403);
        res.end("loopback only");
        return;
      }
      p = u.pathname + u.search;
    }
    const up = http.request({ host: t.hostname, port: t.port, method: req.method, path: p, headers: req.headers }, (ur) => {
      res.writeHead(ur.statusCode ?? 502, ur.headers);
      ur.on("data", (c: Buffer) => (rec.bytes = (rec.bytes ?? 0) + c.length));
      ur.pipe(res);
    });
    up.on("error", (e) => {
      res.writeHead(502);
      res.end(String(e));
    });
    req.pipe(up);
  });
  srv.on("connect", (req: http.IncomingMessage, sock: net.Socket) => {
    seen.push({ method: "CONNECT", url: req.url ?? "", headers: req.headers, at: Date.now() });
    sock.end("HTTP/1.1 403 Forbidden\r\n\r\n");
  });
  return listen(srv, seen);
}

/** A server that answers every request with `status` (e.g. 503) and counts them. */
export function statusServer(status: number): Promise<TestServer> {
  const seen: Recorded[] = [];
  const srv = http.createServer((req, res) => {
    seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, at: Date.now() });
    req.resume();
    res.writeHead(status, { "content-type": "text/plain" });
    res.end(`status ${status}`);
  });
  return listen(srv, seen);
}

/** A server that reads requests and never answers (for request timeouts). */
export function stallingServer(): Promise<TestServer> {
  const seen: Recorded[] = [];
  const srv = http.createServer((req) => {
    seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, at: Date.now() });
    req.resume();
  });
  return listen(srv, seen);
}

/** A TCP port on 127.0.0.1 with nothing listening (connection refused). */
export async function closedPort(): Promise<number> {
  for (;;) {
    const srv = net.createServer();
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
    const port = (srv.address() as net.AddressInfo).port;
    await new Promise<void>((r) => srv.close(() => r()));
    if (!confusingPort(port)) return port;
  }
}

export type { AzureEndpoint, Endpoints, GcsEndpoint, S3Endpoint };
