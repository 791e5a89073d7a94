// Cold reads on S3 (moto) in few requests (issue 14, point 4), counted by a recording proxy on
// 127.0.0.1: a first vector search reads the footer and the data once, a repeat on an unchanged
// table reads nothing (or only the version check with readConsistencyInterval 0), a filtered
// query's rows are fetched in one coalesced read, and prewarmData() loads columns so that a scan of
// them makes no request. Request counts are deterministic (no timing is asserted); every result is
// compared with the same query on a connection without caches and without the proxy.
import { Field, FixedSizeList, Float32, Int32, Schema, Table as ArrowTable, Utf8, makeData, makeVector, vectorFromArray, RecordBatch, Struct } from "apache-arrow";
import * as lancedb from "../lib";
import { recordingProxy, s3Options, uniq, TestServer } from "./helpers/cloud";
import { emulatorsForSuite, s3CreateBucket } from "./helpers/emulators";
import { expectCode } from "./helpers/tmp";

jest.setTimeout(120_000);

const emu = emulatorsForSuite(["s3"]);
const DIM = 128;
// 16,000 rows x 128-d (8 MB of vectors) cut into several row groups by a 5 MiB upload part.
const ROWS = 16_000;

function data(n: number): ArrowTable {
  let s = 11;
  const rand = () => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32;
  const ids = new Int32Array(n);
  const names: string[] = [];
  const values = new Float32Array(n * DIM);
  for (let i = 0; i < n; i++) {
    ids[i] = i;
    names.push(`item-${i % 100}`);
  }
  for (let i = 0; i < values.length; i++) values[i] = rand() * 2 - 1;
  const vecType = new FixedSizeList(DIM, new Field("item", new Float32(), true));
  const vec = makeData({ type: vecType, length: n, nullCount: 0, child: makeData({ type: new Float32(), length: n * DIM, data: values }) });
  const schema = new Schema([new Field("id", new Int32(), true), new Field("name", new Utf8(), true), new Field("vector", vecType, true)]);
  const struct = makeData({ type: new Struct(schema.fields), length: n, nullCount: 0, children: [makeVector(ids).data[0], vectorFromArray(names, new Utf8()).data[0], vec] });
  return new ArrowTable(schema, new RecordBatch(schema, struct));
}

const plain = (rows: unknown[]) => JSON.parse(JSON.stringify(rows.map((r) => (r as { toJSON(): unknown }).toJSON())));
const query = new Float32Array(DIM).fill(0.1);

let bucket = "";
let proxy: TestServer;
// A column cache of its own per connection (caches are shared by connections of the same size).
let cacheSize = 256 * 2 ** 20;

beforeAll(async () => {
  bucket = uniq("cold");
  await s3CreateBucket(emu.s3!, bucket);
  proxy = await recordingProxy(emu.s3!.endpoint);
});
afterAll(() => proxy?.close());

/** A new table (new data files: nothing of it cached in this process) and the reference answers. */
async function fresh(name: string): Promise<lancedb.Table> {
  const w = await lancedb.connect(`s3://${bucket}/db`, { storageOptions: s3Options(emu.s3!, { uploadPartSize: 5 * 2 ** 20, columnCacheSize: 0 }) });
  return w.createTable(name, data(ROWS));
}

async function reader(name: string, extra: Record<string, unknown> = {}, readConsistencyInterval?: number): Promise<lancedb.Table> {
  const db = await lancedb.connect(`s3://${bucket}/db`, {
    storageOptions: s3Options(emu.s3!, { endpoint: proxy.url, columnCacheSize: ++cacheSize, ...extra }),
    readConsistencyInterval,
  });
  return db.openTable(name);
}

/** The requests `fn` makes through the proxy, and its result. */
async function counted<T>(fn: () => Promise<T>): Promise<{ n: number; gets: string[]; result: T }> {
  const before = proxy.seen.length;
  const result = await fn();
  const seen = proxy.seen.slice(before);
  return { n: seen.length, gets: seen.map((r) => `${r.method} ${r.url} ${r.headers.range ?? ""}`), result };
}

describe("cold reads on S3 in few requests", () => {
  test("a first vector search reads the footer and the data once; a repeat reads nothing", async () => {
    const src = await fresh("search");
    const t = await reader("search");
    const first = await counted(() => t.search(query).limit(10).toArray());
    // Computed after: the footers this process reads are cached process-wide.
    const expected = plain(await src.search(query).limit(10).toArray());
    // One footer GET and one coalesced GET of the data (the vector column, with the small columns
    // between its chunks decoded on the way: the winners' id and name need no further request).
    expect(first.n).toBeLessThanOrEqual(2);
    expect(plain(first.result)).toEqual(expected);
    const again = await counted(() => t.search(query).limit(10).toArray());
    expect(again.n).toBe(0);
    expect(plain(again.result)).toEqual(expected);
  });

  test("a filtered query's rows come in one coalesced read over all row groups; a repeat reads nothing", async () => {
    const src = await fresh("filter");
    const t = await reader("filter");
    // Rows from every row group: one read of their pages for all of them, not one per row group.
    const sql = "id % 80 = 0";
    const first = await counted(() => t.query().where(sql).limit(200).toArray());
    const expected = plain(await src.query().where(sql).limit(200).toArray());
    expect(expected.length).toBe(200);
    expect(plain(first.result)).toEqual(expected);
    // The footer, the id chunk of each row group (apart: the vectors lie between them), one read of
    // the rows' pages of the output columns.
    const idReads = await counted(() => reader("filter").then((r) => r.query().where(sql).select(["id"]).limit(200).toArray()));
    expect(first.n).toBeLessThanOrEqual(idReads.n + 2);
    expect(first.n).toBeLessThanOrEqual(5);
    const again = await counted(() => t.query().where(sql).limit(200).toArray());
    expect(again.n).toBe(0);
    expect(plain(again.result)).toEqual(expected);
  });

  test("readConsistencyInterval: a repeat within the interval makes no request, with 0 only the version check", async () => {
    const src = await fresh("rci");
    const expected = plain(await src.search(query).limit(5).toArray());
    const within = await reader("rci", {}, 3600);
    await within.search(query).limit(5).toArray();
    const a = await counted(() => within.search(query).limit(5).toArray());
    expect(a.n).toBe(0);
    expect(plain(a.result)).toEqual(expected);
    const strong = await reader("rci", {}, 0);
    await strong.search(query).limit(5).toArray();
    const b = await counted(() => strong.search(query).limit(5).toArray());
    expect(b.n).toBeLessThanOrEqual(1);
    expect(b.gets.every((g) => !g.includes(".parquet"))).toBe(true);
    expect(plain(b.result)).toEqual(expected);
    // The check does see another writer's version.
    await src.add([{ id: -1, name: "new", vector: Array.from(query) }]);
    expect(await strong.countRows()).toBe(ROWS + 1);
  });

  test("prewarmData loads columns natively: a scan of them then makes no request", async () => {
    const src = await fresh("warm");
    const t = await reader("warm");
    const warm = await counted(() => t.prewarmData(["id", "name"]));
    expect(warm.n).toBeGreaterThan(0);
    const scan = await counted(() => t.query().select(["id", "name"]).toArray());
    expect(scan.n).toBe(0);
    expect(plain(scan.result)).toEqual(plain(await src.query().select(["id", "name"]).toArray()));
    // All columns.
    const all = await reader("warm");
    await all.prewarmData();
    const full = await counted(() => all.query().toArrow());
    expect(full.n).toBe(0);
    expect(full.result.numRows).toBe(ROWS);
    await expectCode(all.prewarmData(["nope"]), "INVALID_ARGUMENT", /nope/);
  });

  test("a first IVF-PQ search reads the probed partitions and a few rows, not the vector column; a repeat reads nothing", async () => {
    // Laid out like bench/cold.mjs: 64,000 x 128-d (a 33 MB vector column in several row groups
    // of 128-row pages), so the few rows given an exact distance lie far apart (more than the
    // reader's 1 MiB read-through gap) and are fetched as pages, not as the column.
    const rows = 64_000;
    const w = await lancedb.connect(`s3://${bucket}/db`, { storageOptions: s3Options(emu.s3!, { columnCacheSize: 0 }) });
    const src = await w.createTable("ivfpq", data(rows));
    await src.createIndex("vector", { config: lancedb.Index.ivfPq({ numPartitions: 100, numSubVectors: 16 }) });
    let s = 5;
    const rand = () => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32;
    const column = rows * DIM * 4;
    // Index objects and rows read by position are cached process-wide, so the writer searches
    // only after the counted first search; each case has a query of its own (nothing of it cached).
    const t = await reader("ivfpq");
    for (const select of [["id"], undefined]) {
      const q = Array.from({ length: DIM }, () => rand() * 2 - 1);
      const search = () => (select ? t.search(q).select(select) : t.search(q)).limit(10).toArray();
      const first = await counted(search);
      const expected = plain(await (select ? src.search(q).select(select) : src.search(q)).limit(10).toArray());
      expect(plain(first.result)).toEqual(expected);
      expect(first.result).toHaveLength(10);
      // The target: at most nprobes (20) + 3 requests.
      expect(first.n).toBeLessThanOrEqual(20 + 3);
      const seen = proxy.seen.slice(proxy.seen.length - first.n);
      const bytes = (part: string) => seen.filter((r) => r.url.includes(part)).reduce((n, r) => n + (r.bytes ?? 0), 0);
      // Re-ranking reads the 8-bit copies inside the probed partitions, then the best rows'
      // pages from the data file once: their vectors and the result columns in one planned read
      // (a quarter of the column at most; 2.4 MB here). The probed partitions, coalesced across
      // the store's 1 MiB gaps, are most of the rest.
      expect(bytes(".parquet")).toBeGreaterThan(0);
      expect(bytes(".parquet")).toBeLessThan(column / 4);
      expect(bytes("partitions.bin")).toBeGreaterThan(0);
      expect(seen.reduce((n, r) => n + (r.bytes ?? 0), 0)).toBeLessThan(column / 2);
      // No byte of the data file is read twice (the result rows come from the exact step's read).
      const ranges = seen
        .filter((r) => r.url.includes(".parquet"))
        .map((r) => /bytes=(\d+)-(\d+)/.exec(String(r.headers.range ?? "")))
        .map((m) => [Number(m?.[1] ?? 0), Number(m?.[2] ?? Infinity)])
        .sort((a, b) => a[0] - b[0]);
      for (let i = 1; i < ranges.length; i++) expect(ranges[i][0]).toBeGreaterThan(ranges[i - 1][1]);
      const again = await counted(search);
      expect(again.n).toBeLessThanOrEqual(1);
      expect(plain(again.result)).toEqual(expected);
    }
  });

  test("prewarmData says so when the columns do not fit the column cache", async () => {
    await fresh("small");
    const t = await reader("small", { columnCacheSize: 2 * 2 ** 20 + 7 });
    await expectCode(t.prewarmData(), "INVALID_ARGUMENT", /columnCacheSize/);
    // What fits is fine.
    await t.prewarmData(["id"]);
    const off = await reader("small", { columnCacheSize: 0 });
    await expectCode(off.prewarmData(["id"]), "INVALID_ARGUMENT", /columnCacheSize is 0/);
  });
});
