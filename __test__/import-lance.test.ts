// `stowage import-lance`: tables that @lancedb/lancedb (the reference) wrote,
// on a local directory and on moto, copied by the installed command
// (bin/stowage.js over dist/) and read back with Stowage.
import * as reference from "@lancedb/lancedb";
import { Field, FixedSizeList, Float32, Int32, Schema, Utf8 } from "apache-arrow";
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import * as stowage from "../lib";
import { s3Options, uniq } from "./helpers/cloud";
import { S3Endpoint, s3CreateBucket, s3ListObjects, useEmulators } from "./helpers/emulators";
import { tempDir } from "./helpers/tmp";

const ROOT = join(__dirname, "..");
const BIN = join(ROOT, "bin", "stowage.js");
const DIM = 4;
const vec = (id: number) => [id % 7, (id * 3) % 11, id / 1000, 1];

// An embedding function registered with the reference, as an application
// would: LanceDB keeps its configuration in the schema metadata, which the
// import must carry over.
class DocEmbedding extends reference.embedding.TextEmbeddingFunction {
  ndims() {
    return DIM;
  }
  toJSON() {
    return { flavour: "test" };
  }
  async generateEmbeddings(texts: string[]) {
    return texts.map((t) => vec(Number(t.slice(4))));
  }
}
reference.embedding.getRegistry().register("stowage-test-doc-embedding")(DocEmbedding);
const EMBEDDING_META = JSON.stringify([
  { name: "stowage-test-doc-embedding", model: { flavour: "test" }, sourceColumn: "text", vectorColumn: "vector" },
]);

function schema(): Schema {
  return new Schema(
    [
      new Field("id", new Int32(), false),
      new Field("text", new Utf8(), true),
      new Field("vector", new FixedSizeList(DIM, new Field("item", new Float32(), true)), true),
    ],
    new Map([["embedding_functions", EMBEDDING_META]]),
  );
}

function rows(from: number, n: number) {
  return Array.from({ length: n }, (_, i) => {
    const id = from + i;
    return { id, text: `doc ${id}`, vector: vec(id) };
  });
}

/** The reference writes `n` rows in chunks of 25k (so its table has several fragments). */
async function referenceTable(db: reference.Connection, name: string, n: number) {
  const t = await db.createEmptyTable(name, schema());
  for (let at = 0; at < n; at += 25_000) await t.add(rows(at, Math.min(25_000, n - at)));
  return t;
}

function cli(args: string[], preload?: string, s3?: S3Endpoint) {
  const r = spawnSync(process.execPath, [...(preload ? ["-r", preload] : []), BIN, ...args], {
    cwd: ROOT,
    encoding: "utf8",
    // Only loopback: with an S3 test, the environment names moto too, so a
    // key that failed to reach either side still could not send a request elsewhere.
    env: {
      ...process.env,
      AWS_EC2_METADATA_DISABLED: "true",
      ...(s3 ? { AWS_ENDPOINT_URL: s3.endpoint, AWS_ENDPOINT: s3.endpoint, AWS_ALLOW_HTTP: "true" } : {}),
    },
    timeout: 120_000,
  });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * The progress lines of one table ("name: copied / total rows"): they start
 * at 0, grow by at least --batch-rows (30000 / 16384 here) but the last, end
 * at the total. Returns the total and the number of appends.
 */
function progress(stderr: string, table: string): { total: number; appends: number } {
  const lines = [...stderr.matchAll(new RegExp(`^${table}: (\\d+) / (\\d+) rows$`, "gm"))].map((m) => [Number(m[1]), Number(m[2])]);
  const total = lines[0][1];
  expect(lines[0][0]).toBe(0);
  expect(lines[lines.length - 1][0]).toBe(total);
  const copied = lines.map((l) => l[0]);
  for (let i = 1; i < copied.length - 1; i++) expect(copied[i] - copied[i - 1]).toBeGreaterThanOrEqual(Math.min(16_384, total));
  return { total, appends: lines.length - 1 };
}

/** Every row of a Stowage table, sorted by id, as plain objects. */
async function readAll(t: stowage.Table) {
  const out: { id: number; text: string; vector: number[] }[] = [];
  for (const r of await t.query().toArray()) out.push({ id: r.id, text: r.text, vector: Array.from(r.vector as Float32Array) });
  return out.sort((a, b) => a.id - b.id);
}

describe("import-lance on a local directory", () => {
  let dir: string;
  let cleanup: () => void;
  const src = () => join(dir, "lance");
  const dst = () => join(dir, "stowage");

  beforeAll(async () => {
    ({ dir, cleanup } = tempDir("import-lance-"));
    const db = await reference.connect(src());
    await referenceTable(db, "big", 100_000);
    const small = await referenceTable(db, "small", 1_000);
    await small.createIndex("id"); // a scalar (BTree) index
    await small.createIndex("vector", { config: reference.Index.ivfFlat({ numPartitions: 2 }) });
    await small.delete("id >= 990"); // the latest version is what is copied
  }, 120_000);
  afterAll(() => cleanup());

  test("copies every table's latest version with progress, verified counts and the index definitions", async () => {
    const r = cli(["import-lance", src(), dst(), "--batch-rows", "30000"]);
    expect(progress(r.stderr, "big")).toEqual({ total: 100_000, appends: 4 });
    expect(progress(r.stderr, "small")).toEqual({ total: 990, appends: 1 });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("big: 100000 rows copied, row count verified");
    expect(r.stdout).toContain("small: 990 rows copied, row count verified");
    // Both index definitions are re-created, with their names and kinds.
    expect(r.stdout).toMatch(/small: index re-created: BTree index "id_idx" on id/);
    expect(r.stdout).toMatch(/small: index re-created: IvfFlat index "vector_idx" on vector/);

    const db = await stowage.connect(dst());
    expect((await db.tableNames()).sort()).toEqual(["big", "small"]);
    const smallIndices = await (await db.openTable("small")).listIndices();
    expect(smallIndices.map((i) => `${i.name}:${i.indexType}:${i.columns.join(",")}`).sort()).toEqual(["id_idx:BTree:id", "vector_idx:IvfFlat:vector"]);
    const big = await db.openTable("big");
    expect(await big.countRows()).toBe(100_000);
    const s = await big.schema();
    expect(s.fields.map((f) => `${f.name}:${f.type}:${f.nullable}`)).toEqual(schema().fields.map((f) => `${f.name}:${f.type}:${f.nullable}`));
    expect(s.metadata.get("embedding_functions")).toBe(EMBEDDING_META);
    const got = await readAll(big);
    expect(got.length).toBe(100_000);
    expect(got.every((row, i) => row.id === i && row.text === `doc ${i}`)).toBe(true);
    expect(got[54_321].vector).toEqual(rows(54_321, 1)[0].vector.map((x) => Math.fround(x)));
    // Three appends of at most 30000 buffered rows, plus the creation.
    expect((await big.listVersions()).length).toBeLessThanOrEqual(5);
    const small = await db.openTable("small");
    expect((await readAll(small)).map((x) => x.id)).toEqual(rows(0, 990).map((x) => x.id));
  }, 120_000);

  test("a re-run without --overwrite changes nothing; with it the tables are replaced", async () => {
    const db = await stowage.connect(dst());
    const before = await (await db.openTable("big")).version();
    const again = cli(["import-lance", src(), dst()]);
    expect(again.status).toBe(1);
    expect(again.stderr).toContain("TABLE_EXISTS");
    expect(again.stderr).toContain("already has tables big, small; pass --overwrite");
    expect(await (await db.openTable("big")).version()).toBe(before);

    const over = cli(["import-lance", src(), dst(), "--table", "small", "--overwrite"]);
    expect(over.status).toBe(0);
    expect(over.stdout).toContain("small: 990 rows copied");
    expect(over.stdout).not.toContain("big:");
    expect(await (await db.openTable("small")).countRows()).toBe(990);
    expect(await (await db.openTable("big")).version()).toBe(before);
  }, 120_000);

  test("a missing @lancedb/lancedb is one clear error naming the package", () => {
    const preload = join(dir, "no-lancedb.js");
    writeFileSync(
      preload,
      `const Module = require("module"); const orig = Module._resolveFilename;
       Module._resolveFilename = function (req, ...rest) {
         if (req === "@lancedb/lancedb") { const e = new Error("Cannot find module '@lancedb/lancedb'"); e.code = "MODULE_NOT_FOUND"; throw e; }
         return orig.call(this, req, ...rest);
       };`,
    );
    const r = cli(["import-lance", src(), join(dir, "elsewhere")], preload);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("NOT_SUPPORTED");
    expect(r.stderr).toContain("@lancedb/lancedb, which is not installed");
    expect(r.stderr).toContain("npm install @lancedb/lancedb");
  });

  test("usage errors", () => {
    expect(cli(["import-lance", src()]).status).toBe(2);
    const bad = cli(["import-lance", src(), dst(), "--option", "awsEndpont=http://127.0.0.1:1"]);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain("UNKNOWN_STORAGE_OPTION");
    expect(cli(["no-such-command"]).status).toBe(2);
  });
});

describe("import-lance on moto", () => {
  let s3: S3Endpoint;
  let stop: () => Promise<void>;
  beforeAll(async () => {
    const r = await useEmulators(["s3"]);
    s3 = r.endpoints.s3!;
    stop = r.stop;
  });
  afterAll(() => stop());

  test("from a LanceDB table in one bucket to Stowage in another, options given once for both", async () => {
    const from = uniq("lance");
    const to = uniq("stowage");
    await s3CreateBucket(s3, from);
    await s3CreateBucket(s3, to);
    const opts = { aws_endpoint: s3.endpoint, aws_region: s3.region, allow_http: "true", aws_access_key_id: s3.accessKeyId, aws_secret_access_key: s3.secretAccessKey };
    const ref = await reference.connect(`s3://${from}/db`, { storageOptions: opts });
    await referenceTable(ref, "vectors", 30_000);

    const o = s3Options(s3);
    const args = Object.entries(o).flatMap(([k, v]) => ["--option", `${k}=${v}`]);
    const r = cli(["import-lance", `s3://${from}/db`, `s3://${to}/db`, ...args, "--batch-rows", "16384"], undefined, s3);
    expect(progress(r.stderr, "vectors")).toEqual({ total: 30000, appends: 2 });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("vectors: 30000 rows copied, row count verified");
    // Secrets given on the command line are not echoed.
    expect(r.stdout + r.stderr).not.toContain(s3.secretAccessKey);

    expect((await s3ListObjects(s3, to, "db/")).length).toBeGreaterThan(0);
    const db = await stowage.connect(`s3://${to}/db`, { storageOptions: o as stowage.StorageOptions });
    const t = await db.openTable("vectors");
    expect(await t.countRows()).toBe(30_000);
    const got = await readAll(t);
    expect(got.every((row, i) => row.id === i && row.text === `doc ${i}`)).toBe(true);
  }, 120_000);
});
