// SPDX-License-Identifier: Apache-2.0
//
// Issue 11, remaining gaps: orderBy on vector and full-text searches,
// mergeInsert's numAttempts, timeoutMs cancelling the native read, and
// search(text) deciding embedding vs full-text when the query runs. Where
// behaviour should match, both packages run the same code.

import * as ref from "@lancedb/lancedb";
import * as ours from "../lib";
import { s3Options, uniq } from "./helpers/cloud";
import { s3CreateBucket, useEmulators } from "./helpers/emulators";
import type { S3Endpoint } from "./helpers/emulators";
import { faultProxy } from "./helpers/faultproxy";
import { expectCode, tempDir } from "./helpers/tmp";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;
type Pkg = typeof ref | typeof ours;

const dirs: (() => void)[] = [];
afterAll(() => dirs.forEach((c) => c()));
function dir(): string {
  const d = tempDir("stowage-gaps-");
  dirs.push(d.cleanup);
  return d.dir;
}

/** What a user compares: the rows' values, numbers rounded. */
function rows(list: Any[]): unknown[] {
  return list.map((r) =>
    Object.fromEntries(
      Object.entries(r)
        .filter(([k]) => k !== "vector")
        .map(([k, v]) => [k, typeof v === "number" ? Math.round(v * 1e4) / 1e4 : typeof v === "bigint" ? Number(v) : v]),
    ),
  );
}

// Distances to [5.3, 0] are all distinct, so the nearest k rows are one set
// in both packages; `g` and `s` have ties, broken by a second key.
const DATA = Array.from({ length: 20 }, (_, i) => ({
  id: i,
  g: i % 3,
  s: i % 4 === 1 ? null : `t${i % 5}`,
  text: `${"cat ".repeat((i % 4) + 1)}${i % 2 ? "sits" : "dog runs far away"}`,
  vector: [i, 0],
}));
const Q = [5.3, 0];

async function bothTables(): Promise<[Any, Any]> {
  const r = await (await ref.connect(dir())).createTable("t", DATA);
  const o = await (await ours.connect(dir())).createTable("t", DATA);
  await r.createIndex("text", { config: ref.Index.fts() });
  await o.createIndex("text", { config: ours.Index.fts() });
  return [r, o];
}

describe("orderBy on searches (as the reference)", () => {
  let r: Any;
  let o: Any;
  beforeAll(async () => {
    [r, o] = await bothTables();
  }, 60000);

  const vectorCases: [string, (t: Any) => Any][] = [
    ["one key, descending", (t) => t.search(Q).limit(6).orderBy([{ columnName: "g", ascending: false }, { columnName: "id" }])],
    ["two keys", (t) => t.search(Q).limit(6).orderBy([{ columnName: "g" }, { columnName: "id", ascending: false }])],
    ["offset after the sort", (t) => t.search(Q).limit(4).offset(2).orderBy({ columnName: "id" })],
    ["nulls first", (t) => t.search(Q).limit(6).orderBy([{ columnName: "s", nullsFirst: true }, { columnName: "id" }])],
    ["nulls last (default)", (t) => t.search(Q).limit(6).orderBy([{ columnName: "s" }, { columnName: "id" }])],
    ["with a prefilter", (t) => t.search(Q).where("id > 3").limit(5).orderBy({ columnName: "id", ascending: false })],
    ["with a postfilter", (t) => t.search(Q).where("id > 3").postfilter().limit(5).orderBy({ columnName: "id", ascending: false })],
    ["sort column not selected", (t) => t.search(Q).select(["id"]).limit(5).orderBy([{ columnName: "g" }, { columnName: "id" }])],
    ["default limit 10", (t) => t.search(Q).orderBy({ columnName: "id", ascending: false })],
    ["withRowId", (t) => t.search(Q).select(["id"]).withRowId().limit(3).orderBy({ columnName: "id" })],
  ];
  test.each(vectorCases)("vector search: %s", async (_name, build) => {
    const want = rows(await build(r).toArray());
    const got = rows(await build(o).toArray());
    expect(got).toEqual(want);
    expect(got.length).toBeGreaterThan(0);
  });

  test("vector search: a missing sort column fails in both; ours is coded and names it", async () => {
    await expect(r.search(Q).limit(3).orderBy({ columnName: "nope" }).toArray()).rejects.toThrow(/nope/);
    await expectCode(o.search(Q).limit(3).orderBy({ columnName: "nope" }).toArray(), "INVALID_ARGUMENT", /nope/);
  });

  test("vector search: _distance as a sort key (the reference refuses it; ours sorts by it)", async () => {
    await expect(r.search(Q).limit(4).orderBy({ columnName: "_distance", ascending: false }).toArray()).rejects.toThrow(/_distance/);
    const got = await o.search(Q).limit(4).orderBy({ columnName: "_distance", ascending: false }).toArray();
    expect(got.map((x: Any) => x.id)).toEqual([7, 4, 6, 5]);
  });

  const ftsCases: [string, (t: Any) => Any][] = [
    ["search(text, 'fts')", (t) => t.search("cat", "fts").limit(20).orderBy({ columnName: "id", ascending: false })],
    ["query().fullTextSearch", (t) => t.query().fullTextSearch("dog").limit(20).orderBy([{ columnName: "g" }, { columnName: "id" }])],
    ["with where and select", (t) => t.search("sits", "fts").where("id < 15").select(["id", "g"]).limit(20).orderBy({ columnName: "g", ascending: false, nullsFirst: false }).orderBy([{ columnName: "g", ascending: false }, { columnName: "id" }])],
  ];
  test.each(ftsCases)("full-text search: %s", async (_name, build) => {
    const want = rows(await build(r).toArray());
    const got = rows(await build(o).toArray());
    expect(got).toEqual(want);
    expect(got.length).toBeGreaterThan(1);
  });

  test("full-text search: the top `limit` by score are sorted (not the whole match set)", async () => {
    // "cat" repeated 4 times scores best: ids 3, 7, 11, 15, 19.
    const build = (t: Any): Any => t.search("cat", "fts").limit(5).orderBy({ columnName: "id" });
    const want = rows(await build(r).toArray());
    const got = rows(await build(o).toArray());
    expect(got.map((x: Any) => x.id)).toEqual([3, 7, 11, 15, 19]);
    expect(got).toEqual(want);
  });

  test("full-text search: offset with orderBy", async () => {
    // The top limit + offset = 5 are the five best (one set in both packages).
    const build = (t: Any): Any => t.search("cat", "fts").limit(3).offset(2).orderBy({ columnName: "id", ascending: false });
    const want = rows(await build(r).toArray());
    expect(rows(await build(o).toArray())).toEqual(want);
    expect(want.map((x: Any) => x.id)).toEqual([11, 7, 3]);
  });

  test("where() called twice combines the predicates with AND", async () => {
    for (const build of [(t: Any) => t.query().where("id > 3").where("id < 6"), (t: Any) => t.search(Q).where("id > 3").filter("id < 6")]) {
      const want = rows(await build(r).toArray());
      expect(rows(await build(o).toArray())).toEqual(want);
      expect(want.length).toBe(2);
    }
  });

  test("hybrid search with orderBy is refused with NOT_SUPPORTED", async () => {
    await expectCode(o.query().nearestTo(Q).fullTextSearch("cat").orderBy({ columnName: "id" }).toArray(), "NOT_SUPPORTED", /orderBy/);
  });
});

describe("mergeInsert numAttempts", () => {
  const upsert = (t: Any, data: Record<string, number>[]): Promise<Any> => t.mergeInsert("id").whenMatchedUpdateAll().whenNotMatchedInsertAll().execute(data);
  async function sorted(pkg: Any, d: string): Promise<number[][]> {
    const t = await (await pkg.connect(d)).openTable("t");
    return (await t.query().toArray()).map((x: Any) => [Number(x.id), Number(x.v)]).sort((x: number[], y: number[]) => x[0] - y[0]);
  }

  test.each([["@lancedb/lancedb", ref as Pkg], ["stowage", ours as Pkg]])(
    "%s: 1 without a concurrent writer; 2 when a stale handle's merge updates a row another merge rewrote",
    async (_name, pkg) => {
      const d = dir();
      const a = await (await (pkg as Any).connect(d)).createTable("t", [{ id: 1, v: 1 }]);
      const b = await (await (pkg as Any).connect(d)).openTable("t");
      const first = await upsert(a, [{ id: 1, v: 5 }, { id: 2, v: 2 }]);
      expect(first.numAttempts).toBe(1);
      // b's handle still knows the version before a's merge: its commit
      // loses the race, the merge is planned again on the new version and
      // commits on the second attempt.
      const second = await upsert(b, [{ id: 1, v: 10 }, { id: 3, v: 3 }]);
      expect(second.numAttempts).toBe(2);
      expect([second.numUpdatedRows, second.numInsertedRows]).toEqual([1, 1]);
      expect(await sorted(pkg, d)).toEqual([[1, 10], [2, 2], [3, 3]]);
    },
  );

  test("stowage counts every commit attempt, also a lost race settled by rebasing (the reference counts re-executions only)", async () => {
    const d = dir();
    const a = await (await ours.connect(d)).createTable("t", [{ id: 1, v: 1 }]);
    const b = await (await ours.connect(d)).openTable("t");
    await a.add([{ id: 2, v: 2 }]);
    const r = await upsert(b, [{ id: 3, v: 3 }]);
    expect(r.numAttempts).toBe(2);
    expect(await sorted(ours, d)).toEqual([[1, 1], [2, 2], [3, 3]]);
  });
});

describe("search(text) decides embedding or full-text when the query runs", () => {
  class Letters extends ours.embedding.TextEmbeddingFunction<Record<string, never>> {
    ndims(): number {
      return 3;
    }
    async generateEmbeddings(texts: string[]): Promise<number[][]> {
      const c = (t: string, ch: string): number => [...t].filter((x) => x === ch).length;
      return texts.map((t) => [c(t, "a"), c(t, "e"), c(t, "o")]);
    }
  }
  ours.embedding.register("letters-gaps")(Letters as Any);

  test("another connection adds an embedding function; checkout back to a version without one", async () => {
    const d = dir();
    const texts = ["banana", "apple tree", "orange", "avocado", "pear"];
    const db = await ours.connect(d, { readConsistencyInterval: 0 });
    const t = await db.createTable("t", texts.map((text, id) => ({ id, text, vector: [id, 0, 0] })));
    await t.createIndex("text", { config: ours.Index.fts() });
    const before = await t.version();
    const pending = t.search("pear").limit(2);
    expect((await t.search("pear").limit(2).toArray()).map((x: Any) => [x.id, "_score" in x])).toEqual([[4, true]]);

    // Another connection overwrites the table with an embedding function.
    const other = await ours.connect(d);
    const func = ours.embedding.getRegistry().get("letters-gaps")!.create();
    await other.createTable("t", texts.map((text, id) => ({ id, text })), {
      mode: "overwrite",
      embeddingFunction: { sourceColumn: "text", vectorColumn: "vector", function: func },
    });
    // The query built before the change, run now, embeds the text.
    const got = await pending.toArray();
    expect(got.every((x: Any) => "_distance" in x && !("_score" in x))).toBe(true);
    const exact = await t.vectorSearch(await func.computeQueryEmbeddings("pear")).limit(2).toArray();
    expect(got.map((x: Any) => x.id)).toEqual(exact.map((x: Any) => x.id));

    // Checked out at the first version (no embedding function): full-text again.
    await t.checkout(before);
    const old = await t.search("pear").limit(2).toArray();
    expect(old.map((x: Any) => [x.id, "_score" in x])).toEqual([[4, true]]);
    // A vector setting on a query that runs as full-text is an error, not ignored.
    await expectCode((t.search("pear") as Any).distanceType("cosine").toArray(), "INVALID_ARGUMENT", /full-text search.*distanceType/);
    await t.checkoutLatest();
    expect((await t.search("pear").limit(1).toArray())[0]._distance).toBeDefined();
  });

  test("queryType 'vector' on a table without an embedding function: NOT_SUPPORTED when run", async () => {
    const t = await (await ours.connect(dir())).createTable("t", [{ id: 1, text: "a", vector: [1, 2] }]);
    await expectCode(t.search("a", "vector").toArray(), "NOT_SUPPORTED", /no embedding function/);
  });
});

describe("timeoutMs cancels the native read", () => {
  let s3: S3Endpoint;
  let stop: () => Promise<void> = async () => undefined;
  beforeAll(async () => {
    const e = await useEmulators(["s3"]);
    s3 = e.endpoints.s3!;
    stop = e.stop;
  }, 120000);
  afterAll(async () => stop());

  async function slowTable(stallMs = 300): Promise<{ open: (cache?: string) => Promise<Any>; seen: () => number; close: () => Promise<void> }> {
    const bucket = uniq("timeout").toLowerCase();
    await s3CreateBucket(s3, bucket);
    const uri = `s3://${bucket}/db`;
    const w = await (await ours.connect(uri, { storageOptions: s3Options(s3) as never })).createTable("t", [{ id: 0, x: "a" }]);
    for (let f = 1; f < 12; f++) await w.add([{ id: f, x: "b".repeat(f) }]);
    // Reads of data files take 300 ms each through the proxy.
    const p = await faultProxy({ target: s3.endpoint, stallMs, decide: (r) => (stallMs > 0 && r.method === "GET" && /\/data\//.test(r.url) ? "stall" : null) });
    const dataGets = (): number => p.requests.filter((r) => r.method === "GET" && /\/data\//.test(r.url)).length;
    return {
      open: async (cache = "0") => (await ours.connect(uri, { storageOptions: s3Options(s3, { endpoint: p.url, columnCacheSize: cache }) as never })).openTable("t"),
      seen: dataGets,
      close: () => p.close(),
    };
  }

  async function noFurtherReads(seen: () => number): Promise<void> {
    // Give requests already on the wire a moment, then watch: a read that
    // went on would open the remaining files (12 files, 300 ms each).
    await new Promise((res) => setTimeout(res, 100));
    const atTimeout = seen();
    await new Promise((res) => setTimeout(res, 2000));
    expect(seen()).toBe(atTimeout);
    expect(atTimeout).toBeLessThan(12);
  }

  test("toArray({ timeoutMs }) rejects with STORAGE_TIMEOUT and reads no more files", async () => {
    const s = await slowTable();
    try {
      const t = await s.open();
      await expectCode(t.query().toArray({ timeoutMs: 400 }), "STORAGE_TIMEOUT", /timeoutMs=400/);
      expect(s.seen()).toBeGreaterThan(0);
      await noFurtherReads(s.seen);
      // The table stays usable.
      expect(await t.countRows()).toBe(12);
    } finally {
      await s.close();
    }
  }, 60000);

  test("iterating with timeoutMs stops the stream's read-ahead", async () => {
    const s = await slowTable();
    try {
      const t = await s.open();
      let batches = 0;
      const run = async (): Promise<void> => {
        for await (const _ of (t.query() as Any).executeBatches({ timeoutMs: 500 })) batches++;
      };
      await expectCode(run(), "STORAGE_TIMEOUT", /timeoutMs=500/);
      await noFurtherReads(s.seen);
      expect(batches).toBeLessThan(12);
    } finally {
      await s.close();
    }
  }, 60000);

  test("a streamed pass reads the column cache but does not fill it; toArray fills it", async () => {
    const s = await slowTable(0);
    try {
      const t = await s.open("64MiB");
      let n = 0;
      for await (const b of t.query()) n += b.numRows;
      expect(n).toBe(12);
      const afterStream = s.seen();
      expect(afterStream).toBeGreaterThan(0);
      expect(await t.query().toArray()).toHaveLength(12);
      const afterScan = s.seen();
      expect(afterScan).toBeGreaterThan(afterStream); // the stream left nothing cached
      expect(await t.query().toArray()).toHaveLength(12);
      for await (const b of t.query()) n += b.numRows;
      expect(n).toBe(24);
      expect(s.seen()).toBe(afterScan); // the scan cached every file; the stream used it
    } finally {
      await s.close();
    }
  }, 60000);
});
