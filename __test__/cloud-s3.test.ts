/**
 * The AWS S3 section of the storage guide (../shared/spec/cloud-storage-guide.md), against moto on
 * 127.0.0.1: lifecycle with options and with environment variables only, spellings, the S3-compatible
 * endpoint + region + allow_http, credentials (signature-checking moto "s3auth"), session tokens.
 *
 * What these servers cannot check (not tested here):
 *  - moto is path-style only (the Host is an IP), so aws_virtual_hosted_style_request is not exercised;
 *    a virtual-hosted request would need DNS for <bucket>.127.0.0.1, which must not leave the box.
 *  - aws_s3_express needs S3 Express One Zone (CreateSession, zonal endpoints): not emulated.
 *  - AWS_PROFILE / SSO, IAM policies (the guide's read-write / read-only policies): moto's IAM user here
 *    is allow-all; nothing off loopback (STS, SSO, IMDS) may be contacted.
 *  - Session tokens are not validated by moto: we verify that the token is SENT (and signed) by
 *    recording every request on a loopback proxy in front of the open moto.
 *  - The multipart-upload cleanup tip (lifecycle rules) is bucket configuration, not client behaviour.
 */
import { inspect } from "util";
import * as lancedb from "../lib";
import {
  eff,
  Effective,
  expectNoSecrets,
  expectTableLayout,
  failure,
  more,
  plain,
  records,
  recordingProxy,
  runChild,
  s3Options,
  sources,
  uniq,
  connectOnLoopback,
} from "./helpers/cloud";
import { Endpoints, S3Endpoint, s3CreateBucket, s3ListObjects, useEmulators } from "./helpers/emulators";

jest.setTimeout(60_000);

let emu: Endpoints;
let stop: () => Promise<void> = async () => {};
let s3: S3Endpoint; // open moto
let auth: S3Endpoint; // signature-checking moto

beforeAll(async () => {
  const r = await useEmulators(["s3", "s3auth", "gcs", "azure"]);
  emu = r.endpoints;
  stop = r.stop;
  s3 = emu.s3!;
  auth = emu.s3auth!;
});
afterAll(() => stop());

async function bucket(on: S3Endpoint, prefix = "s3"): Promise<string> {
  const b = uniq(prefix);
  await s3CreateBucket(on, b);
  return b;
}

function connect(uri: string, storageOptions: Record<string, unknown>): Promise<lancedb.Connection> {
  return connectOnLoopback(uri, storageOptions, "s3");
}

describe("lifecycle", () => {
  test("options at connect (region, endpoint, allowHttp, keys): create, open, add, query, count, drop; the bucket holds the table", async () => {
    const b = await bucket(auth);
    const db = await connect(`s3://${b}/db`, {
      region: "us-east-1",
      endpoint: auth.endpoint,
      allowHttp: true,
      awsAccessKeyId: auth.accessKeyId,
      awsSecretAccessKey: auth.secretAccessKey,
    });
    expect(sources(db.effectiveStorageOptions(), ["aws_region", "aws_endpoint", "allow_http", "aws_access_key_id", "aws_secret_access_key"])).toEqual({
      aws_region: "connection",
      aws_endpoint: "connection",
      allow_http: "connection",
      aws_access_key_id: "connection",
      aws_secret_access_key: "connection",
    });
    expect(await db.tableNames()).toEqual([]);

    const t = await db.createTable("items", records);
    expect(await t.countRows()).toBe(2);
    expectTableLayout(await s3ListObjects(auth, b, "db/items.stowage/"), "db/items.stowage/", 1, 1);

    expect((await t.add(more)).version).toBe(2);
    expectTableLayout(await s3ListObjects(auth, b, "db/items.stowage/"), "db/items.stowage/", 2, 2);

    const opened = await db.openTable("items");
    expect(await opened.countRows()).toBe(3);
    const rows = plain(await opened.query().toArray());
    expect(rows.map((r) => [r.id, r.name])).toEqual([
      [1, "a"],
      [2, "b"],
      [3, "c"],
    ]);
    expect((rows[2].vector as number[])[1]).toBeCloseTo(0.6);
    expect(await db.tableNames()).toEqual(["items"]);

    await db.dropTable("items");
    expect(await s3ListObjects(auth, b, "db/items.stowage/")).toEqual([]);
    expect(await s3ListObjects(auth, b)).toEqual([]);
    expect(await db.tableNames()).toEqual([]);
    expect((await failure(() => db.openTable("items"))).code).toBe("TABLE_NOT_FOUND");
  });

  test("the same configuration through environment variables only (AWS_ENDPOINT, AWS_DEFAULT_REGION, ALLOW_HTTP, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, TIMEOUT), in a child process", async () => {
    const b = await bucket(auth);
    let during: string[] = [];
    const r = await runChild(
      {
        uri: `s3://${b}/db`,
        table: "envtable",
        ops: ["create", "add", "open", "count", "query", "names", "pause", "drop", "names"],
        loopback: "s3",
      },
      {
        AWS_ENDPOINT: auth.endpoint,
        AWS_DEFAULT_REGION: "us-east-1",
        ALLOW_HTTP: "true",
        AWS_ACCESS_KEY_ID: auth.accessKeyId,
        AWS_SECRET_ACCESS_KEY: auth.secretAccessKey,
        TIMEOUT: "60s",
      },
      async () => {
        during = await s3ListObjects(auth, b, "db/envtable.stowage/");
      },
    );
    expect(r.error).toBeNull();
    expect(r.ok).toBe(true);
    expect(r.steps).toMatchObject({ create: 2, add: 2, open: "envtable", count: 3, names: [["envtable"], []], drop: true });
    expect((r.steps.query as { id: number }[]).map((x) => x.id)).toEqual([1, 2, 3]);
    expectTableLayout(during, "db/envtable.stowage/", 2, 2);
    expect(await s3ListObjects(auth, b)).toEqual([]);

    const e = r.effective!;
    const pick = (k: string) => ({ source: eff(e, k)?.source, givenAs: eff(e, k)?.givenAs });
    expect(pick("aws_endpoint")).toEqual({ source: "env", givenAs: "AWS_ENDPOINT" });
    expect(pick("aws_region")).toEqual({ source: "env", givenAs: "AWS_DEFAULT_REGION" });
    expect(pick("allow_http")).toEqual({ source: "env", givenAs: "ALLOW_HTTP" });
    expect(pick("aws_access_key_id")).toEqual({ source: "env", givenAs: "AWS_ACCESS_KEY_ID" });
    expect(pick("aws_secret_access_key")).toEqual({ source: "env", givenAs: "AWS_SECRET_ACCESS_KEY" });
    expect(eff(e, "aws_secret_access_key")?.value).not.toContain(auth.secretAccessKey);
    // the guide's `export TIMEOUT=60s`
    expect(eff(e, "timeout")).toMatchObject({ value: "1m", source: "env", givenAs: "TIMEOUT" });
    expect(eff(e, "connect_timeout")).toMatchObject({ value: "5s", source: "default" });
  });
});

describe("spellings: camelCase, snake_case, UPPER_CASE, with and without the aws_ prefix, all reach the server", () => {
  const styles: [string, (k: S3Endpoint) => Record<string, string | boolean>][] = [
    ["camelCase, prefixed", (k) => ({ awsRegion: "us-east-1", awsEndpoint: k.endpoint, awsAllowHttp: true, awsAccessKeyId: k.accessKeyId, awsSecretAccessKey: k.secretAccessKey })],
    ["snake_case, prefixed", (k) => ({ aws_region: "us-east-1", aws_endpoint: k.endpoint, aws_allow_http: "true", aws_access_key_id: k.accessKeyId, aws_secret_access_key: k.secretAccessKey })],
    ["UPPER_CASE, prefixed", (k) => ({ AWS_REGION: "us-east-1", AWS_ENDPOINT: k.endpoint, AWS_ALLOW_HTTP: "true", AWS_ACCESS_KEY_ID: k.accessKeyId, AWS_SECRET_ACCESS_KEY: k.secretAccessKey })],
    ["camelCase, unprefixed", (k) => ({ region: "us-east-1", endpoint: k.endpoint, allowHttp: true, accessKeyId: k.accessKeyId, secretAccessKey: k.secretAccessKey })],
    ["snake_case, unprefixed", (k) => ({ region: "us-east-1", endpoint: k.endpoint, allow_http: "true", access_key_id: k.accessKeyId, secret_access_key: k.secretAccessKey })],
    ["UPPER_CASE, unprefixed", (k) => ({ REGION: "us-east-1", ENDPOINT: k.endpoint, ALLOW_HTTP: "true", ACCESS_KEY_ID: k.accessKeyId, SECRET_ACCESS_KEY: k.secretAccessKey })],
    ["aliases: aws_default_region, aws_endpoint_url", (k) => ({ aws_default_region: "us-east-1", aws_endpoint_url: k.endpoint, allowHttp: "true", awsAccessKeyId: k.accessKeyId, awsSecretAccessKey: k.secretAccessKey })],
  ];

  test.each(styles)("%s", async (_label, make) => {
    const b = await bucket(auth);
    const opts = make(auth);
    const db = await connect(`s3://${b}/db`, opts);
    const e = db.effectiveStorageOptions();
    const given = Object.keys(opts);
    const canonical = ["aws_region", "aws_endpoint", "allow_http", "aws_access_key_id", "aws_secret_access_key"];
    canonical.forEach((k, i) => expect(eff(e, k)).toMatchObject({ source: "connection", givenAs: given[i] }));
    expect(eff(e, "aws_endpoint")?.value).toBe(auth.endpoint);
    const t = await db.createTable("spelled", records);
    await t.add(more);
    expect(await (await db.openTable("spelled")).countRows()).toBe(3);
    expectTableLayout(await s3ListObjects(auth, b, "db/spelled.stowage/"), "db/spelled.stowage/", 2, 2);
    await db.dropTable("spelled");
    expect(await s3ListObjects(auth, b)).toEqual([]);
  });

  test("two spellings of one key are one key: the same value is fine, different values are an error", async () => {
    const b = await bucket(s3);
    const db = await connect(`s3://${b}/db`, { ...s3Options(s3), awsEndpoint: s3.endpoint, AWS_ENDPOINT: s3.endpoint });
    expect(await db.tableNames()).toEqual([]);
    const err = await failure(() => lancedb.connect(`s3://${b}/db`, { storageOptions: { ...s3Options(s3), AWS_ENDPOINT: "http://127.0.0.1:1" } }));
    expect(err.code).toBe("INVALID_STORAGE_OPTION");
    expect(err.message).toMatch(/same option/);
  });
});

describe("S3-compatible stores: region + endpoint (+ allow_http for http://)", () => {
  test("region and endpoint with allowHttp \"true\" (a string, as in the README) work", async () => {
    const b = await bucket(s3);
    const db = await connect(`s3://${b}/path`, { region: "us-east-1", endpoint: s3.endpoint, allowHttp: "true", accessKeyId: "test", secretAccessKey: "test" });
    const t = await db.createTable("compat", records);
    expect(await t.countRows()).toBe(2);
    expectTableLayout(await s3ListObjects(s3, b, "path/compat.stowage/"), "path/compat.stowage/", 1, 1);
  });

  test("without allowHttp an http:// endpoint fails at once, naming allow_http / allowHttp, and sends nothing", async () => {
    const proxy = await recordingProxy(s3.endpoint);
    try {
      const b = await bucket(s3);
      for (const opts of [
        { region: "us-east-1", endpoint: proxy.url, accessKeyId: "test", secretAccessKey: "test" },
        { region: "us-east-1", endpoint: proxy.url, accessKeyId: "test", secretAccessKey: "test", allowHttp: false },
      ]) {
        const err = await failure(async () => {
          const db = await lancedb.connect(`s3://${b}/db`, { storageOptions: opts });
          await db.createTable("t", records);
        });
        expect(err.message).toMatch(/allow_http|allowHttp/);
        expect(err.code).toBe("INVALID_STORAGE_OPTION");
        expect(err.ms).toBeLessThan(1000);
      }
      expect(proxy.seen).toEqual([]);
    } finally {
      await proxy.close();
    }
  });

  test("ALLOW_HTTP from the environment is enough (child process, options give the rest)", async () => {
    const b = await bucket(s3);
    const r = await runChild(
      { uri: `s3://${b}/db`, storageOptions: { region: "us-east-1", endpoint: s3.endpoint, accessKeyId: "test", secretAccessKey: "test" }, table: "t", ops: ["create", "count"], loopback: "s3" },
      { ALLOW_HTTP: "true" },
    );
    expect(r.error).toBeNull();
    expect(r.steps.count).toBe(2);
    expect(eff(r.effective!, "allow_http")).toMatchObject({ value: "true", source: "env", givenAs: "ALLOW_HTTP" });
  });
});

describe("credentials (signature-checking moto)", () => {
  test("the right keys work; a wrong secret or unknown key id fails with STORAGE_PERMISSION_DENIED, fast, and no secret in any message", async () => {
    const b = await bucket(auth);
    const good = await connect(`s3://${b}/db`, s3Options(auth));
    await good.createTable("guarded", records);

    const wrongSecret = "WrongSecretKeyValue0123456789abcdefABCDEF";
    for (const bad of [
      s3Options(auth, { awsSecretAccessKey: wrongSecret }),
      s3Options(auth, { awsAccessKeyId: "AKIAUNKNOWNKEY000000", awsSecretAccessKey: wrongSecret }),
    ]) {
      const db = await connect(`s3://${b}/db`, bad);
      for (const op of [() => db.tableNames(), () => db.openTable("guarded"), () => db.createTable("other", records), () => db.dropTable("guarded")]) {
        const err = await failure(op);
        expect(err.code).toBe("STORAGE_PERMISSION_DENIED");
        expect(err.message).toMatch(/credentials/);
        expect(err.ms).toBeLessThan(3000); // a 403 is not retried
        expectNoSecrets(err.message + (err.stack ?? ""), [wrongSecret, auth.secretAccessKey]);
      }
      expectNoSecrets(JSON.stringify(db.effectiveStorageOptions()) + db.display() + inspect(db), [wrongSecret]);
    }
    // nothing was written or deleted by the rejected connections
    expectTableLayout(await s3ListObjects(auth, b), "db/guarded.stowage/", 1, 1);
    expect(await (await good.openTable("guarded")).countRows()).toBe(2);
  });

  test("a key id without a secret (or the reverse) is rejected before any request", async () => {
    const proxy = await recordingProxy(s3.endpoint);
    try {
      const base = { region: "us-east-1", endpoint: proxy.url, allowHttp: true };
      const e1 = await failure(() => lancedb.connect("s3://b/db", { storageOptions: { ...base, awsAccessKeyId: "AKIAONLYKEY" } }));
      expect(e1.code).toBe("INVALID_STORAGE_OPTION");
      expect(e1.message).toMatch(/aws_secret_access_key|awsSecretAccessKey/);
      const e2 = await failure(() => lancedb.connect("s3://b/db", { storageOptions: { ...base, awsSecretAccessKey: "OnlyTheSecret123" } }));
      expect(e2.code).toBe("INVALID_STORAGE_OPTION");
      expectNoSecrets(e2.message, ["OnlyTheSecret123"]);
      expect(proxy.seen).toEqual([]);
    } finally {
      await proxy.close();
    }
  });

  test("awsSessionToken is sent (and signed) as x-amz-security-token on every request", async () => {
    const proxy = await recordingProxy(s3.endpoint);
    try {
      const b = await bucket(s3);
      const token = "FwoGZXIvYXdzEXAMPLESESSIONTOKEN/abc+def==";
      const db = await connect(`s3://${b}/db`, {
        region: "us-east-1",
        endpoint: proxy.url,
        allowHttp: true,
        awsAccessKeyId: "ASIAEXAMPLEKEY",
        awsSecretAccessKey: "example-secret",
        awsSessionToken: token,
      });
      expect(eff(db.effectiveStorageOptions(), "aws_session_token")).toMatchObject({ value: "****", source: "connection", givenAs: "awsSessionToken", secret: true });
      const t = await db.createTable("tok", records);
      await t.add(more);
      expect(await (await db.openTable("tok")).countRows()).toBe(3);
      await db.dropTable("tok");
      expect(proxy.seen.length).toBeGreaterThanOrEqual(5);
      for (const req of proxy.seen) {
        expect(req.headers["x-amz-security-token"]).toBe(token);
        expect(String(req.headers.authorization)).toMatch(/SignedHeaders=[^,]*x-amz-security-token/);
      }
      expectNoSecrets(JSON.stringify(db.effectiveStorageOptions()) + db.display() + inspect(db) + inspect(t), [token, "example-secret"]);
    } finally {
      await proxy.close();
    }
  });

  test("AWS_SESSION_TOKEN from the environment is sent too (child process)", async () => {
    const proxy = await recordingProxy(s3.endpoint);
    try {
      const b = await bucket(s3);
      const token = "EnvSessionToken-0123456789";
      const r = await runChild(
        { uri: `s3://${b}/db`, table: "tok", ops: ["create", "count"], loopback: "s3" },
        { AWS_ENDPOINT: proxy.url, AWS_REGION: "us-east-1", ALLOW_HTTP: "1", AWS_ACCESS_KEY_ID: "ASIAENV", AWS_SECRET_ACCESS_KEY: "env-secret", AWS_SESSION_TOKEN: token },
      );
      expect(r.error).toBeNull();
      expect(r.steps.count).toBe(2);
      expect(eff(r.effective!, "aws_session_token")).toMatchObject({ value: "****", source: "env", givenAs: "AWS_SESSION_TOKEN" });
      expect(proxy.seen.length).toBeGreaterThan(0);
      for (const req of proxy.seen) expect(req.headers["x-amz-security-token"]).toBe(token);
      expectNoSecrets(JSON.stringify(r.effective), [token, "env-secret"]);
    } finally {
      await proxy.close();
    }
  });
});

describe("effectiveStorageOptions", () => {
  test("reports every resolved key with its source; secrets are masked", async () => {
    const b = await bucket(s3);
    const db = await connect(`s3://${b}/db`, s3Options(s3, { awsSessionToken: "tok-123456" }));
    const e: Effective[] = db.effectiveStorageOptions();
    expect(e.filter((x) => x.secret).map((x) => [x.key, x.value])).toEqual([
      ["aws_secret_access_key", "****"],
      ["aws_session_token", "****"],
    ]);
    expect(eff(e, "timeout")).toMatchObject({ value: "30s", source: "default" });
    expect(eff(e, "connect_timeout")).toMatchObject({ value: "5s", source: "default" });
    expect(eff(e, "allow_http")).toMatchObject({ value: "true", source: "connection" });
    // keys of other backends are not listed for S3
    expect(e.filter((x) => x.key.startsWith("azure_") || x.key.startsWith("google_"))).toEqual([]);
    const t = await db.createTable("t", records);
    expect(t.effectiveStorageOptions()).toEqual(e);
  });
});
