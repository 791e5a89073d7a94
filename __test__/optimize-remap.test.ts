// optimize() after many small appends: compaction moves the rows into new files, and the IVF index
// keeps their entries (remapped to the new row ids) instead of retraining or encoding them again:
// the k-means loss is unchanged (a retrain over a different set of rows changes it), every row is
// indexed, searches return what they returned before, deleted rows stay gone and updated rows show
// their new values. Then the same while other processes append (local directory and S3 on moto):
// every acknowledged row is there once and indexed and exact searches agree on the rows.
import * as stowage from "../lib";
import { uniq } from "./helpers/cloud";
import { emulatorsForSuite } from "./helpers/emulators";
import { storeCases } from "./helpers/stores";
import { tempDir } from "./helpers/tmp";
import { startWriter, writerId } from "./helpers/writers";

jest.setTimeout(120_000);

const emu = emulatorsForSuite(["s3"]);

const DIM = 16;
const PARTS = 8;
const APPENDS = 30;

/** A deterministic clustered vector for row `id` (the appender fixture's "vector" shape is the same). */
function vec(id: number): number[] {
  let s = (id * 2654435761 + 12345) >>> 0;
  const r = () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
  const c = id % 5;
  return Array.from({ length: DIM }, (_, d) => (d % 5 === c ? 4 : 0) + (r() - 0.5));
}

type Row = { id: number; vector: number[]; tag: string };

async function smallAppends(t: stowage.Table, from: number, batches: number, per: number): Promise<void> {
  for (let b = 0; b < batches; b++) {
    const rows: Row[] = Array.from({ length: per }, (_, i) => ({ id: from + b * per + i, vector: vec(from + b * per + i), tag: "orig" }));
    await t.add(rows);
  }
}

/** id and distance of the nearest rows to each query, through the index. */
async function nearest(t: stowage.Table, queries: number[][], limit = 10): Promise<{ id: number; d: number }[][]> {
  return Promise.all(
    queries.map(async (q) =>
      ((await (t.search(q) as stowage.VectorQuery).nprobes(3).refineFactor(2).limit(limit).select(["id"]).toArray()) as { id: number; _distance: number }[]).map(
        (r) => ({ id: Number(r.id), d: Math.round(r._distance * 1e4) / 1e4 }),
      ),
    ),
  );
}

/** Every row a search returns (limit above the row count, every partition probed). */
async function allIds(t: stowage.Table, exact: boolean, limit: number): Promise<number[]> {
  let q = (t.search(vec(3)) as stowage.VectorQuery).nprobes(PARTS).limit(limit).select(["id"]);
  if (exact) q = q.bypassVectorIndex();
  return ((await q.toArray()) as { id: number }[]).map((r) => Number(r.id)).sort((a, b) => a - b);
}

const queries = [0, 1, 2, 3, 4, 7].map((i) => vec(100000 + i));

describe("optimize() after small appends keeps the IVF entries of moved rows", () => {
  test.each([
    ["ivfPq", () => stowage.Index.ivfPq({ numPartitions: PARTS, numSubVectors: 4 })],
    ["ivfFlat", () => stowage.Index.ivfFlat({ numPartitions: PARTS })],
  ])("%s: no retrain, same results, deleted rows gone, updates seen", async (_kind, config) => {
    const { dir, cleanup } = tempDir();
    try {
      const db = await stowage.connect(dir);
      const t = await db.createTable("t", [{ id: 0, vector: vec(0), tag: "orig" }]);
      await smallAppends(t, 1, 40, 100); // 4001 rows in 41 files
      await t.createIndex("vector", { config: config() });
      const built = (await t.indexStats("vector_idx"))!;
      expect(built).toMatchObject({ numIndexedRows: 4001, numUnindexedRows: 0 });
      // Deletes before optimize.
      await t.delete("id % 10 = 3");
      const before = await nearest(t, queries);
      let rows = await t.countRows();
      expect(rows).toBe(4001 - 400);

      const stats = await t.optimize();
      expect(stats.compaction.fragmentsRemoved).toBeGreaterThan(1);
      let after = (await t.indexStats("vector_idx"))!;
      // Not retrained: a retrain samples the 3601 remaining rows and lands on another loss.
      expect(after.loss).toBe(built.loss);
      expect(after).toMatchObject({ numIndexedRows: rows, numUnindexedRows: 0, numIndices: 1 });
      // The same rows at the same distances, now read from the compacted file through the index.
      expect(await nearest(t, queries)).toEqual(before);
      const check = async () => {
        const ids = await allIds(t, false, 5000);
        expect(ids).toEqual(await allIds(t, true, 5000));
        expect(ids).toHaveLength(rows);
        expect(ids.filter((id) => id % 10 === 3)).toEqual([]);
      };
      await check();

      // An update and more deletes, then optimize again: the compacted file (now with deletions)
      // and the update's new file are compacted together.
      await t.update({ where: "id % 100 = 7", values: { tag: "updated" } });
      await t.delete("id % 10 = 5");
      rows = await t.countRows();
      expect(rows).toBe(4001 - 800);
      await t.optimize();
      after = (await t.indexStats("vector_idx"))!;
      expect(after.loss).toBe(built.loss);
      expect(after).toMatchObject({ numIndexedRows: rows, numUnindexedRows: 0, numIndices: 1 });
      await check();
      expect((await allIds(t, false, 5000)).filter((id) => id % 10 === 5)).toEqual([]);
      const updated = await t.query().where("tag = 'updated'").select(["id"]).toArray();
      expect(updated.map((r) => Number(r.id)).sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i * 100 + 7));
      const hit = await (t.search(vec(1207)) as stowage.VectorQuery).nprobes(PARTS).fastSearch().limit(1).select(["id", "tag"]).toArray();
      expect(hit.map((r) => [Number(r.id), r.tag])).toEqual([[1207, "updated"]]);
    } finally {
      cleanup();
    }
  });

  test("rows appended after the build are encoded with the trained model, moved rows carried", async () => {
    const { dir, cleanup } = tempDir();
    try {
      const db = await stowage.connect(dir);
      const t = await db.createTable("t", [{ id: 0, vector: vec(0), tag: "orig" }]);
      await smallAppends(t, 1, 30, 100);
      await t.createIndex("vector", { config: stowage.Index.ivfPq({ numPartitions: PARTS, numSubVectors: 4 }) });
      const built = (await t.indexStats("vector_idx"))!;
      // New rows in small files, compacted into the same file as indexed rows.
      await smallAppends(t, 5000, 10, 100);
      expect(await t.indexStats("vector_idx")).toMatchObject({ numIndexedRows: 3001, numUnindexedRows: 1000 });
      await t.optimize();
      const after = (await t.indexStats("vector_idx"))!;
      expect(after.loss).toBe(built.loss);
      expect(after).toMatchObject({ numIndexedRows: 4001, numUnindexedRows: 0 });
      const ids = await allIds(t, false, 5000);
      expect(ids).toEqual(await allIds(t, true, 5000));
      expect(ids).toHaveLength(4001);
      // A new row is found through the index alone.
      const fast = await (t.search(vec(5555)) as stowage.VectorQuery).nprobes(PARTS).fastSearch().limit(1).select(["id"]).toArray();
      expect(fast.map((r) => Number(r.id))).toEqual([5555]);
    } finally {
      cleanup();
    }
  });
});

test("a BTREE index after optimize() compacted small files: filters exact, the plan names the index", async () => {
  const { dir, cleanup } = tempDir();
  try {
    const db = await stowage.connect(dir);
    const t = await db.createTable("t", [{ id: 0, vector: vec(0), tag: "orig" }]);
    await smallAppends(t, 1, 20, 50);
    await t.createIndex("id", { config: stowage.Index.btree() });
    await t.delete("id % 7 = 0");
    await t.optimize();
    // Scalar indexes are rebuilt over the compacted files (their entries are not carried).
    expect(await t.indexStats("id_idx")).toMatchObject({ numIndexedRows: 1001 - 143, numUnindexedRows: 0 });
    const ids = async (f: string) => (await t.query().where(f).select(["id"]).toArray()).map((r) => Number(r.id)).sort((a, b) => a - b);
    expect(await ids("id >= 690 AND id < 700")).toEqual([690, 691, 692, 694, 695, 696, 697, 698, 699]);
    expect(await ids("id = 700")).toEqual([]);
    expect(await t.query().where("id = 5").explainPlan()).toMatch(/id_idx \(BTree\)/);
  } finally {
    cleanup();
  }
});

describe.each(storeCases(emu, ["local", "s3"]))("%s", (_name, setup) => {
  test("optimize() while other processes append: every acknowledged row kept once, indexed and exact agree", async () => {
    const { uri, options } = await setup();
    const db = await stowage.connect(uri, { storageOptions: options as never });
    const name = uniq("t");
    const t = await db.createTable(name, [{ id: 0, vector: vec(0) }]);
    for (let b = 0; b < 20; b++) {
      await t.add(Array.from({ length: 100 }, (_, i) => ({ id: 1 + b * 100 + i, vector: vec(1 + b * 100 + i) })));
    }
    await t.createIndex("vector", { config: stowage.Index.ivfPq({ numPartitions: PARTS, numSubVectors: 4 }) });
    const loss = (await t.indexStats("vector_idx"))!.loss;
    const writers = [1, 2].map((w) => startWriter(uri, options, name, w, APPENDS, 120_000, "vector"));
    let running = true;
    const done = Promise.all(writers.map((w) => w.done)).then(() => (running = false));
    // optimize() rounds race the appends: each compacts the table again (new small files and the
    // last round's output) and carries the moved rows' entries.
    await writers[0].acks(1);
    let rounds = 0;
    while ((running || rounds < 2) && rounds < 20) {
      await t.optimize();
      rounds++;
    }
    await done;
    const acked = writers.flatMap((w) => w.acked);
    expect(writers.flatMap((w) => [...w.errors, ...w.other])).toEqual([]);
    expect(acked).toHaveLength(2 * APPENDS);
    const fresh = await db.openTable(name);
    const total = 2001 + acked.length;
    const ids = (await fresh.query().select(["id"]).toArray()).map((r) => Number(r.id));
    expect(ids).toHaveLength(total);
    expect(new Set(ids).size).toBe(total);
    expect(acked.filter((id) => !ids.includes(id))).toEqual([]);
    const check = async () => {
      const indexed = await allIds(fresh, false, 5000);
      expect(indexed).toEqual(await allIds(fresh, true, 5000));
      expect(indexed).toHaveLength(total);
    };
    await check();
    await fresh.optimize();
    const st = (await fresh.indexStats("vector_idx"))!;
    expect(st).toMatchObject({ numIndexedRows: total, numUnindexedRows: 0 });
    expect(st.loss).toBe(loss);
    await check();
    // An acknowledged row is found through the index alone.
    const w = writerId(2, APPENDS - 1);
    const fast = await (fresh.search(vec(w)) as stowage.VectorQuery).nprobes(PARTS).fastSearch().limit(1).select(["id"]).toArray();
    expect(fast.map((r) => Number(r.id))).toEqual([w]);
  });
});
