// Filtered scans that skip row groups by their Parquet statistics and stop
// reading once `limit` rows passed: the rows must be exactly those of a
// full, unpruned evaluation (computed here from the input) and those of
// @lancedb/lancedb 0.31.0 on the same data. The table is large enough
// (128-d vectors, 5 MiB upload parts) for its data file to hold several row
// groups, so filters fall on row-group boundaries, inside groups and past
// the last one.
import * as reference from "@lancedb/lancedb";
import * as stowage from "../lib";
import { tempDir } from "./helpers/tmp";

const ROWS = 40000;
const DIM = 128;

type Row = { id: number | null; k: number; x: number; vector: number[] };

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

const rand = rng(11);
const rows: Row[] = Array.from({ length: ROWS }, (_, i) => ({
  // Ascending ids with a NULL every 997 rows; `k` descends; `x` has NaNs.
  id: i % 997 === 5 ? null : i,
  k: ROWS - i,
  x: i % 501 === 7 ? NaN : rand(),
  vector: Array.from({ length: DIM }, () => rand() * 2 - 1),
}));

/** The oracle: every row evaluated, in stored order, then offset/limit. */
function expected(pass: (r: Row) => boolean, limit?: number, offset = 0, live: (r: Row) => boolean = () => true): (number | null)[] {
  const hits = rows.filter((r) => live(r) && pass(r)).map((r) => r.id);
  return hits.slice(offset, limit === undefined ? undefined : offset + limit);
}

const num = (r: Row) => r.id !== null;
const cases: [string, (r: Row) => boolean, number | undefined, number][] = [
  ["id > 20000", (r) => num(r) && r.id! > 20000, 100, 0],
  ["id >= 10000", (r) => num(r) && r.id! >= 10000, 50, 0],
  ["id > 5000", (r) => num(r) && r.id! > 5000, 100, 20000],
  ["id < 100", (r) => num(r) && r.id! < 100, 5, 3],
  ["id = 32767", (r) => r.id === 32767, 10, 0],
  ["id = 0", (r) => r.id === 0, undefined, 0],
  ["id BETWEEN 9990 AND 10010", (r) => num(r) && r.id! >= 9990 && r.id! <= 10010, undefined, 0],
  ["id > 39990", (r) => num(r) && r.id! > 39990, undefined, 0],
  ["id > 40000", (r) => num(r) && r.id! > 40000, 10, 0],
  ["id < 0", (r) => num(r) && r.id! < 0, undefined, 0],
  ["id > 10000 AND id < 10003", (r) => num(r) && r.id! > 10000 && r.id! < 10003, 10, 0],
  ["id > 100 AND k > 30000", (r) => num(r) && r.id! > 100 && r.k > 30000, 20, 9000],
  ["k <= 5 AND id IS NOT NULL", (r) => r.k <= 5 && num(r), undefined, 0],
  ["id > 30000 OR id < 3", (r) => num(r) && (r.id! > 30000 || r.id! < 3), 10, 0],
  ["id IS NULL", (r) => r.id === null, 5, 2],
  ["x > 0.999", (r) => Number.isNaN(r.x) || r.x > 0.999, 30, 0],
  ["id != 5", (r) => num(r) && r.id !== 5, 3, 19998],
  ["id > 35000.5", (r) => num(r) && r.id! > 35000.5, 10, 0],
];

let cleanup: () => void;
let ref: reference.Table;
let cold: stowage.Table;
let warm: stowage.Table;

async function ids(t: reference.Table | stowage.Table, where: string, limit?: number, offset = 0): Promise<(number | null)[]> {
  let q = t.query().where(where).select(["id"]);
  if (limit !== undefined) q = q.limit(limit);
  else q = q.limit(ROWS + 1);
  if (offset) q = q.offset(offset);
  return (await q.toArray()).map((r) => (r.id === null || r.id === undefined ? null : Number(r.id)));
}

beforeAll(async () => {
  const t = tempDir();
  cleanup = t.cleanup;
  const rdb = await reference.connect(`${t.dir}/ref`);
  ref = await rdb.createTable("t", rows);
  const sdb = await stowage.connect(`${t.dir}/ours`, { storageOptions: { uploadPartSize: "5MiB" } });
  await sdb.createTable("t", rows);
  // Without a column cache (every read decodes from the file) and with
  // the default one (cold, then warm after the first queries).
  cold = await (await stowage.connect(`${t.dir}/ours`, { storageOptions: { columnCacheSize: 0 } })).openTable("t");
  warm = await (await stowage.connect(`${t.dir}/ours`)).openTable("t");
}, 120_000);

afterAll(() => cleanup?.());

test.each(cases)("%s: the rows of a full evaluation and of the reference", async (where, pass, limit, offset) => {
  const want = expected(pass, limit, offset);
  expect(await ids(cold, where, limit, offset)).toEqual(want);
  expect(await ids(warm, where, limit, offset)).toEqual(want);
  expect(await ids(warm, where, limit, offset)).toEqual(want);
  expect(await ids(ref, where, limit, offset)).toEqual(want);
});

test("countRows with a filter agrees with the pruned scans", async () => {
  for (const [where, pass] of cases) {
    expect(await cold.countRows(where)).toBe(expected(pass).length);
  }
});

test("the rows a limited filter returns carry every column intact", async () => {
  const got = await cold.query().where("id >= 16000").limit(3).offset(1).toArray();
  const want = rows.filter((r) => r.id !== null && r.id >= 16000).slice(1, 4);
  expect(got.map((r) => Number(r.id))).toEqual(want.map((r) => r.id));
  for (let i = 0; i < got.length; i++) {
    expect(Number(got[i].k)).toBe(want[i].k);
    expect(Array.from(got[i].vector as Float32Array)).toEqual(want[i].vector.map((v) => Math.fround(v)));
  }
});

test("deleted rows stay deleted across pruned row groups", async () => {
  const doomed = (r: Row) => r.id !== null && ((r.id >= 20000 && r.id < 20100) || r.id % 1000 === 1);
  const sql = "(id >= 20000 AND id < 20100) OR id % 1000 = 1";
  await ref.delete(sql);
  const sdb = warm;
  await sdb.delete(sql);
  await cold.checkoutLatest();
  const live = (r: Row) => !doomed(r);
  const after: [string, (r: Row) => boolean, number | undefined, number][] = [
    ["id >= 19990", (r) => num(r) && r.id! >= 19990, 50, 0],
    ["id > 5000", (r) => num(r) && r.id! > 5000, 100, 14990],
    ["id BETWEEN 20000 AND 20099", (r) => num(r) && r.id! >= 20000 && r.id! <= 20099, undefined, 0],
    ["id = 39001", (r) => r.id === 39001, undefined, 0],
  ];
  for (const [where, pass, limit, offset] of after) {
    const want = expected(pass, limit, offset, live);
    expect(await ids(cold, where, limit, offset)).toEqual(want);
    expect(await ids(warm, where, limit, offset)).toEqual(want);
    expect(await ids(ref, where, limit, offset)).toEqual(want);
  }
});
