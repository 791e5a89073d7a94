// The synchronous vector-search path (lib/fastsearch.ts, src/query/fast.rs):
// a search whose index and columns are in memory is answered on the
// JavaScript thread, anything needing I/O falls back to the async path. Both
// must give the same table (rows, _distance, schema), and the same rows as
// exact search where they overlap; the native counters show which path ran,
// so the fast path cannot silently stop being taken. No timing here.
import type { Table as ArrowTable } from "apache-arrow";
import * as stowage from "../lib";
import { native } from "../lib/native";
import { placeUri } from "./helpers/tmp";

jest.setTimeout(120_000);

const DIM = 16;
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) + 0.5) / 2 ** 32;
}
const r = rng(11);
const gauss = (): number => Math.sqrt(-2 * Math.log(r())) * Math.cos(2 * Math.PI * r());
const centers = Array.from({ length: 10 }, () => Array.from({ length: DIM }, () => gauss() * 4));
const point = (): number[] => centers[Math.floor(r() * centers.length)].map((m) => m + gauss());
const rows = Array.from({ length: 3000 }, (_, i) => ({ id: i, tag: i % 3 === 0 ? "a" : "b", maybe: i % 4 === 1 ? null : i * 0.5, vector: point() }));
const queries = Array.from({ length: 8 }, point);

type Build = (t: stowage.Table) => stowage.VectorQuery;
type Stats = { hits: number; misses: number };
const stats = (): Stats => native.fastSearchStats();

/** The query's result through the async path only. */
async function slow(t: stowage.Table, build: Build): Promise<ArrowTable> {
  process.env.STOWAGE_SYNC_SEARCH = "0";
  try {
    return await build(t).toArrow();
  } finally {
    delete process.env.STOWAGE_SYNC_SEARCH;
  }
}

/** The query's result with the synchronous attempt, and which path answered. */
async function fast(t: stowage.Table, build: Build): Promise<{ table: ArrowTable; path: "sync" | "async" }> {
  const before = stats();
  const table = await build(t).toArrow();
  const after = stats();
  expect(after.hits - before.hits + (after.misses - before.misses)).toBe(1);
  return { table, path: after.hits > before.hits ? "sync" : "async" };
}

function plain(table: ArrowTable): unknown[] {
  return table.toArray().map((row) => {
    const o = row.toJSON() as Record<string, unknown>;
    for (const [k, v] of Object.entries(o)) {
      if (v && typeof v === "object" && "toArray" in (v as object)) o[k] = Array.from((v as { toArray(): ArrayLike<number> }).toArray());
    }
    return o;
  });
}

function schemaOf(table: ArrowTable): unknown {
  return {
    fields: table.schema.fields.map((f) => ({ name: f.name, type: String(f.type), nullable: f.nullable, metadata: [...f.metadata] })),
    metadata: [...table.schema.metadata],
  };
}

/** Runs `build` both ways; the same table; returns the fast path's result and path. */
async function same(t: stowage.Table, build: Build): Promise<{ rows: Record<string, unknown>[]; path: "sync" | "async" }> {
  const want = await slow(t, build);
  const got = await fast(t, build);
  expect(schemaOf(got.table)).toEqual(schemaOf(want));
  expect(plain(got.table)).toEqual(plain(want));
  return { rows: plain(got.table) as Record<string, unknown>[], path: got.path };
}

/** Every row both return has the same _distance as exact search; most rows are shared. */
async function likeExact(t: stowage.Table, q: number[], got: Record<string, unknown>[], where?: string): Promise<void> {
  let e = t.search(q).limit(40).bypassVectorIndex();
  if (where) e = e.where(where);
  const exact = new Map((await e.toArray()).map((x) => [x.id as number, x._distance as number]));
  let shared = 0;
  for (const g of got) {
    const d = exact.get(g.id as number);
    if (d === undefined) continue;
    shared += 1;
    expect(g._distance as number).toBeCloseTo(d, 4);
  }
  expect(shared).toBeGreaterThanOrEqual(Math.ceil(got.length * 0.8));
}

describe.each([
  ["local directory", "hnswSq"],
  ["memory", "hnswSq"],
  ["local directory", "ivfPq"],
  ["memory", "ivfPq"],
] as const)("%s, %s", (where, kind) => {
  let t: stowage.Table;
  let cleanup = (): void => undefined;
  afterAll(() => cleanup());
  beforeAll(async () => {
    const place = placeUri(where);
    cleanup = place.cleanup;
    const db = await stowage.connect(place.uri);
    t = await db.createTable("t", rows);
    const config = kind === "hnswSq" ? stowage.Index.hnswSq() : stowage.Index.ivfPq({ numPartitions: 8, numSubVectors: 4 });
    await t.createIndex("vector", { config });
  });

  test("a cold search falls back to the async path; warm ones are answered synchronously, identically", async () => {
    const q = queries[0];
    const build: Build = (x) => x.search(q).limit(10);
    // Nothing of this table is cached yet: the attempt needs I/O.
    const cold = await fast(t, build);
    expect(cold.path).toBe("async");
    const warm = await same(t, build);
    expect(warm.path).toBe("sync");
    expect(plain(cold.table)).toEqual(warm.rows);
    await likeExact(t, q, warm.rows);
    for (const q2 of queries.slice(1)) {
      const ids = await same(t, (x) => x.search(q2).limit(10).select(["id"]));
      expect(ids.path).toBe("sync");
      expect(ids.rows.map((x) => Object.keys(x))).toEqual(ids.rows.map(() => ["id", "_distance"]));
      await likeExact(t, q2, ids.rows);
    }
    const withId = await same(t, (x) => x.search(q).limit(5).select(["id", "tag"]).withRowId());
    expect(withId.path).toBe("sync");
    // Number columns only (the compact result layout), with nulls and row ids.
    for (const q2 of queries) {
      const nums = await same(t, (x) => x.search(q2).limit(30).select(["maybe", "id"]).withRowId());
      expect(nums.path).toBe("sync");
      expect(nums.rows.map((x) => x.maybe)).toEqual(nums.rows.map((x) => ((x.id as number) % 4 === 1 ? null : (x.id as number) * 0.5)));
      expect(nums.rows.every((x) => typeof x._rowid === "bigint")).toBe(true);
    }
    // That layout is what the native call gives for such a result (not IPC).
    const inner = (t as unknown as { inner: { vectorSearchCached(o: object, compact?: boolean): Buffer | null } }).inner;
    const packed = inner.vectorSearchCached({ vector: q, limit: 10, columns: ["maybe", "id"], withRowId: true }, true);
    expect(packed?.subarray(0, 4).toString("latin1")).toBe("STW1");
    const ipc = inner.vectorSearchCached({ vector: q, limit: 10, columns: ["maybe", "id"], withRowId: true }, false);
    expect(ipc?.readUInt32LE(0)).toBe(0xffffffff);
    // Nothing passes the filter: an empty result, the same both ways.
    const none = await same(t, (x) => x.search(q).where("id < 0").limit(10).select(["id"]));
    expect(none.rows).toEqual([]);
  });

  test("prefilter and postfilter", async () => {
    const q = queries[1];
    const pre: Build = (x) => x.search(q).where("tag = 'a'").limit(10);
    await same(t, pre);
    const again = await same(t, pre);
    expect(again.path).toBe("sync");
    expect(again.rows.every((x) => x.tag === "a" && (x.id as number) % 3 === 0)).toBe(true);
    expect(again.rows.length).toBe(10);
    await likeExact(t, q, again.rows, "tag = 'a'");
    const post = await same(t, (x) => x.search(q).where("tag = 'b'").postfilter().limit(10));
    expect(post.rows.every((x) => x.tag === "b")).toBe(true);
  });

  test("after an append (unindexed rows merged; fastSearch skips them) and a delete", async () => {
    const q = queries[2];
    const near = q.map((x) => x + 1e-3);
    await t.add([{ id: 100000, tag: "a", vector: near }]);
    // The appended row is searched exactly (a read): same answer both ways, and it is found.
    const merged = await same(t, (x) => x.search(q).limit(10));
    expect(merged.rows[0].id).toBe(100000);
    await likeExact(t, q, merged.rows);
    // fastSearch: only the index, so no I/O once warm.
    await same(t, (x) => x.search(q).limit(10).fastSearch());
    const fastOnly = await same(t, (x) => x.search(q).limit(10).fastSearch());
    expect(fastOnly.path).toBe("sync");
    expect(fastOnly.rows.map((x) => x.id)).not.toContain(100000);
    // A deleted row is never returned, by either path.
    const victim = fastOnly.rows[0].id as number;
    await t.delete(`id = ${victim} OR id = 100000`);
    for (let i = 0; i < 2; i++) {
      const after = await same(t, (x) => x.search(q).limit(10).fastSearch());
      expect(after.rows.map((x) => x.id)).not.toContain(victim);
      if (i === 1) expect(after.path).toBe("sync");
      await likeExact(t, q, after.rows);
    }
    const plainAfter = await same(t, (x) => x.search(q).limit(20));
    expect(plainAfter.rows.map((x) => x.id)).not.toContain(victim);
    expect(plainAfter.rows.map((x) => x.id)).not.toContain(100000);
  });

  test("errors are the same on both paths", async () => {
    const bad: Build = (x) => x.search([1, 2, 3]).limit(10);
    const caught = async (p: Promise<unknown>): Promise<{ code?: string; message: string }> => {
      try {
        await p;
      } catch (e) {
        return { code: (e as { code?: string }).code, message: (e as Error).message };
      }
      throw new Error("expected the search to fail");
    };
    const want = await caught(slow(t, bad));
    expect(want.code).toBeDefined();
    expect(await caught(bad(t).toArray())).toEqual(want);
  });
});
