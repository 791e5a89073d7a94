// Many writers, one table: every acknowledged append is present exactly
// once and versions are contiguous, on every backend, against real servers.
// Writers are separate processes (local, S3, S3+DynamoDB, GCS, Azure) or
// async writers in one process (memory://, whose data lives in-process).
// STRESS=1 runs the full counts (8 x 50); CI runs 8 x 8.
import * as lancedb from "../lib";
import { s3Options, uniq } from "./helpers/cloud";
import { emulatorsForSuite, s3CreateBucket } from "./helpers/emulators";
import { ddbCall, ddbCreateTable } from "./helpers/ddb";
import { runRustTest, rustTestBinary } from "./helpers/rust-tests";
import { freshStore } from "./helpers/stores";
import { runWriters } from "./helpers/writers";

const WRITERS = 8;
const APPENDS = process.env.STRESS === "1" ? 50 : 8;

const emu = emulatorsForSuite(["s3", "gcs", "azure"]);

interface Backend {
  name: string;
  setup: () => Promise<{ uri: string; options: Record<string, unknown> }>;
}

const backends: Backend[] = [
  { name: "local", setup: () => freshStore(emu, "local") },
  { name: "s3", setup: () => freshStore(emu, "s3") },
  { name: "s3+ddb", setup: () => freshStore(emu, "s3+ddb") },
  // fake-gcs-server behind scripts/emulators/gcs-shim.js: the shim forwards x-goog-if-generation-match
  // and fake-gcs-server itself enforces it (see scripts/emulators/README.md). This is Stowage's commit
  // path against an emulator's create-only semantics, not a test of real GCS's own atomicity.
  { name: "gcs (fake-gcs-server enforces create-only)", setup: () => freshStore(emu, "gcs") },
  { name: "azure", setup: () => freshStore(emu, "azure") },
];

async function checkTable(db: lancedb.Connection, table: string, acked: number[]): Promise<void> {
  const t = await db.openTable(table);
  const ids = (await t.query().select(["id"]).toArray()).map((r) => Number(r.id)).filter((id) => id >= 0);
  const counts = new Map<number, number>();
  for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
  // Every acknowledged row is there, exactly once.
  const missing = acked.filter((id) => counts.get(id) !== 1);
  expect(missing).toEqual([]);
  expect(ids.length).toBe(acked.length);
  // One version per commit, no gaps: create + one per append.
  const versions = (await t.listVersions()).map((v) => v.version);
  expect(versions).toEqual(Array.from({ length: acked.length + 1 }, (_, i) => i + 1));
}

describe.each(backends)("$name: 8 processes appending to one table", (b) => {
  test(
    `${WRITERS} x ${APPENDS} appends, none lost`,
    async () => {
      const { uri, options } = await b.setup();
      const db = await lancedb.connect(uri, { storageOptions: options as never });
      const table = uniq("t");
      await db.createTable(table, [{ id: -1, worker: -1 }]);
      const started = Date.now();
      const { acked, errors } = await runWriters(uri, options, table, WRITERS, APPENDS, "worker", 0);
      expect(errors).toEqual([]);
      expect(acked).toHaveLength(WRITERS * APPENDS);
      await checkTable(db, table, acked);
      // eslint-disable-next-line no-console
      console.log(`${b.name}: ${acked.length} appends by ${WRITERS} processes in ${Date.now() - started} ms`);
    },
    300000,
  );
});

test("memory://: 8 async writers in one process", async () => {
  const db = await lancedb.connect("memory://");
  await db.createTable("t", [{ id: -1, worker: -1 }]);
  const acked: number[] = [];
  await Promise.all(
    Array.from({ length: WRITERS }, async (_, w) => {
      const t = await db.openTable("t");
      for (let i = 0; i < APPENDS; i++) {
        const id = w * 100000 + i;
        await t.add([{ id, worker: w }]);
        acked.push(id);
      }
    }),
  );
  await checkTable(db, "t", acked);
});

describe("commit store conformance (one suite, every store)", () => {
  // The suite is Rust test code (not in the shipped addon): run it from the
  // Rust test binary against each store, on the servers this file started.
  const CONFORMANCE = "commit::conformance::configured_store::conforms";
  async function conformance(uri?: string, options?: Record<string, unknown>): Promise<string> {
    const env: Record<string, string> = {};
    if (uri !== undefined) env.STOWAGE_CONFORMANCE_URI = uri;
    if (options !== undefined) env.STOWAGE_CONFORMANCE_OPTIONS = JSON.stringify(options);
    const r = await runRustTest(CONFORMANCE, env);
    expect({ code: r.code, stderr: r.stderr }).toMatchObject({ code: 0 });
    const dir = /conformance passed on (\S+) at (\S+)/.exec(r.stdout);
    expect(dir).not.toBeNull();
    expect(dir![1]).toBe(uri ?? "memory://");
    return dir![2];
  }

  beforeAll(() => {
    rustTestBinary();
  }, 1_800_000);

  test.each(backends.map((b) => [b.name, b] as const))("%s", async (_n, b) => {
    const { uri, options } = await b.setup();
    const dir = await conformance(uri, options);
    expect(dir).toMatch(/conformance-.*\.stowage$/);
  }, 120000);

  test("memory", async () => {
    expect(await conformance()).toMatch(/conformance-/);
  });
});

test("s3+ddb: dropTable removes the table's DynamoDB items; a missing or wrong table is a clear error", async () => {
  const b = uniq("dd").toLowerCase();
  await s3CreateBucket(emu.s3!, b);
  await expect(
    lancedb.connect(`s3+ddb://${b}/db?ddbTableName=nosuchtable`, { storageOptions: s3Options(emu.s3!) as never }),
  ).rejects.toMatchObject({ code: "INVALID_ARGUMENT", message: expect.stringMatching(/'nosuchtable' .*does not exist.*base_uri.*version/) });
  // A table with another key schema is refused with the guide's schema.
  const wrong = uniq("wrongkeys");
  await ddbCall(emu.s3!, "CreateTable", {
    TableName: wrong,
    KeySchema: [{ AttributeName: "id", KeyType: "HASH" }],
    AttributeDefinitions: [{ AttributeName: "id", AttributeType: "S" }],
    BillingMode: "PAY_PER_REQUEST",
  });
  await expect(
    lancedb.connect(`s3+ddb://${b}/db?ddbTableName=${wrong}`, { storageOptions: s3Options(emu.s3!) as never }),
  ).rejects.toMatchObject({ code: "INVALID_ARGUMENT", message: expect.stringMatching(/wrong key schema.*base_uri.*version/) });
  const t = uniq("commits");
  await ddbCreateTable(emu.s3!, t);
  const db = await lancedb.connect(`s3+ddb://${b}/db?ddbTableName=${t}`, { storageOptions: s3Options(emu.s3!) as never });
  const table = await db.createTable("x", [{ a: 1 }]);
  await table.add([{ a: 2 }]);
  const scan = async (): Promise<number> => Number((await ddbCall(emu.s3!, "Scan", { TableName: t })).Count);
  expect(await scan()).toBe(2);
  await db.dropTable("x");
  expect(await scan()).toBe(0);
  expect(await db.tableNames()).toEqual([]);
});
