import type { RecordBatch, Table as ArrowTable } from "apache-arrow";
import { fromIpc } from "./arrow";
import { StowageError } from "./errors";
import type { JsDistanceType } from "../index";
import { call, callSync, native, NativeTable } from "./native";
import { ftsRequest, ftsState, runHybrid } from "./fts";
import type { FtsState, FullTextQuery, FullTextSearchOptions } from "./fts";
import type { Reranker } from "./rerankers";

/** A query vector: numbers, a typed array, or an apache-arrow Vector-like with toArray(). */
export type IntoVector = number[] | Float32Array | Float64Array | { toArray(): ArrayLike<number> };

/** "l2", "cosine" or "dot" (in any case), as in @lancedb/lancedb. */
export type DistanceType = JsDistanceType;

/** Checked where the builder is called, by the same rule the query runs with. */
function checkCount(what: string, n: unknown): number {
  return callSync(() => native._checkCount(what, n));
}

/** Typed arrays and Arrow vectors as plain numbers; anything else goes to the core as given, which says what is wrong with it. */
function toNumbers(v: IntoVector): number[] {
  if (ArrayBuffer.isView(v)) return Array.from(v as Float32Array);
  if (!Array.isArray(v) && v && typeof (v as { toArray?: unknown }).toArray === "function") {
    return Array.from((v as { toArray(): ArrayLike<number> }).toArray());
  }
  return v as number[];
}

/** What every query shares: select, where, limit, offset, withRowId and the ways to run it. */
abstract class QueryBase implements AsyncIterable<RecordBatch> {
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

  /** Keeps rows for which the SQL predicate is true, e.g. `id > 10 AND name LIKE 'a%'`. */
  where(predicate: string): this {
    if (typeof predicate !== "string") {
      throw new StowageError("INVALID_ARGUMENT", `where() takes a SQL predicate string, got ${typeof predicate}`);
    }
    this.predicate = predicate;
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

  protected abstract execute(): Promise<Buffer>;

  async toArrow(): Promise<ArrowTable> {
    this.ensureOpen();
    return fromIpc(await call(() => this.execute()));
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  async toArray(): Promise<any[]> {
    return (await this.toArrow()).toArray();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<RecordBatch> {
    const table = await this.toArrow();
    for (const batch of table.batches) yield batch;
  }
}

/**
 * A query over a table, as in @lancedb/lancedb: chain `where`, `select`,
 * `limit`, `offset`, then `toArrow()`, `toArray()` or iterate the batches.
 */
export class Query extends QueryBase {
  /** Turns this query into a nearest-neighbour search for `vector`. */
  nearestTo(vector: IntoVector): VectorQuery {
    const q = new VectorQuery(this.inner, this.ensureOpen, vector);
    if (this.columns) q.select(this.columns);
    if (this.predicate !== undefined) q.where(this.predicate);
    if (this.limitValue !== undefined) q.limit(this.limitValue);
    if (this.rowId) q.withRowId();
    if (this.fts) q.fullTextSearch(this.fts.query, { columns: this.fts.columns });
    if (this.fast) q.fastSearch();
    return q;
  }

  /** A full-text search for `query` (in `columns`, or every column with a full-text index). */
  nearestToText(query: string | FullTextQuery, columns?: string[]): Query {
    return this.fullTextSearch(query, { columns });
  }

  protected execute(): Promise<Buffer> {
    if (this.fts) {
      if (this.expressions) {
        throw new StowageError("NOT_SUPPORTED", "select({ alias: expression }) is not supported on full-text searches; select column names");
      }
      return this.inner.ftsSearch({
        ...ftsRequest(this.fts),
        limit: this.limitValue,
        offset: this.offsetValue,
        filter: this.predicate,
        columns: this.columns,
        withRowId: this.rowId,
        fastSearch: this.fast,
      });
    }
    return this.inner.scan({
      columns: this.columns,
      limit: this.limitValue,
      offset: this.offsetValue,
      filter: this.predicate,
      withRowId: this.rowId,
      expressions: this.expressions,
    });
  }
}

/**
 * A flat (exact) nearest-neighbour search. Results carry `_distance`;
 * the default limit is 10, as in @lancedb/lancedb.
 */
export class VectorQuery extends QueryBase {
  private readonly vector: number[];
  private vectorColumn?: string;
  private distance?: DistanceType;
  private post = false;
  private reranker?: Reranker;

  /** @internal */
  constructor(inner: NativeTable, ensureOpen: () => void, vector: IntoVector) {
    super(inner, ensureOpen);
    this.vector = toNumbers(vector);
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

  /** Search is always exact (flat); accepted for compatibility. */
  bypassVectorIndex(): this {
    return this;
  }

  /** Accepted (and checked) for compatibility: searches are exact, there is no index to tune. */
  nprobes(n: number): this {
    callSync(() => native._checkPositive("nprobes", n));
    return this;
  }

  /** Accepted (and checked) for compatibility: searches are exact, there is no index to tune. */
  refineFactor(n: number): this {
    callSync(() => native._checkPositive("refineFactor", n));
    return this;
  }

  /** The reranker of a hybrid query (vector + full-text); RRF by default. */
  rerank(reranker: Reranker): VectorQuery {
    this.reranker = reranker;
    return this;
  }

  protected execute(): Promise<Buffer> {
    if (this.expressions) {
      throw new StowageError("NOT_SUPPORTED", "select({ alias: expression }) is not supported on vector searches yet; select column names");
    }
    if (this.fts) {
      return runHybrid(this.inner, {
        fts: this.fts,
        vector: this.nativeVectorOptions(),
        limit: this.limitValue,
        withRowId: this.rowId,
        fastSearch: this.fast,
        reranker: this.reranker,
      });
    }
    if (this.offsetValue) {
      throw new StowageError("NOT_SUPPORTED", "offset() is not supported on vector searches; raise limit() instead");
    }
    return this.inner.vectorSearch(this.nativeVectorOptions());
  }

  private nativeVectorOptions(): Parameters<NativeTable["vectorSearch"]>[0] {
    return {
      vector: this.vector,
      column: this.vectorColumn,
      distanceType: this.distance,
      limit: this.limitValue,
      filter: this.predicate,
      postfilter: this.post,
      columns: this.columns,
      withRowId: this.rowId,
    };
  }
}
