// `stowage doctor` / stowage.doctor(): live checks against moto with IAM enforced ("s3auth"), one
// user per missing permission (each check fails alone, naming the permission), against azurite
// (account key, and SAS tokens missing one permission) and the GCS emulator; and the CLI
// (`bin/stowage.js doctor|config`) with its exit codes, output and cleanup.
import { spawn } from "child_process";
import * as http from "http";
import * as path from "path";
import * as lancedb from "../lib";
import { azureAccountSas, azureOptions, gcsOptions, s3Options, uniq } from "./helpers/cloud";
import { ddbCall, ddbCreateTable } from "./helpers/ddb";
import { azureCreateContainer, azureListBlobs, gcsCreateBucket, gcsListObjects, kmsCreateKey, s3CreateBucket, s3ListObjects, useEmulators } from "./helpers/emulators";
import type { AzureEndpoint, GcsEndpoint, S3Endpoint } from "./helpers/emulators";
import { createAccessKey, createUser } from "./helpers/iam";

jest.setTimeout(120_000);

let s3: S3Endpoint;
let plainS3: S3Endpoint;
let gcs: GcsEndpoint;
let az: AzureEndpoint;
let stop: () => Promise<void>;

beforeAll(async () => {
  const r = await useEmulators(["s3", "s3auth", "gcs", "azure"]);
  s3 = r.endpoints.s3auth!;
  plainS3 = r.endpoints.s3!;
  gcs = r.endpoints.gcs!;
  az = r.endpoints.azure!;
  stop = r.stop;
});
afterAll(() => stop());

const S3_ACTIONS = ["s3:ListBucket", "s3:GetBucketLocation", "s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"];
const DDB_ACTIONS = ["dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query", "dynamodb:DeleteItem"];

/** The guide's read-write policy (plus abort and DynamoDB) without `missing`. */
function policy(missing: string | null) {
  const allow = (actions: string[]) => actions.filter((a) => a !== missing);
  return {
    Version: "2012-10-17",
    Statement: [
      { Effect: "Allow", Action: allow(S3_ACTIONS), Resource: "*" },
      { Effect: "Allow", Action: allow(DDB_ACTIONS), Resource: "*" },
      // For the test's own bucket/table setup via the same endpoint, nothing else.
    ],
  };
}

async function userWithout(missing: string | null): Promise<Record<string, string | boolean | number>> {
  const user = uniq("doc");
  await createUser(s3, user, policy(missing));
  const key = await createAccessKey(s3, user);
  return s3Options(s3, { awsAccessKeyId: key.accessKeyId, awsSecretAccessKey: key.secretAccessKey });
}

function byName(r: lancedb.DoctorReport): Record<string, lancedb.DoctorCheck> {
  return Object.fromEntries(r.checks.map((c) => [c.name, c]));
}

/** [permission removed, check that must fail, the permission it must name] */
const S3_CASES: [string, string, string][] = [
  ["s3:ListBucket", "list", "s3:ListBucket on arn:aws:s3:::BUCKET (condition s3:prefix \"db/*\")"],
  ["s3:PutObject", "put", "s3:PutObject on arn:aws:s3:::BUCKET/db/*"],
  ["s3:GetObject", "get", "s3:GetObject on arn:aws:s3:::BUCKET/db/*"],
  ["s3:DeleteObject", "delete", "s3:DeleteObject on arn:aws:s3:::BUCKET/db/*"],
  ["s3:AbortMultipartUpload", "multipart abort", "s3:AbortMultipartUpload on arn:aws:s3:::BUCKET/db/*"],
];

test("s3://: everything allowed passes, and each missing permission fails its own check, named", async () => {
  const bucket = uniq("doctor");
  await s3CreateBucket(s3, bucket);
  const all = await lancedb.doctor(`s3://${bucket}/db`, { storageOptions: await userWithout(null) });
  expect(all.checks.filter((c) => !c.ok)).toEqual([]);
  expect(all.ok).toBe(true);
  expect(all.checks.map((c) => c.name)).toEqual(["list", "put", "get", "create-only put", "multipart create/abort", "delete", "cleanup"]);
  expect(byName(all)["create-only put"].note).toContain("refused");
  expect(await s3ListObjects(s3, bucket)).toEqual([]);

  await Promise.all(
    S3_CASES.map(async ([missing, check, permission]) => {
      const options = await userWithout(missing);
      const r = await lancedb.doctor(`s3://${bucket}/db`, { storageOptions: options });
      const failed = r.checks.filter((c) => !c.ok).map((c) => c.name);
      // The put check's permission also covers create-only put and multipart create.
      if (missing === "s3:PutObject") expect(failed).toEqual(expect.arrayContaining(["put", "create-only put", "multipart create"]));
      else expect(failed.filter((f) => f !== "cleanup")).toEqual([check]);
      const c = byName(r)[check];
      expect(c.permission).toBe(permission.replace("BUCKET", bucket));
      expect(c.fix).toContain(`grant ${c.permission}`);
      // Only the optional abort check leaves the run ok.
      expect(r.ok).toBe(missing === "s3:AbortMultipartUpload");
      expect(JSON.stringify(r)).not.toContain(String(options.awsSecretAccessKey));
    }),
  );
  // Every run cleaned up after itself (the no-delete user's objects were removed by the cleanup... or named).
  const left = await s3ListObjects(s3, bucket);
  expect(left.every((k) => k.startsWith("db/_stowage_doctor/"))).toBe(true);
});

test("s3+ddb://: table existence, key schema, and each DynamoDB item permission", async () => {
  const bucket = uniq("doctorddb");
  const table = uniq("doctorcommits");
  await s3CreateBucket(s3, bucket);
  await ddbCreateTable(s3, table);
  const uri = `s3+ddb://${bucket}/db?ddbTableName=${table}`;
  const all = await lancedb.doctor(uri, { storageOptions: await userWithout(null) });
  expect(all.checks.filter((c) => !c.ok)).toEqual([]);
  expect(all.checks.map((c) => c.name)).toEqual(
    expect.arrayContaining(["ddb table exists", "ddb key schema", "ddb PutItem", "ddb GetItem", "ddb UpdateItem", "ddb Query", "ddb cleanup"]),
  );
  // Create-only put is not needed with DynamoDB deciding commits.
  expect(byName(all)["create-only put"]).toMatchObject({ required: false });
  const items = (await ddbCall(s3, "Scan", { TableName: table })) as { Items: unknown[] };
  expect(items.Items).toEqual([]);

  const cases: [string, string][] = [
    ["dynamodb:DescribeTable", "ddb table exists"],
    ["dynamodb:PutItem", "ddb PutItem"],
    ["dynamodb:GetItem", "ddb GetItem"],
    ["dynamodb:UpdateItem", "ddb UpdateItem"],
    ["dynamodb:Query", "ddb Query"],
  ];
  await Promise.all(
    cases.map(async ([missing, check]) => {
      const r = await lancedb.doctor(uri, { storageOptions: await userWithout(missing) });
      const c = byName(r)[check];
      expect(c).toBeDefined();
      expect(c.ok).toBe(false);
      expect(c.permission).toBe(`${missing} on arn:aws:dynamodb:${s3.region}:*:table/${table}`);
      expect(r.ok).toBe(false);
      expect(r.checks.filter((x) => !x.ok && x.required).map((x) => x.name)).toEqual([check]);
    }),
  );

  const missingTable = await lancedb.doctor(`s3+ddb://${bucket}/db?ddbTableName=${uniq("nosuch")}`, { storageOptions: await userWithout(null) });
  expect(byName(missingTable)["ddb table exists"]).toMatchObject({ ok: false });
  expect(byName(missingTable)["ddb table exists"].fix).toContain("aws dynamodb create-table");
  const wrong = uniq("wrongschema");
  await ddbCall(s3, "CreateTable", {
    TableName: wrong,
    KeySchema: [{ AttributeName: "id", KeyType: "HASH" }],
    AttributeDefinitions: [{ AttributeName: "id", AttributeType: "S" }],
    BillingMode: "PAY_PER_REQUEST",
  });
  const wrongReport = await lancedb.doctor(`s3+ddb://${bucket}/db?ddbTableName=${wrong}`, { storageOptions: await userWithout(null) });
  expect(byName(wrongReport)["ddb key schema"]).toMatchObject({ ok: false });
  expect(wrongReport.ok).toBe(false);
});

test("a store that ignores create-only puts fails the create-only check (unless commits do not need it)", async () => {
  // A proxy in front of moto (no signature checks there) that drops If-None-Match.
  const bucket = uniq("doctorcond");
  await s3CreateBucket(plainS3, bucket);
  const srv = http.createServer((req, res) => {
    const headers = { ...req.headers };
    delete headers["if-none-match"];
    const up = http.request({ host: "127.0.0.1", port: plainS3.port, method: req.method, path: req.url, headers }, (ur) => {
      res.writeHead(ur.statusCode ?? 502, ur.headers);
      ur.pipe(res);
    });
    up.on("error", () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
  const endpoint = `http://127.0.0.1:${(srv.address() as { port: number }).port}`;
  try {
    const r = await lancedb.doctor(`s3://${bucket}/db`, { storageOptions: s3Options(plainS3, { endpoint }) });
    const c = byName(r)["create-only put"];
    expect(c).toMatchObject({ ok: false, required: true });
    expect(c.error).toContain("ignores If-None-Match");
    expect(c.fix).toContain("s3+ddb://");
    expect(r.ok).toBe(false);
    const oneWriter = await lancedb.doctor(`s3://${bucket}/db`, { storageOptions: s3Options(plainS3, { endpoint, awsConditionalPut: "disabled" }) });
    expect(byName(oneWriter)["create-only put"]).toMatchObject({ ok: false, required: false });
    expect(oneWriter.ok).toBe(true);
    expect(await s3ListObjects(plainS3, bucket)).toEqual([]);
  } finally {
    srv.closeAllConnections();
    await new Promise<void>((r) => srv.close(() => r()));
  }
});

test("SSE-KMS: a usable key is checked with the put and get", async () => {
  const bucket = uniq("doctorkms");
  await s3CreateBucket(s3, bucket);
  const key = await kmsCreateKey(s3);
  const r = await lancedb.doctor(`s3://${bucket}/db`, {
    storageOptions: { ...(await userWithout(null)), awsServerSideEncryption: "aws:kms", awsSseKmsKeyId: key.keyId },
  });
  expect(byName(r)["sse-kms"]).toMatchObject({ ok: true });
  expect(r.ok).toBe(true);
});

test("SSE-KMS: a key the identity may not use fails the sse-kms check, naming the KMS permissions", async () => {
  // moto accepts any key id, so a proxy answers PUTs that carry the key as AWS does when the
  // identity lacks kms:GenerateDataKey on it.
  const bucket = uniq("doctorkmsdeny");
  await s3CreateBucket(plainS3, bucket);
  const keyId = "arn:aws:kms:us-east-1:123456789012:key/denied-key";
  const srv = http.createServer((req, res) => {
    if (req.method === "PUT" && req.headers["x-amz-server-side-encryption-aws-kms-key-id"]) {
      req.resume();
      res.writeHead(403, { "content-type": "application/xml" });
      res.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>User is not authorized to perform: kms:GenerateDataKey on resource: ${keyId} because no identity-based policy allows the kms:GenerateDataKey action</Message></Error>`);
      return;
    }
    const up = http.request({ host: "127.0.0.1", port: plainS3.port, method: req.method, path: req.url, headers: req.headers }, (ur) => {
      res.writeHead(ur.statusCode ?? 502, ur.headers);
      ur.pipe(res);
    });
    up.on("error", () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
  const endpoint = `http://127.0.0.1:${(srv.address() as { port: number }).port}`;
  try {
    const r = await lancedb.doctor(`s3://${bucket}/db`, {
      storageOptions: s3Options(plainS3, { endpoint, awsServerSideEncryption: "aws:kms", awsSseKmsKeyId: keyId, clientMaxRetries: 0 }),
    });
    const c = byName(r)["sse-kms"];
    expect(c.ok).toBe(false);
    expect(c.permission).toBe(`kms:GenerateDataKey and kms:Decrypt on the KMS key ${keyId}`);
    // The put itself was refused for the key, not for s3:PutObject.
    expect(byName(r).put.permission).toBe(c.permission);
    expect(r.ok).toBe(false);
  } finally {
    srv.closeAllConnections();
    await new Promise<void>((r) => srv.close(() => r()));
  }
});

test("azurite: account key passes; SAS tokens missing one permission fail the matching check", async () => {
  const c = uniq("doctor");
  await azureCreateContainer(az, c);
  const ok = await lancedb.doctor(`az://${c}/db`, { storageOptions: azureOptions(az) });
  expect(ok.checks.filter((x) => !x.ok)).toEqual([]);
  expect(ok.ok).toBe(true);
  const cases: [string, string][] = [
    ["rwdac", "list"],
    // 'c' alone lets a SAS create new blobs: without 'w' and 'c' nothing can be written.
    ["rlda", "put"],
    ["wldac", "get"],
    ["rwlac", "delete"],
  ];
  for (const [perms, check] of cases) {
    const sas = azureAccountSas(az, { permissions: perms });
    const r = await lancedb.doctor(`az://${c}/db`, {
      // clientMaxRetries 0: azurite answers 500 (retried) to the batch delete a SAS makes first
      storageOptions: { accountName: az.account, sasToken: sas, endpoint: az.endpoint, allowHttp: true, clientMaxRetries: 0 },
    });
    const failed = byName(r)[check];
    expect(failed.ok).toBe(false);
    expect(failed.permission).toContain("Microsoft.Storage/storageAccounts/blobServices/containers/blobs/");
    expect(r.ok).toBe(false);
    expect(JSON.stringify(r)).not.toContain(new URLSearchParams(sas).get("sig")!);
  }
  const left = await azureListBlobs(az, c);
  expect(left.every((k) => k.startsWith("db/_stowage_doctor/"))).toBe(true);
});

test("GCS emulator: every object check passes and nothing is left", async () => {
  const bucket = uniq("doctor");
  await gcsCreateBucket(gcs, bucket);
  const r = await lancedb.doctor(`gs://${bucket}/db`, { storageOptions: gcsOptions(gcs) });
  expect(r.checks.filter((x) => !x.ok && x.required)).toEqual([]);
  expect(r.ok).toBe(true);
  expect(await gcsListObjects(gcs, bucket)).toEqual([]);
});

// ---- the CLI ---------------------------------------------------------------------------------------

const BIN = path.join(__dirname, "..", "bin", "stowage.js");

function cli(args: string[], opts: { signalAfter?: (out: string) => boolean } = {}): Promise<{ code: number | null; signal: string | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, AWS_EC2_METADATA_DISABLED: "true" } });
    let out = "";
    let err = "";
    let sent = false;
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => {
      err += d;
    });
    if (opts.signalAfter) {
      const timer = setInterval(() => {
        if (!sent && opts.signalAfter!(out)) {
          sent = true;
          child.kill("SIGINT");
        }
      }, 5);
      child.on("exit", () => clearInterval(timer));
    }
    child.on("exit", (code, signal) => resolve({ code, signal, out, err }));
  });
}

function optionArgs(o: Record<string, string | number | boolean>): string[] {
  return Object.entries(o).flatMap(([k, v]) => ["--option", `${k}=${v}`]);
}

test("npx stowage doctor: one line per check, exit 0 only when all is well, no secret printed", async () => {
  const bucket = uniq("doctorcli");
  await s3CreateBucket(s3, bucket);
  const good = await userWithout(null);
  const r = await cli(["doctor", `s3://${bucket}/db`, ...optionArgs(good)]);
  expect(r.err).toBe("");
  expect(r.code).toBe(0);
  expect(r.out).toMatch(/^✔ list: LIST s3:\/\//m);
  expect(r.out).toMatch(/^✔ put: PUT s3:\/\/.*\/db\/_stowage_doctor\/.*\/probe$/m);
  expect(r.out).not.toContain(String(good.awsSecretAccessKey));

  const bad = await userWithout("s3:DeleteObject");
  const f = await cli(["doctor", `s3://${bucket}/db`, ...optionArgs(bad)]);
  expect(f.code).toBe(1);
  expect(f.out).toMatch(/^✘ delete: DELETE /m);
  expect(f.out).toContain(`missing permission: s3:DeleteObject on arn:aws:s3:::${bucket}/db/*`);
  expect(f.out).toContain("fix: grant s3:DeleteObject");
  expect(f.out).not.toContain(String(bad.awsSecretAccessKey));

  const json = await cli(["doctor", `s3://${bucket}/db`, "--json", ...optionArgs(good)]);
  const parsed = JSON.parse(json.out) as lancedb.DoctorReport;
  expect(parsed.ok).toBe(true);

  const usage = await cli(["doctor"]);
  expect(usage.code).toBe(2);
  expect(usage.err).toContain("usage: stowage doctor <uri>");
  const badOpt = await cli(["doctor", `s3://${bucket}/db`, "--option", "bogusKey=1"]);
  expect(badOpt.code).toBe(1);
  expect(badOpt.err).toContain("UNKNOWN_STORAGE_OPTION");
});

test("doctor interrupted with SIGINT mid-run still removes what it wrote (exit 130)", async () => {
  const c = uniq("doctorint");
  await azureCreateContainer(az, c);
  // A proxy in front of azurite that holds each response 150 ms and interrupts the CLI when the
  // third request (the get, after the put) arrives: the probe exists when the signal lands.
  let seen = 0;
  let child: ReturnType<typeof spawn> | undefined;
  const srv = http.createServer((req, res) => {
    if (++seen === 3) child?.kill("SIGINT");
    const up = http.request({ host: "127.0.0.1", port: az.port, method: req.method, path: req.url, headers: req.headers }, (ur) => {
      setTimeout(() => {
        res.writeHead(ur.statusCode ?? 502, ur.headers);
        ur.pipe(res);
      }, 150);
    });
    up.on("error", () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
  const port = (srv.address() as { port: number }).port;
  try {
    const r = await new Promise<{ code: number | null; out: string }>((resolve) => {
      child = spawn(process.execPath, [BIN, "doctor", `az://${c}/db`, ...optionArgs(azureOptions(az, { endpoint: `http://127.0.0.1:${port}/${az.account}` }))]);
      let out = "";
      child.stdout!.on("data", (d) => (out += d));
      child.on("exit", (code) => resolve({ code, out }));
    });
    expect(r.code).toBe(130);
    expect(r.out).toMatch(/^✘ interrupted/m);
    expect(r.out).toMatch(/^✔ cleanup: .*removed 1 object/m);
    expect(await azureListBlobs(az, c)).toEqual([]);
  } finally {
    srv.closeAllConnections();
    await new Promise<void>((r) => srv.close(() => r()));
  }
});

test("npx stowage config: every key with source, secrets masked; --json", async () => {
  const t = await cli(["config", "s3://bucket/db", "--option", "awsSecretAccessKey=TopSecretValue123", "--option", "awsAccessKeyId=AKIDCONFIG", "--option", "columnCacheSize=64MiB", "--option", "endpoint=http://127.0.0.1:9"]);
  expect(t.code).toBe(0);
  expect(t.out).not.toContain("TopSecretValue123");
  expect(t.out).toMatch(/^key\s+value\s+source\s+given as$/m);
  expect(t.out).toMatch(/^aws_secret_access_key\s+\*\*\*\*\s+connection\s+awsSecretAccessKey$/m);
  expect(t.out).toMatch(/^column_cache_size\s+\S+\s+connection\s+columnCacheSize$/m);
  expect(t.out).toMatch(/^aws_region\s+us-east-1\s+(default|env|profile)/m);
  const j = await cli(["config", "s3://bucket/db", "--json", "--option", "awsSecretAccessKey=TopSecretValue123", "--option", "awsAccessKeyId=AKIDCONFIG"]);
  const rows = JSON.parse(j.out) as { key: string; value: string; source: string; secret: boolean }[];
  expect(rows.find((r) => r.key === "aws_secret_access_key")).toMatchObject({ value: "****", source: "connection", secret: true });
  expect(j.out).not.toContain("TopSecretValue123");
  const bad = await cli(["config", "s3://bucket/db", "--option", "timeout=forever"]);
  expect(bad.code).toBe(1);
  expect(bad.err).toContain("INVALID_STORAGE_OPTION");
  const help = await cli(["--help"]);
  expect(help.code).toBe(0);
  expect(help.out).toContain("stowage doctor <uri>");
  expect(help.out).toContain("stowage config <uri>");
});
