// Credentials provider functions (connect/openTable/createTable { credentials }) against moto with
// signature checking and IAM on ("s3auth"): short-lived keys, each deleted from moto's IAM soon after
// its expiresAt, while a workload on s3+ddb:// (S3 and DynamoDB) runs across several rotations.
import * as lancedb from "../lib";
import { failure, s3Options, uniq } from "./helpers/cloud";
import { ddbCreateTable } from "./helpers/ddb";
import { s3CreateBucket, s3Request, useEmulators } from "./helpers/emulators";
import type { S3Endpoint } from "./helpers/emulators";
import { ALLOW_ALL, createAccessKey, createUser, deleteAccessKey } from "./helpers/iam";
import type { AccessKey } from "./helpers/iam";
import { workload } from "./helpers/writers";

jest.setTimeout(120_000);

let s3: S3Endpoint;
let stop: () => Promise<void>;

beforeAll(async () => {
  const r = await useEmulators(["s3auth"]);
  s3 = r.endpoints.s3auth!;
  stop = r.stop;
});
afterAll(() => stop());

/** The endpoint options without any keys: the provider is the only source of credentials. */
function keyless(extra: Record<string, unknown> = {}): lancedb.StorageOptions {
  const o = s3Options(s3, extra);
  delete o.awsAccessKeyId;
  delete o.awsSecretAccessKey;
  return o as lancedb.StorageOptions;
}

interface Rotation {
  provider: lancedb.CredentialsProvider;
  calls: () => number;
  deleted: AccessKey[];
  handedOut: AccessKey[];
  done: () => Promise<void>;
}

/**
 * Hands out a new access key per call (round-robin over `users`: IAM allows two keys per user), valid
 * `lifetimeMs`; deletes it `graceMs` after expiry.
 */
function rotating(users: string | string[], lifetimeMs: number, graceMs: number): Rotation {
  const pool = Array.isArray(users) ? users : [users];
  let calls = 0;
  const deleted: AccessKey[] = [];
  const handedOut: AccessKey[] = [];
  const pending: Promise<void>[] = [];
  const provider = async () => {
    const user = pool[calls++ % pool.length];
    const key = await createAccessKey(s3, user);
    handedOut.push(key);
    const expiresAt = new Date(Date.now() + lifetimeMs);
    // Long-lived keys (the tests that are not about rotation) are left to moto.
    if (lifetimeMs < 60_000) {
      pending.push(
        new Promise<void>((resolve) => setTimeout(resolve, lifetimeMs + graceMs)).then(async () => {
          await deleteAccessKey(s3, user, key.accessKeyId);
          deleted.push(key);
        }),
      );
    }
    return { ...key, expiresAt };
  };
  return { provider, calls: () => calls, deleted, handedOut, done: async () => void (await Promise.all(pending)) };
}

test("a workload on s3+ddb:// outlives several short-lived keys with no failed request", async () => {
  const bucket = uniq("cred");
  const ddbTable = uniq("credcommits");
  await s3CreateBucket(s3, bucket);
  await ddbCreateTable(s3, ddbTable);
  const users = [uniq("rotating"), uniq("rotating"), uniq("rotating"), uniq("rotating")];
  for (const u of users) await createUser(s3, u, ALLOW_ALL);
  const rot = rotating(users, 3000, 800);

  const db = await lancedb.connect(`s3+ddb://${bucket}/db?ddbTableName=${ddbTable}`, {
    storageOptions: keyless(),
    credentials: rot.provider,
  });
  // Lazy: connecting checked the DynamoDB table, so the provider ran once; nothing more yet.
  expect(rot.calls()).toBe(1);
  const eff = db.effectiveStorageOptions();
  expect(eff.find((e) => e.key === "credentials")).toMatchObject({ source: "connection", secret: false });
  expect(eff.find((e) => e.key === "aws_access_key_id")).toBeUndefined();
  expect(JSON.stringify(eff)).not.toContain(rot.handedOut[0].secretAccessKey);
  expect(JSON.stringify(eff)).not.toContain(rot.handedOut[0].accessKeyId);

  const table = await db.createTable("t", [{ id: 0, v: "x" }]);
  const { errors, acknowledged } = await workload(table, 11_000);
  expect(errors).toEqual([]);
  expect(await table.countRows()).toBe(acknowledged + 1);
  // Several rotations, and the old keys really were deleted while the workload ran.
  expect(rot.calls()).toBeGreaterThanOrEqual(4);
  expect(rot.deleted.length).toBeGreaterThanOrEqual(3);
  // A deleted key is refused (so the test could fail had the cache kept it too long).
  const r = await s3Request(s3, "GET", bucket, "", { sign: rot.deleted[0] });
  expect(r.status).toBe(403);
  const live = rot.handedOut[rot.handedOut.length - 1];
  expect((await s3Request(s3, "GET", bucket, "", { sign: live })).status).toBe(200);
  db.close();
  await rot.done();
});

test("concurrent first requests share one provider call", async () => {
  const bucket = uniq("credshare");
  await s3CreateBucket(s3, bucket);
  const user = uniq("shared");
  await createUser(s3, user, ALLOW_ALL);
  const rot = rotating(user, 3600_000, 0);
  const db = await lancedb.connect(`s3://${bucket}/db`, { storageOptions: keyless(), credentials: rot.provider });
  expect(rot.calls()).toBe(0);
  const names = await Promise.all(Array.from({ length: 8 }, () => db.tableNames()));
  expect(names.every((n) => n.length === 0)).toBe(true);
  expect(rot.calls()).toBe(1);
  db.close();
});

test("a table's own provider wins over the connection's; keys and a provider at one tier are refused", async () => {
  const bucket = uniq("credtier");
  await s3CreateBucket(s3, bucket);
  const user = uniq("tier");
  await createUser(s3, user, ALLOW_ALL);
  const conn = rotating(user, 3600_000, 0);
  const own = rotating(user, 3600_000, 0);
  const db = await lancedb.connect(`s3://${bucket}/db`, { storageOptions: keyless(), credentials: conn.provider });
  const t = await db.createTable("t", [{ id: 1 }], { credentials: own.provider });
  expect(t.effectiveStorageOptions().find((e) => e.key === "credentials")?.source).toBe("table");
  expect(own.calls()).toBe(1);
  expect(conn.calls()).toBe(0);
  const again = await db.openTable("t");
  expect(await again.countRows()).toBe(1);
  expect(conn.calls()).toBe(1);
  // Keys given for the table win over the connection's provider.
  const withKeys = await db.openTable("t", { storageOptions: { awsAccessKeyId: s3.accessKeyId, awsSecretAccessKey: s3.secretAccessKey } });
  expect(withKeys.effectiveStorageOptions().find((e) => e.key === "credentials")).toBeUndefined();
  expect(await withKeys.countRows()).toBe(1);

  const both = await failure(() =>
    lancedb.connect(`s3://${bucket}/db`, { storageOptions: s3Options(s3) as lancedb.StorageOptions, credentials: conn.provider }),
  );
  expect(both.code).toBe("INVALID_ARGUMENT");
  expect(both.message).toContain("awsAccessKeyId");
  expect(both.message).not.toContain(s3.secretAccessKey);
  // Azure and GCS take providers too (credentials-azure-gcs.test.ts); a local database needs none.
  const local = await failure(() => lancedb.connect("memory://", { credentials: conn.provider }));
  expect(local.code).toBe("NOT_SUPPORTED");
  const notFn = await failure(() => lancedb.connect(`s3://${bucket}/db`, { credentials: "key" as never }));
  expect(notFn.code).toBe("INVALID_ARGUMENT");
  db.close();
});

test("a provider that throws or returns a malformed value gives CREDENTIAL_PROVIDER_FAILED without secrets", async () => {
  const bucket = uniq("credbad");
  await s3CreateBucket(s3, bucket);
  const SECRET = "ProviderSecretThatMustNeverAppear123";
  const cases: [lancedb.CredentialsProvider, string][] = [
    [async () => { throw new Error("vault unreachable"); }, "it threw: vault unreachable"],
    [async () => ({ accessKeyId: 42, secretAccessKey: SECRET }) as never, "accessKeyId is a number"],
    [async () => ({ accessKeyId: "AKIDX" }) as never, "secretAccessKey is missing"],
    [async () => ({ accessKeyId: "AKIDX", secretAccessKey: SECRET, expiresAt: "soon" }) as never, "expiresAt is a string"],
    [async () => ({ accessKeyId: "AKIDX", secretAccessKey: SECRET, expiresAt: Date.now() - 1000 }), "expiresAt in the past"],
    [async () => null as never, "it returned null"],
  ];
  for (const [provider, text] of cases) {
    const db = await lancedb.connect(`s3://${bucket}/db`, { storageOptions: keyless(), credentials: provider });
    const err = await failure(() => db.tableNames());
    expect(err.code).toBe("CREDENTIAL_PROVIDER_FAILED");
    expect(err.message).toContain(text);
    expect(err.message).not.toContain(SECRET);
    db.close();
  }
});
