// Storage option resolution as a user sees it: spellings, precedence against
// real environment variables (set in child processes), sources in the
// effective-configuration report. No network: S3 clients are configured
// with explicit keys, so connecting sends no request.
import { execFileSync, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import * as lancedb from "../lib";
import type { EffectiveOption } from "../lib";
import { tempDir } from "./helpers/tmp";

const PROBE = join(__dirname, "fixtures", "effective.js");
const KEYS = { awsAccessKeyId: "AKIDTEST", awsSecretAccessKey: "secret-test-value" };

// Only the variables a test sets: the parent's AWS_* must not leak in.
function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, AWS_EC2_METADATA_DISABLED: "true" };
  return { ...env, ...extra };
}

function probe(uri: string, opts: object, env: Record<string, string>): Promise<{ connection: EffectiveOption[]; error?: { code: string; message: string } }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [PROBE, uri, JSON.stringify(opts)], { env: childEnv(env) });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.on("error", reject);
    child.on("close", () => {
      try {
        resolve(JSON.parse(out));
      } catch {
        reject(new Error(`probe printed: ${out}`));
      }
    });
  });
}

function entry(list: EffectiveOption[], key: string): EffectiveOption | undefined {
  return list.find((e) => e.key === key);
}

describe("precedence against the environment", () => {
  test("an explicit option beats a conflicting env var, in 10 of 10 processes", async () => {
    const env = { AWS_ENDPOINT: "http://127.0.0.1:1", AWS_ENDPOINT_URL: "http://127.0.0.1:2", ALLOW_HTTP: "true", AWS_REGION: "eu-west-1" };
    const runs = await Promise.all(
      Array.from({ length: 10 }, () => probe("s3://bucket/db", { ...KEYS, endpoint: "http://127.0.0.1:9000" }, env)),
    );
    for (const r of runs) {
      expect(r.error).toBeUndefined();
      expect(entry(r.connection, "aws_endpoint")).toMatchObject({ value: "http://127.0.0.1:9000", source: "connection", givenAs: "endpoint" });
      expect(entry(r.connection, "aws_region")).toMatchObject({ value: "eu-west-1", source: "env", givenAs: "AWS_REGION" });
      expect(entry(r.connection, "allow_http")).toMatchObject({ value: "true", source: "env", givenAs: "ALLOW_HTTP" });
    }
  });

  test("configuration from the environment alone, as the guide documents", async () => {
    const r = await probe("s3://bucket/db", {}, {
      AWS_ENDPOINT: "http://127.0.0.1:9000",
      AWS_DEFAULT_REGION: "us-east-1",
      ALLOW_HTTP: "true",
      AWS_ACCESS_KEY_ID: "AKIDENV",
      AWS_SECRET_ACCESS_KEY: "env-secret-value",
      TIMEOUT: "60s",
    });
    expect(r.error).toBeUndefined();
    expect(entry(r.connection, "aws_endpoint")).toMatchObject({ source: "env", givenAs: "AWS_ENDPOINT" });
    expect(entry(r.connection, "aws_region")).toMatchObject({ value: "us-east-1", source: "env", givenAs: "AWS_DEFAULT_REGION" });
    expect(entry(r.connection, "timeout")).toMatchObject({ value: "1m", source: "env" });
    expect(entry(r.connection, "aws_secret_access_key")).toMatchObject({ value: "****", source: "env", secret: true });
    expect(JSON.stringify(r)).not.toContain("env-secret-value");
    expect(entry(r.connection, "connect_timeout")).toMatchObject({ value: "5s", source: "default" });
  });

  test("a bad env value is an error naming the variable", async () => {
    const r = await probe("s3://bucket/db", KEYS, { TIMEOUT: "forever", ALLOW_HTTP: "true" });
    expect(r.error?.code).toBe("INVALID_STORAGE_OPTION");
    expect(r.error?.message).toMatch(/'TIMEOUT'/);
  });

  test("GCS and Azure variables of the guide are read", async () => {
    const { dir, cleanup } = tempDir();
    try {
      const sa = join(dir, "sa.json");
      // The smallest service account object_store accepts; no request is made.
      writeFileSync(sa, JSON.stringify({ private_key: "unused", private_key_id: "1", client_email: "t@example.com", gcs_base_url: "http://127.0.0.1:1", disable_oauth: true }));
      const g = await probe("gs://bucket/db", {}, { GOOGLE_SERVICE_ACCOUNT: sa, HTTP1_ONLY: "false", ALLOW_HTTP: "true" });
      expect(g.error).toBeUndefined();
      expect(entry(g.connection, "google_service_account")).toMatchObject({ value: sa, source: "env" });
      expect(entry(g.connection, "http1_only")).toMatchObject({ value: "false", source: "env" });
      const a = await probe("az://container/db", {}, { AZURE_STORAGE_ACCOUNT_NAME: "acct", AZURE_STORAGE_ACCOUNT_KEY: "a2V5LXZhbHVlLXNlY3JldA==" });
      expect(a.error).toBeUndefined();
      expect(entry(a.connection, "azure_storage_account_name")).toMatchObject({ value: "acct", source: "env" });
      expect(entry(a.connection, "azure_storage_account_key")).toMatchObject({ value: "****", source: "env" });
    } finally {
      cleanup();
    }
  });
});

describe("spellings", () => {
  test.each([["endpoint"], ["awsEndpoint"], ["aws_endpoint"], ["AWS_ENDPOINT"], ["endpointUrl"], ["AWS_ENDPOINT_URL"]])(
    "%s names aws_endpoint",
    async (spelling) => {
      const db = await lancedb.connect("s3://bucket/db", { storageOptions: { ...KEYS, allowHttp: true, [spelling]: "http://127.0.0.1:9000" } });
      expect(entry(db.effectiveStorageOptions(), "aws_endpoint")).toMatchObject({ value: "http://127.0.0.1:9000", givenAs: spelling, source: "connection" });
    },
  );

  test("the same key twice with different values is refused", async () => {
    await expect(
      lancedb.connect("s3://bucket/db", { storageOptions: { ...KEYS, region: "a", AWS_REGION: "b" } }),
    ).rejects.toMatchObject({ code: "INVALID_STORAGE_OPTION" });
  });

  test("keys of another backend are ignored", async () => {
    const { dir, cleanup } = tempDir();
    try {
      const db = await lancedb.connect(dir, { storageOptions: { awsRegion: "us-east-1", accountName: "x", timeout: "5s" } });
      expect(db.effectiveStorageOptions().map((e) => e.key)).not.toContain("aws_region");
    } finally {
      cleanup();
    }
  });
});

describe("table-level options", () => {
  test("override the connection's and fall back to it otherwise", async () => {
    const { dir, cleanup } = tempDir();
    try {
      const db = await lancedb.connect(dir, { storageOptions: { uploadPartSize: "16MiB", uploadConcurrency: 4 } });
      const t = await db.createTable("t", [{ a: 1 }], { storageOptions: { uploadConcurrency: "2" } });
      expect(entry(t.effectiveStorageOptions(), "upload_concurrency")).toMatchObject({ value: "2", source: "table" });
      expect(entry(t.effectiveStorageOptions(), "upload_part_size")).toMatchObject({ value: String(16 << 20), source: "connection" });
      const plain = await db.openTable("t");
      expect(entry(plain.effectiveStorageOptions(), "upload_concurrency")).toMatchObject({ value: "4", source: "connection" });
      const reopened = await db.openTable("t", { storageOptions: { upload_concurrency: 3 } });
      expect(entry(reopened.effectiveStorageOptions(), "upload_concurrency")).toMatchObject({ value: "3", source: "table" });
      expect(await reopened.countRows()).toBe(1);
    } finally {
      cleanup();
    }
  });
});

test("generated docs and types match the registry", () => {
  execFileSync(process.execPath, [join(__dirname, "..", "scripts", "gen-options.js"), "--check"], { stdio: "pipe" });
});
