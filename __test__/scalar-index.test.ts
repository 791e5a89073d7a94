// Scalar indexes (BTREE, BITMAP) in filters: every filter of the query
// compatibility suite, plus lookups on every indexed type, gives the same
// rows and counts with and without the indexes, before and after appends
// (unindexed rows are scanned) and deletes; the reference agrees.
import * as reference from "@lancedb/lancedb";
import { DateDay, Int32, Table as ArrowTable, TimestampMillisecond, vectorFromArray } from "apache-arrow";
import * as stowage from "../lib";
import { QUERY_SUITE_FILTERS, querySuiteRows } from "./helpers/filters";
import { expectCode, tempDir } from "./helpers/tmp";

const { rows } = querySuiteRows(4, { hits: 0 });
// Dates and timestamps need an explicit Arrow type.
function dated(from: number, to: number): ArrowTable {
  const days = Array.from({ length: to - from }, (_, k) => new Date(Date.UTC(2024, 0, 1 + ((from + k) % 60))));
  return new ArrowTable({
    id: vectorFromArray(Array.from({ length: to - from }, (_, k) => from + k), new Int32()),
    day: vectorFromArray(days, new DateDay()),
    ts: vectorFromArray(days, new TimestampMillisecond()),
  });
}

const filters = [
  // The query suite's filters.
  ...QUERY_SUITE_FILTERS,
  // Index lookups of every shape and type.
  "id = 150",
  "150 = id",
  "id < 0",
  "id <= 3 AND category = 'fruit'",
  "id > 100 AND id <= 110 AND flag",
  "300 > id AND id > 297",
  "category = 'veg' AND name = 'item-5'",
  "name >= 'item-30'",
  "flag = false AND price > 90",
  "price = 12.5 OR id = 7",
  "note = 'note 8'",
  "id BETWEEN 5 AND 2",
];

let cleanup: () => void;
let plain: stowage.Table;
let indexed: stowage.Table;
let ref: reference.Table;
let plainD: stowage.Table;
let indexedD: stowage.Table;

beforeAll(async () => {
  const t = tempDir();
  cleanup = t.cleanup;
  const db = await stowage.connect(`${t.dir}/ours`);
  const rdb = await reference.connect(`${t.dir}/ref`);
  plain = await db.createTable("plain", rows.slice(0, 200));
  indexed = await db.createTable("indexed", rows.slice(0, 200));
  ref = await rdb.createTable("t", rows.slice(0, 200));
  for (const t of [plain, indexed, ref]) await t.add(rows.slice(200, 250));
  for (const c of ["id", "price", "name", "note"]) await indexed.createIndex(c, { config: stowage.Index.btree() });
  for (const c of ["category", "flag"]) await indexed.createIndex(c, { config: stowage.Index.bitmap() });
  // Rows after the build: not covered, scanned.
  for (const t of [plain, indexed, ref]) await t.add(rows.slice(250));
  plainD = await db.createTable("plainD", dated(0, 200));
  indexedD = await db.createTable("indexedD", dated(0, 200));
  for (const c of ["day", "ts"]) await indexedD.createIndex(c, { config: stowage.Index.btree() });
  for (const t of [plainD, indexedD]) await t.add(dated(200, 260));
});
afterAll(() => cleanup());

const ids = (rs: unknown[]) => rs.map((r) => Number((r as { id: number }).id)).sort((a, b) => a - b);

async function compare(f: string): Promise<void> {
  const want = ids(await plain.query().where(f).select(["id"]).toArray());
  const got = ids(await indexed.query().where(f).select(["id"]).toArray());
  expect(got).toEqual(want);
  expect(await indexed.countRows(f)).toBe(want.length);
  expect(ids(await ref.query().where(f).select(["id"]).toArray())).toEqual(want);
}

test("indexes are listed with the reference's types", async () => {
  const li = await indexed.listIndices();
  expect(li.map((i) => [i.name, i.indexType]).sort()).toEqual(
    [["category_idx", "Bitmap"], ["flag_idx", "Bitmap"], ["id_idx", "BTree"], ["name_idx", "BTree"], ["note_idx", "BTree"], ["price_idx", "BTree"]].sort(),
  );
  expect(await indexed.indexStats("id_idx")).toMatchObject({ numIndexedRows: 250, numUnindexedRows: 50, indexType: "BTREE" });
});

test.each(filters)("same rows with and without indexes: %s", async (f) => {
  await compare(f);
});

test.each([
  "day = DATE '2024-01-05'",
  "day BETWEEN DATE '2024-01-10' AND DATE '2024-01-12' AND id < 100",
  "day > DATE '2024-02-25'",
  "ts >= TIMESTAMP '2024-02-25 00:00:00'",
  "ts = TIMESTAMP '2024-01-03 00:00:00' OR id = 1",
  "ts < TIMESTAMP '2024-01-02 00:00:00'",
])("dates and timestamps, same rows with and without indexes: %s", async (f) => {
  const want = ids(await plainD.query().where(f).select(["id"]).toArray());
  expect(ids(await indexedD.query().where(f).select(["id"]).toArray())).toEqual(want);
  expect(await indexedD.countRows(f)).toBe(want.length);
  expect(want.length).toBeGreaterThan(0);
});

test("after deletes and an update, still the same rows", async () => {
  for (const t of [plain, indexed, ref]) {
    await t.delete("id % 5 = 0 OR id = 150");
    await t.update({ where: "id = 7", values: { category: "veg" } });
  }
  for (const f of ["id = 150", "id = 151", "category = 'veg' AND id < 20", "id >= 10 AND id < 20", "note IS NULL"]) await compare(f);
  // optimize(): the indexes cover every row again, same answers.
  await indexed.optimize();
  expect(await indexed.indexStats("id_idx")).toMatchObject({ numUnindexedRows: 0, numIndices: 1 });
  for (const f of ["id = 260", "id >= 10 AND id < 20", "category = 'veg' AND id > 250"]) await compare(f);
  // Limit and offset keep table order.
  const want = ids(await plain.query().where("id > 40").limit(5).offset(3).select(["id"]).toArray());
  expect(ids(await indexed.query().where("id > 40").limit(5).offset(3).select(["id"]).toArray())).toEqual(want);
});

// Prefiltered vector search, update and mergeInsert's key lookup go through
// the indexes too: same answers as without them.
const q = [0.1, -0.4, 0.7, 0.2];
test.each(filters)("prefiltered vector search, same rows and distances with and without indexes: %s", async (f) => {
  const run = async (t: { query(): stowage.Query } | reference.Table) =>
    ((await t.query().nearestTo(q).where(f).limit(15).select(["id"]).toArray()) as { id: number; _distance: number }[]).map((r) => [
      Number(r.id),
      r._distance,
    ]);
  const want = await run(plain);
  expect(await run(indexed)).toEqual(want);
  const theirs = await run(ref);
  expect(theirs.map((r) => r[0])).toEqual(want.map((r) => r[0]));
});

test("prefiltered search through a vector index (every partition probed): same rows with and without scalar indexes", async () => {
  const t = tempDir();
  try {
    const db = await stowage.connect(t.dir);
    const p = await db.createTable("p", rows);
    const x = await db.createTable("x", rows);
    for (const tb of [p, x]) await tb.createIndex("vector", { config: stowage.Index.ivfFlat({ numPartitions: 2 }) });
    for (const c of ["id", "price"]) await x.createIndex(c, { config: stowage.Index.btree() });
    await x.createIndex("category", { config: stowage.Index.bitmap() });
    for (const f of ["id > 20", "category = 'veg' OR price < 5", "category = 'fruit' AND id < 250", "price > 30"]) {
      const run = async (tb: stowage.Table) =>
        ((await tb.query().nearestTo(q).where(f).nprobes(2).limit(10).select(["id"]).toArray()) as { id: number; _distance: number }[]).map((r) => [
          Number(r.id),
          r._distance,
        ]);
      const want = await run(p);
      expect(want).toHaveLength(10);
      expect(await run(x)).toEqual(want);
    }
  } finally {
    t.cleanup();
  }
});

test("explainPlan shows the scalar index used, for queries and prefiltered vector searches", async () => {
  expect(await indexed.query().where("id = 5 AND category = 'veg'").explainPlan()).toMatch(/id_idx \(BTree\).*id = 5[\s\S]*category_idx \(Bitmap\)/);
  expect(await indexed.query().nearestTo(q).where("price < 3").explainPlan()).toMatch(/price_idx \(BTree\)/);
  expect(await plain.query().where("id = 5").explainPlan()).not.toMatch(/Scalar index/);
});

test("update with each filter and mergeInsert on an indexed key: same table as without indexes and as the reference", async () => {
  const t = tempDir();
  try {
    const db = await stowage.connect(`${t.dir}/ours`);
    const rdb = await reference.connect(`${t.dir}/ref`);
    const p = await db.createTable("p", rows.slice(0, 250));
    const x = await db.createTable("x", rows.slice(0, 250));
    const r = await rdb.createTable("r", rows.slice(0, 250));
    for (const c of ["id", "price", "name", "note"]) await x.createIndex(c, { config: stowage.Index.btree() });
    for (const c of ["category", "flag"]) await x.createIndex(c, { config: stowage.Index.bitmap() });
    for (const tb of [p, x, r]) await tb.add(rows.slice(250));
    for (const f of filters) {
      for (const tb of [p, x, r]) await tb.update({ where: f, valuesSql: { hits: "hits + 1" } });
    }
    // Matched keys (indexed and not), new keys, and a key of a row updated above.
    const incoming = [5, 42, 150, 260, 299, 400, 401].map((id) => ({ ...rows[id % 300], id, hits: 100 + id, price: 1.5 }));
    const stats = [];
    for (const tb of [p, x, r]) stats.push(await tb.mergeInsert("id").whenMatchedUpdateAll().whenNotMatchedInsertAll().execute(incoming));
    expect(stats[1]).toMatchObject({ numUpdatedRows: 5, numInsertedRows: 2 });
    expect(stats[0]).toMatchObject({ numUpdatedRows: 5, numInsertedRows: 2 });
    const dump = async (tb: stowage.Table | reference.Table) =>
      ((await tb.query().select(["id", "hits", "price"]).toArray()) as { id: number; hits: number; price: number }[])
        .map((o) => [Number(o.id), Number(o.hits), o.price])
        .sort((a, b) => a[0] - b[0]);
    const want = await dump(p);
    expect(want.some((o) => o[1] > 1 && o[1] < 100)).toBe(true);
    expect(await dump(x)).toEqual(want);
    expect(await dump(r)).toEqual(want);
  } finally {
    t.cleanup();
  }
});

test("a scalar index on a column of an unsupported type is a clear error", async () => {
  await expectCode(indexed.createIndex("meta", { config: stowage.Index.btree() }), "INVALID_ARGUMENT", /meta/);
});

test("the index is what answers: a wrong index changes the answer (so the tests above went through it); an unreadable one is not used", async () => {
  const t = tempDir();
  try {
    const db = await stowage.connect(t.dir);
    const tbl = await db.createTable("t", rows.slice(0, 100));
    await tbl.createIndex("id", { config: stowage.Index.btree() });
    const { readdirSync, writeFileSync } = await import("node:fs");
    const idxRoot = `${t.dir}/t.stowage/_indices`;
    // Same size, every row id 0: readable, but wrong.
    for (const seg of readdirSync(idxRoot)) writeFileSync(`${idxRoot}/${seg}/scalar.rows`, Buffer.alloc(100 * 8));
    let answer: unknown;
    try {
      answer = ids(await tbl.query().where("id = 5").select(["id"]).toArray());
    } catch (e) {
      answer = (e as { code?: string }).code;
    }
    expect(answer).not.toEqual([5]);
    // Prefiltered vector search, update and mergeInsert's key lookup read
    // the same wrong index, so they miss row 5 too.
    expect(ids(await tbl.query().nearestTo(q).where("id = 5").select(["id"]).toArray())).not.toEqual([5]);
    await tbl.update({ where: "id = 5", valuesSql: { hits: "hits + 1" } });
    expect(await tbl.countRows("hits = 1")).toBe(0);
    await tbl.mergeInsert("id").whenMatchedUpdateAll().whenNotMatchedInsertAll().execute([{ ...rows[5], hits: 7 }]);
    expect(await tbl.countRows()).toBe(101);
    // Unreadable (truncated) in a fresh process-wide cache key: a new table.
    const t2 = await db.createTable("t2", rows.slice(0, 100));
    await t2.createIndex("id", { config: stowage.Index.btree() });
    const root2 = `${t.dir}/t2.stowage/_indices`;
    for (const seg of readdirSync(root2)) writeFileSync(`${root2}/${seg}/scalar.rows`, Buffer.alloc(3));
    expect(ids(await t2.query().where("id = 5").select(["id"]).toArray())).toEqual([5]);
  } finally {
    t.cleanup();
  }
});
