// LABEL_LIST indexes and the list-membership filter functions
// (array_has_any, array_has_all, array_has, array_contains): the same rows
// as @lancedb/lancedb 0.31.0 on the same data, with and without the index,
// through where(), countRows(), delete() and after appends and optimize().
import * as reference from "@lancedb/lancedb";
import { Field, Int32, List, Schema, Utf8 } from "apache-arrow";
import * as stowage from "../lib";
import { expectCode, tempDir } from "./helpers/tmp";

const schema = new Schema([
  new Field("id", new Int32(), true),
  new Field("tags", new List(new Field("item", new Utf8(), true)), true),
  new Field("nums", new List(new Field("item", new Int32(), true)), true),
]);
const words = ["red", "green", "blue", "cyan", "gold", "pink"];
function row(i: number) {
  const tags = i % 11 === 0 ? null : i % 13 === 0 ? [] : Array.from({ length: 1 + (i % 3) }, (_, k) => (i % 17 === 5 && k === 1 ? null : words[(i * (k + 3)) % words.length]));
  const nums = i % 19 === 0 ? null : Array.from({ length: i % 4 }, (_, k) => (i * (k + 1)) % 9);
  return { id: i, tags, nums };
}
const rows = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => row(from + k));

const filters = [
  "array_has_any(tags, ['red', 'blue'])",
  "array_has_all(tags, ['red', 'blue'])",
  "array_has(tags, 'gold')",
  "array_contains(tags, 'pink')",
  "ARRAY_HAS_ANY(tags, make_array('cyan'))",
  "array_has_any(tags, ['nope'])",
  "array_has_any(tags, [])",
  "array_has_all(tags, [])",
  "array_has_any(tags, ['red', NULL])",
  "array_has_all(tags, ['green', NULL])",
  "array_has(tags, NULL)",
  "NOT array_has_any(tags, ['red'])",
  "array_has_any(tags, ['red']) IS NULL",
  "array_has_any(tags, ['green']) AND id > 100",
  "array_has_any(tags, ['green']) OR id < 5",
  "array_has_all(tags, ['green', 'gold']) AND array_has(nums, 4)",
  "array_has_any(nums, [1, 8])",
  "array_has_all(nums, [2, 4])",
  "array_has(nums, 0)",
  "array_has_any(nums, [1.0, 3])",
  "array_has_any(nums, [1.5])",
  "array_has_any(nums, ['7'])",
  "array_contains(nums, -1)",
];

let cleanup: () => void;
let plain: stowage.Table;
let indexed: stowage.Table;
let ref: reference.Table;

beforeAll(async () => {
  const t = tempDir();
  cleanup = t.cleanup;
  const db = await stowage.connect(`${t.dir}/ours`);
  const rdb = await reference.connect(`${t.dir}/ref`);
  plain = await db.createTable("plain", rows(0, 200), { schema });
  indexed = await db.createTable("indexed", rows(0, 200), { schema });
  ref = await rdb.createTable("t", rows(0, 200), { schema });
  await indexed.createIndex("tags", { config: stowage.Index.labelList() });
  await indexed.createIndex("nums", { config: stowage.Index.labelList() });
  // Rows after the build: not covered, scanned.
  for (const x of [plain, indexed, ref]) await x.add(rows(200, 260));
});
afterAll(() => cleanup());

const ids = (rs: unknown[]) => rs.map((r) => Number((r as { id: number }).id)).sort((a, b) => a - b);

async function compare(f: string): Promise<number[]> {
  const want = ids(await ref.query().where(f).select(["id"]).toArray());
  expect(ids(await plain.query().where(f).select(["id"]).toArray())).toEqual(want);
  expect(ids(await indexed.query().where(f).select(["id"]).toArray())).toEqual(want);
  expect(await indexed.countRows(f)).toBe(want.length);
  return want;
}

test("listed, with stats, as the reference lists them", async () => {
  const li = await indexed.listIndices();
  expect(li.map((i) => [i.name, i.indexType, i.columns]).sort()).toEqual([
    ["nums_idx", "LabelList", ["nums"]],
    ["tags_idx", "LabelList", ["tags"]],
  ]);
  expect(await indexed.indexStats("tags_idx")).toMatchObject({ numIndexedRows: 200, numUnindexedRows: 60, indexType: "LABEL_LIST", numIndices: 1 });
  await indexed.prewarmIndex("tags_idx");
});

test.each(filters)("same rows as the reference, with and without the index: %s", async (f) => {
  await compare(f);
});

test("the filters above really select something", async () => {
  expect((await compare("array_has_any(tags, ['red', 'blue'])")).length).toBeGreaterThan(20);
  expect((await compare("array_has_all(tags, ['red', 'blue'])")).length).toBeGreaterThan(0);
  expect((await compare("array_has_all(nums, [2, 4])")).length).toBeGreaterThan(0);
});

test("explainPlan names the label list index", async () => {
  expect(await indexed.query().where("array_has_any(tags, ['red'])").explainPlan()).toMatch(/tags_idx/);
});

test("bad uses are coded errors naming the column and type", async () => {
  await expectCode(indexed.createIndex("id", { config: stowage.Index.labelList() }), "INVALID_ARGUMENT", /LABEL_LIST.*'id' has type Int32/);
  await expectCode(indexed.query().where("array_has_any(id, [1])").toArray(), "INVALID_FILTER", /list column.*Int32/);
  await expectCode(indexed.query().where("array_has(tags, 1)").toArray(), "INVALID_FILTER", /Utf8/);
  await expectCode(indexed.query().where("array_has_any(tags, 'red')").toArray(), "INVALID_FILTER", /list of constants/);
});

test("delete through the index, then optimize: same rows as the reference", async () => {
  for (const x of [plain, indexed, ref]) await x.delete("array_has_all(tags, ['red', 'green'])");
  for (const f of filters.slice(0, 4)) await compare(f);
  await indexed.optimize();
  expect(await indexed.indexStats("tags_idx")).toMatchObject({ numUnindexedRows: 0, numIndices: 1 });
  for (const f of filters) await compare(f);
  await indexed.dropIndex("nums_idx");
  expect((await indexed.listIndices()).map((i) => i.name)).toEqual(["tags_idx"]);
  await compare("array_has_all(nums, [2, 4])");
});
