// Full-text queries, as @lancedb/lancedb exports them (query.d.ts):
// MatchQuery, PhraseQuery, BoostQuery, MultiMatchQuery, BooleanQuery and the
// Occur / Operator / FullTextQueryType enums. A query's `inner` is the JSON
// shape the core reads (src/index/fts/query.rs, `FtsQuery`).
import { StowageError } from "./errors";

/** The types of full-text queries. */
export enum FullTextQueryType {
  Match = "match",
  MatchPhrase = "match_phrase",
  Boost = "boost",
  MultiMatch = "multi_match",
  Boolean = "boolean",
}

/** How a match combines its terms: all (`And`) or any (`Or`). */
export enum Operator {
  And = "AND",
  Or = "OR",
}

/** A boolean clause's role. */
export enum Occur {
  Should = "SHOULD",
  Must = "MUST",
  MustNot = "MUST_NOT",
}

/** What the core reads (one tagged object per query kind). */
export type JsFullTextQuery = Record<string, unknown> & { type: string };

/** A full-text query: pass it to `fullTextSearch()`, `search()` or `nearestToText()`. */
export interface FullTextQuery {
  /** @ignore */
  inner: JsFullTextQuery;
  queryType(): FullTextQueryType;
}

export function instanceOfFullTextQuery(obj: unknown): obj is FullTextQuery {
  return (
    typeof obj === "object" &&
    obj !== null &&
    typeof (obj as FullTextQuery).queryType === "function" &&
    typeof (obj as FullTextQuery).inner === "object"
  );
}

function text(what: string, v: unknown): string {
  if (typeof v !== "string") throw new StowageError("INVALID_ARGUMENT", `${what} must be a string, got ${typeof v}`);
  return v;
}

function num(what: string, v: unknown, dflt: number, min: number, integer = false): number {
  if (v === undefined || v === null) return dflt;
  if (typeof v !== "number" || !Number.isFinite(v) || v < min || (integer && !Number.isInteger(v))) {
    throw new StowageError(
      "INVALID_ARGUMENT",
      `${what} must be ${integer ? "an integer" : "a number"} of at least ${min}, got ${String(v)}`,
    );
  }
  return v;
}

function operator(v: unknown): "AND" | "OR" {
  if (v === undefined || v === null) return "OR";
  const s = String(v).toUpperCase();
  if (s !== "AND" && s !== "OR") throw new StowageError("INVALID_ARGUMENT", `operator must be Operator.And or Operator.Or, got ${String(v)}`);
  return s;
}

function inner(q: unknown, what: string): JsFullTextQuery {
  if (!instanceOfFullTextQuery(q)) {
    throw new StowageError("INVALID_ARGUMENT", `${what} must be a full-text query (MatchQuery, PhraseQuery, ...)`);
  }
  return q.inner;
}

export class MatchQuery implements FullTextQuery {
  readonly inner: JsFullTextQuery;
  /**
   * Matches rows containing the query's terms in `column`. Options:
   * `boost` (1.0), `fuzziness` (0: exact terms; n: terms within n edits),
   * `maxExpansions` (50: terms a fuzzy term expands to), `operator`
   * (`Operator.Or`), `prefixLength` (0: leading characters a fuzzy term keeps).
   */
  constructor(
    query: string,
    column: string,
    options?: { boost?: number; fuzziness?: number; maxExpansions?: number; operator?: Operator; prefixLength?: number },
  ) {
    this.inner = {
      type: "match",
      query: text("MatchQuery query", query),
      column: text("MatchQuery column", column),
      boost: num("boost", options?.boost, 1.0, 0),
      fuzziness: num("fuzziness", options?.fuzziness, 0, 0, true),
      max_expansions: num("maxExpansions", options?.maxExpansions, 50, 1, true),
      operator: operator(options?.operator),
      prefix_length: num("prefixLength", options?.prefixLength, 0, 0, true),
    };
  }
  queryType(): FullTextQueryType {
    return FullTextQueryType.Match;
  }
}

export class PhraseQuery implements FullTextQuery {
  readonly inner: JsFullTextQuery;
  /** Matches the terms in order; `slop` (0) allows that many other terms between them. Needs an index built with `withPosition: true`. */
  constructor(query: string, column: string, options?: { slop?: number }) {
    this.inner = {
      type: "phrase",
      query: text("PhraseQuery query", query),
      column: text("PhraseQuery column", column),
      slop: num("slop", options?.slop, 0, 0, true),
    };
  }
  queryType(): FullTextQueryType {
    return FullTextQueryType.MatchPhrase;
  }
}

export class BoostQuery implements FullTextQuery {
  readonly inner: JsFullTextQuery;
  /** Rows matching `positive`; those also matching `negative` lose `negativeBoost` (0.5, as the reference applies it) times that score. */
  constructor(positive: FullTextQuery, negative: FullTextQuery, options?: { negativeBoost?: number }) {
    this.inner = {
      type: "boost",
      positive: inner(positive, "BoostQuery positive"),
      negative: inner(negative, "BoostQuery negative"),
      negative_boost: num("negativeBoost", options?.negativeBoost, 0.5, 0),
    };
  }
  queryType(): FullTextQueryType {
    return FullTextQueryType.Boost;
  }
}

export class MultiMatchQuery implements FullTextQuery {
  readonly inner: JsFullTextQuery;
  /** Matches the query in each of `columns` (each times its boost); a row scores its best column. */
  constructor(query: string, columns: string[], options?: { boosts?: number[]; operator?: Operator }) {
    if (!Array.isArray(columns) || columns.length === 0 || columns.some((c) => typeof c !== "string")) {
      throw new StowageError("INVALID_ARGUMENT", "MultiMatchQuery columns must be a non-empty array of column names");
    }
    const boosts = options?.boosts;
    if (boosts !== undefined && (!Array.isArray(boosts) || boosts.length !== columns.length)) {
      throw new StowageError("INVALID_ARGUMENT", `MultiMatchQuery boosts must have one number per column (${columns.length})`);
    }
    this.inner = {
      type: "multi_match",
      query: text("MultiMatchQuery query", query),
      columns: [...columns],
      boosts: boosts?.map((b) => num("boost", b, 1, 0)) ?? null,
      operator: operator(options?.operator),
    };
  }
  queryType(): FullTextQueryType {
    return FullTextQueryType.MultiMatch;
  }
}

export class BooleanQuery implements FullTextQuery {
  readonly inner: JsFullTextQuery;
  /** Combines queries: MUST clauses all match, SHOULD clauses add to the score, MUST_NOT clauses exclude. */
  constructor(queries: [Occur, FullTextQuery][]) {
    if (!Array.isArray(queries)) throw new StowageError("INVALID_ARGUMENT", "BooleanQuery takes an array of [Occur, query] pairs");
    this.inner = {
      type: "boolean",
      clauses: queries.map(([occur, q]) => {
        if (occur !== Occur.Must && occur !== Occur.Should && occur !== Occur.MustNot) {
          throw new StowageError("INVALID_ARGUMENT", `BooleanQuery: occur must be Occur.Must, Occur.Should or Occur.MustNot, got ${String(occur)}`);
        }
        return [occur, inner(q, "BooleanQuery clause")];
      }),
    };
  }
  queryType(): FullTextQueryType {
    return FullTextQueryType.Boolean;
  }
}

/** What `fullTextSearch()` stores on a query. */
export interface FtsState {
  query: string | FullTextQuery;
  columns?: string[];
}

/** Options of `fullTextSearch()`. */
export interface FullTextSearchOptions {
  columns?: string | string[];
}

export function ftsState(query: string | FullTextQuery, columns?: string | string[] | null): FtsState {
  if (typeof query !== "string" && !instanceOfFullTextQuery(query)) {
    throw new StowageError("INVALID_ARGUMENT", "fullTextSearch() takes a string or a full-text query (MatchQuery, PhraseQuery, ...)");
  }
  const cols = typeof columns === "string" ? [columns] : Array.isArray(columns) ? [...columns] : undefined;
  if (cols?.some((c) => typeof c !== "string")) {
    throw new StowageError("INVALID_ARGUMENT", "fullTextSearch() columns must be column names");
  }
  return { query, columns: cols };
}

/** The native request fields for a full-text search. */
export function ftsRequest(s: FtsState): { query: string; isText: boolean; queryColumns?: string[] } {
  return typeof s.query === "string"
    ? { query: s.query, isText: true, queryColumns: s.columns }
    : { query: JSON.stringify(s.query.inner), isText: false };
}

import type { RecordBatch } from "apache-arrow";
import { Table as ArrowTable, tableFromIPC, tableToIPC } from "apache-arrow";
import { call, callSync, native, NativeTable } from "./native";
import type { Reranker } from "./rerankers";
import { RRFReranker } from "./rerankers/rrf";

/** The one record batch of an IPC stream (the core concatenates). */
async function oneBatch(buf: Buffer): Promise<RecordBatch> {
  const t = tableFromIPC(callSync(() => native.ipcOneBatch(buf)));
  return t.batches[0];
}

/** What a hybrid query runs with. */
export interface HybridPlan {
  fts: FtsState;
  vector: Parameters<NativeTable["vectorSearch"]>[0];
  limit?: number;
  withRowId: boolean;
  fastSearch: boolean;
  reranker?: Reranker;
}

/**
 * A hybrid query: the vector search and the full-text search each return
 * their top `limit` rows (same filter, with `_rowid`), the reranker (RRF,
 * k = 60, by default) fuses them, and the top `limit` fused rows are kept.
 */
export async function runHybrid(inner: NativeTable, p: HybridPlan): Promise<Buffer> {
  const limit = p.limit ?? 10;
  const [vecBuf, ftsBuf] = await Promise.all([
    call(() => inner.vectorSearch({ ...p.vector, limit, withRowId: true })),
    call(() =>
      inner.ftsSearch({
        ...ftsRequest(p.fts),
        limit,
        filter: p.vector.filter,
        columns: p.vector.columns,
        withRowId: true,
        fastSearch: p.fastSearch,
        timeoutMs: p.vector.timeoutMs,
      }),
    ),
  ]);
  const [vec, fts] = await Promise.all([oneBatch(vecBuf), oneBatch(ftsBuf)]);
  const reranker = p.reranker ?? (await RRFReranker.create());
  const text = typeof p.fts.query === "string" ? p.fts.query : String(p.fts.query.inner.query ?? "");
  let out = await reranker.rerankHybrid(text, vec, fts);
  out = out.slice(0, Math.min(limit, out.numRows));
  let table = new ArrowTable(out);
  if (!p.withRowId) {
    table = table.select(table.schema.fields.map((f) => f.name).filter((n) => n !== "_rowid"));
  }
  return Buffer.from(tableToIPC(table, "stream"));
}

import type { IntoVector, Query, VectorQuery } from "./query";

/**
 * `table.search(query, queryType, ftsColumns)`: the one place that decides
 * what a search is. A string is full-text search (issue 11's embedding
 * functions will make "auto"/"vector"/"hybrid" embed it here); a vector is
 * a nearest-neighbour search.
 */
export function searchDispatch(
  table: { query(): Query; vectorSearch(v: IntoVector): VectorQuery },
  query: IntoVector | string | FullTextQuery,
  queryType?: string,
  ftsColumns?: string | string[],
): VectorQuery | Query {
  const kind = queryType ?? "auto";
  if (!["auto", "fts", "vector", "hybrid"].includes(kind)) {
    throw new StowageError("INVALID_ARGUMENT", `search(): queryType must be "auto", "fts", "vector" or "hybrid", got ${String(queryType)}`);
  }
  const isText = typeof query === "string" || instanceOfFullTextQuery(query);
  if (isText) {
    if (kind === "vector" || kind === "hybrid") {
      throw new StowageError(
        "INVALID_ARGUMENT",
        `search(): queryType "${kind}" with a text query needs an embedding function on the table, and it has none; pass a vector, or use query().nearestTo(vector).fullTextSearch(text) for a hybrid search`,
      );
    }
    return table.query().fullTextSearch(query as string | FullTextQuery, { columns: ftsColumns });
  }
  if (kind === "fts") {
    throw new StowageError("INVALID_ARGUMENT", "search(): queryType \"fts\" needs a string or a full-text query");
  }
  if (kind === "hybrid") {
    throw new StowageError("INVALID_ARGUMENT", "search(): queryType \"hybrid\" with a vector needs the text too; use query().nearestTo(vector).fullTextSearch(text)");
  }
  return table.vectorSearch(query as IntoVector);
}
