/**
 * Test helpers for the local storage emulators started by scripts/emulators/servers.js.
 * Node builtins only (no AWS/Azure/GCS SDKs).
 *
 *   const emu = await useEmulators(['s3', 'gcs', 'azure']); // reuses STOWAGE_EMULATORS_FILE if set
 *   await s3CreateBucket(emu.endpoints.s3!, 'b1');
 *   ...
 *   await emu.stop(); // no-op when the servers belong to someone else (e.g. a Jest globalSetup)
 *
 * S3 requests are always SigV4-signed with the endpoint's credentials (moto "s3" accepts anything,
 * "s3auth" verifies). Azure requests are SharedKey-signed with the devstoreaccount1 key. GCS helper
 * calls use fake-gcs-server's JSON API (passed through by the shim).
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";

// eslint-disable-next-line @typescript-eslint/no-var-requires
const servers = require("../../scripts/emulators/servers.js");

export interface S3Endpoint {
  endpoint: string;
  port: number;
  pid: number;
  region: string;
  auth: boolean;
  accessKeyId: string;
  secretAccessKey: string;
}
export interface GcsEndpoint {
  endpoint: string; // the shim (give this to object_store via gcs_base_url)
  port: number;
  pid: number;
  serviceAccountPath: string;
  upstream: { endpoint: string; port: number; pid: number }; // raw fake-gcs-server
}
export interface AzureEndpoint {
  endpoint: string; // http://127.0.0.1:PORT/devstoreaccount1
  blobEndpoint: string;
  port: number;
  pid: number;
  account: string;
  key: string;
  connectionString: string;
  emulatorUrl: string; // http://127.0.0.1:PORT, for object_store's AZURITE_BLOB_STORAGE_URL (use_emulator)
}
export interface Endpoints {
  s3?: S3Endpoint;
  s3auth?: S3Endpoint;
  gcs?: GcsEndpoint;
  azure?: AzureEndpoint;
  file: string;
  logDir: string;
}
export type EmulatorName = "s3" | "s3auth" | "gcs" | "azure";

/** Read the endpoints JSON (env STOWAGE_EMULATORS_FILE unless a path is given). */
export function readEndpoints(file = process.env.STOWAGE_EMULATORS_FILE): Endpoints {
  if (!file) throw new Error("STOWAGE_EMULATORS_FILE is not set");
  return JSON.parse(fs.readFileSync(file, "utf8")) as Endpoints;
}

/**
 * Use already-running emulators (STOWAGE_EMULATORS_FILE points to an existing file that has all of
 * `which`), or start them here. stop() only stops servers this call started.
 */
export async function useEmulators(
  which: EmulatorName[] = ["s3", "gcs", "azure"],
): Promise<{ endpoints: Endpoints; stop: () => Promise<void>; owned: boolean }> {
  const file = process.env.STOWAGE_EMULATORS_FILE;
  if (file && fs.existsSync(file)) {
    const endpoints = readEndpoints(file);
    if (which.every((w) => endpoints[w])) return { endpoints, stop: async () => {}, owned: false };
  }
  const started = await servers.start(which, {
    file: path.join(os.tmpdir(), `stowage-emulators-${process.pid}-${Date.now()}.json`),
  });
  const { stop, ...endpoints } = started;
  return { endpoints: endpoints as Endpoints, stop, owned: true };
}

/**
 * Another gcs-shim process in front of `gcs`'s fake-gcs-server. Shims share no state, so writers spread
 * over several of them race at fake-gcs-server itself. Its serviceAccountPath points object_store at it.
 */
export async function gcsExtraShim(gcs: GcsEndpoint): Promise<{ endpoint: string; serviceAccountPath: string; stop: () => Promise<void> }> {
  return servers.startGcsShim(gcs.upstream.endpoint);
}

/** Write a service-account JSON for object_store's GCS client (gcs_base_url + disable_oauth). */
export function writeGcsServiceAccount(file: string, gcsEndpoint: string): string {
  return servers.writeGcsServiceAccount(file, gcsEndpoint);
}

// ---- plain HTTP ---------------------------------------------------------------------------------
export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  text: () => string;
}

export function httpRequest(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: Buffer | string } = {},
): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const headers: Record<string, string | number> = { ...(opts.headers ?? {}) };
    if (opts.body != null && headers["content-length"] == null) headers["content-length"] = Buffer.byteLength(opts.body);
    const req = http.request(
      { host: u.hostname, port: u.port, path: u.pathname + u.search, method: opts.method ?? "GET", headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const body = Buffer.concat(chunks);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text: () => body.toString("utf8") });
        });
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(opts.body);
  });
}

function expectOk(r: HttpResponse, what: string, ok: number[] = [200, 201, 204]): HttpResponse {
  if (!ok.includes(r.status)) throw new Error(`${what}: HTTP ${r.status} ${r.text().slice(0, 500)}`);
  return r;
}

function xmlAll(xml: string, tag: string): string[] {
  const out: string[] = [];
  const re = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, "g");
  for (let m = re.exec(xml); m; m = re.exec(xml)) {
    out.push(m[1].replace(/&(lt|gt|amp|apos|quot);/g, (_s, e: string) => ({ lt: "<", gt: ">", amp: "&", apos: "'", quot: '"' })[e]!));
  }
  return out;
}

// ---- S3 (SigV4) ---------------------------------------------------------------------------------
const rfc3986 = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
const sha256hex = (d: Buffer | string) => crypto.createHash("sha256").update(d).digest("hex");
const hmac = (k: Buffer | string, d: string) => crypto.createHmac("sha256", k).update(d).digest();

export interface S3RequestOptions {
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: Buffer | string;
  /** false: send unsigned. Default: sign with the endpoint's credentials. Or give other credentials. */
  sign?: boolean | { accessKeyId: string; secretAccessKey: string };
  service?: string;
}

/** A path-style S3 request to moto: path is "/bucket" or "/bucket/key" (key segments are encoded here). */
export function s3Request(s3: S3Endpoint, method: string, bucket: string, key = "", opts: S3RequestOptions = {}): Promise<HttpResponse> {
  const canonicalUri = "/" + [bucket, ...(key ? key.split("/") : [])].map(rfc3986).join("/");
  const q = opts.query ?? {};
  const canonicalQuery = Object.keys(q)
    .sort()
    .map((k) => `${rfc3986(k)}=${rfc3986(q[k])}`)
    .join("&");
  const url = `${s3.endpoint}${canonicalUri}${canonicalQuery ? `?${canonicalQuery}` : ""}`;
  const body = opts.body ?? "";
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(opts.headers ?? {})) headers[k.toLowerCase()] = v;
  if (opts.sign !== false) {
    const creds = typeof opts.sign === "object" ? opts.sign : s3;
    const service = opts.service ?? "s3";
    const amzDate = new Date().toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
    const day = amzDate.slice(0, 8);
    headers["host"] = new URL(s3.endpoint).host;
    headers["x-amz-date"] = amzDate;
    headers["x-amz-content-sha256"] = sha256hex(body);
    const names = Object.keys(headers).sort();
    const canonicalHeaders = names.map((n) => `${n}:${String(headers[n]).trim()}\n`).join("");
    const signedHeaders = names.join(";");
    const canonicalRequest = [method, canonicalUri, canonicalQuery, canonicalHeaders, signedHeaders, headers["x-amz-content-sha256"]].join("\n");
    const scope = `${day}/${s3.region}/${service}/aws4_request`;
    const stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, sha256hex(canonicalRequest)].join("\n");
    const kSigning = hmac(hmac(hmac(hmac(`AWS4${creds.secretAccessKey}`, day), s3.region), service), "aws4_request");
    const signature = crypto.createHmac("sha256", kSigning).update(stringToSign).digest("hex");
    headers["authorization"] = `AWS4-HMAC-SHA256 Credential=${creds.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
    delete headers["host"]; // node sets the same Host itself
  }
  return httpRequest(url, { method, headers, body: opts.body });
}

export async function s3CreateBucket(s3: S3Endpoint, bucket: string): Promise<void> {
  expectOk(await s3Request(s3, "PUT", bucket), `S3 create bucket ${bucket}`);
}

/** All keys in a bucket (ListObjectsV2, follows continuation tokens). */
export async function s3ListObjects(s3: S3Endpoint, bucket: string, prefix = ""): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const query: Record<string, string> = { "list-type": "2" };
    if (prefix) query.prefix = prefix;
    if (token) query["continuation-token"] = token;
    const xml = expectOk(await s3Request(s3, "GET", bucket, "", { query }), `S3 list ${bucket}`).text();
    for (const c of xmlAll(xml, "Contents")) keys.push(xmlAll(c, "Key")[0]);
    token = xmlAll(xml, "IsTruncated")[0] === "true" ? xmlAll(xml, "NextContinuationToken")[0] : undefined;
  } while (token);
  return keys;
}

/** HEAD an object; returns status and headers (e.g. x-amz-server-side-encryption for SSE checks). */
export async function s3HeadObject(s3: S3Endpoint, bucket: string, key: string): Promise<{ status: number; headers: http.IncomingHttpHeaders }> {
  const r = await s3Request(s3, "HEAD", bucket, key);
  return { status: r.status, headers: r.headers };
}

// ---- GCS (fake-gcs-server JSON API, via the shim's passthrough) --------------------------------
export async function gcsCreateBucket(gcs: GcsEndpoint, bucket: string): Promise<void> {
  const r = await httpRequest(`${gcs.endpoint}/storage/v1/b?project=test-project`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name: bucket }),
  });
  expectOk(r, `GCS create bucket ${bucket}`, [200, 409]);
}

/** All object names in a bucket (JSON API list, follows nextPageToken). */
export async function gcsListObjects(gcs: GcsEndpoint, bucket: string, prefix = ""): Promise<string[]> {
  const names: string[] = [];
  let pageToken = "";
  do {
    const q = new URLSearchParams();
    if (prefix) q.set("prefix", prefix);
    if (pageToken) q.set("pageToken", pageToken);
    const r = expectOk(await httpRequest(`${gcs.endpoint}/storage/v1/b/${encodeURIComponent(bucket)}/o?${q}`), `GCS list ${bucket}`);
    const j = JSON.parse(r.text()) as { items?: { name: string }[]; nextPageToken?: string };
    for (const it of j.items ?? []) names.push(it.name);
    pageToken = j.nextPageToken ?? "";
  } while (pageToken);
  return names;
}

/** GCS object metadata (JSON API resource) or null if missing. */
export async function gcsObjectMetadata(gcs: GcsEndpoint, bucket: string, name: string): Promise<Record<string, unknown> | null> {
  const r = await httpRequest(`${gcs.endpoint}/storage/v1/b/${encodeURIComponent(bucket)}/o/${encodeURIComponent(name)}`);
  if (r.status === 404) return null;
  return JSON.parse(expectOk(r, `GCS metadata ${bucket}/${name}`).text());
}

/** XML-API style object URL on the shim (what object_store uses). */
export function gcsObjectUrl(gcs: GcsEndpoint, bucket: string, name: string): string {
  return `${gcs.endpoint}/${encodeURIComponent(bucket)}/${encodeURIComponent(name)}`;
}

// ---- Azure (SharedKey) ----------------------------------------------------------------------------
export interface AzureRequestOptions {
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: Buffer | string;
}

/** SharedKey-signed request to azurite; path is relative to the account, e.g. "/container/blob". */
export function azureRequest(az: AzureEndpoint, method: string, path: string, opts: AzureRequestOptions = {}): Promise<HttpResponse> {
  const base = new URL(az.endpoint); // http://127.0.0.1:PORT/devstoreaccount1
  const uriPath = base.pathname.replace(/\/$/, "") + path.split("/").map((s) => encodeURIComponent(decodeURIComponent(s))).join("/");
  const q = opts.query ?? {};
  const qs = new URLSearchParams(q).toString();
  const body = opts.body;
  const headers: Record<string, string> = { "x-ms-date": new Date().toUTCString(), "x-ms-version": "2021-08-06" };
  for (const [k, v] of Object.entries(opts.headers ?? {})) headers[k.toLowerCase()] = v;
  const len = body == null ? 0 : Buffer.byteLength(body);
  if (body != null) headers["content-length"] = String(len);
  const h = (n: string) => headers[n] ?? "";
  const canonHeaders = Object.keys(headers)
    .filter((k) => k.startsWith("x-ms-"))
    .sort()
    .map((k) => `${k}:${headers[k].trim()}\n`)
    .join("");
  let canonResource = `/${az.account}${uriPath}`;
  for (const k of Object.keys(q).map((x) => x.toLowerCase()).sort()) canonResource += `\n${k}:${q[Object.keys(q).find((x) => x.toLowerCase() === k)!]}`;
  const stringToSign = [
    method, h("content-encoding"), h("content-language"), len ? String(len) : "", h("content-md5"), h("content-type"),
    "", h("if-modified-since"), h("if-match"), h("if-none-match"), h("if-unmodified-since"), h("range"),
  ].join("\n") + "\n" + canonHeaders + canonResource;
  const sig = crypto.createHmac("sha256", Buffer.from(az.key, "base64")).update(stringToSign, "utf8").digest("base64");
  headers["authorization"] = `SharedKey ${az.account}:${sig}`;
  return httpRequest(`${base.protocol}//${base.host}${uriPath}${qs ? `?${qs}` : ""}`, { method, headers, body });
}

export async function azureCreateContainer(az: AzureEndpoint, container: string): Promise<void> {
  const r = await azureRequest(az, "PUT", `/${container}`, { query: { restype: "container" } });
  expectOk(r, `Azure create container ${container}`, [201, 409]);
}

export async function azurePutBlob(az: AzureEndpoint, container: string, name: string, data: Buffer | string, contentType = "application/octet-stream"): Promise<HttpResponse> {
  return expectOk(
    await azureRequest(az, "PUT", `/${container}/${name}`, { body: data, headers: { "x-ms-blob-type": "BlockBlob", "content-type": contentType } }),
    `Azure put blob ${container}/${name}`,
  );
}

export async function azureGetBlob(az: AzureEndpoint, container: string, name: string): Promise<HttpResponse> {
  return azureRequest(az, "GET", `/${container}/${name}`);
}

/** HEAD a blob; returns status and headers (e.g. x-ms-server-encrypted). */
export async function azureHeadBlob(az: AzureEndpoint, container: string, name: string): Promise<{ status: number; headers: http.IncomingHttpHeaders }> {
  const r = await azureRequest(az, "HEAD", `/${container}/${name}`);
  return { status: r.status, headers: r.headers };
}

/** All blob names in a container (follows NextMarker). */
export async function azureListBlobs(az: AzureEndpoint, container: string, prefix = ""): Promise<string[]> {
  const names: string[] = [];
  let marker = "";
  do {
    const query: Record<string, string> = { restype: "container", comp: "list" };
    if (prefix) query.prefix = prefix;
    if (marker) query.marker = marker;
    const xml = expectOk(await azureRequest(az, "GET", `/${container}`, { query }), `Azure list ${container}`).text();
    for (const b of xmlAll(xml, "Blob")) names.push(xmlAll(b, "Name")[0]);
    marker = xmlAll(xml, "NextMarker")[0] ?? "";
  } while (marker);
  return names;
}

// ---- KMS (moto, same port as S3) -------------------------------------------------------------------
/**
 * Create a symmetric KMS key in moto (TrentService.CreateKey over the JSON 1.1 protocol, SigV4 with
 * service "kms"). Returns the key id and ARN.
 */
export async function kmsCreateKey(s3: S3Endpoint, description = "stowage-test"): Promise<{ keyId: string; arn: string }> {
  const r = await s3Request(s3, "POST", "", "", {
    service: "kms",
    headers: { "x-amz-target": "TrentService.CreateKey", "content-type": "application/x-amz-json-1.1" },
    body: JSON.stringify({ Description: description, KeyUsage: "ENCRYPT_DECRYPT" }),
  });
  const j = JSON.parse(expectOk(r, "KMS CreateKey").text()) as { KeyMetadata: { KeyId: string; Arn: string } };
  return { keyId: j.KeyMetadata.KeyId, arn: j.KeyMetadata.Arn };
}

/**
 * The usual set-up of a suite that needs emulators: starts (or joins) them
 * before its first test and stops what it started after the last. The
 * returned object is filled in by then (`emu.s3`, `emu.gcs`, ...).
 */
export function emulatorsForSuite(which: EmulatorName[] = ["s3", "gcs", "azure"]): Endpoints {
  const emu = {} as Endpoints;
  let stop: () => Promise<void> = async () => undefined;
  beforeAll(async () => {
    const e = await useEmulators(which);
    Object.assign(emu, readEndpoints());
    stop = e.stop;
  }, 120000);
  afterAll(async () => stop());
  return emu;
}
