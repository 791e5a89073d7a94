import { Data, Field, Float32, makeData, makeVector, RecordBatch, Schema, Struct, Table as ArrowTableClass, Uint64, Vector } from "apache-arrow";
import type { Table as ArrowTable } from "apache-arrow";
import { fromIpc, IntoVector, MultiVector, toIpc } from "./arrow";
import { isMultiVectorInput, rankMultivector } from "./multivector";
import { StowageError } from "./errors";
import type { JsDistanceType } from "../index";
import { call, callSync, native, NativeTable } from "./native";
import { ftsRequest, ftsState, runHybrid } from "./fts";
import { decodeResult, vectorSearch as vectorSearchNow } from "./fastsearch";
import type { FtsState, FullTextQuery, FullTextSearchOptions } from "./fts";
import type { Reranker } from "./rerankers";
import type { EmbeddingFunctionConfig } from "./embedding/registry";

export type { IntoVector };

/** "l2", "cosine" or "dot" (in any case), as in @lancedb/lancedb. */
export type DistanceType = JsDistanceType;

/** Checked where the builder is called, by the same rule the query runs with. */
function checkCount(what: string, n: unknown): number {
  return callSync(() => native._checkCount(what, n));
}

/** Typed arrays and Arrow vectors as plain numbers; anything else goes to the core as given, which says what is wrong with it. */
function toNumbers(v: Awaited<IntoVector> | { toArray(): ArrayLike<number> }): number[] {
  if (ArrayBuffer.isView(v)) return Array.from(v as Float32Array);
  if (!Array.isArray(v) && v && typeof (v as { toArray?: unknown }).toArray === "function") {
    return Array.from((v as { toArray(): ArrayLike<number> }).toArray());
  }
  return v as number[];
}

/** What every query shares: select, where, limit, offset, withRowId and the ways to run it. */
export abstract class QueryBase implements AsyncIterable<RecordBatch> {
  protected columns?: string[];
  protected limitValue?: number;
  protected offsetValue?: number;
  protected predicate?: string;
  protected rowId = false;
  protected expressions?: [string, string][];
  // Full-text search (issue 12): lib/fts.ts.
  protected fts?: FtsState;
  protected fast = false;

  /** @internal */
  constructor(protected readonly inner: NativeTable, protected readonly ensureOpen: () => void) {}

  /**
   * Columns to return, in this order: names (`["id", "name"]`), or computed
   * columns as `{ alias: "sql expression" }` (or a Map), e.g.
   * `{ id: "id", double: "price * 2" }`.
   */
  select(columns: string[] | string | Record<string, string> | Map<string, string>): this {
    if (columns instanceof Map || (typeof columns === "object" && columns !== null && !Array.isArray(columns))) {
      const pairs = columns instanceof Map ? [...columns.entries()] : Object.entries(columns);
      if (pairs.length === 0 || pairs.some(([a, e]) => typeof a !== "string" || typeof e !== "string")) {
        throw new StowageError("INVALID_ARGUMENT", "select({ alias: \"sql expression\" }) needs string aliases and expressions");
      }
      this.expressions = pairs;
      this.columns = undefined;
      return this;
    }
    const cols = typeof columns === "string" ? [columns] : columns;
    if (!Array.isArray(cols) || cols.some((c) => typeof c !== "string")) {
      throw new StowageError("INVALID_ARGUMENT", "select() takes a column name, an array of names, or { alias: \"sql expression\" }");
    }
    this.columns = [...cols];
    this.expressions = undefined;
    return this;
  }

  /**
   * Keeps rows for which the SQL predicate is true, e.g. `id > 10 AND name
   * LIKE 'a%'`. Called again, the predicates are combined with AND (as in
   * @lancedb/lancedb).
   */
  where(predicate: string): this {
    if (typeof predicate !== "string") {
      throw new StowageError("INVALID_ARGUMENT", `where() takes a SQL predicate string, got ${typeof predicate}`);
    }
    this.predicate = this.predicate === undefined ? predicate : `(${this.predicate}) AND (${predicate})`;
    return this;
  }

  /** Alias of `where`. */
  filter(predicate: string): this {
    return this.where(predicate);
  }

  /** Adds the `_rowid` column. */
  withRowId(): this {
    this.rowId = true;
    return this;
  }

  limit(limit: number): this {
    this.limitValue = checkCount("limit", limit);
    return this;
  }

  offset(offset: number): this {
    this.offsetValue = checkCount("offset", offset);
    return this;
  }

  /** Ranks rows by BM25 relevance (`_score`) to `query`; on a vector query, a hybrid search. */
  fullTextSearch(query: string | FullTextQuery, options?: Partial<FullTextSearchOptions>): this {
    this.fts = ftsState(query, options?.columns);
    return this;
  }

  /** Searches only the indexed rows (rows added since the index was built are skipped). */
  fastSearch(): this {
    this.fast = true;
    return this;
  }

  /** Runs the query natively; `left()` is the time left of `timeoutMs` (native reads are cancelled past it). */
  protected abstract execute(left: TimeLeft): Promise<Buffer | Buffer[]>;

  /** A last step on the decoded result (vector searches drop the rows before `offset`). */
  protected postProcess(table: ArrowTable): ArrowTable {
    return table;
  }

  /** @internal The result as one table, after `timeoutMs` at the latest. */
  protected async run(options?: Partial<QueryExecutionOptions>): Promise<ArrowTable> {
    this.ensureOpen();
    const left = timeLeft(options?.timeoutMs);
    const exec = async (): Promise<ArrowTable> => {
      try {
        return this.postProcess(decodeResult(await call(() => this.execute(left))));
      } catch (e) {
        // A native call cancelled at the deadline knew only the time left: name the caller's timeoutMs.
        if (e instanceof StowageError && e.code === "STORAGE_TIMEOUT" && left() === 0) throw queryExpired(Number(options?.timeoutMs), true);
        throw e;
      }
    };
    return withTimeout(exec(), options?.timeoutMs);
  }

  /** The result as an Arrow table. */
  async toArrow(options?: Partial<QueryExecutionOptions>): Promise<ArrowTable> {
    const table = await this.run(options);
    const max = checkMaxBatchLength(options?.maxBatchLength);
    if (max === undefined) return table;
    return table.batches.length === 0 ? table : new ArrowTableClass(table.schema, [...splitBatches(table.batches, max)]);
  }

  /** The result as an array of row objects. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  async toArray(options?: Partial<QueryExecutionOptions>): Promise<any[]> {
    return (await this.toArrow(options)).toArray();
  }

  /**
   * The result's record batches, at most `maxBatchLength` rows each. (This
   * build runs the query to completion before the first batch; see
   * docs/compat.md.)
   */
  protected async *executeBatches(options?: Partial<QueryExecutionOptions>): AsyncGenerator<RecordBatch, void, unknown> {
    const table = await this.run(options);
    yield* splitBatches(table.batches, checkMaxBatchLength(options?.maxBatchLength));
  }

  [Symbol.asyncIterator](): AsyncIterator<RecordBatch> {
    return this.executeBatches();
  }

  /** The schema of the result, without reading any rows. */
  async outputSchema(): Promise<Schema> {
    this.ensureOpen();
    const probe = this.probe();
    return decodeResult(await call(() => probe.execute(noDeadline))).schema;
  }

  /** @internal A copy of this query returning (almost) no rows, for the result's schema. */
  protected probe(): QueryBase {
    const copy = Object.assign(Object.create(Object.getPrototypeOf(this)), this) as QueryBase;
    copy.limitValue = 0;
    copy.offsetValue = undefined;
    return copy;
  }

  /**
   * A readable plan of what Stowage will do to answer this query: the
   * steps, the data files it opens (of how many), the rows they hold, how
   * the filter is pushed down, which columns the column cache already has
   * (`verbose`: per file).
   */
  async explainPlan(verbose = false): Promise<string> {
    this.ensureOpen();
    return (await this.describe(verbose)).join("\n") + "\n";
  }

  /**
   * Runs the query and reports the plan (with the cache as it was before
   * the run), then the rows in the table, the rows returned and the time.
   */
  async analyzePlan(): Promise<string> {
    this.ensureOpen();
    const plan = await this.describe(true);
    const total = await call(() => this.inner.countRows(undefined));
    const started = process.hrtime.bigint();
    const result = await this.run();
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    return (
      [
        ...plan,
        `Executed: rows_in_table=${total}, rows_returned=${result.numRows}, batches=${result.batches.length}, elapsed=${ms.toFixed(1)}ms`,
      ].join("\n") + "\n"
    );
  }

  /** @internal The plan's lines, outermost step first. */
  protected async describe(verbose: boolean): Promise<string[]> {
    const lines: string[] = [];
    if (this.offsetValue || this.limitValue !== undefined) {
      lines.push(`Limit: offset=${this.offsetValue ?? 0}, limit=${this.limitValue ?? "none"}`);
    }
    if (this.expressions) {
      lines.push(`Project: ${this.expressions.map(([a, e]) => `${a} := ${e}`).join(", ")}`);
    } else {
      lines.push(`Project: ${this.columns ? this.columns.join(", ") : "all columns"}${this.rowId ? ", _rowid" : ""}`);
    }
    lines.push(...(await this.describeSource(verbose)).map((l) => "  " + l));
    return lines;
  }

  /** @internal How the rows are found: the scan's plan, from the manifest and the column cache. */
  protected async describeSource(verbose: boolean, limited = true): Promise<string[]> {
    const native = await call(() =>
      this.inner.explainScan(
        {
          columns: this.columns,
          filter: this.predicate,
          withRowId: this.rowId,
          expressions: this.expressions,
          limit: limited ? this.limitValue : undefined,
          offset: limited ? this.offsetValue : undefined,
        },
        verbose,
      ),
    );
    return [`Scan: table '${this.inner.name}'`, ...native.map((l) => "  " + l)];
  }
}

/** @internal search(text) with queryType "auto": the table's current embedding functions, read when the query runs. */
export interface AutoText {
  text: string;
  /** queryType "vector"/"hybrid": a table without an embedding function is an error (not a full-text search). */
  mustEmbed?: boolean;
  ftsColumns?: string | string[];
  functions: () => Promise<EmbeddingFunctionConfig[]>;
}

/** Options for running a query, as in @lancedb/lancedb. */
export interface QueryExecutionOptions {
  /** At most this many rows per record batch. */
  maxBatchLength?: number;
  /** Fail with STORAGE_TIMEOUT when the query has not finished after this many milliseconds. */
  timeoutMs?: number;
}

/** A sort key for orderBy(), as in @lancedb/lancedb. */
export interface ColumnOrdering {
  columnName: string;
  ascending?: boolean;
  nullsFirst?: boolean;
}

/** What a query offers once built: run it (the reference's marker interface). */
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface ExecutableQuery {}

function checkMaxBatchLength(n: unknown): number | undefined {
  if (n === undefined || n === null) return undefined;
  return checkCount("maxBatchLength", n) || undefined;
}

/** Milliseconds left of a query's `timeoutMs` (undefined: no timeout), for each native call it makes. */
export type TimeLeft = () => number | undefined;

const noDeadline: TimeLeft = () => undefined;

function timeLeft(timeoutMs: unknown): TimeLeft {
  if (timeoutMs === undefined || timeoutMs === null) return noDeadline;
  const deadline = Date.now() + checkCount("timeoutMs", timeoutMs);
  return () => Math.max(0, deadline - Date.now());
}

/**
 * The order of `n` rows by `ordering` (as the reference's orderBy:
 * ascending unless `ascending: false`, nulls last unless `nullsFirst`);
 * ties keep their order (Array.prototype.sort is stable).
 */
function sortedOrder(n: number, ordering: ColumnOrdering[], column: (name: string) => { get(i: number): unknown } | null | undefined): number[] {
  const cols = ordering.map((o) => column(o.columnName));
  const cmp = (a: unknown, b: unknown): number => (a === b ? 0 : (a as number) < (b as number) ? -1 : 1);
  const order = Array.from({ length: n }, (_, i) => i);
  order.sort((x, y) => {
    for (let k = 0; k < ordering.length; k++) {
      const a = cols[k]?.get(x);
      const b = cols[k]?.get(y);
      const an = a === null || a === undefined;
      const bn = b === null || b === undefined;
      if (an || bn) {
        if (an && bn) continue;
        return (an ? -1 : 1) * (ordering[k].nullsFirst ? 1 : -1);
      }
      const c = cmp(a, b);
      if (c !== 0) return ordering[k].ascending ? c : -c;
    }
    return 0;
  });
  return order;
}

/** Checks and normalises orderBy()'s argument. */
function normaliseOrdering(ordering: ColumnOrdering | ColumnOrdering[]): Required<ColumnOrdering>[] {
  const list = Array.isArray(ordering) ? ordering : [ordering];
  if (list.length === 0 || list.some((o) => !o || typeof o.columnName !== "string")) {
    throw new StowageError("INVALID_ARGUMENT", "orderBy() takes { columnName, ascending?, nullsFirst? } or an array of them");
  }
  return list.map((o) => ({ columnName: o.columnName, ascending: o.ascending ?? true, nullsFirst: o.nullsFirst ?? false }));
}

/**
 * Ranked rows (a search's `_rowid`s with their `_distance` or `_score`)
 * re-sorted by `ordering`, then `offset`/`limit` applied. The sort columns
 * come from `keys` when the search returned them, else they are read for
 * these rows only. A sort on the score column itself sorts by it.
 */
async function orderRanked(
  inner: NativeTable,
  ranked: { ids: bigint[]; scores: number[]; scoreName: string; keys?: ArrowTable },
  ordering: ColumnOrdering[],
  offset: number,
  limit: number | undefined,
  left: TimeLeft,
): Promise<{ ids: bigint[]; scores: number[] }> {
  const names = [...new Set(ordering.map((o) => o.columnName).filter((c) => c !== ranked.scoreName))];
  const keys =
    ranked.keys ??
    (names.length === 0
      ? undefined
      : fromIpc(await inner.take({ rowIds: ranked.ids, columns: names, inGivenOrder: true, timeoutMs: left() })));
  if (keys && keys.numRows !== ranked.ids.length) {
    throw new StowageError("COMMIT_CONFLICT", "rows of the search result changed while it was read (another writer); run the search again");
  }
  const order = sortedOrder(ranked.ids.length, ordering, (name) => (name === ranked.scoreName ? { get: (i: number) => ranked.scores[i] } : keys?.getChild(name)) as { get(i: number): unknown } | null);
  const chosen = order.slice(offset, limit === undefined ? undefined : offset + limit);
  return { ids: chosen.map((i) => ranked.ids[i]), scores: chosen.map((i) => ranked.scores[i]) };
}

/** `column` of a result as numbers / bigints. */
function numbersOf(t: ArrowTable, column: string): number[] {
  return Array.from(t.getChild(column)?.toArray() ?? [], Number);
}
function idsOf(t: ArrowTable): bigint[] {
  return Array.from(t.getChild("_rowid")?.toArray() ?? [], (x) => BigInt(x as bigint));
}

/**
 * Rows by id (selected columns or computed ones) in the order given, with
 * the ranking's score column (`_distance` or `_score`) and `_rowid` if asked.
 */
async function rowsWithScores(
  inner: NativeTable,
  q: { columns?: string[]; expressions?: [string, string][]; withRowId: boolean },
  ids: bigint[],
  scoreName: string,
  scores: number[],
  left: TimeLeft,
): Promise<Buffer> {
  const rows = fromIpc(await inner.take({ rowIds: ids, columns: q.columns, expressions: q.expressions, inGivenOrder: true, timeoutMs: left() }));
  if (rows.numRows !== ids.length) {
    // Only when another writer removed ranked rows between the two reads.
    throw new StowageError("COMMIT_CONFLICT", "rows of the search result changed while it was read (another writer); run the search again");
  }
  const extra: [Field, Data][] = [[new Field(scoreName, new Float32(), true), makeVector(Float32Array.from(scores)).data[0]]];
  if (q.withRowId) extra.push([new Field("_rowid", new Uint64(), true), makeVector(BigUint64Array.from(ids)).data[0]]);
  const fields = [...rows.schema.fields, ...extra.map(([f]) => f)];
  const children = [...rows.schema.fields.map((_, i) => (rows.getChildAt(i) as Vector).data[0]), ...extra.map(([, d]) => d)];
  const struct = makeData({ type: new Struct(fields), length: ids.length, nullCount: 0, children });
  return toIpc(new ArrowTableClass([new RecordBatch(new Schema(fields, rows.schema.metadata), struct)]));
}

function* splitBatches(batches: RecordBatch[], max: number | undefined): Generator<RecordBatch> {
  for (const b of batches) {
    if (max === undefined || b.numRows <= max) {
      yield b;
      continue;
    }
    for (let at = 0; at < b.numRows; at += max) yield b.slice(at, Math.min(at + max, b.numRows));
  }
}

function queryExpired(ms: number, cancelled: boolean): StowageError {
  return new StowageError("STORAGE_TIMEOUT", `the query did not finish within timeoutMs=${ms}${cancelled ? "; its reads were cancelled" : ""}`);
}

async function withTimeout<T>(p: Promise<T>, timeoutMs: number | undefined): Promise<T> {
  if (timeoutMs === undefined || timeoutMs === null) return p;
  const ms = checkCount("timeoutMs", timeoutMs);
  const expired = (): StowageError => queryExpired(ms, ms > 0);
  if (ms === 0) {
    // No time at all: fail before starting, whatever the race would say.
    p.catch(() => undefined);
    throw expired();
  }
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(expired()), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The batches of a query, as an async generator (the reference's
 * RecordBatchIterator wraps its native iterator the same way).
 */
export async function* RecordBatchIterator(
  source: Promise<AsyncIterable<RecordBatch>> | AsyncIterable<RecordBatch>,
): AsyncGenerator<RecordBatch, void, unknown> {
  yield* await source;
}

/**
 * A query over a table, as in @lancedb/lancedb: chain `where`, `select`,
 * `limit`, `offset`, then `toArrow()`, `toArray()` or iterate the batches.
 */
export class Query extends QueryBase {
  /** Turns this query into a nearest-neighbour search for `vector`. */
  nearestTo(vector: IntoVector | MultiVector): VectorQuery {
    const q = new VectorQuery(this.inner, this.ensureOpen, vector);
    if (this.columns) q.select(this.columns);
    if (this.predicate !== undefined) q.where(this.predicate);
    if (this.limitValue !== undefined) q.limit(this.limitValue);
    if (this.offsetValue !== undefined) q.offset(this.offsetValue);
    if (this.ordering) q.orderBy(this.ordering);
    if (this.rowId) q.withRowId();
    if (this.fts) q.fullTextSearch(this.fts.query, { columns: this.fts.columns });
    if (this.fast) q.fastSearch();
    return q;
  }

  /** A full-text search for `query` (in `columns`, or every column with a full-text index). */
  nearestToText(query: string | FullTextQuery, columns?: string[]): Query {
    return this.fullTextSearch(query, { columns });
  }

  /** The full-text search this query runs (see fullTextSearch). */
  private async executeFts(fts: FtsState, left: TimeLeft): Promise<Buffer> {
    if (this.expressions) {
      throw new StowageError("NOT_SUPPORTED", "select({ alias: expression }) is not supported on full-text searches; select column names");
    }
    const request = { ...ftsRequest(fts), limit: this.limitValue, filter: this.predicate, fastSearch: this.fast };
    if (!this.ordering) {
      return this.inner.ftsSearch({ ...request, offset: this.offsetValue, columns: this.columns, withRowId: this.rowId, timeoutMs: left() });
    }
    // orderBy, as the reference: the top `limit + offset` rows by score
    // (default limit 10), sorted by the ordering, `offset` of them skipped.
    const names = [...new Set(this.ordering.map((o) => o.columnName).filter((c) => c !== "_score"))];
    const limit = this.limitValue ?? 10;
    const hits = fromIpc(
      await this.inner.ftsSearch({ ...request, limit: limit + (this.offsetValue ?? 0), offset: 0, columns: names, withRowId: true, timeoutMs: left() }),
    );
    const { ids, scores } = await orderRanked(
      this.inner,
      { ids: idsOf(hits), scores: numbersOf(hits, "_score"), scoreName: "_score", keys: hits },
      this.ordering,
      this.offsetValue ?? 0,
      limit,
      left,
    );
    return rowsWithScores(this.inner, { columns: this.columns, withRowId: this.rowId }, ids, "_score", scores, left);
  }

  private scanOptions() {
    return {
      columns: this.columns,
      limit: this.limitValue,
      offset: this.offsetValue,
      filter: this.predicate,
      withRowId: this.rowId,
      expressions: this.expressions,
    };
  }

  private ordering?: Required<ColumnOrdering>[];

  /**
   * Sorts the result (before offset and limit), as in @lancedb/lancedb:
   * ascending unless `ascending: false`, nulls last unless `nullsFirst`,
   * ties in stored order. Only the sort columns of the matching rows are
   * read to sort; then only the rows returned are read whole.
   */
  orderBy(ordering: ColumnOrdering | ColumnOrdering[]): this {
    this.ordering = normaliseOrdering(ordering);
    return this;
  }

  protected execute(left: TimeLeft): Promise<Buffer | Buffer[]> {
    if (this.fts) return this.executeFts(this.fts, left);
    if (this.ordering) return this.executeOrdered(this.ordering, left);
    // One buffer per IPC message: no joined copy of a large result.
    return this.inner.scanPieces({ ...this.scanOptions(), timeoutMs: left() });
  }

  private async executeOrdered(ordering: ColumnOrdering[], left: TimeLeft): Promise<Buffer> {
    const keys = fromIpc(
      await this.inner.scan({ columns: [...new Set(ordering.map((o) => o.columnName))], filter: this.predicate, withRowId: true, timeoutMs: left() }),
    );
    const ids = keys.getChild("_rowid");
    const order = sortedOrder(keys.numRows, ordering, (name) => keys.getChild(name));
    const start = this.offsetValue ?? 0;
    const chosen = order.slice(start, this.limitValue === undefined ? undefined : start + this.limitValue);
    const wanted = chosen.map((i) => BigInt(ids?.get(i) as bigint));
    return this.inner.take({
      rowIds: wanted,
      columns: this.columns,
      expressions: this.expressions,
      withRowId: this.rowId,
      inGivenOrder: true,
      timeoutMs: left(),
    });
  }

  /**
   * Streams: the table's data files are read one after another as the
   * batches are consumed (two ahead), so iterating a large result never
   * holds all of it; leaving the loop early stops the reading.
   */
  protected override async *executeBatches(options?: Partial<QueryExecutionOptions>): AsyncGenerator<RecordBatch, void, unknown> {
    if (this.ordering) {
      yield* super.executeBatches(options);
      return;
    }
    this.ensureOpen();
    const max = checkMaxBatchLength(options?.maxBatchLength);
    const timeoutMs = options?.timeoutMs === undefined || options?.timeoutMs === null ? undefined : checkCount("timeoutMs", options.timeoutMs);
    if (timeoutMs === 0) await withTimeout(Promise.resolve(), 0);
    // The deadline covers the whole iteration and is kept natively: past
    // it the stream drops its read-ahead and next() fails STORAGE_TIMEOUT.
    const stream = await call(() => this.inner.scanStream({ ...this.scanOptions(), timeoutMs }));
    try {
      for (;;) {
        const buf = await call(() => stream.next());
        if (buf === null) return;
        yield* splitBatches(fromIpc(buf).batches, max);
      }
    } finally {
      await stream.close();
    }
  }
}

/**
 * A flat (exact) nearest-neighbour search. Results carry `_distance`;
 * the default limit is 10, as in @lancedb/lancedb.
 */
export class VectorQuery extends QueryBase {
  private readonly vector: IntoVector | MultiVector;
  private readonly extra: IntoVector[] = [];
  private vectorColumn?: string;
  private distance?: DistanceType;
  private post = false;
  private reranker?: Reranker;
  private ordering?: Required<ColumnOrdering>[];
  /** search(text) with queryType "auto": embedded or full-text, decided when the query runs. */
  private autoText?: AutoText;

  /** @internal */
  constructor(inner: NativeTable, ensureOpen: () => void, vector: IntoVector | MultiVector) {
    super(inner, ensureOpen);
    // A Promise (an embedding being computed) is awaited when the query runs.
    this.vector = vector;
  }

  protected override probe(): QueryBase {
    const copy = super.probe();
    (copy as VectorQuery).limitValue = 1;
    return copy;
  }

  /** Rows before `offset` are dropped after ranking (the search asks for offset + limit); orderBy applies offset itself. */
  protected override postProcess(table: ArrowTable): ArrowTable {
    const skip = this.ordering ? 0 : (this.offsetValue ?? 0);
    return skip === 0 ? table : table.slice(skip);
  }

  /**
   * Sorts the search's results by these columns, as in @lancedb/lancedb:
   * the nearest `limit + offset` rows are found first, then sorted
   * (ascending unless `ascending: false`, nulls last unless `nullsFirst`),
   * then `offset` is skipped. The sort columns need not be selected;
   * `_distance` may be one (the reference refuses it).
   */
  orderBy(ordering: ColumnOrdering | ColumnOrdering[]): this {
    this.ordering = normaliseOrdering(ordering);
    return this;
  }

  /** @internal search(text) with queryType "auto" (lib/table.ts). */
  static forText(inner: NativeTable, ensureOpen: () => void, auto: AutoText): VectorQuery {
    const q = new VectorQuery(inner, ensureOpen, [] as number[]);
    q.autoText = auto;
    return q;
  }

  /**
   * search(text) on a table whose current schema has no embedding function:
   * the same query as a full-text search. Vector settings cannot apply.
   */
  private runAsFts(auto: AutoText, left: TimeLeft): Promise<Buffer | Buffer[]> {
    const vectorOnly = [
      ["column()", this.vectorColumn],
      ["distanceType()", this.distance],
      ["postfilter()", this.post || undefined],
      ["addQueryVector()", this.extra.length || undefined],
      ["rerank()", this.reranker],
      ["index search settings (nprobes, refineFactor, ef, distanceRange, bypassVectorIndex)", Object.keys(this.ann).filter((k) => k !== "fastSearch").length || undefined],
    ].filter(([, v]) => v !== undefined);
    if (vectorOnly.length > 0) {
      throw new StowageError(
        "INVALID_ARGUMENT",
        `search("${auto.text}") runs as a full-text search because table '${this.inner.name}' has no embedding function; ${vectorOnly.map(([n]) => n).join(", ")} apply to vector searches only (pass a vector to search a vector column)`,
      );
    }
    const q = new Query(this.inner, this.ensureOpen).fullTextSearch(auto.text, { columns: auto.ftsColumns });
    if (this.columns) q.select(this.columns);
    if (this.predicate !== undefined) q.where(this.predicate);
    if (this.ordering) {
      // orderBy applies offset itself (see Query.executeFts).
      if (this.limitValue !== undefined) q.limit(this.limitValue);
      q.orderBy(this.ordering);
      if (this.offsetValue !== undefined) q.offset(this.offsetValue);
    } else if (this.offsetValue) {
      // The top limit + offset; postProcess then skips offset, as the full-text search would.
      q.limit((this.limitValue ?? 10) + this.offsetValue);
    } else if (this.limitValue !== undefined) {
      q.limit(this.limitValue);
    }
    if (this.rowId) q.withRowId();
    if (this.fast) q.fastSearch();
    return (q as unknown as { execute(left: TimeLeft): Promise<Buffer | Buffer[]> }).execute(left);
  }

  protected override async describeSource(verbose: boolean): Promise<string[]> {
    const out = [
      `KNN (exact, flat): column ${this.vectorColumn ?? "(the table's vector column)"}, distance ${this.distance ?? "l2"}, ` +
        `k=${(this.limitValue ?? 10) + (this.offsetValue ?? 0)}, every row compared`,
    ];
    if (this.predicate !== undefined) out.push(`  ${this.post ? "Post-filter (after ranking)" : "Pre-filter (before ranking)"}: ${this.predicate}`);
    out.push(...(await super.describeSource(verbose, false)).map((l) => "  " + l));
    return out;
  }

  /** The vector column to search (found automatically when only one matches). */
  column(name: string): this {
    this.vectorColumn = name;
    return this;
  }

  distanceType(type: DistanceType): this {
    this.distance = callSync(() => native._checkDistanceType(type));
    return this;
  }

  /** Filters after ranking instead of before (may return fewer rows than the limit). */
  postfilter(): this {
    this.post = true;
    return this;
  }

  // ---- Index search settings (docs/indexes.md) ----
  private ann: {
    minimumNprobes?: number;
    maximumNprobes?: number;
    refineFactor?: number;
    ef?: number;
    bypassVectorIndex?: boolean;
    fastSearch?: boolean;
    distanceLower?: number;
    distanceUpper?: number;
  } = {};

  /** Search exactly even when the column has a vector index. */
  bypassVectorIndex(): this {
    this.ann.bypassVectorIndex = true;
    return this;
  }

  /** Partitions an IVF index probes (default 20): sets both minimum and maximum. */
  nprobes(n: number): this {
    callSync(() => native._checkPositive("nprobes", n));
    this.ann.minimumNprobes = n;
    this.ann.maximumNprobes = n;
    return this;
  }

  /** Partitions always probed (default 20). */
  minimumNprobes(n: number): this {
    callSync(() => native._checkPositive("minimumNprobes", n));
    this.ann.minimumNprobes = n;
    return this;
  }

  /** Partitions probed at most when fewer than `limit` rows were found (0: no maximum). */
  maximumNprobes(n: number): this {
    if (n !== 0) callSync(() => native._checkPositive("maximumNprobes", n));
    this.ann.maximumNprobes = n;
    return this;
  }

  /** Re-rank `limit × n` index candidates by exact distance (default 10 for IVF-PQ, 4 for HNSW). */
  refineFactor(n: number): this {
    callSync(() => native._checkPositive("refineFactor", n));
    this.ann.refineFactor = n;
    return this;
  }

  /** HNSW candidates kept during the search (default 64). */
  ef(n: number): this {
    callSync(() => native._checkPositive("ef", n));
    this.ann.ef = n;
    return this;
  }

  /** Search only the indexed rows (skips rows added since the index was built or optimized). */
  override fastSearch(): this {
    super.fastSearch();
    this.ann.fastSearch = true;
    return this;
  }

  /** The reranker of a hybrid query (vector + full-text); RRF by default. */
  rerank(reranker: Reranker): VectorQuery {
    this.reranker = reranker;
    return this;
  }

  /** Only rows with `lowerBound <= _distance < upperBound` (either may be undefined). */
  distanceRange(lowerBound?: number, upperBound?: number): this {
    for (const [name, v] of [["lowerBound", lowerBound], ["upperBound", upperBound]] as const) {
      if (v !== undefined && v !== null && (typeof v !== "number" || Number.isNaN(v))) {
        throw new StowageError("INVALID_ARGUMENT", `distanceRange: ${name} must be a number or undefined`);
      }
    }
    this.ann.distanceLower = lowerBound ?? undefined;
    this.ann.distanceUpper = upperBound ?? undefined;
    return this;
  }

  protected async execute(left: TimeLeft): Promise<Buffer | Buffer[]> {
    let first: Awaited<IntoVector> | MultiVector;
    if (this.autoText) {
      // Decided now, from the table's current schema (as of readConsistencyInterval).
      const fns = await this.autoText.functions();
      if (fns.length === 0 && this.autoText.mustEmbed) {
        throw new StowageError(
          "NOT_SUPPORTED",
          `table '${this.inner.name}' has no embedding function to turn the text into a vector; pass a vector to search(), or search the text with queryType "fts" (a full-text index)`,
        );
      }
      if (fns.length === 0) return this.runAsFts(this.autoText, left);
      first = await fns[0].function.computeQueryEmbeddings(this.autoText.text);
    } else {
      first = await this.vector;
    }
    const multi = isMultiVectorInput(first);
    const queries: number[][] = multi ? await Promise.all((first as unknown[]).map(async (v) => toNumbers(await (v as IntoVector)))) : [toNumbers(first as Awaited<IntoVector>)];
    for (const v of this.extra) queries.push(toNumbers(await v));
    if (multi || queries.length > 1) {
      // Several query vectors: late-interaction search of a list-of-vectors column (lib/multivector.ts).
      const ranked = await rankMultivector(this.inner, {
        queries,
        column: this.vectorColumn,
        distanceType: this.distance,
        k: (this.limitValue ?? 10) + (this.offsetValue ?? 0),
        filter: this.predicate,
        postfilter: this.post,
        timeLeft: left,
      });
      if (this.ordering) {
        const sorted = await orderRanked(
          this.inner,
          { ids: ranked.ids, scores: ranked.distances, scoreName: "_distance" },
          this.ordering,
          this.offsetValue ?? 0,
          this.limitValue ?? 10,
          left,
        );
        return this.rowsWithDistances(sorted.ids, sorted.scores, left);
      }
      return this.rowsWithDistances(ranked.ids, ranked.distances, left);
    }
    const vector = queries[0];
    if (this.fts) {
      // Hybrid: the vector search and the full-text search, fused by the reranker (lib/fts.ts).
      if (this.expressions) {
        throw new StowageError("NOT_SUPPORTED", "select({ alias: expression }) is not supported on hybrid searches; select column names");
      }
      if (this.ordering) {
        throw new StowageError("NOT_SUPPORTED", "orderBy() is not supported on hybrid (vector + full-text) searches; order a vector search or a full-text search");
      }
      return runHybrid(this.inner, {
        fts: this.fts,
        vector: {
          vector,
          column: this.vectorColumn,
          distanceType: this.distance,
          limit: this.limitValue,
          filter: this.predicate,
          postfilter: this.post,
          columns: this.columns,
          withRowId: this.rowId,
          ...this.ann,
          timeoutMs: left(),
        },
        limit: this.limitValue,
        withRowId: this.rowId,
        fastSearch: this.fast,
        reranker: this.reranker,
      });
    }
    // compact: the result goes straight to decodeResult (see run()).
    const search = (columns: string[] | undefined, withRowId: boolean, compact = false): Promise<Buffer> =>
      vectorSearchNow(
        this.inner,
        {
          vector,
          column: this.vectorColumn,
          distanceType: this.distance,
          limit: this.offsetValue ? (this.limitValue ?? 10) + this.offsetValue : this.limitValue,
          filter: this.predicate,
          postfilter: this.post,
          columns,
          withRowId,
          ...this.ann,
          timeoutMs: left(),
        },
        compact,
      );
    if (this.ordering) {
      // orderBy: the nearest limit + offset rows with their sort columns,
      // sorted, offset skipped, then the rows returned read.
      const names = [...new Set(this.ordering.map((o) => o.columnName).filter((c) => c !== "_distance"))];
      const hits = fromIpc(await search(names, true));
      const sorted = await orderRanked(
        this.inner,
        { ids: idsOf(hits), scores: numbersOf(hits, "_distance"), scoreName: "_distance", keys: hits },
        this.ordering,
        this.offsetValue ?? 0,
        this.limitValue ?? 10,
        left,
      );
      return this.rowsWithDistances(sorted.ids, sorted.scores, left);
    }
    if (!this.expressions) return search(this.columns, this.rowId, true);
    // Computed columns: rank first (row ids and distances only), then
    // evaluate the expressions on those rows, in rank order.
    const hits = fromIpc(await search([], true));
    return this.rowsWithDistances(idsOf(hits), numbersOf(hits, "_distance"), left);
  }

  /** The ranked rows (selected columns or computed ones) in rank order, with `_distance` (and `_rowid`). */
  private rowsWithDistances(ids: bigint[], distances: number[], left: TimeLeft): Promise<Buffer> {
    return rowsWithScores(this.inner, { columns: this.columns, expressions: this.expressions, withRowId: this.rowId }, ids, "_distance", distances, left);
  }

  /** Adds a query vector: several make a multivector (late-interaction) search, as in @lancedb/lancedb. */
  addQueryVector(vector: IntoVector): this {
    this.extra.push(vector);
    return this;
  }
}

/**
 * Rows by position (`table.takeOffsets`) or by row id (`table.takeRowIds`),
 * with select() and withRowId(), as in @lancedb/lancedb. Rows come back in
 * the order the table stores them; positions or ids with no row are
 * skipped. Only the rows asked for are read.
 */
export class TakeQuery extends QueryBase {
  /** @internal */
  constructor(
    inner: NativeTable,
    ensureOpen: () => void,
    private readonly by: { offsets: number[] } | { rowIds: bigint[] },
  ) {
    super(inner, ensureOpen);
  }

  protected execute(left: TimeLeft): Promise<Buffer> {
    return this.inner.take({ ...this.by, columns: this.columns, expressions: this.expressions, withRowId: this.rowId, timeoutMs: left() });
  }

  protected override probe(): QueryBase {
    const copy = super.probe();
    (copy as unknown as { by: TakeQuery["by"] }).by = { offsets: [] };
    return copy;
  }

  protected override async describeSource(_verbose: boolean): Promise<string[]> {
    const what = "offsets" in this.by ? `${this.by.offsets.length} offsets` : `${this.by.rowIds.length} row ids`;
    return [`Take: ${what} from table '${this.inner.name}', reading only those rows (column cache, then Parquet row selection)`];
  }
}

/** Checks and converts row ids as @lancedb/lancedb does (integers or bigints, not negative). */
export function toRowIds(rowIds: readonly (number | bigint)[]): bigint[] {
  if (!Array.isArray(rowIds)) throw new StowageError("INVALID_ARGUMENT", "takeRowIds() takes an array of row ids");
  return rowIds.map((id) => {
    if (typeof id === "bigint") {
      if (id < 0n) throw new StowageError("INVALID_ARGUMENT", `row id ${id} is negative`);
      return id;
    }
    if (!Number.isInteger(id)) throw new StowageError("INVALID_ARGUMENT", `row id ${String(id)} is not an integer (or bigint)`);
    if (id < 0) throw new StowageError("INVALID_ARGUMENT", `row id ${id} is negative`);
    if (!Number.isSafeInteger(id)) throw new StowageError("INVALID_ARGUMENT", `row id ${id} is too large for a number; use a bigint`);
    return BigInt(id);
  });
}

/** Checks offsets (non-negative integers). */
export function toOffsets(offsets: readonly number[]): number[] {
  if (!Array.isArray(offsets)) throw new StowageError("INVALID_ARGUMENT", "takeOffsets() takes an array of offsets");
  return offsets.map((o) => checkCount("offset", o));
}
