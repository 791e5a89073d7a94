/**
 * Precedence, as the guide describes it ("If you only want this to apply to one particular
 * connection, you can pass the storage_options argument"; "Getting even more specific, you can set
 * the timeout for only a particular table") and as the README fixes it: table option > connection
 * option > environment variable > default. Checked against the servers: the losing value is always
 * one that cannot work (a closed port, a wrong secret), so only the winning value can make the
 * operation succeed, and effectiveStorageOptions() must name the winner's source.
 *
 * Environment variables are set in child processes (Jest gives each test file a copy of process.env
 * that the native addon does not see).
 */
import * as lancedb from "../lib";
import {
  assertLoopback,
  azureOptions,
  closedPort,
  eff,
  expectNoSecrets,
  failure,
  gcsOptions,
  pool,
  records,
  runChild,
  s3Options,
  sources,
  uniq,
  writeServiceAccount,
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
let auth: S3Endpoint;
let gcs: GcsEndpoint;
let az: AzureEndpoint;
let tmp: { dir: string; cleanup: () => void };
let dead: string; // http://127.0.0.1:<closed port>

beforeAll(async () => {
  const r = await useEmulators(["s3", "s3auth", "gcs", "azure"]);
  emu = r.endpoints;
  stop = r.stop;
  s3 = emu.s3!;
  auth = emu.s3auth!;
  gcs = emu.gcs!;
  az = emu.azure!;
  tmp = tempDir("stowage-prec-");
  dead = `http://127.0.0.1:${await closedPort()}`;
});
afterAll(async () => {
  tmp?.cleanup();
  await stop();
});

const WRONG_SECRET = "WrongSecretFromTheEnvironment0123456789";

describe("an explicit option beats a conflicting environment variable", () => {
  test("S3: env AWS_ENDPOINT (a closed port) and a wrong env secret lose to the options, in 10 child processes out of 10", async () => {
    const b = uniq("prec");
    await s3CreateBucket(auth, b);
    const runs = await pool(
      5,
      Array.from({ length: 10 }, (_, i) => () =>
        runChild(
          {
            uri: `s3://${b}/db`,
            storageOptions: { endpoint: auth.endpoint, awsSecretAccessKey: auth.secretAccessKey },
            table: `t${i}`,
            ops: ["create", "count", "drop"],
            loopback: "s3",
          },
          {
            AWS_ENDPOINT: dead,
            AWS_SECRET_ACCESS_KEY: WRONG_SECRET,
            AWS_ACCESS_KEY_ID: auth.accessKeyId,
            AWS_DEFAULT_REGION: "us-east-1",
            ALLOW_HTTP: "true",
          },
        ),
      ),
    );
    const summary = runs.map((r) => ({
      ok: r.ok,
      error: r.error,
      count: r.steps.count,
      ...sources(r.effective ?? [], ["aws_endpoint", "aws_secret_access_key", "aws_access_key_id", "aws_region", "allow_http"]),
      endpoint: eff(r.effective ?? [], "aws_endpoint")?.value,
    }));
    for (const s of summary) {
      expect(s).toEqual({
        ok: true,
        error: null,
        count: 2,
        aws_endpoint: "connection",
        aws_secret_access_key: "connection",
        aws_access_key_id: "env",
        aws_region: "env",
        allow_http: "env",
        endpoint: auth.endpoint,
      });
    }
    for (const r of runs) expectNoSecrets(JSON.stringify(r), [WRONG_SECRET, auth.secretAccessKey]);
    expect(await s3ListObjects(auth, b)).toEqual([]);
  });

  test("GCS: env GOOGLE_SERVICE_ACCOUNT (naming a closed port) loses to the serviceAccount option (3 child processes)", async () => {
    const b = uniq("prec");
    await gcsCreateBucket(gcs, b);
    const deadSa = writeServiceAccount(tmp.dir, dead, "dead-sa.json");
    const runs = await pool(
      3,
      Array.from({ length: 3 }, (_, i) => () =>
        runChild(
          { uri: `gs://${b}/db`, storageOptions: { serviceAccount: gcs.serviceAccountPath }, table: `t${i}`, ops: ["create", "count"], loopback: "gcs" },
          { GOOGLE_SERVICE_ACCOUNT: deadSa, ALLOW_HTTP: "true", CLIENT_MAX_RETRIES: "0" },
        ),
      ),
    );
    for (const r of runs) {
      expect({ error: r.error, count: r.steps.count, sa: eff(r.effective!, "google_service_account") }).toEqual({
        error: null,
        count: 2,
        sa: expect.objectContaining({ value: gcs.serviceAccountPath, source: "connection", givenAs: "serviceAccount" }),
      });
      expect(eff(r.effective!, "client_max_retries")).toMatchObject({ value: "0", source: "env" });
    }
    expect(await gcsListObjects(gcs, b)).toHaveLength(6);
  });

  test("Azure: env AZURE_STORAGE_ENDPOINT (a closed port) and a wrong AZURE_STORAGE_ACCOUNT_KEY lose to the options (3 child processes)", async () => {
    const c = uniq("prec");
    await azureCreateContainer(az, c);
    const wrongKey = Buffer.from("wrong key from the environment").toString("base64");
    const runs = await pool(
      3,
      Array.from({ length: 3 }, (_, i) => () =>
        runChild(
          { uri: `az://${c}/db`, storageOptions: { endpoint: az.endpoint, accountKey: az.key }, table: `t${i}`, ops: ["create", "count"], loopback: "azure" },
          { AZURE_STORAGE_ENDPOINT: dead, AZURE_STORAGE_ACCOUNT_KEY: wrongKey, AZURE_STORAGE_ACCOUNT_NAME: az.account, ALLOW_HTTP: "true" },
        ),
      ),
    );
    for (const r of runs) {
      expect({ error: r.error, count: r.steps.count, ...sources(r.effective!, ["azure_endpoint", "azure_storage_account_key", "azure_storage_account_name"]) }).toEqual({
        error: null,
        count: 2,
        azure_endpoint: "connection",
        azure_storage_account_key: "connection",
        azure_storage_account_name: "env",
      });
      expectNoSecrets(JSON.stringify(r), [wrongKey, az.key]);
    }
    expect(await azureListBlobs(az, c)).toHaveLength(6);
  });

  test("sanity: without a conflicting option the environment value is the one used (the dead endpoint fails)", async () => {
    const b = uniq("prec");
    await s3CreateBucket(s3, b);
    const r = await runChild(
      { uri: `s3://${b}/db`, table: "t", ops: ["names"], loopback: "s3" },
      { AWS_ENDPOINT: dead, AWS_ACCESS_KEY_ID: "test", AWS_SECRET_ACCESS_KEY: "test", AWS_REGION: "us-east-1", ALLOW_HTTP: "true", CLIENT_MAX_RETRIES: "0" },
    );
    expect(r.ok).toBe(false);
    expect(r.error?.code).toMatch(/^STORAGE_/);
    expect(eff(r.effective!, "aws_endpoint")).toMatchObject({ value: dead, source: "env" });
  });
});

describe("table options override connection options", () => {
  test("S3: connection with a wrong secret, table with the right one: the table works, the connection does not", async () => {
    const b = uniq("tbl");
    await s3CreateBucket(auth, b);
    const db = await lancedb.connect(`s3://${b}/db`, { storageOptions: s3Options(auth, { awsSecretAccessKey: WRONG_SECRET }) });
    assertLoopback(db.effectiveStorageOptions(), "s3");
    expect((await failure(() => db.tableNames())).code).toBe("STORAGE_PERMISSION_DENIED");

    const right = { awsSecretAccessKey: auth.secretAccessKey };
    const t = await db.createTable("over", records, { storageOptions: right });
    expect(await t.countRows()).toBe(2);
    expect(sources(t.effectiveStorageOptions(), ["aws_secret_access_key", "aws_access_key_id", "aws_endpoint", "timeout"])).toEqual({
      aws_secret_access_key: "table",
      aws_access_key_id: "connection",
      aws_endpoint: "connection",
      timeout: "default",
    });
    expect(eff(db.effectiveStorageOptions(), "aws_secret_access_key")?.source).toBe("connection");

    const opened = await db.openTable("over", { storageOptions: right });
    await opened.add(records);
    expect(await opened.countRows()).toBe(4);
    expect(eff(opened.effectiveStorageOptions(), "aws_secret_access_key")?.source).toBe("table");
    // a table opened WITHOUT overrides keeps the connection's (wrong) secret
    const e = await failure(() => db.openTable("over"));
    expect(e.code).toBe("STORAGE_PERMISSION_DENIED");
    expectNoSecrets(e.message, [WRONG_SECRET, auth.secretAccessKey]);
    expect(await s3ListObjects(auth, b, "db/over.stowage/")).toHaveLength(4);
  });

  test("S3, the other way round: a right connection and a wrong table secret; a table without overrides keeps the connection's", async () => {
    const b = uniq("tbl");
    await s3CreateBucket(auth, b);
    const db = await lancedb.connect(`s3://${b}/db`, { storageOptions: s3Options(auth) });
    assertLoopback(db.effectiveStorageOptions(), "s3");
    const e = await failure(() => db.createTable("bad", records, { storageOptions: { secretAccessKey: WRONG_SECRET } }));
    expect(e.code).toBe("STORAGE_PERMISSION_DENIED");
    expectNoSecrets(e.message + (e.stack ?? ""), [WRONG_SECRET, auth.secretAccessKey]);

    const t = await db.createTable("good", records);
    expect(await t.countRows()).toBe(2);
    expect(sources(t.effectiveStorageOptions(), ["aws_secret_access_key", "aws_endpoint"])).toEqual({ aws_secret_access_key: "connection", aws_endpoint: "connection" });
    expect(t.effectiveStorageOptions()).toEqual(db.effectiveStorageOptions());
    const e2 = await failure(() => db.openTable("good", { storageOptions: { AWS_SECRET_ACCESS_KEY: WRONG_SECRET } }));
    expect(e2.code).toBe("STORAGE_PERMISSION_DENIED");
    expect(await s3ListObjects(auth, b)).toHaveLength(2);
  });

  test("S3: a connection endpoint on a closed port, a table endpoint on moto", async () => {
    const b = uniq("tbl");
    await s3CreateBucket(s3, b);
    const db = await lancedb.connect(`s3://${b}/db`, { storageOptions: s3Options(s3, { endpoint: dead, clientMaxRetries: 0 }) });
    assertLoopback(db.effectiveStorageOptions(), "s3");
    const t = await db.createTable("moved", records, { storageOptions: { endpoint: s3.endpoint } });
    assertLoopback(t.effectiveStorageOptions(), "s3");
    expect(eff(t.effectiveStorageOptions(), "aws_endpoint")).toMatchObject({ value: s3.endpoint, source: "table", givenAs: "endpoint" });
    expect(eff(t.effectiveStorageOptions(), "client_max_retries")).toMatchObject({ value: "0", source: "connection" });
    expect(await t.countRows()).toBe(2);
    expect(await s3ListObjects(s3, b)).toHaveLength(2);
  });

  test("the guide's per-table timeout: createTable(..., { storageOptions: { timeout: \"60s\" } })", async () => {
    const b = uniq("tbl");
    await s3CreateBucket(s3, b);
    const db = await lancedb.connect(`s3://${b}/db`, { storageOptions: s3Options(s3, { timeout: "45s" }) });
    const t = await db.createTable("table", [{ a: 1, b: 2 }], { storageOptions: { timeout: "60s" } });
    expect(eff(t.effectiveStorageOptions(), "timeout")).toMatchObject({ value: "1m", source: "table", givenAs: "timeout" });
    expect(eff(db.effectiveStorageOptions(), "timeout")).toMatchObject({ value: "45s", source: "connection" });
    const other = await db.createTable("other", [{ a: 1, b: 2 }]);
    expect(eff(other.effectiveStorageOptions(), "timeout")).toMatchObject({ value: "45s", source: "connection" });
    expect(await t.countRows()).toBe(1);
  });

  test("Azure: connection with a wrong key, table with the right one", async () => {
    const c = uniq("tbl");
    await azureCreateContainer(az, c);
    const wrongKey = Buffer.from("definitely the wrong key").toString("base64");
    const db = await lancedb.connect(`az://${c}/db`, { storageOptions: azureOptions(az, { accountKey: wrongKey }) as lancedb.StorageOptions });
    assertLoopback(db.effectiveStorageOptions(), "azure");
    expect((await failure(() => db.tableNames())).code).toBe("STORAGE_PERMISSION_DENIED");
    const t = await db.createTable("over", records, { storageOptions: { accountKey: az.key } });
    expect(await t.countRows()).toBe(2);
    expect(eff(t.effectiveStorageOptions(), "azure_storage_account_key")).toMatchObject({ value: "****", source: "table" });
    expect((await failure(() => db.openTable("over"))).code).toBe("STORAGE_PERMISSION_DENIED");
    expect(await azureListBlobs(az, c)).toHaveLength(2);
  });

  test("GCS: connection credentials naming a closed port, table credentials naming the emulator", async () => {
    const b = uniq("tbl");
    await gcsCreateBucket(gcs, b);
    const deadSa = writeServiceAccount(tmp.dir, dead, "dead-sa-2.json");
    const db = await lancedb.connect(`gs://${b}/db`, { storageOptions: gcsOptions(gcs, { serviceAccount: deadSa, clientMaxRetries: 0 }) });
    assertLoopback(db.effectiveStorageOptions(), "gcs");
    expect((await failure(() => db.tableNames())).code).toMatch(/^STORAGE_/);
    const t = await db.createTable("over", records, { storageOptions: { serviceAccount: gcs.serviceAccountPath } });
    assertLoopback(t.effectiveStorageOptions(), "gcs");
    expect(await t.countRows()).toBe(2);
    expect(eff(t.effectiveStorageOptions(), "google_service_account")).toMatchObject({ value: gcs.serviceAccountPath, source: "table" });
    expect(await gcsListObjects(gcs, b)).toHaveLength(2);
  });
});
