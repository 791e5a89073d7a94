/**
 * More of the storage guide (../shared/spec/cloud-storage-guide.md), against the emulators on
 * 127.0.0.1 and small loopback peers (helpers/netfronts.ts) that record what the client sends:
 *
 *  1. aws_virtual_hosted_style_request, without DNS: the endpoint names `<bucket>.s3.test:PORT`
 *     (the guide: "the bucket name is part of the endpoint") and proxyUrl points at a loopback
 *     forward proxy, which receives absolute-form requests for that host and maps them onto moto
 *     path-style. Nothing ever resolves `*.s3.test` (a guard checks proxy_url/proxy_excludes first).
 *     Finding: object_store uses a virtual-hosted endpoint verbatim. The bucket of the URI is NOT
 *     put into the host name: with `endpoint: http://s3.test:PORT` requests go to Host `s3.test:PORT`
 *     with the key at the root of the path, so the bucket appears nowhere (tested below as such).
 *  2. AWS_PROFILE / awsProfile: child processes whose HOME holds ~/.aws/config and
 *     ~/.aws/credentials, no key in options or environment, against the signature-checking moto.
 *  3. connect_timeout: a listener that never accepts and whose accept queue is full, so Linux drops
 *     the SYNs and a connect really hangs on loopback (helpers/netfronts.ts hangingPort, python3).
 *  4. proxy_ca_certificate: object_store 0.14 (client/mod.rs, ClientOptions::client) reads it only
 *     when proxy_url is set. It then merges the PEM into the client's root store (tls_certs_merge), so
 *     it is trusted for every TLS connection of that client, not just the one to the proxy. Tested:
 *     an https forward proxy and a TLS-intercepting proxy signed by a test CA (a certificate error
 *     without the CA, works with it, also through PROXY_CA_CERTIFICATE), the CA being ignored with
 *     no proxy, and trusted for a host that proxy_excludes sends direct.
 *  5. HTTP/1 by default (GCS), http1_only=false / HTTP1_ONLY=false: a front records each request's
 *     HTTP version. Over TLS with ALPN offering h2, the default gives HTTP/1.1 and http1Only:false
 *     gives HTTP/2; over plain http both give HTTP/1.1, because the client never tries h2c without
 *     prior knowledge (http2Only). So over http:// the setting cannot be observed.
 *
 * Not checkable here: DNS-based virtual-hosted addressing on real S3 (and the `<bucket>.s3.<region>.amazonaws.com`
 * default), SSO/web-identity/process credentials, whether HTTP/1 is really faster for bulk GCS
 * transfer (the guide's reason), an HTTPS proxy that uses an upstream CONNECT to a remote https
 * server, and connect timeouts caused by a real network (here the SYN is dropped by the kernel).
 */
import * as fs from "fs";
import * as path from "path";
import * as lancedb from "../lib";
import {
  assertLoopback,
  eff,
  Effective,
  expectNoSecrets,
  expectTableLayout,
  failure,
  more,
  records,
  recordingProxy,
  runChild,
  s3Options,
  uniq,
  writeServiceAccount,
} from "./helpers/cloud";
import { Endpoints, GcsEndpoint, S3Endpoint, gcsCreateBucket, gcsListObjects, s3CreateBucket, s3ListObjects, useEmulators } from "./helpers/emulators";
import { Front, hangingPort, httpsForwardProxy, interceptingProxy, makeTestCa, TestCa, tlsFront, versionFront, virtualHostProxy } from "./helpers/netfronts";
import { tempDir } from "./helpers/tmp";

jest.setTimeout(60_000);

let emu: Endpoints;
let stop: () => Promise<void> = async () => {};
let s3: S3Endpoint; // open moto
let auth: S3Endpoint; // signature-checking moto
let gcs: GcsEndpoint;
let tmp: { dir: string; cleanup: () => void };
let ca: TestCa | undefined;

beforeAll(async () => {
  const r = await useEmulators(["s3", "s3auth", "gcs", "azure"]);
  emu = r.endpoints;
  stop = r.stop;
  s3 = emu.s3!;
  auth = emu.s3auth!;
  gcs = emu.gcs!;
  tmp = tempDir("stowage-more-");
  ca = makeTestCa(tmp.dir);
});
afterAll(async () => {
  tmp?.cleanup();
  await stop();
});

/** Closes every front a test opened, whatever happened. */
type Closable = { close: () => Promise<void> };
async function withFronts<T>(fn: (open: <F extends Closable>(f: Promise<F>) => Promise<F>) => Promise<T>): Promise<T> {
  const opened: Closable[] = [];
  try {
    return await fn(async <F extends Closable>(p: Promise<F>): Promise<F> => {
      const f = await p;
      opened.push(f);
      return f;
    });
  } finally {
    await Promise.all(opened.map((f) => f.close()));
  }
}

async function s3Bucket(on: S3Endpoint): Promise<string> {
  const b = uniq("more");
  await s3CreateBucket(on, b);
  return b;
}

/** A secret only the client knows (the open moto accepts any), to check error messages for leaks. */
function secretFor(): string {
  return `sk-${uniq("secret")}`;
}

// ---- 1. virtual-hosted-style requests --------------------------------------------------------------

describe("aws_virtual_hosted_style_request (no DNS: a loopback forward proxy receives <bucket>.s3.test)", () => {
  const DOMAIN = "s3.test";

  /** Refuses to go on unless every request must go to the loopback proxy (no *.s3.test lookup, no direct connection). */
  function guard(e: Effective[], proxyUrl: string): void {
    expect(eff(e, "proxy_url")?.value).toBe(proxyUrl);
    expect(new URL(proxyUrl).hostname).toBe("127.0.0.1");
    expect(eff(e, "proxy_excludes")).toBeUndefined();
    expect(new URL(eff(e, "aws_endpoint")!.value).hostname.endsWith(`.${DOMAIN}`) || new URL(eff(e, "aws_endpoint")!.value).hostname === DOMAIN).toBe(true);
  }

  async function connectVia(uri: string, proxy: Front, opts: Record<string, unknown>): Promise<lancedb.Connection> {
    const db = await lancedb.connect(uri, { storageOptions: { ...s3Options(s3), proxyUrl: proxy.url, clientMaxRetries: 0, ...opts } as lancedb.StorageOptions });
    guard(db.effectiveStorageOptions(), proxy.url);
    return db;
  }

  test("endpoint http://<bucket>.s3.test:PORT: every request has Host <bucket>.s3.test:PORT, the bucket is not in the path; create/add/count work", async () => {
    await withFronts(async (open) => {
      const proxy = await open(virtualHostProxy(s3.endpoint, DOMAIN));
      const b = await s3Bucket(s3);
      const host = `${b}.${DOMAIN}:${s3.port}`;
      const db = await connectVia(`s3://${b}/db`, proxy, { endpoint: `http://${host}`, virtualHostedStyleRequest: true });
      expect(eff(db.effectiveStorageOptions(), "aws_virtual_hosted_style_request")).toMatchObject({ value: "true", source: "connection", givenAs: "virtualHostedStyleRequest" });

      const t = await db.createTable("vh", records);
      await t.add(more);
      expect(await (await db.openTable("vh")).countRows()).toBe(3);
      expect(await db.tableNames()).toEqual(["vh"]);

      expect(proxy.seen.length).toBeGreaterThan(3);
      expect(proxy.seen.filter((r) => r.method === "CONNECT")).toEqual([]);
      expect([...new Set(proxy.seen.map((r) => r.headers.host))]).toEqual([host]);
      for (const r of proxy.seen) {
        const u = new URL(r.url); // absolute-form: the client addressed <bucket>.s3.test itself
        expect(u.host).toBe(host);
        expect(u.pathname === `/${b}` || u.pathname.startsWith(`/${b}/`)).toBe(false);
        expect(u.pathname === "/" || u.pathname.startsWith("/db/")).toBe(true);
      }
      // the objects are in that bucket, at <prefix>/<table>.stowage/
      expectTableLayout(await s3ListObjects(s3, b, "db/vh.stowage/"), "db/vh.stowage/", 2, 2);
    });
  });

  test("contrast, path style (the default) through the same proxy: Host s3.test:PORT and the bucket first in the path", async () => {
    await withFronts(async (open) => {
      const proxy = await open(virtualHostProxy(s3.endpoint, DOMAIN));
      const b = await s3Bucket(s3);
      const db = await connectVia(`s3://${b}/db`, proxy, { endpoint: `http://${DOMAIN}:${s3.port}` });
      expect(eff(db.effectiveStorageOptions(), "aws_virtual_hosted_style_request")).toMatchObject({ value: "false", source: "default" });
      await db.createTable("ps", records);
      expect(proxy.seen.length).toBeGreaterThan(0);
      for (const r of proxy.seen) {
        expect(r.headers.host).toBe(`${DOMAIN}:${s3.port}`);
        expect(new URL(r.url).pathname.startsWith(`/${b}`)).toBe(true);
      }
      expectTableLayout(await s3ListObjects(s3, b, "db/ps.stowage/"), "db/ps.stowage/", 1, 1);
    });
  });

  test("observed: a virtual-hosted endpoint WITHOUT the bucket (http://s3.test:PORT) is used verbatim; the URI's bucket is sent nowhere and the write fails", async () => {
    await withFronts(async (open) => {
      const proxy = await open(virtualHostProxy(s3.endpoint, DOMAIN));
      const b = await s3Bucket(s3);
      const db = await connectVia(`s3://${b}/db`, proxy, { endpoint: `http://${DOMAIN}:${s3.port}`, virtualHostedStyleRequest: true, awsSecretAccessKey: secretFor() });
      const err = await failure(() => db.createTable("nobucket", records));
      expect(err.code).toMatch(/^STORAGE_/);
      expect(proxy.seen.length).toBeGreaterThan(0);
      for (const r of proxy.seen) {
        expect(r.headers.host).toBe(`${DOMAIN}:${s3.port}`);
        expect(r.url).not.toContain(b);
      }
      expect(await s3ListObjects(s3, b)).toEqual([]);
    });
  });
});

// ---- 2. AWS_PROFILE / awsProfile ------------------------------------------------------------------

describe("credentials from a named profile (~/.aws/config + ~/.aws/credentials in a child's HOME)", () => {
  let home: string;
  const wrong = () => `WRONG${auth.secretAccessKey.slice(5)}`;

  beforeAll(() => {
    home = path.join(tmp.dir, "home");
    fs.mkdirSync(path.join(home, ".aws"), { recursive: true });
    fs.writeFileSync(
      path.join(home, ".aws", "config"),
      ["[default]", "region = us-east-1", "", "[profile stowage-good]", "region = eu-west-2", "", "[profile stowage-bad]", "region = eu-west-3", ""].join("\n"),
    );
    fs.writeFileSync(
      path.join(home, ".aws", "credentials"),
      [
        "[default]", `aws_access_key_id = ${auth.accessKeyId}`, `aws_secret_access_key = ${wrong()}`, "",
        "[stowage-good]", `aws_access_key_id = ${auth.accessKeyId}`, `aws_secret_access_key = ${auth.secretAccessKey}`, "",
        "[stowage-bad]", `aws_access_key_id = ${auth.accessKeyId}`, `aws_secret_access_key = ${wrong()}`, "",
      ].join("\n"),
    );
  });

  /** Runs create/add/count in a child with HOME=home and `env`, no keys anywhere but the profile files; requests go through a recording proxy. */
  async function viaProfile(env: Record<string, string>, extra: Record<string, unknown> = {}) {
    const b = await s3Bucket(auth);
    const proxy = await recordingProxy(auth.endpoint);
    try {
      const r = await runChild(
        {
          uri: `s3://${b}/db`,
          storageOptions: { endpoint: auth.endpoint, allowHttp: true, proxyUrl: proxy.url, clientMaxRetries: 0, ...extra },
          table: "prof",
          ops: ["create", "add", "count"],
          loopback: "s3",
        },
        { HOME: home, ...env },
      );
      // the child saw no static key: not from options, not from its environment
      for (const k of ["aws_access_key_id", "aws_secret_access_key", "aws_session_token"]) expect(eff(r.effective ?? [], k)).toBeUndefined();
      expect(r.effective).not.toBeNull();
      return { r, b, seen: proxy.seen };
    } finally {
      await proxy.close();
    }
  }

  const scope = (seen: { headers: Record<string, unknown> }[]) =>
    [...new Set(seen.map((s) => String(s.headers.authorization ?? "").replace(/^.*Credential=([^/]+)\/\d{8}\/([^/]+)\/s3\/aws4_request.*$/, "$1 $2")))];

  test("AWS_PROFILE=stowage-good: the profile's keys sign every request (the signature-checking moto accepts them) and its region is used", async () => {
    const { r, b, seen } = await viaProfile({ AWS_PROFILE: "stowage-good" });
    expect(r.error).toBeNull();
    expect(r.steps).toMatchObject({ create: 2, add: 2, count: 3 });
    expect(eff(r.effective!, "aws_profile")).toMatchObject({ value: "stowage-good", source: "env", givenAs: "AWS_PROFILE" });
    expect(scope(seen)).toEqual([`${auth.accessKeyId} eu-west-2`]);
    expectTableLayout(await s3ListObjects(auth, b, "db/prof.stowage/"), "db/prof.stowage/", 2, 2);
  });

  test("AWS_PROFILE=stowage-bad (a wrong secret in ~/.aws/credentials): STORAGE_PERMISSION_DENIED, no secret in the message", async () => {
    const { r, b } = await viaProfile({ AWS_PROFILE: "stowage-bad" });
    expect(r.ok).toBe(false);
    expect(r.error?.code).toBe("STORAGE_PERMISSION_DENIED");
    expectNoSecrets(JSON.stringify(r.error), [auth.secretAccessKey, wrong()]);
    expect(await s3ListObjects(auth, b)).toEqual([]);
  });

  test("the awsProfile option selects another profile and wins over AWS_PROFILE (both directions)", async () => {
    const good = await viaProfile({ AWS_PROFILE: "stowage-bad" }, { awsProfile: "stowage-good" });
    expect(good.r.error).toBeNull();
    expect(good.r.steps).toMatchObject({ count: 3 });
    expect(eff(good.r.effective!, "aws_profile")).toMatchObject({ value: "stowage-good", source: "connection", givenAs: "awsProfile" });
    expect(scope(good.seen)).toEqual([`${auth.accessKeyId} eu-west-2`]);

    const bad = await viaProfile({ AWS_PROFILE: "stowage-good" }, { profile: "stowage-bad" });
    expect(bad.r.error?.code).toBe("STORAGE_PERMISSION_DENIED");
    expect(eff(bad.r.effective!, "aws_profile")).toMatchObject({ value: "stowage-bad", source: "connection", givenAs: "profile" });
  });

  test("no AWS_PROFILE: the [default] profile is used (here its secret is wrong, so the server refuses it)", async () => {
    const { r, seen } = await viaProfile({});
    expect(eff(r.effective!, "aws_profile")).toBeUndefined();
    expect(r.error?.code).toBe("STORAGE_PERMISSION_DENIED");
    expect(scope(seen)).toEqual([`${auth.accessKeyId} us-east-1`]);
  });
});

// ---- 3. connect_timeout ------------------------------------------------------------------------------

describe("connect_timeout against a listener whose connects hang (full accept queue, SYNs dropped)", () => {
  function opts(port: number, extra: Record<string, unknown>) {
    return { region: "us-east-1", endpoint: `http://127.0.0.1:${port}`, allowHttp: true, accessKeyId: "test", secretAccessKey: secretFor(), clientMaxRetries: 0, timeout: "20s", ...extra };
  }

  test("connectTimeout bounds the connect (not `timeout`): STORAGE_TIMEOUT after about the given time, saying it was the connect", async () => {
    const hang = await hangingPort();
    try {
      for (const [ct, ms] of [["400ms", 400], ["1500ms", 1500]] as const) {
        const o = opts(hang.port, { connectTimeout: ct });
        const db = await lancedb.connect("s3://bucket/db", { storageOptions: o });
        assertLoopback(db.effectiveStorageOptions(), "s3");
        expect(eff(db.effectiveStorageOptions(), "connect_timeout")).toMatchObject({ value: ct === "400ms" ? "400ms" : "1s 500ms", source: "connection" });
        const err = await failure(() => db.tableNames());
        expect(err.code).toBe("STORAGE_TIMEOUT");
        expect(err.message).toMatch(/connect/i);
        expectNoSecrets(err.message, [o.secretAccessKey]);
        expect(err.ms).toBeGreaterThanOrEqual(ms - 50);
        expect(err.ms).toBeLessThan(ms + 2500); // far below timeout=20s
      }
    } finally {
      hang.close();
    }
  });

  test("CONNECT_TIMEOUT from the environment has the same effect (child process); the default is 5s", async () => {
    const hang = await hangingPort();
    try {
      const o = opts(hang.port, {});
      const r = await runChild({ uri: "s3://bucket/db", storageOptions: o, table: "t", ops: ["names"], loopback: "s3" }, { CONNECT_TIMEOUT: "500ms" });
      expect(eff(r.effective!, "connect_timeout")).toMatchObject({ value: "500ms", source: "env", givenAs: "CONNECT_TIMEOUT" });
      expect(r.error?.code).toBe("STORAGE_TIMEOUT");
      expect(r.ms).toBeLessThan(4000);
    } finally {
      hang.close();
    }
    const db = await lancedb.connect("s3://bucket/db", { storageOptions: opts(1, {}) });
    expect(eff(db.effectiveStorageOptions(), "connect_timeout")).toMatchObject({ value: "5s", source: "default" });
  });
});

// ---- 4. proxy_ca_certificate ----------------------------------------------------------------------

describe("proxy_ca_certificate (a test CA made with openssl)", () => {
  const skip = () => {
    if (!ca) console.warn("openssl not available: proxy_ca_certificate not checked");
    return !ca;
  };

  async function s3Target(extra: Record<string, unknown>) {
    const b = await s3Bucket(s3);
    const secret = secretFor();
    const options = { ...s3Options(s3), awsSecretAccessKey: secret, clientMaxRetries: 0, ...extra };
    return { b, secret, uri: `s3://${b}/db`, options };
  }

  async function certificateFailure(t: { uri: string; options: Record<string, unknown>; secret: string }) {
    const db = await lancedb.connect(t.uri, { storageOptions: t.options as lancedb.StorageOptions });
    assertLoopback(db.effectiveStorageOptions(), "s3");
    const err = await failure(() => db.createTable("ca", records));
    expect(err.code).toBe("STORAGE_CONNECTION");
    expect(err.message).toMatch(/certificate|UnknownIssuer/i);
    expectNoSecrets(err.message, [t.secret]);
    return err;
  }

  async function lifecycle(t: { b: string; uri: string; options: Record<string, unknown> }) {
    const db = await lancedb.connect(t.uri, { storageOptions: t.options as lancedb.StorageOptions });
    assertLoopback(db.effectiveStorageOptions(), "s3");
    const table = await db.createTable("ca", records);
    await table.add(more);
    expect(await table.countRows()).toBe(3);
    expectTableLayout(await s3ListObjects(s3, t.b, "db/ca.stowage/"), "db/ca.stowage/", 2, 2);
    return db;
  }

  test("an https proxy (proxyUrl https://127.0.0.1) signed by the CA: a certificate error without proxyCaCertificate, works with it", async () => {
    if (skip()) return;
    await withFronts(async (open) => {
      const proxy = await open(httpsForwardProxy(ca!, s3.endpoint));
      await certificateFailure(await s3Target({ proxyUrl: proxy.url }));
      expect(proxy.seen).toEqual([]); // the TLS handshake with the proxy failed
      expect(proxy.tlsErrors.join("\n")).toMatch(/unknown ca/i);

      const db = await lifecycle(await s3Target({ proxyUrl: proxy.url, proxyCaCertificate: ca!.caPem }));
      expect(eff(db.effectiveStorageOptions(), "proxy_ca_certificate")).toMatchObject({ source: "connection", givenAs: "proxyCaCertificate", secret: false });
      expect(proxy.seen.length).toBeGreaterThan(3);
      for (const r of proxy.seen) expect(r.url.startsWith(`${s3.endpoint}/`)).toBe(true); // forwarded by the proxy, absolute-form
    });
  });

  test("a TLS-intercepting proxy (CONNECT, re-signed by the CA) in front of an https endpoint: refused without the CA, works with it", async () => {
    if (skip()) return;
    await withFronts(async (open) => {
      const proxy = await open(interceptingProxy(ca!, s3.endpoint));
      const endpoint = `https://127.0.0.1:${s3.port}`; // nothing speaks TLS there: only the proxy's tunnel does
      await certificateFailure(await s3Target({ endpoint, allowHttp: false, proxyUrl: proxy.url }));
      expect(proxy.seen.map((r) => `${r.via} ${r.method} ${r.url}`)).toEqual([`proxy CONNECT 127.0.0.1:${s3.port}`]);
      expect(proxy.tlsErrors.join("\n")).toMatch(/unknown ca/i);

      proxy.seen.length = 0;
      await lifecycle(await s3Target({ endpoint, allowHttp: false, proxyUrl: proxy.url, proxyCaCertificate: ca!.caPem }));
      expect(proxy.seen.filter((r) => r.method === "CONNECT").length).toBeGreaterThan(0);
      expect(proxy.seen.filter((r) => r.via === "tunnel").length).toBeGreaterThan(3);
      for (const r of proxy.seen) expect(r.method === "CONNECT" ? r.url : r.headers.host).toBe(`127.0.0.1:${s3.port}`);
    });
  });

  test("PROXY_URL + PROXY_CA_CERTIFICATE (the PEM text) from the environment, in a child process", async () => {
    if (skip()) return;
    await withFronts(async (open) => {
      const proxy = await open(httpsForwardProxy(ca!, s3.endpoint));
      const b = await s3Bucket(s3);
      const r = await runChild(
        { uri: `s3://${b}/db`, storageOptions: { ...s3Options(s3), clientMaxRetries: 0 }, table: "envca", ops: ["create", "add", "count"], loopback: "s3" },
        { PROXY_URL: proxy.url, PROXY_CA_CERTIFICATE: ca!.caPem },
      );
      expect(r.error).toBeNull();
      expect(r.steps).toMatchObject({ count: 3 });
      expect(eff(r.effective!, "proxy_ca_certificate")).toMatchObject({ source: "env", givenAs: "PROXY_CA_CERTIFICATE" });
      expect(proxy.seen.length).toBeGreaterThan(3);
      expectTableLayout(await s3ListObjects(s3, b, "db/envca.stowage/"), "db/envca.stowage/", 2, 2);
    });
  });

  test("observed (object_store): without proxyUrl the CA is not used at all; with a proxy it is trusted client-wide, also for hosts proxyExcludes sends direct", async () => {
    if (skip()) return;
    await withFronts(async (open) => {
      const front = await open(tlsFront(ca!, s3.endpoint));
      const unusedProxy = await open(recordingProxy(s3.endpoint));
      // no proxy: the direct https endpoint signed by the CA is not trusted
      await certificateFailure(await s3Target({ endpoint: front.url, allowHttp: false, proxyCaCertificate: ca!.caPem }));
      expect(front.seen).toEqual([]);
      // a proxy that excludes 127.0.0.1: the direct connection now trusts the CA
      await lifecycle(await s3Target({ endpoint: front.url, allowHttp: false, proxyCaCertificate: ca!.caPem, proxyUrl: unusedProxy.url, proxyExcludes: "127.0.0.1" }));
      expect(front.seen.length).toBeGreaterThan(3);
      expect(unusedProxy.seen).toEqual([]);
    });
  });

  test("a proxyCaCertificate that is not a PEM certificate is refused at connect as INVALID_STORAGE_OPTION naming the option", async () => {
    // Fails today (see the report): "not a pem" is accepted silently (reqwest parses zero certificates
    // from it; requests later fail with UnknownIssuer), and a malformed PEM block is INVALID_ARGUMENT
    // "Cannot configure the S3 client: Generic HTTP client error: builder error", which does not say
    // which option is wrong. Other options (proxyUrl, connectTimeout) are INVALID_STORAGE_OPTION naming the key.
    const proxy = "http://127.0.0.1:9"; // never contacted: the connect must fail first
    for (const pem of ["not a pem", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"]) {
      const err = await failure(() =>
        lancedb.connect(`s3://${uniq("more")}/db`, { storageOptions: { ...s3Options(s3), proxyUrl: proxy, proxyCaCertificate: pem } as lancedb.StorageOptions }),
      );
      expect({ pem, code: err.code }).toEqual({ pem, code: "INVALID_STORAGE_OPTION" });
      expect(err.message).toContain("proxyCaCertificate");
    }
  });
});

// ---- 5. HTTP/1 by default; http1_only=false ----------------------------------------------------------

describe("GCS: HTTP/1 by default, HTTP/2 only when allowed (http1Only: false / HTTP1_ONLY=false)", () => {
  async function gcsVia(front: Front, extra: Record<string, unknown>) {
    const b = uniq("more");
    await gcsCreateBucket(gcs, b);
    const sa = writeServiceAccount(tmp.dir, front.url, `${b}.json`);
    const options = { serviceAccount: sa, allowHttp: true, clientMaxRetries: 0, ...extra };
    return { b, uri: `gs://${b}/db`, options, sa };
  }

  async function run(front: Front, extra: Record<string, unknown>) {
    const t = await gcsVia(front, extra);
    const db = await lancedb.connect(t.uri, { storageOptions: t.options as lancedb.StorageOptions });
    const e = db.effectiveStorageOptions();
    assertLoopback(e, "gcs");
    const table = await db.createTable("hv", records);
    await table.add(more);
    expect(await table.countRows()).toBe(3);
    expect((await gcsListObjects(gcs, t.b, "db/hv.stowage/")).length).toBe(4);
    const versions = [...new Set(front.seen.map((s) => s.httpVersion))];
    front.seen.length = 0;
    return { e, versions };
  }

  test("plain http: HTTP/1.1 by default (http1_only true, source default) and still HTTP/1.1 with http1Only: false (no h2c without prior knowledge)", async () => {
    await withFronts(async (open) => {
      const front = await open(versionFront("http1", gcs.endpoint));
      const d = await run(front, {});
      expect(eff(d.e, "http1_only")).toMatchObject({ value: "true", source: "default" });
      expect(eff(d.e, "http2_only")).toMatchObject({ value: "false", source: "default" });
      expect(d.versions).toEqual(["1.1"]);
      const f = await run(front, { http1Only: false });
      expect(eff(f.e, "http1_only")).toMatchObject({ value: "false", source: "connection", givenAs: "http1Only" });
      expect(f.versions).toEqual(["1.1"]);
    });
  });

  test("TLS with ALPN offering h2: HTTP/1.1 by default, HTTP/2 with http1Only: false", async () => {
    if (!ca) return console.warn("openssl not available: ALPN not checked");
    await withFronts(async (open) => {
      const front = await open(versionFront("alpn", gcs.endpoint, ca));
      const d = await run(front, { allowInvalidCertificates: true, allowHttp: false });
      expect(d.versions).toEqual(["1.1"]);
      const f = await run(front, { allowInvalidCertificates: true, allowHttp: false, http1Only: false });
      expect(f.versions).toEqual(["2.0"]);
    });
  });

  test("http2Only: HTTP/2 with prior knowledge over plain http (h2c); a default client cannot talk to an h2c-only server", async () => {
    await withFronts(async (open) => {
      const front = await open(versionFront("h2c", gcs.endpoint));
      const h2 = await run(front, { http2Only: true });
      expect(eff(h2.e, "http2_only")).toMatchObject({ value: "true", source: "connection" });
      expect(h2.versions).toEqual(["2.0"]);
      const t = await gcsVia(front, {});
      const db = await lancedb.connect(t.uri, { storageOptions: t.options as lancedb.StorageOptions });
      const err = await failure(() => db.createTable("hv", records));
      expect(err.code).toMatch(/^STORAGE_/);
      expect(front.seen).toEqual([]);
    });
  });

  test("HTTP1_ONLY=false from the environment (child process): reported as source env, and the client negotiates HTTP/2 by ALPN", async () => {
    if (!ca) return console.warn("openssl not available: ALPN not checked");
    await withFronts(async (open) => {
      const front = await open(versionFront("alpn", gcs.endpoint, ca));
      const t = await gcsVia(front, { allowInvalidCertificates: true, allowHttp: false });
      const r = await runChild({ uri: t.uri, storageOptions: t.options, table: "envh2", ops: ["create", "add", "count"], loopback: "gcs" }, { HTTP1_ONLY: "false" });
      expect(r.error).toBeNull();
      expect(r.steps).toMatchObject({ count: 3 });
      expect(eff(r.effective!, "http1_only")).toMatchObject({ value: "false", source: "env", givenAs: "HTTP1_ONLY" });
      expect(front.seen.length).toBeGreaterThan(3);
      expect([...new Set(front.seen.map((s) => `${s.httpVersion} ${s.alpn}`))]).toEqual(["2.0 h2"]);
    });
  });
});
