/**
 * The guide's "General configuration" keys (every object store), observed on the wire with loopback
 * servers: user_agent, proxy_url, proxy_excludes, allow_http (see cloud-s3/-gcs/-azure),
 * allow_invalid_certificates (an https front with a self-signed certificate made by `openssl`; skipped
 * when openssl is missing), timeout (cloud-errors), and the casing rule (connect_timeout ==
 * CONNECT_TIMEOUT == connectTimeout).
 *
 * Not checkable on loopback: connect_timeout's effect (a connect to 127.0.0.1 either succeeds or is
 * refused at once) and proxy_ca_certificate (needs an https proxy that re-signs tunnels). Their
 * resolution (spellings, env, source) is checked instead.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as https from "https";
import * as net from "net";
import * as path from "path";
import * as lancedb from "../lib";
import {
  eff,
  failure,
  records,
  recordingProxy,
  runChild,
  TestServer,
  uniq,
  writeServiceAccount,
  connectOnLoopback,
} from "./helpers/cloud";
import {
  AzureEndpoint,
  Endpoints,
  GcsEndpoint,
  S3Endpoint,
  azureCreateContainer,
  azureListBlobs,
  gcsCreateBucket,
  gcsListObjects,
  s3CreateBucket,
  s3ListObjects,
  useEmulators,
} from "./helpers/emulators";
import { tempDir } from "./helpers/tmp";

jest.setTimeout(60_000);

let emu: Endpoints;
let stop: () => Promise<void> = async () => {};
let s3: S3Endpoint;
let gcs: GcsEndpoint;
let az: AzureEndpoint;
let tmp: { dir: string; cleanup: () => void };

beforeAll(async () => {
  const r = await useEmulators(["s3", "s3auth", "gcs", "azure"]);
  emu = r.endpoints;
  stop = r.stop;
  s3 = emu.s3!;
  gcs = emu.gcs!;
  az = emu.azure!;
  tmp = tempDir("stowage-general-");
});
afterAll(async () => {
  tmp?.cleanup();
  await stop();
});

type Backend = "s3" | "gcs" | "azure";

/** A fresh bucket/container on the emulator and the options reaching it through `base` (a front or the emulator). */
async function target(backend: Backend, base: string, extra: Record<string, unknown> = {}) {
  const name = uniq("gen");
  if (backend === "s3") {
    await s3CreateBucket(s3, name);
    return {
      uri: `s3://${name}/db`,
      options: { region: "us-east-1", endpoint: base, allowHttp: true, accessKeyId: "test", secretAccessKey: "test", ...extra },
      list: () => s3ListObjects(s3, name),
    };
  }
  if (backend === "gcs") {
    await gcsCreateBucket(gcs, name);
    const sa = writeServiceAccount(tmp.dir, base, `${name}.json`);
    return { uri: `gs://${name}/db`, options: { serviceAccount: sa, allowHttp: true, ...extra }, list: () => gcsListObjects(gcs, name) };
  }
  await azureCreateContainer(az, name);
  return {
    uri: `az://${name}/db`,
    options: { accountName: az.account, accountKey: az.key, endpoint: `${base}/${az.account}`, allowHttp: true, ...extra },
    list: () => azureListBlobs(az, name),
  };
}

const emulatorBase = (b: Backend) => (b === "s3" ? s3.endpoint : b === "gcs" ? gcs.endpoint : `http://127.0.0.1:${az.port}`);

function connect(t: { uri: string; options: Record<string, unknown> }, backend: Backend): Promise<lancedb.Connection> {
  return connectOnLoopback(t.uri, t.options, backend);
}

describe.each(["s3", "gcs", "azure"] as const)("%s", (backend) => {
  test("userAgent is sent on every request", async () => {
    const proxy = await recordingProxy(emulatorBase(backend));
    try {
      const t = await target(backend, proxy.url, { userAgent: "stowage-guide-test/1.0" });
      const db = await connect(t, backend);
      await (await db.createTable("ua", records)).countRows();
      expect(proxy.seen.length).toBeGreaterThan(0);
      expect([...new Set(proxy.seen.map((r) => r.headers["user-agent"]))]).toEqual(["stowage-guide-test/1.0"]);
      expect(eff(db.effectiveStorageOptions(), "user_agent")).toMatchObject({ value: "stowage-guide-test/1.0", source: "connection" });
    } finally {
      await proxy.close();
    }
  });

  test("proxyUrl routes every request through the proxy; proxyExcludes bypasses it", async () => {
    const proxy = await recordingProxy(emulatorBase(backend));
    try {
      const t = await target(backend, emulatorBase(backend), { proxyUrl: proxy.url });
      const db = await connect(t, backend);
      await db.createTable("px", records);
      expect(await db.tableNames()).toEqual(["px"]);
      expect(proxy.seen.length).toBeGreaterThan(2);
      for (const r of proxy.seen) expect(r.url.startsWith(emulatorBase(backend))).toBe(true); // absolute-form: a forward proxy
      expect(await t.list()).toHaveLength(2);

      const n = proxy.seen.length;
      const t2 = await target(backend, emulatorBase(backend), { proxyUrl: proxy.url, proxyExcludes: "example.com, 127.0.0.1" });
      const db2 = await connect(t2, backend);
      await db2.createTable("direct", records);
      expect(proxy.seen.length).toBe(n);
      expect(await t2.list()).toHaveLength(2);
    } finally {
      await proxy.close();
    }
  });
});

describe("allow_invalid_certificates (an https front with a self-signed certificate)", () => {
  let cert: { key: Buffer; cert: Buffer } | undefined;
  beforeAll(() => {
    try {
      const key = path.join(tmp.dir, "key.pem");
      const crt = path.join(tmp.dir, "cert.pem");
      execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", crt, "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"], { stdio: "ignore" });
      cert = { key: fs.readFileSync(key), cert: fs.readFileSync(crt) };
    } catch {
      cert = undefined; // no openssl: the tests below report themselves skipped by returning early
    }
  });

  /** https://127.0.0.1:PORT forwarding to the emulator over http. */
  function httpsFront(to: string): Promise<TestServer> {
    const t = new URL(to);
    const seen: TestServer["seen"] = [];
    const srv = https.createServer({ key: cert!.key, cert: cert!.cert }, (req, res) => {
      seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, at: Date.now() });
      const up = http.request({ host: t.hostname, port: t.port, method: req.method, path: req.url, headers: req.headers }, (ur) => {
        res.writeHead(ur.statusCode ?? 502, ur.headers);
        ur.pipe(res);
      });
      up.on("error", () => res.destroy());
      req.pipe(up);
    });
    return new Promise((r) =>
      srv.listen(0, "127.0.0.1", () => {
        const port = (srv.address() as net.AddressInfo).port;
        r({ url: `https://127.0.0.1:${port}`, port, seen, close: () => new Promise<void>((c) => { srv.closeAllConnections(); srv.close(() => c()); }) });
      }),
    );
  }

  test.each(["s3", "gcs", "azure"] as const)("%s: refused without it (a certificate error), works with allowInvalidCertificates: true", async (backend) => {
    if (!cert) {
      console.warn("openssl not available: allow_invalid_certificates not checked");
      return;
    }
    const front = await httpsFront(emulatorBase(backend));
    try {
      const bad = await target(backend, front.url, { allowHttp: false, clientMaxRetries: 0 });
      const db = await connect(bad, backend);
      const err = await failure(() => db.createTable("tls", records));
      expect(err.code).toMatch(/^STORAGE_/);
      expect(err.message).toMatch(/certificate|tls|ssl/i);

      const good = await target(backend, front.url, { allowHttp: false, allowInvalidCertificates: true });
      const db2 = await connect(good, backend);
      expect(eff(db2.effectiveStorageOptions(), "allow_invalid_certificates")).toMatchObject({ value: "true", source: "connection" });
      const t = await db2.createTable("tls", records);
      expect(await t.countRows()).toBe(2);
      expect(await good.list()).toHaveLength(2);
      expect(front.seen.length).toBeGreaterThan(0);
    } finally {
      await front.close();
    }
  });
});

describe("casing: one key whatever the spelling (connect_timeout, CONNECT_TIMEOUT, connectTimeout), and the environment", () => {
  test("option spellings", async () => {
    const t = await target("s3", s3.endpoint);
    for (const k of ["connect_timeout", "CONNECT_TIMEOUT", "connectTimeout"]) {
      const db = await connect({ uri: t.uri, options: { ...t.options, [k]: "7s" } }, "s3");
      expect(eff(db.effectiveStorageOptions(), "connect_timeout")).toMatchObject({ value: "7s", source: "connection", givenAs: k });
      expect(await db.tableNames()).toEqual([]);
    }
  });

  test("CONNECT_TIMEOUT, TIMEOUT, USER_AGENT, PROXY_URL, PROXY_EXCLUDES from the environment (child process)", async () => {
    const proxy = await recordingProxy(s3.endpoint);
    try {
      const b = uniq("gen");
      await s3CreateBucket(s3, b);
      const r = await runChild(
        { uri: `s3://${b}/db`, storageOptions: { region: "us-east-1", endpoint: s3.endpoint, allowHttp: true, accessKeyId: "test", secretAccessKey: "test" }, table: "t", ops: ["create", "count"], loopback: "s3" },
        { CONNECT_TIMEOUT: "3s", TIMEOUT: "20s", USER_AGENT: "from-env/2", PROXY_URL: proxy.url, PROXY_EXCLUDES: "example.org" },
      );
      expect(r.error).toBeNull();
      const e = r.effective!;
      expect(eff(e, "connect_timeout")).toMatchObject({ value: "3s", source: "env", givenAs: "CONNECT_TIMEOUT" });
      expect(eff(e, "timeout")).toMatchObject({ value: "20s", source: "env", givenAs: "TIMEOUT" });
      expect(eff(e, "user_agent")).toMatchObject({ value: "from-env/2", source: "env" });
      expect(eff(e, "proxy_url")).toMatchObject({ value: proxy.url, source: "env" });
      expect(proxy.seen.length).toBeGreaterThan(0);
      for (const req of proxy.seen) expect(req.headers["user-agent"]).toBe("from-env/2");
    } finally {
      await proxy.close();
    }
  });
});
