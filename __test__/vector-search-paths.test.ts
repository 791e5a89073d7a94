// The search paths of vector indexes on a local directory (where rows a
// search reads come from the column cache) and in memory: recall against
// exact search for HNSW-SQ and IVF-PQ, deleted rows never returned once the
// index's allowed rows were cached, appended rows found, and the rows a
// search returns carrying their own vectors. No timing: see bench/ann.mjs.
import * as stowage from "../lib";
import { placeUri } from "./helpers/tmp";

jest.setTimeout(120_000);

const DIM = 16;
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) + 0.5) / 2 ** 32;
}
const r = rng(3);
const gauss = (): number => Math.sqrt(-2 * Math.log(r())) * Math.cos(2 * Math.PI * r());
const centers = Array.from({ length: 12 }, () => Array.from({ length: DIM }, () => gauss() * 4));
const point = (): number[] => centers[Math.floor(r() * centers.length)].map((m) => m + gauss());
const rows = Array.from({ length: 4000 }, (_, i) => ({ id: i, vector: point() }));
const queries = Array.from({ length: 30 }, point);

type Hit = { id: number; vector: { toArray(): Float32Array } | number[]; _distance: number };
async function top(t: stowage.Table, q: number[], exact = false, k = 10): Promise<Hit[]> {
  let s = t.search(q).limit(k);
  if (exact) s = s.bypassVectorIndex();
  return (await s.toArray()) as Hit[];
}

describe.each([
  ["local directory", "hnswSq"],
  ["local directory", "ivfPq"],
  ["memory", "hnswSq"],
] as const)("%s, %s", (where, kind) => {
  let t: stowage.Table;
  let cleanup = (): void => undefined;
  afterAll(() => cleanup());
  beforeAll(async () => {
    const place = placeUri(where);
    cleanup = place.cleanup;
    const db = await stowage.connect(place.uri);
    t = await db.createTable("t", rows.slice(0, 2500));
    await t.add(rows.slice(2500));
    const config = kind === "hnswSq" ? stowage.Index.hnswSq() : stowage.Index.ivfPq({ numPartitions: 16, numSubVectors: 4 });
    await t.createIndex("vector", { config });
  });

  test("recall against exact search; returned rows carry their own vectors", async () => {
    let hit = 0;
    for (const q of queries) {
      const got = await top(t, q);
      const truth = new Set((await top(t, q, true)).map((x) => x.id));
      hit += got.filter((x) => truth.has(x.id)).length;
      for (const g of got) {
        const v = Array.from(Array.isArray(g.vector) ? g.vector : g.vector.toArray());
        expect(v).toEqual(rows[g.id].vector.map((x) => Math.fround(x)));
      }
    }
    expect(hit / (10 * queries.length)).toBeGreaterThanOrEqual(0.9);
    // ids only, as the benchmark asks: the same rows in the same order.
    const q = queries[0];
    const ids = (await t.search(q).limit(10).select(["id"]).toArray()).map((x) => x.id);
    expect(ids).toEqual((await top(t, q)).map((x) => x.id));
  });

  test("deletes after a warm search, then appends", async () => {
    const q = queries[1];
    const first = await top(t, q);
    await t.delete(`id = ${first[0].id}`);
    const second = await top(t, q, false, 20);
    expect(second.map((x) => x.id)).not.toContain(first[0].id);
    await t.delete(`id = ${second[0].id}`);
    const third = await top(t, q, false, 20);
    expect(third.map((x) => x.id)).not.toContain(first[0].id);
    expect(third.map((x) => x.id)).not.toContain(second[0].id);
    await t.add([{ id: 99999, vector: q.map((x) => x + 1e-3) }]);
    expect((await top(t, q, false, 1))[0].id).toBe(99999);
    const fast = await t.search(q).limit(10).fastSearch().toArray();
    expect(fast.map((x) => x.id)).not.toContain(99999);
  });
});
