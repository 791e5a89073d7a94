// The @lancedb/lancedb-compatible API on local directories and memory://.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { inspect } from "node:util";
import { Field, Float64, Int32, Schema, Utf8, tableFromArrays } from "apache-arrow";
import * as lancedb from "../lib";
import { expectCode, memoryUri, tempDir } from "./helpers/tmp";

const records = [
  { id: 1, name: "a", vector: [0.1, 0.2] },
  { id: 2, name: "b", vector: [0.3, 0.4] },
  { id: 3, name: "c", vector: [0.5, 0.6] },
];

function plain(rows: unknown[]): unknown[] {
  return rows.map((r) => JSON.parse(JSON.stringify((r as { toJSON(): unknown }).toJSON())));
}

describe.each([
  ["local", () => tempDir()],
  ["memory", () => ({ dir: memoryUri(), cleanup: () => undefined })],
])("lifecycle on %s", (_label, make) => {
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = make()));
  afterEach(() => cleanup());

  test("create, open, list, add, count, read, drop", async () => {
    const db = await lancedb.connect(dir);
    expect(await db.tableNames()).toEqual([]);
    const t = await db.createTable("items", records);
    expect(t.name).toBe("items");
    expect(await db.tableNames()).toEqual(["items"]);
    expect(await t.countRows()).toBe(3);

    const v = await t.add([{ id: 4, name: "d", vector: [0.7, 0.8] }]);
    expect(v.version).toBe(2);
    expect(await t.countRows()).toBe(4);

    const opened = await db.openTable("items");
    expect(await opened.countRows()).toBe(4);
    const rows = plain(await opened.query().toArray());
    expect(rows.map((r) => (r as { id: number }).id)).toEqual([1, 2, 3, 4]);
    expect((rows[3] as { vector: number[] }).vector[0]).toBeCloseTo(0.7);

    const arrow = await opened.toArrow();
    expect(arrow.numRows).toBe(4);
    expect(arrow.schema.fields.map((f) => f.name)).toEqual(["id", "name", "vector"]);

    await db.dropTable("items");
    expect(await db.tableNames()).toEqual([]);
    await expectCode(db.openTable("items"), "TABLE_NOT_FOUND", /'items'/);
    await expectCode(db.dropTable("items"), "TABLE_NOT_FOUND", /'items'/);
  });

  test("overwrite by add and by createTable mode", async () => {
    const db = await lancedb.connect(dir);
    const t = await db.createTable("t", records);
    await t.add([{ id: 9, name: "z", vector: [1, 1] }], { mode: "overwrite" });
    expect(plain(await t.query().select(["id"]).toArray())).toEqual([{ id: 9 }]);

    await expectCode(db.createTable("t", records), "TABLE_EXISTS", /'t' already exists/);
    const same = await db.createTable("t", records, { existOk: true });
    expect(await same.countRows()).toBe(1);
    const replaced = await db.createTable("t", [{ x: "new schema" }], { mode: "overwrite" });
    expect((await replaced.schema()).fields.map((f) => f.name)).toEqual(["x"]);
    expect(await replaced.countRows()).toBe(1);
  });

  test("query select, limit, offset and iteration", async () => {
    const db = await lancedb.connect(dir);
    const rows = Array.from({ length: 50 }, (_, i) => ({ id: i, label: `r${i}` }));
    const t = await db.createTable("q", rows.slice(0, 20));
    await t.add(rows.slice(20, 35));
    await t.add(rows.slice(35));
    const got = plain(await t.query().select(["label", "id"]).offset(18).limit(5).toArray());
    expect(got).toEqual([18, 19, 20, 21, 22].map((i) => ({ label: `r${i}`, id: i })));
    expect(Object.keys(got[0] as object)).toEqual(["label", "id"]);
    expect(plain(await t.query().offset(48).toArray())).toHaveLength(2);
    expect(plain(await t.query().offset(60).toArray())).toHaveLength(0);
    let n = 0;
    for await (const batch of t.query()) n += batch.numRows;
    expect(n).toBe(50);
    await expectCode(t.query().select(["nope"]).toArray(), "INVALID_ARGUMENT", /Column 'nope' does not exist/);
    expect(() => t.query().limit(-1)).toThrow(/non-negative/);
  });

  test("createEmptyTable, the object form, and connect({ uri })", async () => {
    const db = await lancedb.connect({ uri: dir });
    const schema = new Schema([new Field("id", new Int32(), true), new Field("s", new Utf8(), true)]);
    const t = await db.createEmptyTable("e", schema);
    expect(await t.countRows()).toBe(0);
    expect((await t.schema()).fields.map((f) => `${f.name}:${f.type}`)).toEqual(["id:Int32", "s:Utf8"]);
    await t.add([{ id: 1, s: "x" }]);
    expect(plain(await t.query().toArray())).toEqual([{ id: 1, s: "x" }]);

    const o = await db.createTable({ name: "obj", data: [{ a: 1 }] });
    expect(await o.countRows()).toBe(1);
    const arrowTable = tableFromArrays({ f: new Float64Array([1, 2, 3]) });
    const a = await db.createTable("fromArrow", arrowTable);
    expect(await a.countRows()).toBe(3);
    await expectCode(db.createTable("empty", []), "INVALID_ARGUMENT", /schema/i);
  });

  test("tableNames with startAfter and limit, dropAllTables", async () => {
    const db = await lancedb.connect(dir);
    for (const n of ["d", "a", "c", "b"]) await db.createTable(n, [{ x: 1 }]);
    expect(await db.tableNames()).toEqual(["a", "b", "c", "d"]);
    expect(await db.tableNames({ startAfter: "a", limit: 2 })).toEqual(["b", "c"]);
    expect(await db.tableNames([], { limit: 1 })).toEqual(["a"]);
    await db.dropAllTables();
    expect(await db.tableNames()).toEqual([]);
  });

  test("bad input never corrupts a table", async () => {
    const db = await lancedb.connect(dir);
    const t = await db.createTable("safe", records);
    await expectCode(t.add([{ id: 5, name: "e", vector: [1, 2], extra: true }]), "SCHEMA_MISMATCH", /extra/);
    await expectCode(t.add([{ id: 5, name: "e", vector: [1, 2, 3] }]), "SCHEMA_MISMATCH", /vector/);
    expect(await t.countRows()).toBe(3);
    expect(await (await db.openTable("safe")).countRows()).toBe(3);
    expect(await t.version()).toBe(1);
  });

  test("closed handles fail with CLOSED naming the table", async () => {
    const db = await lancedb.connect(dir);
    const t = await db.createTable("c", records);
    expect(t.isOpen()).toBe(true);
    t.close();
    expect(t.isOpen()).toBe(false);
    await expectCode(t.countRows(), "CLOSED", /Table 'c' is closed/);
    await expectCode(t.add(records), "CLOSED", /'c'/);
    expect(db.isOpen()).toBe(true);
    db.close();
    expect(db.isOpen()).toBe(false);
    await expectCode(db.tableNames(), "CLOSED", /Connection to/);
    expect(db.display()).toMatch(/closed/);
  });
});

describe("memory://", () => {
  test("each connection is its own database, as in @lancedb/lancedb", async () => {
    const a = await lancedb.connect("memory://");
    const b = await lancedb.connect("memory://");
    await a.createTable("mine", records);
    expect(await a.tableNames()).toEqual(["mine"]);
    expect(await b.tableNames()).toEqual([]);
    await expectCode(b.openTable("mine"), "TABLE_NOT_FOUND");
    // Handles opened through one connection share its data.
    const h1 = await a.openTable("mine");
    const h2 = await a.openTable("mine", { storageOptions: { uploadPartSize: "16MiB" } });
    await h1.add(records);
    expect(await (await a.openTable("mine")).countRows()).toBe(6);
    expect(await h2.countRows()).toBe(3); // h2 reads its own snapshot until it writes
  });
});

describe("local directory layout", () => {
  test("immutable Parquet data files and one manifest per version", async () => {
    const { dir, cleanup } = tempDir();
    try {
      const db = await lancedb.connect(dir);
      const t = await db.createTable("items", records);
      await t.add(records);
      const tdir = join(dir, "items.stowage");
      const manifests = readdirSync(join(tdir, "_versions")).sort();
      expect(manifests).toEqual(["18446744073709551613.manifest", "18446744073709551614.manifest"]);
      const latest = JSON.parse(readFileSync(join(tdir, "_versions", manifests[0]), "utf8"));
      expect(latest).toMatchObject({ format: "stowage-table", format_version: 1, version: 2, operation: { type: "append", rows: 3 } });
      expect(latest.fragments).toHaveLength(2);
      for (const f of latest.fragments) {
        const bytes = readFileSync(join(tdir, f.path));
        expect(bytes.subarray(0, 4).toString()).toBe("PAR1");
        expect(bytes.subarray(bytes.length - 4).toString()).toBe("PAR1");
        expect(bytes.length).toBe(f.size_bytes);
      }
    } finally {
      cleanup();
    }
  });

  test("relative paths and file:// URIs", async () => {
    const { dir, cleanup } = tempDir();
    const cwd = process.cwd();
    try {
      process.chdir(dir);
      const rel = await lancedb.connect("./nested/db");
      await rel.createTable("r", records);
      expect(existsSync(join(dir, "nested", "db", "r.stowage"))).toBe(true);
      const viaFile = await lancedb.connect(`file://${join(dir, "nested", "db")}`);
      expect(await viaFile.tableNames()).toEqual(["r"]);
    } finally {
      process.chdir(cwd);
      cleanup();
    }
  });
});

describe("errors", () => {
  test("invalid URIs list what is accepted", async () => {
    await expectCode(lancedb.connect("ftp://host/x"), "INVALID_URI", /unknown scheme 'ftp:\/\/'.*s3:\/\/bucket\/path/);
    await expectCode(lancedb.connect("s3+ddb://bucket/db"), "INVALID_URI", /ddbTableName/);
    await expectCode(lancedb.connect("s3+ddb://bucket/db?ddbTableName=x&y=1"), "INVALID_URI", /unknown query parameter 'y'/);
  });

  test("unknown storage options suggest the right spelling", async () => {
    const { dir, cleanup } = tempDir();
    try {
      await expectCode(
        lancedb.connect("s3://bucket/db", { storageOptions: { awsSecretAcessKey: "x" } }),
        "UNKNOWN_STORAGE_OPTION",
        /awsSecretAcessKey.*did you mean 'awsSecretAccessKey'/,
      );
      await expectCode(lancedb.connect(dir, { storageOptions: { tiemout: "1s" } }), "UNKNOWN_STORAGE_OPTION", /tiemout/);
      const db = await lancedb.connect(dir);
      await db.createTable("t", records);
      await expectCode(db.openTable("t", { storageOptions: { bogusKey: "1" } }), "UNKNOWN_STORAGE_OPTION", /bogusKey/);
    } finally {
      cleanup();
    }
  });

  test("bad values name the key and the accepted values", async () => {
    const base = { awsAccessKeyId: "AKID", awsSecretAccessKey: "shh-secret-value", endpoint: "http://127.0.0.1:9", allowHttp: true };
    await expectCode(
      lancedb.connect("s3://b/db", { storageOptions: { ...base, allowHttp: "perhaps" } }),
      "INVALID_STORAGE_OPTION",
      /'allowHttp'.*true or false/,
    );
    await expectCode(
      lancedb.connect("s3://b/db", { storageOptions: { ...base, timeout: "soon" } }),
      "INVALID_STORAGE_OPTION",
      /'timeout'.*"30s"/,
    );
    await expectCode(
      lancedb.connect("s3://b/db", { storageOptions: { ...base, awsServerSideEncryption: "rot13" } }),
      "INVALID_STORAGE_OPTION",
      /"AES256", "aws:kms", "aws:kms:dsse"/,
    );
    await expectCode(
      lancedb.connect("s3://b/db", { storageOptions: { ...base, awsSseKmsKeyId: "key-1" } }),
      "INVALID_STORAGE_OPTION",
      /aws_server_side_encryption/,
    );
    await expectCode(
      lancedb.connect("s3://b/db", { storageOptions: { ...base, region: { nested: 1 } as unknown as string } }),
      "INVALID_STORAGE_OPTION",
      /'region'.*a string/,
    );
    await expectCode(
      lancedb.connect("s3://b/db", { storageOptions: { ...base, allowHttp: false } }),
      "INVALID_STORAGE_OPTION",
      /allowHttp/,
    );
  });

  test("secrets never appear in messages, display, inspect or reports", async () => {
    const secret = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY";
    const token = "FwoGZXIvYXdzEXAMPLE-session-token-123456";
    const db = await lancedb.connect("s3://bucket/db", {
      storageOptions: { awsAccessKeyId: "AKIDEXAMPLE", awsSecretAccessKey: secret, awsSessionToken: token, endpoint: "http://127.0.0.1:9", allowHttp: "true", clientMaxRetries: 0, connectTimeout: "200ms" },
    });
    const seen = [db.display(), inspect(db), String(db), JSON.stringify(db.effectiveStorageOptions())];
    const err = await db.tableNames().catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    seen.push(String(err), (err as Error).stack ?? "", inspect(err));
    for (const text of seen) {
      expect(text).not.toContain(secret);
      expect(text).not.toContain(token);
    }
    const eff = db.effectiveStorageOptions();
    expect(eff.find((e) => e.key === "aws_secret_access_key")).toMatchObject({ value: "****", source: "connection", secret: true });
    await expectCode(
      lancedb.connect("s3://b/db", { storageOptions: { awsSecretAccessKey: 12345 as unknown as string } }),
      "INVALID_STORAGE_OPTION",
      /\*\*\*\*/,
    );
  });
});
