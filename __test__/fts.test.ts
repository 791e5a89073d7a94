// Full-text search, compared with @lancedb/lancedb 0.31.0 on the same data
// and tokenizer settings: the same rows with the same BM25 scores, for
// every query kind; hybrid search fused by RRF the same way.
import * as reference from "@lancedb/lancedb";
import * as stowage from "../lib";
import { expectCode, tempDir } from "./helpers/tmp";

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

// Real words (English inflections, so stemming matters), drawn with a
// skewed distribution so some terms are common and some rare.
const WORDS = (
  "the a of and to in is was it for on with as by at from this that be are were " +
  "river rivers boat boats sailing sailed sail harbor harbour storm storms stormy wind winds " +
  "quick quickly brown fox foxes jumps jumped jumping lazy dog dogs running runner runs run " +
  "café crème naïve résumé light lights lighthouse keeper keepers night nights morning fog"
).split(" ");
const rand = rng(7);
function sentence(): string {
  const n = 4 + Math.floor(rand() * 12);
  return Array.from({ length: n }, () => WORDS[Math.floor(WORDS.length * rand() ** 1.6)]).join(" ");
}
const DIM = 4;
const rows = Array.from({ length: 300 }, (_, i) => ({
  id: i,
  text: i % 50 === 7 ? null : sentence(),
  title: `${WORDS[20 + (i % 13)]} ${WORDS[30 + (i % 7)]}`,
  n: i % 10,
  vector: Array.from({ length: DIM }, () => rand() * 2 - 1),
}));

type Row = { id: number; _score: number };
/** (id, score) best first, ties by id; scores rounded so float noise does not reorder. */
function ranked(rs: Row[]): [number, number][] {
  return rs
    .map((r) => [Number(r.id), Math.round(r._score * 1e4) / 1e4] as [number, number])
    .sort((a, b) => b[1] - a[1] || a[0] - b[0]);
}
function expectSameRanking(ours: Row[], ref: Row[]): void {
  const a = ranked(ours);
  const b = ranked(ref);
  expect(a.map((x) => x[0])).toEqual(b.map((x) => x[0]));
  for (let i = 0; i < a.length; i++) expect(a[i][1]).toBeCloseTo(b[i][1], 3);
}

let cleanup: () => void;
let rdb: reference.Connection;
let sdb: stowage.Connection;

beforeAll(async () => {
  const t = tempDir();
  cleanup = t.cleanup;
  rdb = await reference.connect(`${t.dir}/ref`);
  sdb = await stowage.connect(`${t.dir}/ours`);
});
afterAll(() => cleanup());

async function both(name: string, opts: Partial<reference.FtsOptions>, extra?: (r: reference.Table, s: stowage.Table) => Promise<void>) {
  const r = await rdb.createTable(name, rows.slice(0, 150));
  const s = await sdb.createTable(name, rows.slice(0, 150));
  await r.add(rows.slice(150));
  await s.add(rows.slice(150));
  await r.createIndex("text", { config: reference.Index.fts(opts) });
  await s.createIndex("text", { config: stowage.Index.fts(opts) });
  if (extra) await extra(r, s);
  return { r, s };
}

const ALL = 1000;

test("string queries return the reference's rows and BM25 scores (default tokenizer: stemming, stop words, folding)", async () => {
  const { r, s } = await both("defaults", {});
  for (const q of ["river", "boats sailing", "the", "jumping foxes", "CAFE", "naive resume", "keeper lighthouse night", "nothinghere", ""]) {
    const want = (await r.search(q).select(["id"]).limit(ALL).toArray()) as Row[];
    const got = (await s.search(q).select(["id"]).limit(ALL).toArray()) as Row[];
    expectSameRanking(got, want);
  }
  // Same documents in the default top 10.
  const want = (await r.search("storm wind").select(["id"]).toArray()) as Row[];
  const got = (await s.search("storm wind").select(["id"]).toArray()) as Row[];
  expect(got.length).toBe(10);
  expect(ranked(got).map((x) => x[1])).toEqual(ranked(want).map((x) => x[1]));
  const li = await s.listIndices();
  expect(li.map((i) => [i.name, i.indexType, i.columns])).toEqual([["text_idx", "FTS", ["text"]]]);
  const st = await s.indexStats("text_idx");
  expect(st).toMatchObject({ numIndexedRows: 300, numUnindexedRows: 0, indexType: "FTS", numIndices: 1 });
});

test("query classes: match (AND, fuzzy, boost), phrase with slop, boolean, boost, multi-match", async () => {
  const opts = { withPosition: true, stem: false, removeStopWords: false };
  const { r, s } = await both("classes", opts, async (r, s) => {
    await r.createIndex("title", { config: reference.Index.fts(opts) });
    await s.createIndex("title", { config: stowage.Index.fts(opts) });
  });
  const R = reference;
  const S = stowage;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const cases: [string, (m: any) => unknown][] = [
    ["match", (m) => new m.MatchQuery("river boat", "text")],
    ["and", (m) => new m.MatchQuery("river boat", "text", { operator: m.Operator.And })],
    ["boost", (m) => new m.MatchQuery("storm", "text", { boost: 2.5 })],
    ["fuzzy", (m) => new m.MatchQuery("rivr", "text", { fuzziness: 1 })],
    ["fuzzy2", (m) => new m.MatchQuery("boatz", "text", { fuzziness: 2, prefixLength: 2 })],
    ["phrase", (m) => new m.PhraseQuery("the river", "text")],
    ["slop", (m) => new m.PhraseQuery("river boat", "text", { slop: 2 })],
    ["bool", (m) => new m.BooleanQuery([[m.Occur.Must, new m.MatchQuery("river", "text")], [m.Occur.Should, new m.MatchQuery("storm", "text")], [m.Occur.MustNot, new m.MatchQuery("fog", "text")]])],
    ["boostq", (m) => new m.BoostQuery(new m.MatchQuery("wind", "text"), new m.MatchQuery("night", "text"), { negativeBoost: 0.3 })],
    ["multi", (m) => new m.MultiMatchQuery("sailing wind", ["text", "title"], { boosts: [1, 2] })],
  ];
  for (const [name, make] of cases) {
    const want = (await r.query().fullTextSearch(make(R) as never).select(["id"]).limit(ALL).toArray()) as Row[];
    const got = (await s.query().fullTextSearch(make(S) as never).select(["id"]).limit(ALL).toArray()) as Row[];
    try {
      expectSameRanking(got, want);
    } catch (e) {
      throw new Error(`${name}: ${(e as Error).message}`);
    }
    expect(want.length).toBeGreaterThan(0);
  }
  // A string with columns, and without (every indexed column).
  for (const cols of [["title"], undefined]) {
    const want = (await r.query().fullTextSearch("wind river", { columns: cols }).select(["id"]).limit(ALL).toArray()) as Row[];
    const got = (await s.query().fullTextSearch("wind river", { columns: cols }).select(["id"]).limit(ALL).toArray()) as Row[];
    expectSameRanking(got, want);
  }
  const want = (await r.query().nearestToText("storm").select(["id"]).limit(ALL).toArray()) as Row[];
  const got = (await s.query().nearestToText("storm").select(["id"]).limit(ALL).toArray()) as Row[];
  expectSameRanking(got, want);
});

test("where, select, limit, offset, withRowId; new rows found unless fastSearch; deleted rows never; optimize indexes new rows", async () => {
  const { r, s } = await both("filters", {});
  const q = "river storm";
  for (const t of [r, s]) await t.add([{ id: 1000, text: "river river storm", title: "x y", n: 3, vector: [0, 0, 0, 0] }]);
  // One call shape for both packages (the union of two overload sets does not type-check).
  const pick = async (t: reference.Table | stowage.Table, f: (q: any) => any) => (await f((t as reference.Table).search(q)).toArray()) as Row[];
  const w = (t: any) => t.where("n = 3").select(["id", "n"]).limit(ALL);
  expectSameRanking(await pick(s, w), await pick(r, w));
  const got = await pick(s, w);
  expect(got.some((x) => Number(x.id) === 1000)).toBe(true);
  expect(got.every((x: any) => x.n === 3)).toBe(true);
  // fastSearch skips the unindexed row.
  const fast = await pick(s, (t) => t.fastSearch().limit(ALL));
  expect(fast.some((x) => Number(x.id) === 1000)).toBe(false);
  expect(fast.length).toBeGreaterThan(0);
  // Columns: selected, then _score, then _rowid.
  const withId = await s.search(q).select(["id"]).withRowId().limit(2).toArrow();
  expect(withId.schema.fields.map((f) => f.name)).toEqual(["id", "_score", "_rowid"]);
  expect(String(withId.schema.fields[1].type)).toBe("Float32");
  // offset skips that many of the ranked rows, then limit are returned, as the reference does.
  const top = ranked(await pick(s, (t) => t.limit(ALL)));
  const page = ranked(await pick(s, (t) => t.limit(3).offset(2)));
  expect(page.map((x) => x[1])).toEqual(top.slice(2, 5).map((x) => x[1]));
  expect(page.length).toBe(3);
  const refPage = ranked(await pick(r, (t) => t.limit(3).offset(2)));
  expect(refPage.map((x) => x[1])).toEqual(ranked(await pick(r, (t) => t.limit(ALL))).slice(2, 5).map((x) => x[1]));
  // Deleted rows never come back; the statistics stay the index's.
  for (const t of [r, s]) await t.delete("id = 1000 OR n = 5");
  const after = await pick(s, (t) => t.limit(ALL));
  expect(after.some((x: any) => Number(x.id) === 1000 || Number(x.id) % 10 === 5)).toBe(false);
  expectSameRanking(after, await pick(r, (t) => t.limit(ALL)));
  // optimize(): every row indexed again, in one segment.
  await s.add([{ id: 2000, text: "storm", title: "x y", n: 1, vector: [0, 0, 0, 0] }]);
  expect(await s.indexStats("text_idx")).toMatchObject({ numUnindexedRows: 1 });
  await s.optimize();
  expect(await s.indexStats("text_idx")).toMatchObject({ numUnindexedRows: 0, numIndices: 1 });
  const fastAfter = await pick(s, (t) => t.fastSearch().limit(ALL));
  expect(fastAfter.some((x) => Number(x.id) === 2000)).toBe(true);
});

test("bad queries are errors with a code and a clear message", async () => {
  const { s } = await both("errors", {});
  await expectCode(s.search("river", "fts", "nope").toArray(), "INVALID_ARGUMENT", /nope/);
  await expectCode(s.query().fullTextSearch(new stowage.PhraseQuery("river boat", "text")).toArray(), "INVALID_ARGUMENT", /withPosition/);
  await expectCode(s.createIndex("n", { config: stowage.Index.fts() }), "INVALID_ARGUMENT", /string column.*'n'|'n'.*string/);
  await expectCode(s.search("river", "fts", "title").toArray(), "INVALID_ARGUMENT", /no full-text index/);
  const bare = await sdb.createTable("bare", [{ id: 1, text: "a" }]);
  await expectCode(bare.search("a").toArray(), "INVALID_ARGUMENT", /full-text index/);
  await expectCode(async () => new stowage.BooleanQuery([[stowage.Occur.MustNot, new stowage.MatchQuery("a", "text")]]) && s.query().fullTextSearch(new stowage.BooleanQuery([[stowage.Occur.MustNot, new stowage.MatchQuery("a", "text")]])).toArray(), "INVALID_ARGUMENT", /SHOULD or MUST/);
  await expectCode(async () => stowage.Index.fts({ baseTokenizer: "icu" as never }) && s.createIndex("text", { config: stowage.Index.fts({ baseTokenizer: "icu" as never }) }), "INVALID_ARGUMENT", /baseTokenizer/);
});

test("hybrid search: vector and full-text results fused by RRF as the reference fuses them", async () => {
  // Distinct document lengths, so no two rows tie on _score (the
  // reference orders ties arbitrarily).
  const hrows = rows.slice(0, 120).map((x, i) => ({ ...x, text: `${"river ".repeat(1 + (i % 3))}${"pad ".repeat(i)}end` }));
  const r = await rdb.createTable("hybrid", hrows);
  const s = await sdb.createTable("hybrid", hrows);
  await r.createIndex("text", { config: reference.Index.fts() });
  await s.createIndex("text", { config: stowage.Index.fts() });
  const v = rows[3].vector;
  for (const [limit, where] of [[10, undefined], [5, "n > 2"]] as const) {
    const mk = (t: any) => {
      let q = t.query().nearestTo(v).fullTextSearch("river").select(["id"]).limit(limit);
      if (where) q = q.where(where);
      return q.toArray();
    };
    const want = (await mk(r)) as { id: number; _relevance_score: number }[];
    const got = (await mk(s)) as { id: number; _relevance_score: number }[];
    expect(got.map((x) => Math.round(x._relevance_score * 1e6))).toEqual(want.map((x) => Math.round(x._relevance_score * 1e6)));
    // Same rows (ties may order differently between equal scores).
    const key = (xs: { id: number; _relevance_score: number }[]) => xs.map((x) => `${Math.round(x._relevance_score * 1e6)}:${x.id}`).sort();
    expect(key(got)).toEqual(key(want));
  }
  // k of the RRF reranker.
  const rr = await reference.rerankers.RRFReranker.create(1);
  const sr = await stowage.rerankers.RRFReranker.create(1);
  const want = (await r.query().nearestTo(v).fullTextSearch("river").rerank(rr).select(["id"]).toArray()) as any[];
  const got = (await s.query().nearestTo(v).fullTextSearch("river").rerank(sr).select(["id"]).toArray()) as any[];
  expect(got.map((x) => x._relevance_score)).toEqual(want.map((x) => x._relevance_score));
  // A reranker of one's own gets both result sets, with _rowid.
  const seen: number[] = [];
  const mine: stowage.rerankers.Reranker = {
    async rerankHybrid(query, vec, fts) {
      seen.push(vec.numRows, fts.numRows);
      expect(query).toBe("river");
      expect(vec.schema.fields.map((f) => f.name)).toContain("_rowid");
      return fts;
    },
  };
  const own = await s.query().nearestTo(v).fullTextSearch("river").rerank(mine).limit(3).toArray();
  expect(seen[0]).toBe(3);
  expect(own.length).toBeLessThanOrEqual(3);
  await expectCode(stowage.rerankers.RRFReranker.create(0), "INVALID_ARGUMENT", /k/);
});
