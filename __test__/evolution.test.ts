// Tables that evolve (issue 13): schema evolution, tags and statistics,
// compared call for call with @lancedb/lancedb, plus concurrent writers in
// separate processes on a local directory and on S3 (moto).
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import * as arrow from "apache-arrow";
import * as ref from "@lancedb/lancedb";
import * as ours from "../lib";
import { uniq } from "./helpers/cloud";
import { emulatorsForSuite } from "./helpers/emulators";
import { expectCode, tempDir } from "./helpers/tmp";
import { runFixture, storeCases } from "./helpers/stores";

const emu = emulatorsForSuite(["s3"]);

type AnyTable = ours.Table | ref.Table;

const plain = (v: unknown): unknown =>
  JSON.parse(
    JSON.stringify(v, (_k, x) => {
      if (typeof x === "bigint") return Number(x);
      if (x && typeof x === "object" && !Array.isArray(x) && typeof (x as { toArray?: unknown }).toArray === "function") {
        return Array.from((x as { toArray: () => ArrayLike<unknown> }).toArray());
      }
      return x;
    }),
  );

async function rows(t: AnyTable): Promise<unknown[]> {
  const rs = (await t.query().toArray()) as { toJSON?: () => unknown }[];
  const out = rs.map((r) => plain(r.toJSON ? r.toJSON() : r)) as Record<string, unknown>[];
  return out.sort((a, b) => Number(a.id) - Number(b.id));
}

async function schemaOf(t: AnyTable): Promise<string[]> {
  return (await t.schema()).fields.map((f) => `${f.name}:${f.type}:${f.nullable}`);
}

/** Runs `step` on both tables and compares what a user sees afterwards. */
async function both(tables: [AnyTable, AnyTable], label: string, step: (t: AnyTable) => Promise<unknown>, compareVersions = true): Promise<void> {
  for (const t of tables) await step(t);
  const [r, o] = tables;
  expect({ label, schema: await schemaOf(o) }).toEqual({ label, schema: await schemaOf(r) });
  expect({ label, rows: await rows(o) }).toEqual({ label, rows: await rows(r) });
  const versions = async (t: AnyTable) => (await t.listVersions()).map((v) => v.version);
  if (compareVersions) expect({ label, versions: await versions(o) }).toEqual({ label, versions: await versions(r) });
}

async function pair(data: Record<string, unknown>[]): Promise<[AnyTable, AnyTable]> {
  const r = await (await ref.connect(tempDir().dir)).createTable("t", data);
  const o = await (await ours.connect(tempDir().dir)).createTable("t", data);
  return [r, o];
}

const DATA = [
  { id: 1, x: 2, s: { a: 1, b: "q" }, v: [1, 2] },
  { id: 2, x: 3, s: { a: 2, b: "r" }, v: [3, 4] },
];

test("addColumns, alterColumns, dropColumns, updateFieldMetadata behave as in @lancedb/lancedb", async () => {
  const ts = await pair(DATA);
  await both(ts, "add sql", (t) => t.addColumns([{ name: "y", valueSql: "x * 2" }, { name: "z", valueSql: "cast(null as string)" }]));
  await both(ts, "add field", (t) => t.addColumns(new arrow.Field("n", new arrow.Int32(), true)));
  await both(ts, "rename, nested too", (t) => t.alterColumns([{ path: "x", rename: "xx" }, { path: "s.a", rename: "aa" }]));
  await both(ts, "not nullable", (t) => t.alterColumns([{ path: "id", nullable: false }]));
  await both(ts, "widen int", (t) => t.alterColumns([{ path: "n", dataType: new arrow.Int64() }]));
  await both(ts, "double to float", (t) => t.alterColumns([{ path: "xx", dataType: "float" }]));
  await both(ts, "list to vector", (t) =>
    t.alterColumns([{ path: "v", dataType: new arrow.FixedSizeList(2, new arrow.Field("item", new arrow.Float64(), true)) }]),
  );
  await both(ts, "drop, nested too", (t) => t.dropColumns(["z", "s.b"]));
  await both(ts, "field metadata", (t) => t.updateFieldMetadata([{ path: "id", metadata: { k: "v" } }]));
  for (const t of ts) expect([...(await t.schema()).fields[0].metadata]).toEqual([["k", "v"]]);
  await both(ts, "append after evolution", (t) => t.add([{ id: 3, xx: 5, s: { aa: 3 }, v: [5, 6], y: 1, n: 1 }]));
  await both(ts, "update", (t) => t.update({ where: "xx > 2", valuesSql: { y: "y + 100" } }));
  await both(ts, "delete", (t) => t.delete("id = 1"));
  await both(ts, "mergeInsert", (t) =>
    t.mergeInsert("id").whenMatchedUpdateAll().whenNotMatchedInsertAll().execute([{ id: 2, xx: 7, s: { aa: 9 }, v: [0, 0], y: 0, n: 2 }]),
  );
  // Filters and projections on renamed and computed columns.
  for (const t of ts) {
    const got = plain(await t.query().where("xx >= 5 AND y < 50").select(["id", "aa_s"].slice(0, 1)).toArray());
    expect(got).toEqual([{ id: 2 }]);
  }
  // (optimize() commits a different number of versions in the reference.)
  await both(ts, "compaction rewrites fragments", (t) => t.optimize(), false);
  // Time travel shows the old schema.
  await both(ts, "checkout version 2", (t) => t.checkout(2), false);
  for (const t of ts) await t.checkoutLatest();
});

test("refused changes fail clearly and change nothing", async () => {
  const db = await ours.connect(tempDir().dir);
  const t = await db.createTable("t", DATA);
  await expectCode(t.addColumns(new arrow.Field("nn", new arrow.Int32(), false)), "INVALID_ARGUMENT", /All-null columns must be nullable/);
  await expectCode(t.alterColumns([{ path: "x", dataType: "string" }]), "INVALID_ARGUMENT", /Cannot cast column "x" from Float64 to Utf8/);
  await expectCode(t.alterColumns([{ path: "nope", rename: "q" }]), "INVALID_ARGUMENT", /Column "nope" does not exist/);
  await expectCode(t.alterColumns([{ path: "x", rename: "id" }]), "INVALID_ARGUMENT", /Duplicate field name "id"/);
  await expectCode(t.dropColumns(["nope"]), "INVALID_ARGUMENT", /Column nope does not exist/);
  await expectCode(t.addColumns([{ name: "x", valueSql: "id" }]), "INVALID_ARGUMENT", /already exists/);
  await expectCode(t.addColumns([{ name: "q", valueSql: "nope + 1" }]), "INVALID_FILTER", /nope/);
  await t.add([{ id: 3, x: null, s: { a: 3, b: "s" }, v: [5, 6] }]);
  await expectCode(t.alterColumns([{ path: "x", nullable: false }]), "INVALID_ARGUMENT", /holds 1 null/);
  expect(await t.version()).toBe(2);
  expect((await rows(t)).length).toBe(3);
});

test("nested alterations: nullable: false checks the values (nulls of null structs count), casts of struct children", async () => {
  const data = [
    { id: 1, s: { a: 1.5, b: 1000, c: "x" } },
    { id: 2, s: { a: 2.25, b: 2, c: null } },
  ];
  const ts = await pair(data);
  const childNullable = async (t: AnyTable, i: number) => (await t.schema()).fields[1].type.children[i].nullable;
  // No nulls: both packages make the child non-nullable.
  await both(ts, "nested not nullable", (t) => t.alterColumns([{ path: "s.b", nullable: false }]));
  for (const t of ts) expect(await childNullable(t, 1)).toBe(false);
  // Nulls: both refuse; ours names the column and the count.
  for (const t of ts) await expect(t.alterColumns([{ path: "s.c", nullable: false }])).rejects.toThrow(/s\.c/);
  await expectCode(ts[1].alterColumns([{ path: "s.c", nullable: false }]), "INVALID_ARGUMENT", /cannot make column 's\.c' non-nullable: it holds 1 null values/);
  // A child of a null struct row is null too (the reference refuses as well).
  const withNullStruct = await pair([{ id: 1, s: { a: 1 } }, { id: 2, s: null }]);
  await expect(withNullStruct[0].alterColumns([{ path: "s.a", nullable: false }])).rejects.toThrow(/NULL values/);
  await expectCode(withNullStruct[1].alterColumns([{ path: "s.a", nullable: false }]), "INVALID_ARGUMENT", /'s\.a' non-nullable: it holds 1 null values/);
  // Casts across families are refused by both with the same words.
  for (const t of ts) await expect(t.alterColumns([{ path: "s.a", dataType: "int64" }])).rejects.toThrow(/Cannot cast column "s\.a" from Float64 to Int64/);
  const o = ts[1] as ours.Table;
  expect(await o.version()).toBe(2);
  // Within a family Stowage casts struct children (the reference 0.31 panics
  // on these: "called `Option::unwrap()` on a `None` value").
  await expect(ts[0].alterColumns([{ path: "s.a", dataType: "float" }])).rejects.toThrow();
  await o.alterColumns([{ path: "s.a", dataType: "float" }, { path: "s.c", dataType: "large_string" }]);
  expect(String((await o.schema()).fields[1].type)).toBe("Struct<{a:Float32, b:Float64, c:LargeUtf8}>");
  expect(await rows(o)).toEqual([
    { id: 1, s: { a: 1.5, b: 1000, c: "x" } },
    { id: 2, s: { a: 2.25, b: 2, c: null } },
  ]);
  // A narrowing cast checks every stored value first.
  const ints = await (await ours.connect(tempDir().dir)).createTable(
    "t",
    new arrow.Table({
      id: arrow.vectorFromArray([1, 2], new arrow.Int32()),
      s: arrow.vectorFromArray([{ n: 5n }, { n: 300n }], new arrow.Struct([new arrow.Field("n", new arrow.Int64(), true)])),
    }),
  );
  await expectCode(ints.alterColumns([{ path: "s.n", dataType: "int8" }]), "INVALID_ARGUMENT", /Cannot cast column "s\.n" to Int8: a stored value does not fit/);
  await ints.alterColumns([{ path: "s.n", dataType: "int16" }]);
  await ints.add([{ id: 3, s: { n: 7 } }]);
  expect(String((await ints.schema()).fields[1].type)).toBe("Struct<{n:Int16}>");
  expect((await rows(ints)).map((r) => (r as { s: unknown }).s)).toEqual([{ n: 5 }, { n: 300 }, { n: 7 }]);
  // Rows appended after a child became non-nullable must hold it.
  await expectCode(o.add([{ id: 3, s: { a: 1, b: null, c: "z" } }]), "SCHEMA_MISMATCH", /column 's\.b' is not nullable but got null/);
  expect(await o.countRows()).toBe(2);
});

test("renames and drops write no data; added columns write only the new column", async () => {
  const dir = tempDir().dir;
  const db = await ours.connect(dir);
  const t = await db.createTable("t", DATA);
  await t.add([{ id: 3, x: 4, s: { a: 3, b: "s" }, v: [5, 6] }]);
  const dataFiles = () => readdirSync(join(dir, "t.stowage", "data")).length;
  const manifest = (): Record<string, unknown> => {
    const vdir = join(dir, "t.stowage", "_versions");
    const latest = readdirSync(vdir).filter((n) => n.endsWith(".manifest")).sort()[0];
    return JSON.parse(readFileSync(join(vdir, latest), "utf8"));
  };
  // A table that never evolved keeps format version 1 (older Stowage reads it).
  expect(manifest().format_version).toBe(1);
  expect(manifest().field_ids).toBeUndefined();
  expect(dataFiles()).toBe(2);
  await t.alterColumns([{ path: "x", rename: "x2" }]);
  await t.dropColumns(["s"]);
  await t.addColumns(new arrow.Field("n", new arrow.Utf8(), true));
  expect(dataFiles()).toBe(2);
  const m = manifest();
  expect(m.format_version).toBe(2);
  // id 0, x 1, s 2 (a 3, b 4), v 5: s dropped, n gets 6.
  expect(m.field_ids).toEqual([0, 1, 5, 6]);
  await t.addColumns([{ name: "y", valueSql: "x2 + id" }]);
  expect(dataFiles()).toBe(4); // one column file per fragment
  const frags = manifest().fragments as { columns: { fields: number[] }[] }[];
  expect(frags.map((f) => f.columns.map((c) => c.fields))).toEqual([[[7]], [[7]]]);
  expect(plain(await t.query().select(["id", "x2", "y", "n"]).toArray())).toEqual([
    { id: 1, x2: 2, y: 3, n: null },
    { id: 2, x2: 3, y: 5, n: null },
    { id: 3, x2: 4, y: 7, n: null },
  ]);
  // A handle opened before the changes (and a fresh connection) read the same.
  const again = await (await ours.connect(dir)).openTable("t");
  expect(await schemaOf(again)).toEqual(await schemaOf(t));
  // Restoring the version before the rename brings back the old columns.
  await t.restore(2);
  expect(await schemaOf(t)).toEqual(["id:Float64:true", "x:Float64:true", "s:Struct<{a:Float64, b:Utf8}>:true", "v:List<Float64>:true"]);
  expect((await rows(t)).length).toBe(3);
  await t.addColumns([{ name: "k", valueSql: "id * 10" }]);
  expect(plain(await t.query().select(["k"]).toArray())).toEqual([{ k: 10 }, { k: 20 }, { k: 30 }]);
});

test("tags behave as in @lancedb/lancedb, and cleanup keeps tagged versions", async () => {
  const [r, o] = await pair([{ id: 1 }]);
  for (const t of [r, o]) {
    await t.add([{ id: 2 }]);
    await t.add([{ id: 3 }]);
  }
  const seen: unknown[] = [];
  for (const t of [r, o]) {
    const tags = await t.tags();
    await tags.create("v1", 1);
    await tags.create("two", 2);
    const errs: string[] = [];
    for (const bad of [() => tags.create("v1", 2), () => tags.getVersion("zz"), () => tags.create("v9", 99), () => tags.delete("zz"), () => tags.update("zz", 1)]) {
      try {
        await bad();
        errs.push("ok");
      } catch {
        errs.push("error");
      }
    }
    await tags.update("v1", 3);
    const listed = await tags.list();
    const shape = Object.fromEntries(Object.entries(listed).map(([k, c]) => [k, Number(c.version)]));
    await t.checkout("two");
    const atTag = { version: await t.version(), rows: await rows(t) };
    await t.checkoutLatest();
    await tags.delete("v1");
    seen.push({ errs, shape, v1: await tags.getVersion("two"), atTag, after: Object.keys(await tags.list()) });
  }
  expect(seen[1]).toEqual(seen[0]);
  // Cleanup removes old versions, never a tagged one (nor its files).
  await new Promise((res) => setTimeout(res, 5));
  await o.optimize({ cleanupOlderThan: new Date() });
  const versions = (await o.listVersions()).map((v) => v.version);
  expect(versions).toContain(2);
  expect(versions).not.toContain(1);
  await o.checkout("two");
  expect(await rows(o)).toEqual([{ id: 1 }, { id: 2 }]);
  const tags = await o.tags();
  await expectCode(tags.create("bad/name", 2), "INVALID_ARGUMENT", /invalid tag name/);
  await expectCode(tags.create("gone", 1), "VERSION_NOT_FOUND");
  await expectCode(tags.getVersion("zz"), "INVALID_ARGUMENT", /tag zz does not exist/);
});

test("stats() matches @lancedb/lancedb from the manifest", async () => {
  const [r, o] = await pair([{ id: 1 }, { id: 2 }]);
  const got: unknown[] = [];
  for (const t of [r, o]) {
    await t.add([{ id: 3 }]);
    await t.add([{ id: 4 }, { id: 5 }, { id: 6 }]);
    await t.delete("id = 4");
    const s = await t.stats();
    expect(s.totalBytes).toBeGreaterThan(0);
    got.push({ ...plain(s) as object, totalBytes: 0 });
  }
  expect(got[1]).toEqual(got[0]);
});

describe.each(storeCases(emu, ["local", "s3"]))("%s: schema changes racing appends in separate processes", (_name, setup) => {
  test("every acknowledged row is there, rejected ones are not, the table opens", async () => {
    const { uri, options } = await setup();
    const db = await ours.connect(uri, { storageOptions: options as never });
    const table = uniq("t");
    await db.createTable(table, [{ id: -1, w: -1, tag: "x" }]);
    const json = JSON.stringify(options);
    const outs = await Promise.all([
      runFixture("evo-writer.js", [uri, json, table, "evolve", "2"]),
      ...[0, 1, 2].map((w) => runFixture("evo-writer.js", [uri, json, table, "append", String(w), "6"])),
    ]);
    const lines = outs.flat();
    expect(lines.filter((l) => l.startsWith("error"))).toEqual([]);
    expect(outs[0]).toContain("final tag1");
    const acked = lines.filter((l) => l.startsWith("ack ")).map((l) => Number(l.split(" ")[1]));
    const rejected = lines.filter((l) => l.startsWith("rejected ")).map((l) => Number(l.split(" ")[1]));
    expect(acked.length + rejected.length).toBe(18);
    const t = await (await ours.connect(uri, { storageOptions: options as never })).openTable(table);
    expect((await t.schema()).fields.map((f) => f.name)).toEqual(["id", "w", "tag1", "d0", "d1"]);
    const got = (await t.query().select(["id", "d1"]).toArray()).map((r) => Number(r.id));
    expect(got.filter((id) => id >= 0).sort((a, b) => a - b)).toEqual([...acked].sort((a, b) => a - b));
    // The computed column is right for every row that existed when it was added.
    const d = await t.query().where("d1 IS NOT NULL").select(["id", "d1"]).toArray();
    for (const r of d) expect(Number(r.d1)).toBe(Number(r.id) * 2);
    expect(d.length).toBeGreaterThan(0);
  }, 120000);
});

test("openTable(name, { version }) opens that version, as in @lancedb/lancedb", async () => {
  const seen: unknown[] = [];
  for (const mod of [ref, ours] as const) {
    const dir = tempDir().dir;
    const db = await (mod as typeof ours).connect(dir);
    const t = await db.createTable("t", [{ id: 1 }]);
    await t.addColumns([{ name: "k", valueSql: "id + 1" }]);
    await t.add([{ id: 2, k: 0 }]);
    const old = await db.openTable("t", [], { version: 1 });
    seen.push({ version: await old.version(), schema: await schemaOf(old), rows: await rows(old) });
  }
  expect(seen[1]).toEqual(seen[0]);
  const db = await ours.connect(tempDir().dir);
  await db.createTable("t", [{ id: 1 }]);
});

describe.each(storeCases(emu, ["s3", "s3+ddb"]))("%s: tags", (_name, setup) => {
  test("4 processes create one tag: exactly one wins; tags survive cleanup and move", async () => {
    const { uri, options } = await setup();
    const db = await ours.connect(uri, { storageOptions: options as never });
    const table = uniq("t");
    const t = await db.createTable(table, [{ id: 1 }]);
    await t.add([{ id: 2 }]);
    await t.add([{ id: 3 }]);
    const json = JSON.stringify(options);
    const outs = (await Promise.all([1, 2, 3, 2].map((v) => runFixture("evo-writer.js", [uri, json, table, "tag", "race", String(v)])))).flat();
    expect(outs.filter((l) => l === "tagged")).toHaveLength(1);
    expect(outs.filter((l) => l === "exists")).toHaveLength(3);
    const tags = await t.tags();
    const v = await tags.getVersion("race");
    await tags.create("keep", 1);
    await new Promise((res) => setTimeout(res, 5));
    await t.optimize({ cleanupOlderThan: new Date() });
    const versions = (await t.listVersions()).map((x) => x.version);
    expect(versions).toContain(1);
    expect(versions).toContain(v);
    await t.checkout("keep");
    expect(await rows(t)).toEqual([{ id: 1 }]);
    await t.checkoutLatest();
    const latest = await t.version();
    await tags.update("keep", latest);
    expect(Object.fromEntries(Object.entries(await tags.list()).map(([k, c]) => [k, c.version]))).toEqual({ keep: latest, race: v });
  }, 60000);
});

test("renameTable, branches and namespaces answer as in @lancedb/lancedb (or NOT_SUPPORTED)", async () => {
  const seen: unknown[] = [];
  for (const mod of [ref, ours] as const) {
    const db = await (mod as typeof ours).connect(tempDir().dir);
    const t = await db.createTable("t", [{ id: 1 }]);
    let renamed = "ok";
    try {
      await db.renameTable("t", "u");
    } catch (e) {
      renamed = /not supported/i.test((e as Error).message) ? "not supported" : "other error";
    }
    seen.push({ renamed, branch: t.currentBranch(), branches: await (await t.branches()).list(), ns: plain(await db.listNamespaces()), names: await db.tableNames() });
  }
  expect(seen[1]).toEqual(seen[0]);
  const db = await ours.connect(tempDir().dir);
  const t = await db.createTable("t", [{ id: 1 }]);
  await expectCode(db.renameTable("t", "u"), "NOT_SUPPORTED", /renameTable/);
  await expectCode(db.cloneTable("c", "x"), "NOT_SUPPORTED", /cloneTable: the source .* is not a table of this database/);
});

test("two handles: a stale append lands beside a rename; a computed column covers rows appended meanwhile", async () => {
  const dir = tempDir().dir;
  const a = await (await ours.connect(dir)).createTable("t", [{ id: 1, tag: "a" }]);
  const b = await (await ours.connect(dir)).openTable("t");
  const fresh = async () => (await ours.connect(dir)).openTable("t");
  // b renames; a (still on version 1) appends with the old name: both apply.
  await b.alterColumns([{ path: "tag", rename: "label" }]);
  await a.add([{ id: 2, tag: "b" }]);
  expect(await rows(await fresh())).toEqual([{ id: 1, label: "a" }, { id: 2, label: "b" }]);
  await b.checkoutLatest();
  // a computes a column on its (stale) version while b appended: the
  // change is planned again and covers b's rows too.
  await b.add([{ id: 3, label: "c" }]);
  await a.addColumns([{ name: "twice", valueSql: "id * 2" }]);
  expect(plain(await (await fresh()).query().select(["id", "twice"]).toArray())).toEqual([
    { id: 1, twice: 2 },
    { id: 2, twice: 4 },
    { id: 3, twice: 6 },
  ]);
  // b's append planned before the computed column does not fit it: refused
  // clearly, and a retry on the same handle lands (the new column null).
  const c = await fresh();
  await b.checkoutLatest();
  await b.addColumns([{ name: "k", valueSql: "id + 100" }]);
  await expectCode(c.add([{ id: 4, label: "d" }]), "COMMIT_CONFLICT", /changed the table's schema/);
  await c.add([{ id: 4, label: "d" }]);
  const now = await fresh();
  const last = plain(await now.query().where("id = 4").select(["id", "label", "k"]).toArray());
  expect(last).toEqual([{ id: 4, label: "d", k: null }]);
  expect(await now.countRows()).toBe(4);
});
