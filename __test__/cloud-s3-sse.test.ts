/**
 * Server-side encryption keys of the guide's S3 table (aws_server_side_encryption, aws_sse_kms_key_id,
 * aws_sse_bucket_key_enabled), against moto on 127.0.0.1: every object a table writes (data files,
 * single-PUT and multipart, and manifests) is HEADed and must carry the encryption headers.
 *
 * What moto cannot check: it does not encrypt anything, and it does not verify that a KMS key id
 * exists or that the caller may use it; it records and echoes the SSE headers it was sent. So these
 * tests prove what the client SENDS on every write, not what S3 does with it. The KMS key is created
 * in moto's KMS (TrentService.CreateKey) so the ids are realistic. moto 5.2.5 also does not record
 * the bucket-key flag of multipart uploads nor echo the key id of aws:kms:dsse objects, so those are
 * checked on the requests (a recording proxy on 127.0.0.1 in front of moto).
 */
import { Table as ArrowTable, tableFromArrays } from "apache-arrow";
import * as lancedb from "../lib";
import { eff, failure, more, recordingProxy, records, runChild, s3Options, uniq, connectOnLoopback } from "./helpers/cloud";
import { Endpoints, S3Endpoint, kmsCreateKey, s3CreateBucket, s3HeadObject, s3ListObjects, useEmulators } from "./helpers/emulators";

jest.setTimeout(60_000);

let emu: Endpoints;
let stop: () => Promise<void> = async () => {};
let s3: S3Endpoint;

beforeAll(async () => {
  const r = await useEmulators(["s3", "s3auth", "gcs", "azure"]);
  emu = r.endpoints;
  stop = r.stop;
  s3 = emu.s3!;
});
afterAll(() => stop());

async function bucket(): Promise<string> {
  const b = uniq("sse");
  await s3CreateBucket(s3, b);
  return b;
}

function connect(uri: string, extra: Record<string, unknown>): Promise<lancedb.Connection> {
  return connectOnLoopback(uri, s3Options(s3, extra), "s3");
}

/** HEAD every object under prefix; returns [key, headers] pairs (at least `min` objects). */
async function headAll(b: string, prefix: string, min: number) {
  const keys = await s3ListObjects(s3, b, prefix);
  expect(keys.length).toBeGreaterThanOrEqual(min);
  expect(keys.some((k) => k.endsWith(".manifest"))).toBe(true);
  expect(keys.some((k) => k.endsWith(".parquet"))).toBe(true);
  const out: [string, Record<string, unknown>][] = [];
  for (const k of keys) {
    const h = await s3HeadObject(s3, b, k);
    expect(h.status).toBe(200);
    out.push([k, h.headers]);
  }
  return out;
}

/** An Arrow table of `n` rows with a float64 column: ~8n bytes of incompressible Parquet. */
function bigTable(n: number): ArrowTable {
  const x = new Float64Array(n);
  for (let i = 0; i < n; i++) x[i] = Math.random();
  return tableFromArrays({ id: Int32Array.from({ length: n }, (_, i) => i), x });
}

test('awsServerSideEncryption "AES256": every object the table writes is encrypted with AES256', async () => {
  const b = await bucket();
  const db = await connect(`s3://${b}/db`, { awsServerSideEncryption: "AES256" });
  expect(eff(db.effectiveStorageOptions(), "aws_server_side_encryption")).toMatchObject({ value: "AES256", source: "connection" });
  const t = await db.createTable("aes", records);
  await t.add(more);
  for (const [k, h] of await headAll(b, "db/aes.stowage/", 4)) {
    expect([k, h["x-amz-server-side-encryption"]]).toEqual([k, "AES256"]);
    expect(h["x-amz-server-side-encryption-aws-kms-key-id"]).toBeUndefined();
  }
  expect(await (await db.openTable("aes")).countRows()).toBe(3);
});

test('"aws:kms" with awsSseKmsKeyId and awsSseBucketKeyEnabled: key id and bucket key on every object, multipart uploads included', async () => {
  const { keyId } = await kmsCreateKey(s3, "stowage sse test");
  const b = await bucket();
  // requests go through a recording proxy so what the client sends is checked as well as what moto stored
  const proxy = await recordingProxy(s3.endpoint);
  try {
    const db = await connect(`s3://${b}/db`, {
      endpoint: proxy.url,
      awsServerSideEncryption: "aws:kms",
      awsSseKmsKeyId: keyId,
      awsSseBucketKeyEnabled: true,
      uploadPartSize: "5MiB",
    });
    const e = db.effectiveStorageOptions();
    expect(eff(e, "aws_sse_kms_key_id")).toMatchObject({ value: keyId, source: "connection", givenAs: "awsSseKmsKeyId" });
    expect(eff(e, "aws_sse_bucket_key_enabled")).toMatchObject({ value: "true", source: "connection" });

    const t = await db.createTable("kms", bigTable(2));
    // > 5 MiB of incompressible floats: this data file goes up as a multipart upload
    await t.add(bigTable(900_000));
    expect(await t.countRows()).toBe(900_002);

    // what was sent: every object-creating request (PUT, CreateMultipartUpload) carries all three
    const creates = proxy.seen.filter((r) => (r.method === "PUT" && !r.url.includes("partNumber")) || (r.method === "POST" && /\?uploads/.test(r.url)));
    expect(creates.filter((r) => r.method === "POST")).toHaveLength(1);
    // 2 manifests (PUT), 1 small data file (PUT), 1 multipart data file (POST ?uploads), and the
    // one-time conditional-put probe: two PUTs of one object under db/_stowage_probe/, deleted after
    expect(creates.filter((r) => r.url.includes("/_stowage_probe/"))).toHaveLength(2);
    expect(creates.length).toBe(6);
    for (const r of creates) {
      expect([r.url, r.headers["x-amz-server-side-encryption"], r.headers["x-amz-server-side-encryption-aws-kms-key-id"], r.headers["x-amz-server-side-encryption-bucket-key-enabled"]]).toEqual([
        r.url,
        "aws:kms",
        keyId,
        "true",
      ]);
    }

    // what moto stored
    const heads = await headAll(b, "db/kms.stowage/", 4);
    const multipart = heads.filter(([k, h]) => k.endsWith(".parquet") && /-\d+"?$/.test(String(h.etag)));
    expect(multipart).toHaveLength(1); // the ETag of a multipart object is "<md5>-<parts>"
    for (const [k, h] of heads) {
      expect([k, h["x-amz-server-side-encryption"], h["x-amz-server-side-encryption-aws-kms-key-id"]]).toEqual([k, "aws:kms", keyId]);
      // moto 5.2.5 does not record the bucket-key flag of multipart uploads (it was sent: see above)
      if (k !== multipart[0][0]) expect([k, h["x-amz-server-side-encryption-bucket-key-enabled"]]).toEqual([k, "true"]);
    }
  } finally {
    await proxy.close();
  }
});

test('"aws:kms" by key ARN, given snake_case, and with bucket keys off', async () => {
  const { arn } = await kmsCreateKey(s3, "by arn");
  const b = await bucket();
  const db = await connect(`s3://${b}/db`, { aws_server_side_encryption: "aws:kms", aws_sse_kms_key_id: arn, aws_sse_bucket_key_enabled: "false" });
  await db.createTable("arn", records);
  for (const [, h] of await headAll(b, "db/arn.stowage/", 2)) {
    expect(h["x-amz-server-side-encryption"]).toBe("aws:kms");
    expect(h["x-amz-server-side-encryption-aws-kms-key-id"]).toBe(arn);
    expect(h["x-amz-server-side-encryption-bucket-key-enabled"]).not.toBe("true");
  }
});

test('"aws:kms:dsse" with a key id: sent on every write, stored as aws:kms:dsse', async () => {
  const { keyId } = await kmsCreateKey(s3, "dsse");
  const b = await bucket();
  const proxy = await recordingProxy(s3.endpoint);
  try {
    const db = await connect(`s3://${b}/db`, { endpoint: proxy.url, AWS_SERVER_SIDE_ENCRYPTION: "aws:kms:dsse", AWS_SSE_KMS_KEY_ID: keyId });
    await db.createTable("dsse", records);
    // The table's data file and manifest, plus the one-time conditional-put probe (two PUTs of
    // one object under db/_stowage_probe/, deleted after): every write carries the SSE headers.
    const puts = proxy.seen.filter((r) => r.method === "PUT");
    expect(puts.filter((r) => r.url.includes("/dsse.stowage/"))).toHaveLength(2);
    expect(puts.filter((r) => r.url.includes("/_stowage_probe/"))).toHaveLength(2);
    for (const r of puts) {
      expect(r.headers["x-amz-server-side-encryption"]).toBe("aws:kms:dsse");
      expect(r.headers["x-amz-server-side-encryption-aws-kms-key-id"]).toBe(keyId);
    }
    // moto 5.2.5 stores the algorithm but does not echo the key id of aws:kms:dsse objects
    for (const [, h] of await headAll(b, "db/dsse.stowage/", 2)) expect(h["x-amz-server-side-encryption"]).toBe("aws:kms:dsse");
  } finally {
    await proxy.close();
  }
});

test("AWS_SERVER_SIDE_ENCRYPTION from the environment (child process) encrypts every object", async () => {
  const b = await bucket();
  let heads: [string, Record<string, unknown>][] = [];
  const r = await runChild(
    { uri: `s3://${b}/db`, table: "envsse", ops: ["create", "add", "pause"], loopback: "s3" },
    { AWS_ENDPOINT: s3.endpoint, AWS_REGION: "us-east-1", ALLOW_HTTP: "true", AWS_ACCESS_KEY_ID: "test", AWS_SECRET_ACCESS_KEY: "test", AWS_SERVER_SIDE_ENCRYPTION: "AES256" },
    async () => {
      heads = await headAll(b, "db/envsse.stowage/", 4);
    },
  );
  expect(r.error).toBeNull();
  expect(eff(r.effective!, "aws_server_side_encryption")).toMatchObject({ value: "AES256", source: "env", givenAs: "AWS_SERVER_SIDE_ENCRYPTION" });
  for (const [, h] of heads) expect(h["x-amz-server-side-encryption"]).toBe("AES256");
});

test("an invalid algorithm is INVALID_STORAGE_OPTION listing the accepted values; a KMS key id needs a KMS algorithm", async () => {
  const e1 = await failure(() => lancedb.connect("s3://b/db", { storageOptions: s3Options(s3, { awsServerSideEncryption: "AES512" }) }));
  expect(e1.code).toBe("INVALID_STORAGE_OPTION");
  expect(e1.message).toMatch(/awsServerSideEncryption/);
  for (const v of ["AES256", "aws:kms", "aws:kms:dsse"]) expect(e1.message).toContain(v);

  const e2 = await failure(() => lancedb.connect("s3://b/db", { storageOptions: s3Options(s3, { awsSseKmsKeyId: "some-key" }) }));
  expect(e2.code).toBe("INVALID_STORAGE_OPTION");
  expect(e2.message).toMatch(/aws:kms/);

  const e3 = await failure(() => lancedb.connect("s3://b/db", { storageOptions: s3Options(s3, { awsServerSideEncryption: "AES256", awsSseKmsKeyId: "some-key" }) }));
  expect(e3.code).toBe("INVALID_STORAGE_OPTION");

  // table-level options are validated the same way
  const b = await bucket();
  const db = await connect(`s3://${b}/db`, {});
  const e4 = await failure(() => db.createTable("t", records, { storageOptions: { awsServerSideEncryption: "rot13" } }));
  expect(e4.code).toBe("INVALID_STORAGE_OPTION");
  expect(await s3ListObjects(s3, b)).toEqual([]);
});
