// Vector indexes end to end: the same calls as @lancedb/lancedb 0.31.0 on
// the same data (names, types, stats, recall within a few points), recall of
// the defaults, correctness while the table changes, prefiltered recall, and
// index builds racing writers in other processes (local and moto).
import { spawn } from "node:child_process";
import { cpSync, existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import * as reference from "@lancedb/lancedb";
import * as stowage from "../lib";
import { childEnv, s3Options, uniq } from "./helpers/cloud";
import { s3CreateBucket, useEmulators } from "./helpers/emulators";
import type { Endpoints } from "./helpers/emulators";
import { expectCode, memoryUri, tempDir } from "./helpers/tmp";

jest.setTimeout(120_000);

const DIM = 32;
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}
function gauss(r: () => number): number {
  return Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
}
/** A Gaussian mixture with anisotropic clusters: `n` rows and `q` held-out queries. */
function mixture(n: number, q: number, seed = 7): { rows: { id: number; cat: number; vector: number[] }[]; queries: number[][] } {
  const r = rng(seed);
  const k = 24;
  const centers = Array.from({ length: k }, () => Array.from({ length: DIM }, () => gauss(r) * 4));
  const scales = Array.from({ length: k }, () => Array.from({ length: DIM }, () => 0.2 + r() * 1.5));
  const point = (): number[] => {
    const c = Math.floor(r() * k);
    return centers[c].map((m, j) => m + gauss(r) * scales[c][j]);
  };
  const rows = Array.from({ length: n }, (_, i) => ({ id: i, cat: i % 100, vector: point() }));
  return { rows, queries: Array.from({ length: q }, point) };
}

type AnyQuery = { limit(n: number): AnyQuery; toArray(): Promise<{ id: number; _distance: number }[]> };
async function ids(q: AnyQuery, k = 10): Promise<number[]> {
  return (await q.limit(k).toArray()).map((r) => Number(r.id));
}
function recall(got: number[][], truth: number[][]): number {
  let hit = 0;
  let all = 0;
  got.forEach((g, i) => {
    const t = new Set(truth[i]);
    hit += g.filter((x) => t.has(x)).length;
    all += truth[i].length;
  });
  return hit / all;
}

const data = mixture(6000, 40);
let cleanups: (() => void)[] = [];
afterAll(() => cleanups.forEach((c) => c()));

async function ourTable(rows = data.rows): Promise<stowage.Table> {
  const db = await stowage.connect(memoryUri());
  return db.createTable("t", rows.slice(0, 3000)).then(async (t) => {
    await t.add(rows.slice(3000));
    return t;
  });
}

async function exactTruth(t: stowage.Table, where?: string, queries = data.queries): Promise<number[][]> {
  return Promise.all(
    queries.map((q) => {
      let s = t.search(q).bypassVectorIndex();
      if (where) s = s.where(where);
      return ids(s as unknown as AnyQuery);
    }),
  );
}

describe("the same calls as @lancedb/lancedb on the same data", () => {
  test("listIndices, indexStats and recall at the same settings", async () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const rdb = await reference.connect(`${t.dir}/ref`);
    const ref = await rdb.createTable("t", data.rows);
    const ours = await ourTable();
    const opts = { numPartitions: 16, numSubVectors: 8 };
    await ref.createIndex("vector", { config: reference.Index.ivfPq(opts) });
    await ours.createIndex("vector", { config: stowage.Index.ivfPq(opts) });
    const [rl, ol] = [await ref.listIndices(), await ours.listIndices()];
    const pick = (l: { name: string; indexType: string; columns: string[]; numIndexedRows?: number; numUnindexedRows?: number; numSegments?: number }[]) =>
      l.map((i) => ({ name: i.name, indexType: i.indexType, columns: i.columns, numIndexedRows: i.numIndexedRows, numUnindexedRows: i.numUnindexedRows, numSegments: i.numSegments }));
    expect(pick(ol)).toEqual(pick(rl));
    // Ours also reports the k-means loss, which the reference leaves undefined.
    const { loss, ...stats } = (await ours.indexStats("vector_idx"))!;
    expect(stats).toEqual(await ref.indexStats("vector_idx"));
    expect(loss).toBeGreaterThan(0);
    expect(await ours.indexStats("nope")).toEqual(await ref.indexStats("nope"));

    const truth = await exactTruth(ours);
    const at = async (tb: { search(q: number[]): unknown }) =>
      recall(await Promise.all(data.queries.map((q) => ids((tb.search(q) as reference.VectorQuery).nprobes(6).refineFactor(5) as unknown as AnyQuery))), truth);
    const [rr, or] = [await at(ref), await at(ours)];
    expect(Math.abs(rr - or)).toBeLessThan(0.08);
    expect(or).toBeGreaterThan(0.8);
    // The index is what answers: one probe without re-ranking loses rows.
    const rough = recall(await Promise.all(data.queries.map((q) => ids(ours.search(q).nprobes(1).refineFactor(1) as unknown as AnyQuery))), truth);
    expect(rough).toBeLessThan(or);

    // A metric other than the index's searches exactly, as the reference does.
    const q = data.queries[0];
    const cosRef = await ids((ref.search(q) as reference.VectorQuery).distanceType("cosine") as unknown as AnyQuery);
    const cosOurs = await ids(ours.search(q).distanceType("cosine") as unknown as AnyQuery);
    expect(cosOurs).toEqual(cosRef);
    expect(cosOurs).toEqual(await ids(ours.search(q).distanceType("cosine").bypassVectorIndex() as unknown as AnyQuery));
  });
});

describe("defaults users can trust", () => {
  const kinds: [string, () => stowage.Index][] = [
    ["ivfPq", () => stowage.Index.ivfPq()],
    ["ivfFlat", () => stowage.Index.ivfFlat()],
    ["hnswSq", () => stowage.Index.hnswSq()],
  ];
  test.each(kinds)("%s with no options reaches recall@10 >= 0.9, and reports progress", async (_name, make) => {
    const t = await ourTable();
    const phases = new Set<string>();
    await t.createIndex("vector", { config: make(), progress: (p) => phases.add(p.phase) });
    expect(phases.has("train")).toBe(true);
    expect(phases.has("done")).toBe(true);
    const truth = await exactTruth(t);
    const got = await Promise.all(data.queries.map((q) => ids(t.search(q) as unknown as AnyQuery)));
    expect(recall(got, truth)).toBeGreaterThanOrEqual(0.9);
  });
});

/** `_distance` as the reference defines it: squared L2, 1 − cosine, 1 − dot. */
function exactDistance(metric: string, q: number[], v: number[]): number {
  let [dot, qq, vv, l2] = [0, 0, 0, 0];
  q.forEach((x, i) => {
    dot += x * v[i];
    qq += x * x;
    vv += v[i] * v[i];
    l2 += (x - v[i]) ** 2;
  });
  return metric === "l2" ? l2 : metric === "cosine" ? 1 - dot / Math.sqrt(qq * vv) : 1 - dot;
}

function expectExactDistances(metric: string, q: number[], rows: { vector: unknown; _distance: number }[]): void {
  for (const r of rows) {
    const want = exactDistance(metric, q, Array.from(r.vector as ArrayLike<number>));
    expect(Math.abs(r._distance - want)).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(want)));
  }
}

describe("IVF-PQ re-ranking from the copy kept in the index", () => {
  // The default query re-ranks PQ candidates with the 8-bit copy stored next to the codes, then
  // gives the best rows their exact distance: recall at defaults for every metric, and
  // `_distance` exact as with bypassVectorIndex().
  test.each(["l2", "cosine", "dot"] as const)("%s: recall@10 >= 0.9 at defaults, exact _distance", async (metric) => {
    const t = await ourTable();
    await t.createIndex("vector", { config: stowage.Index.ivfPq({ distanceType: metric }) });
    const truth = await Promise.all(data.queries.map((q) => ids(t.search(q).distanceType(metric).bypassVectorIndex() as unknown as AnyQuery)));
    const got = await Promise.all(data.queries.map((q) => t.search(q).limit(10).toArray()));
    expect(recall(got.map((rows) => rows.map((r) => Number(r.id))), truth)).toBeGreaterThanOrEqual(0.9);
    got.forEach((rows, i) => expectExactDistances(metric, data.queries[i], rows));
    // Rows both searches return have the same distance as the exact search's.
    const q = data.queries[5];
    const exact = new Map((await t.search(q).distanceType(metric).bypassVectorIndex().limit(10).toArray()).map((r) => [Number(r.id), r._distance]));
    for (const r of await t.search(q).refineFactor(3).limit(10).toArray()) {
      const want = exact.get(Number(r.id));
      if (want !== undefined) expect(Math.abs(r._distance - want)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(want)));
    }
  });

  test("an index built before the copy existed (fixture) still searches through the data files", async () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    cpSync(path.join(__dirname, "fixtures", "ivfpq-v1"), t.dir, { recursive: true });
    const queries: number[][] = JSON.parse(readFileSync(path.join(t.dir, "queries.json"), "utf8"));
    const db = await stowage.connect(t.dir);
    const tb = await db.openTable("t");
    // The current index's metadata object (its header is JSON).
    const metaOf = async (): Promise<string> => {
      const [info] = await tb.listIndices();
      const segs = (info as unknown as { indexDetails: { segments: { meta: string }[] } }).indexDetails.segments;
      expect(segs).toHaveLength(1);
      const file = path.join(t.dir, "t.stowage", segs[0].meta);
      expect(existsSync(file)).toBe(true);
      return readFileSync(file).toString("latin1");
    };
    const old = await metaOf();
    expect(old).toContain('"kind":"IVF_PQ"');
    expect(old).not.toContain('"refine"');
    expect((await tb.listIndices()).map((i) => i.indexType)).toEqual(["IvfPq"]);
    const check = async () => {
      const truth = await Promise.all(queries.map((q) => ids(tb.search(q).bypassVectorIndex() as unknown as AnyQuery)));
      const got = await Promise.all(queries.map((q) => tb.search(q).limit(10).toArray()));
      expect(recall(got.map((rows) => rows.map((r) => Number(r.id))), truth)).toBeGreaterThanOrEqual(0.9);
      got.forEach((rows, i) => expectExactDistances("l2", queries[i], rows));
      // The index answers: one probe without re-ranking loses rows.
      const rough = await Promise.all(queries.map((q) => ids(tb.search(q).nprobes(1).refineFactor(1) as unknown as AnyQuery)));
      expect(recall(rough, truth)).toBeLessThan(0.9);
    };
    await check();
    // Rebuilt with this version, the index keeps the copy and searches the same way.
    await tb.createIndex("vector", { config: stowage.Index.ivfPq({ numPartitions: 8, numSubVectors: 8 }) });
    expect(await metaOf()).toContain('"refine":"sq8"');
    await check();
  });
});

describe("correct while the table changes", () => {
  let t: stowage.Table;
  beforeAll(async () => {
    t = await ourTable();
    await t.createIndex("vector", { config: stowage.Index.ivfPq({ numPartitions: 12 }) });
  });

  test("rows added after the build are found; fastSearch skips them", async () => {
    const v = data.queries[1].map((x) => x + 0.001);
    await t.add([{ id: 100000, cat: 1, vector: v }]);
    expect((await t.indexStats("vector_idx"))?.numUnindexedRows).toBe(1);
    expect((await ids(t.search(v) as unknown as AnyQuery, 1))[0]).toBe(100000);
    expect(await ids(t.search(v).fastSearch() as unknown as AnyQuery)).not.toContain(100000);
  });

  test("deleted and updated rows are never returned stale", async () => {
    const q = data.queries[2];
    const before = await ids(t.search(q) as unknown as AnyQuery);
    await t.delete(`id = ${before[0]}`);
    expect(await ids(t.search(q) as unknown as AnyQuery, 20)).not.toContain(before[0]);
    // Moving a row's vector far away: its old position must not match.
    await t.update({ where: `id = ${before[1]}`, valuesSql: { vector: `[${Array(DIM).fill(900).join(",")}]` } }).catch(async () => {
      await t.delete(`id = ${before[1]}`);
      await t.add([{ id: before[1], cat: 0, vector: Array(DIM).fill(900) }]);
    });
    const after = await t.search(q).limit(20).toArray();
    expect(after.map((r) => Number(r.id))).not.toContain(before[1]);
    const far = await t.search(Array(DIM).fill(900)).limit(1).toArray();
    expect(Number(far[0].id)).toBe(before[1]);
  });

  test("optimize indexes new rows into the existing partitions, one segment", async () => {
    await t.optimize();
    const s = await t.indexStats("vector_idx");
    expect(s).toMatchObject({ numUnindexedRows: 0, numIndices: 1, indexType: "IVF_PQ" });
    const v = data.queries[1].map((x) => x + 0.001);
    expect((await ids(t.search(v).fastSearch() as unknown as AnyQuery, 1))[0]).toBe(100000);
    const truth = await exactTruth(t);
    const got = await Promise.all(data.queries.map((q) => ids(t.search(q) as unknown as AnyQuery)));
    expect(recall(got, truth)).toBeGreaterThanOrEqual(0.9);
  });

  test("prefilter: true top-k among matching rows, also at 1% selectivity; postfilter keeps its meaning", async () => {
    for (const where of ["cat = 7", "cat < 50"]) {
      const truth = await exactTruth(t, where);
      const got = await Promise.all(data.queries.map((q) => ids(t.search(q).where(where) as unknown as AnyQuery)));
      expect(recall(got, truth)).toBeGreaterThanOrEqual(where === "cat = 7" ? 0.99 : 0.9);
    }
    const post = await t.search(data.queries[3]).where("cat = 7").postfilter().limit(10).toArray();
    expect(post.length).toBeLessThan(10);
    for (const r of post) expect(Number(r.cat)).toBe(7);
  });

  test("distanceRange bounds the distances", async () => {
    const q = data.queries[4];
    const all = await t.search(q).limit(10).toArray();
    const lo = all[2]._distance;
    const hi = all[6]._distance;
    const got = await t.search(q).distanceRange(lo, hi).limit(10).toArray();
    expect(got.length).toBeGreaterThan(0);
    for (const r of got) {
      expect(r._distance).toBeGreaterThanOrEqual(lo);
      expect(r._distance).toBeLessThan(hi);
    }
  });

  test("drop, replace=false, prewarm, waitForIndex", async () => {
    await t.prewarmIndex("vector_idx");
    await t.waitForIndex(["vector_idx"], 1);
    await expectCode(t.createIndex("vector", { config: stowage.Index.ivfFlat({ numPartitions: 4 }), replace: false }), "INDEX_EXISTS");
    await t.createIndex("vector", { config: stowage.Index.ivfFlat({ numPartitions: 4 }), name: "second" });
    expect((await t.listIndices()).map((i) => [i.name, i.indexType])).toEqual([["vector_idx", "IvfPq"], ["second", "IvfFlat"]]);
    await t.dropIndex("second");
    await t.dropIndex("vector_idx");
    expect(await t.listIndices()).toEqual([]);
    expect(await ids(t.search(data.queries[0]) as unknown as AnyQuery)).toHaveLength(10);
  });
});

describe("index builds racing writers in other processes", () => {
  let emu: Endpoints;
  let stop: () => Promise<void> = async () => undefined;
  beforeAll(async () => {
    const e = await useEmulators(["s3"]);
    emu = e.endpoints;
    stop = e.stop;
  }, 120000);
  afterAll(() => stop());

  const WRITER = path.join(__dirname, "fixtures", "vector-writer.js");
  function run(args: string[]): Promise<string[]> {
    return new Promise((resolve) => {
      const c = spawn(process.execPath, [WRITER, ...args], { env: childEnv({}), stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      c.stdout.on("data", (d) => (out += d));
      c.on("close", () => resolve(out.split("\n").filter((l) => l)));
    });
  }

  const backends: [string, () => Promise<{ uri: string; options: Record<string, unknown> }>][] = [
    ["local", async () => { const t = tempDir(); cleanups.push(t.cleanup); return { uri: t.dir, options: {} }; }],
    ["s3", async () => { const b = uniq("vidx"); await s3CreateBucket(emu.s3!, b); return { uri: `s3://${b}/db`, options: s3Options(emu.s3!) }; }],
  ];

  test.each(backends)("%s: a build racing appends commits what it read; two creates leave one index", async (_n, setup) => {
    const { uri, options } = await setup();
    const db = await stowage.connect(uri, { storageOptions: options as Record<string, string> });
    const base = mixture(1500, 1, 3).rows.map((r) => ({ id: r.id, vector: r.vector.slice(0, 8) }));
    const t = await db.createTable("t", base);
    const json = JSON.stringify(options);
    const writers = [1, 2].map((w) => run(["append", uri, json, "t", String(w), "8", "8"]));
    const creates = [run(["index", uri, json, "t", "false"]), run(["index", uri, json, "t", "false"])];
    const [w1, w2, c1, c2] = await Promise.all([...writers, ...creates]);
    const acked = [...w1, ...w2].filter((l) => l.startsWith("ack ")).map((l) => Number(l.slice(4)));
    expect(acked).toHaveLength(16);
    const outcomes = [c1, c2].map((o) => o.join(" "));
    expect(outcomes.filter((o) => o.includes("indexed")).length).toBeGreaterThanOrEqual(1);
    for (const o of outcomes) if (!o.includes("indexed")) expect(o).toContain("INDEX_EXISTS");
    await t.checkoutLatest();
    const list = await t.listIndices();
    expect(list.map((i) => i.name)).toEqual(["vector_idx"]);
    // Every acknowledged row is present once, and found by search.
    const all = (await t.query().select(["id"]).toArray()).map((r) => Number(r.id));
    expect(all.length).toBe(1500 + 16);
    expect(new Set(all).size).toBe(all.length);
    for (const id of acked.slice(0, 4)) {
      const v = Array.from({ length: 8 }, (_, j) => Math.sin(id * 0.7 + j) + (id % 5));
      expect((await ids(t.search(v) as unknown as AnyQuery, 1))[0]).toBe(id);
    }
    const s = await t.indexStats("vector_idx");
    expect(s!.numIndexedRows + s!.numUnindexedRows).toBe(1516);
  });
});
