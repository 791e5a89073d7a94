// createIndex({ train: false }) and indexStats().loss, against
// @lancedb/lancedb 0.31.0 on the same data.
import * as reference from "@lancedb/lancedb";
import * as stowage from "../lib";
import { expectCode, tempDir } from "./helpers/tmp";

let cleanups: (() => void)[] = [];
afterAll(() => cleanups.forEach((c) => c()));

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) + 0.5) / 2 ** 32;
}

const N = 600;
function rows(from: number, n: number) {
  const r = rng(from + 1);
  return Array.from({ length: n }, (_, k) => {
    const i = from + k;
    return { id: i, cat: `c${i % 5}`, text: `word${i % 7} common`, tags: [`t${i % 3}`], vector: Array.from({ length: 8 }, () => r() + (i % 4)) };
  });
}

type AnyTable = {
  createIndex(c: string, o: object): Promise<void>;
  indexStats(n: string): Promise<unknown>;
  listIndices(): Promise<{ name: string; indexType: string; columns: string[] }[]>;
  query(): { where(w: string): { select(c: string[]): { toArray(): Promise<{ id: number }[]> } } };
  search(q: string, kind: string): { limit(n: number): { select(c: string[]): { toArray(): Promise<{ id: number }[]> } } };
  add(rows: object[]): Promise<unknown>;
  optimize(): Promise<unknown>;
};

async function answers(t: AnyTable) {
  const ids = async (w: string) =>
    (await t.query().where(w).select(["id"]).toArray()).map((r) => Number(r.id)).sort((a, b) => a - b);
  return {
    id: await ids("id = 5 OR id > 590"),
    range: (await ids("id >= 100 AND id < 130")).length,
    cat: (await ids("cat = 'c1'")).length,
    tags: (await ids("array_has_any(tags, ['t1'])")).length,
    fts: (await t.search("word3", "fts").limit(1000).select(["id"]).toArray()).map((r) => Number(r.id)).sort((a, b) => a - b),
  };
}

describe("createIndex with train: false", () => {
  test("scalar and FTS kinds create an empty index that optimize() fills; vector kinds refuse, as the reference", async () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const ref = (await (await reference.connect(`${t.dir}/ref`)).createTable("t", rows(0, N))) as unknown as AnyTable;
    const ours = (await (await stowage.connect(`${t.dir}/ours`)).createTable("t", rows(0, N))) as unknown as AnyTable;
    const scalar: [string, string, (lib: typeof stowage | typeof reference) => unknown][] = [
      ["id_idx", "id", (lib) => lib.Index.btree()],
      ["cat_idx", "cat", (lib) => lib.Index.bitmap()],
      ["tags_idx", "tags", (lib) => lib.Index.labelList()],
      ["text_idx", "text", (lib) => lib.Index.fts()],
    ];
    for (const [name, col, make] of scalar) {
      await ref.createIndex(col, { config: make(reference), name, train: false });
      await ours.createIndex(col, { config: make(stowage), name, train: false });
      const stats = await ours.indexStats(name);
      expect(stats).toEqual(await ref.indexStats(name));
      expect(stats).toMatchObject({ numIndexedRows: 0, numUnindexedRows: N });
    }
    const pick = (l: { name: string; indexType: string; columns: string[] }[]) =>
      l.map((i) => ({ name: i.name, indexType: i.indexType, columns: i.columns })).sort((a, b) => a.name.localeCompare(b.name));
    expect(pick(await ours.listIndices())).toEqual(pick(await ref.listIndices()));

    // Empty indexes: every row is searched without them, so answers are complete.
    const before = await answers(ours);
    expect(before).toEqual(await answers(ref));
    expect(before.id).toEqual([5, ...Array.from({ length: 9 }, (_, k) => 591 + k)]);
    expect(before.range).toBe(30);
    expect(before.cat).toBe(N / 5);
    expect(before.fts.length).toBeGreaterThan(0);

    // Vector indexes always train: the reference refuses train: false.
    await expect(ref.createIndex("vector", { config: reference.Index.ivfPq({ numPartitions: 2, numSubVectors: 2 }), train: false })).rejects.toThrow(/train=False/);
    await expectCode(ours.createIndex("vector", { config: stowage.Index.ivfPq({ numPartitions: 2 }), train: false }), "NOT_SUPPORTED", /train: false/);
    await expectCode(ours.createIndex("vector", { config: stowage.Index.hnswSq(), train: false }), "NOT_SUPPORTED", /vector indexes always train/);
    expect((await ours.listIndices()).map((i) => i.name)).not.toContain("vector_idx");

    // optimize() fills them, as the reference's does, and answers stay the same.
    await ref.add(rows(N, 10));
    await ours.add(rows(N, 10));
    await ref.optimize();
    await ours.optimize();
    for (const [name] of scalar) {
      const stats = await ours.indexStats(name);
      expect(stats).toEqual(await ref.indexStats(name));
      expect(stats).toMatchObject({ numIndexedRows: N + 10, numUnindexedRows: 0 });
    }
    const after = await answers(ours);
    expect(after).toEqual(await answers(ref));
    expect(after.id).toContain(605);
  });
});

describe("indexStats().loss", () => {
  test("IVF indexes report their k-means loss; HNSW and scalar indexes none", async () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const db = await stowage.connect(`${t.dir}/ours`);
    const tb = await db.createTable("t", rows(0, 2000));
    await tb.createIndex("vector", { config: stowage.Index.ivfFlat({ numPartitions: 2, sampleRate: 1000 }), name: "coarse" });
    await tb.createIndex("vector", { config: stowage.Index.ivfPq({ numPartitions: 16, numSubVectors: 2 }), name: "fine" });
    await tb.createIndex("vector", { config: stowage.Index.hnswSq(), name: "graph" });
    await tb.createIndex("id", { config: stowage.Index.btree() });
    const coarse = (await tb.indexStats("coarse"))!.loss!;
    const fine = (await tb.indexStats("fine"))!.loss!;
    // The sum of squared distances of the training sample (here all 2000
    // rows for both) to its centroids: the data has 4 offset groups in 8-d,
    // each of unit-cube spread, so 2 centroids leave at least a group's
    // spread (2000 × 8 × 1/12) and 16 leave less.
    expect(coarse).toBeGreaterThan((2000 * 8) / 12);
    expect(fine).toBeGreaterThan(0);
    expect(fine).toBeLessThan(coarse);
    expect((await tb.indexStats("graph"))!.loss).toBeUndefined();
    expect((await tb.indexStats("id_idx"))!.loss).toBeUndefined();
    // optimize() keeps a loss (the model's, or a retrained one's).
    await tb.add(rows(2000, 100));
    await tb.optimize();
    const after = (await tb.indexStats("coarse"))!;
    expect(after.numIndexedRows).toBe(2100);
    expect(after.loss! / coarse).toBeGreaterThan(0.75);
    expect(after.loss! / coarse).toBeLessThan(1.33);

    // @lancedb/lancedb 0.31.0 reports no loss (its IndexStatistics dropped the
    // field earlier versions declared; docs/indexes.md).
    const ref = await (await reference.connect(`${t.dir}/ref`)).createTable("t", rows(0, 2000));
    await ref.createIndex("vector", { config: reference.Index.ivfFlat({ numPartitions: 2 }), name: "coarse" });
    const rs = await ref.indexStats("coarse");
    expect((rs as { loss?: number }).loss).toBeUndefined();
    const { loss: _loss, ...rest } = (await tb.indexStats("coarse"))!;
    expect({ ...rest, numIndexedRows: 2000 }).toEqual(rs);
  });
});
