// SQL filters and flat vector search, compared with @lancedb/lancedb 0.31.0
// on the same data: same rows, distances equal within float tolerance.
import * as reference from "@lancedb/lancedb";
import * as stowage from "../lib";
import { QUERY_SUITE_FILTERS, querySuiteRows } from "./helpers/filters";
import { expectCode, tempDir } from "./helpers/tmp";

const DIM = 8;
const { rows, rand } = querySuiteRows(DIM);

let cleanup: () => void;
let ref: reference.Table;
let ours: stowage.Table;

beforeAll(async () => {
  const t = tempDir();
  cleanup = t.cleanup;
  const rdb = await reference.connect(`${t.dir}/ref`);
  const sdb = await stowage.connect(`${t.dir}/ours`);
  // Three appends, so queries cross data files.
  ref = await rdb.createTable("t", rows.slice(0, 100));
  ours = await sdb.createTable("t", rows.slice(0, 100));
  for (const part of [rows.slice(100, 220), rows.slice(220)]) {
    await ref.add(part);
    await ours.add(part);
  }
});
afterAll(() => cleanup());

function ids(result: unknown[]): number[] {
  return result.map((r) => Number((r as { id: number }).id));
}

const filters = QUERY_SUITE_FILTERS;

describe("SQL filters match @lancedb/lancedb", () => {
  test.each(filters)("%s", async (f) => {
    const expected = ids(await ref.query().where(f).select(["id"]).toArray());
    const got = ids(await ours.query().where(f).select(["id"]).toArray());
    expect(got.sort((a, b) => a - b)).toEqual(expected.sort((a, b) => a - b));
    expect(await ours.countRows(f)).toBe(await ref.countRows(f));
  });

  test("filter with limit and offset keeps table order", async () => {
    const got = ids(await ours.query().filter("category = 'fruit'").limit(5).offset(3).toArray());
    expect(got).toEqual([9, 12, 15, 18, 21]);
  });

  test("withRowId adds _rowid", async () => {
    const r = await ours.query().where("id = 150").withRowId().toArray();
    expect(r).toHaveLength(1);
    // Fragment 1 (the first append), row 50 of it.
    expect(BigInt(r[0]._rowid)).toBe((1n << 32n) | 50n);
  });

  test("a bad filter is INVALID_FILTER pointing at the token", async () => {
    await expectCode(ours.query().where("id > > 3").toArray(), "INVALID_FILTER", /position 5 \('>'\)/);
    await expectCode(ours.countRows("nosuch = 1"), "INVALID_FILTER", /no column 'nosuch'/);
    await expectCode(ours.query().where("name = 'open").toArray(), "INVALID_FILTER", /unterminated/);
    await expectCode(ours.query().where("id = 1 AND").toArray(), "INVALID_FILTER", /ends early/);
  });
});

describe("flat vector search matches @lancedb/lancedb", () => {
  const queries = [0, 1, 2].map(() => Array.from({ length: DIM }, () => rand() * 2 - 1));
  test.each(["l2", "cosine", "dot"] as const)("%s", async (dt) => {
    for (const q of queries) {
      const expected = await (ref.search(q) as reference.VectorQuery).distanceType(dt).limit(15).toArray();
      const got = await ours.search(q).distanceType(dt).limit(15).toArray();
      expect(ids(got)).toEqual(ids(expected));
      got.forEach((r, i) => expect(r._distance).toBeCloseTo(expected[i]._distance, 4));
      expect(Object.keys(got[0].toJSON())).toEqual(Object.keys(expected[0].toJSON()));
    }
  });

  test("prefilter (default), postfilter, select, default limit, column", async () => {
    const q = queries[0];
    const pre = await ours.vectorSearch(q).where("category = 'veg'").select(["id", "category"]).limit(5).toArray();
    const refPre = await ref.vectorSearch(q).where("category = 'veg'").select(["id", "category"]).limit(5).toArray();
    expect(ids(pre)).toEqual(ids(refPre));
    expect(pre).toHaveLength(5);
    expect(Object.keys(pre[0].toJSON())).toEqual(["id", "category", "_distance"]);

    const post = await ours.query().nearestTo(q).postfilter().where("category = 'veg'").limit(5).toArray();
    const refPost = await ref.query().nearestTo(q).postfilter().where("category = 'veg'").limit(5).toArray();
    expect(ids(post)).toEqual(ids(refPost));

    expect(await ours.search(q).toArray()).toHaveLength(10);
    expect(ids(await ours.search(q).column("vector").bypassVectorIndex().limit(3).toArray())).toEqual(
      ids(await (ref.search(q) as reference.VectorQuery).column("vector").bypassVectorIndex().limit(3).toArray()),
    );
  });

  test("errors name the problem", async () => {
    await expectCode(ours.search([1, 2, 3]).toArray(), "INVALID_ARGUMENT", /dimension: 3/);
    await expectCode(ours.search(Array(DIM).fill(0)).column("name").toArray(), "INVALID_ARGUMENT", /not a vector column/);
    expect(() => ours.search(Array(DIM).fill(0)).distanceType("hamming" as never)).toThrow(/"l2", "cosine" or "dot"/);
  });
});

describe("select with SQL expressions", () => {
  test("{ alias: expression } computes columns, as in lancedb", async () => {
    const sel = { id: "id", double_price: "price * 2", tag: "category", big: "id > 150" };
    const expected = (await ref.query().where("id < 5").select(sel).toArray()).map((r) => r.toJSON());
    const got = (await ours.query().where("id < 5").select(sel).toArray()).map((r) => r.toJSON());
    expect(got.map((r) => Object.keys(r))).toEqual(expected.map((r) => Object.keys(r)));
    expect(got.map((r) => [Number(r.id), r.tag, r.big])).toEqual(expected.map((r) => [Number(r.id), r.tag, r.big]));
    got.forEach((r, i) => expect(r.double_price).toBeCloseTo(expected[i].double_price, 6));
    const viaMap = await ours.query().select(new Map([["x", "id + 1"]])).limit(2).toArray();
    expect(viaMap.map((r) => Number(r.x))).toEqual([1, 2]);
    await expectCode(ours.query().select({ bad: "nosuch + 1" }).toArray(), "INVALID_FILTER", /no column 'nosuch'/);
  });
});
