import type { Schema, Table as ArrowTable } from "apache-arrow";
import { Data, fromIpc, toArrowTable, toIpc } from "./arrow";
import { StowageError } from "./errors";
import type { JsAddMode } from "../index";
import { Handle } from "./handle";
import { call, NativeTable } from "./native";
import { MergeInsertBuilder, MergeResult } from "./merge";
import { IntoVector, Query, VectorQuery } from "./query";
import { Index, IndexConfig, IndexOptions, IndexStatistics } from "./indices";
import { searchDispatch } from "./fts";
import type { FullTextQuery } from "./fts";

export interface AddDataOptions {
  /** "append" (the default) adds rows; "overwrite" replaces the table's rows. */
  mode: JsAddMode;
}

export interface AddResult {
  version: number;
}

export interface DeleteResult {
  version: number;
}

export interface UpdateResult {
  rowsUpdated: number;
  version: number;
}

export interface OptimizeOptions {
  /** Versions committed before this date are removed (never the latest). */
  cleanupOlderThan: Date;
  /**
   * Files that no version names may belong to a commit still in flight, so
   * they are kept for 7 days (as in @lancedb/lancedb). `true` removes them
   * once older than `cleanupOlderThan`: only safe when no other process is
   * writing to the table.
   */
  deleteUnverified: boolean;
}

export interface OptimizeStats {
  compaction: { fragmentsRemoved: number; fragmentsAdded: number; filesRemoved: number; filesAdded: number };
  prune: { bytesRemoved: number; oldVersionsRemoved: number; filesRemoved: number };
}

export interface Version {
  version: number;
  timestamp: Date;
  metadata: Record<string, string>;
}

/** A JS value as a SQL literal, for update({ values }). */
export function toSqlLiteral(column: string, v: unknown): string {
  if (v === null || v === undefined) return "NULL";
  if (typeof v === "boolean") return v ? "TRUE" : "FALSE";
  if (typeof v === "bigint") return v.toString();
  if (typeof v === "number") {
    if (!Number.isFinite(v)) throw new StowageError("INVALID_ARGUMENT", `update: value of '${column}' is ${v}, which SQL cannot express`);
    return String(v);
  }
  if (typeof v === "string") return `'${v.replace(/'/g, "''")}'`;
  if (v instanceof Date) return `TIMESTAMP '${v.toISOString().replace("T", " ").replace("Z", "")}'`;
  throw new StowageError("NOT_SUPPORTED", `update: cannot set '${column}' to a ${Array.isArray(v) ? "list" : typeof v} value; use a number, string, boolean, Date or null`);
}

/** A table, as in @lancedb/lancedb. */
export class Table extends Handle<NativeTable> {
  private schemaCache?: Schema;

  get name(): string {
    return this.inner.name;
  }

  private ensureOpen(): void {
    if (!this.inner.isOpen()) {
      throw new StowageError("CLOSED", `Table '${this.name}' is closed; open it again to use it`);
    }
  }

  async schema(): Promise<Schema> {
    const ipc = await call(() => this.inner.schema());
    const schema = fromIpc(ipc).schema;
    this.schemaCache = schema;
    return schema;
  }

  /** The current version number of the table. */
  async version(): Promise<number> {
    return call(() => this.inner.version());
  }

  async add(data: Data, options?: Partial<AddDataOptions>): Promise<AddResult> {
    this.ensureOpen();
    const mode = options?.mode;
    // Records follow the table's schema on append, as in LanceDB; an
    // overwrite infers afresh (it may change the schema).
    const ipc = mode === "overwrite" ? toIpc(toArrowTable(data)) : await this.conforming(data);
    const version = await call(() => this.inner.add({ data: ipc, mode }));
    if (mode === "overwrite") this.schemaCache = undefined;
    return { version };
  }

  /** `data` in this table's schema, as Arrow IPC. */
  private async conforming(data: Data): Promise<Buffer> {
    const schema = this.schemaCache ?? (await this.schema());
    try {
      return toIpc(toArrowTable(data, schema));
    } catch (e) {
      // Data that does not fit the table's schema is a schema mismatch,
      // whichever side of the boundary notices.
      if (e instanceof StowageError && e.code === "INVALID_ARGUMENT") {
        throw new StowageError("SCHEMA_MISMATCH", `Schema mismatch: ${e.message}`);
      }
      throw e;
    }
  }

  /** Deletes the rows the SQL predicate matches (data files are not rewritten). */
  async delete(predicate: string): Promise<DeleteResult> {
    if (typeof predicate !== "string") {
      throw new StowageError("INVALID_ARGUMENT", "delete() takes a SQL predicate string");
    }
    this.ensureOpen();
    return { version: await call(() => this.inner.delete(predicate)) };
  }

  /**
   * Updates rows: `update({ where, values })`, `update({ where, valuesSql })`
   * or `update(valuesSql, { where })`, as in @lancedb/lancedb.
   */
  async update(
    opts:
      | { values: Record<string, unknown> | Map<string, unknown>; where?: string }
      | { valuesSql: Record<string, string> | Map<string, string>; where?: string }
      | Record<string, string>
      | Map<string, string>,
    options?: { where?: string },
  ): Promise<UpdateResult> {
    this.ensureOpen();
    const entries = (x: Record<string, unknown> | Map<string, unknown>): [string, unknown][] =>
      x instanceof Map ? [...x.entries()] : Object.entries(x);
    let where: string | undefined = options?.where;
    let pairs: [string, string][];
    const o = opts as { values?: Record<string, unknown>; valuesSql?: Record<string, string>; where?: string };
    if (!(opts instanceof Map) && (o.values !== undefined || o.valuesSql !== undefined)) {
      where = o.where;
      pairs = o.values !== undefined
        ? entries(o.values).map(([k, v]) => [k, toSqlLiteral(k, v)])
        : entries(o.valuesSql as Record<string, string>).map(([k, v]) => [k, String(v)]);
    } else {
      pairs = entries(opts as Record<string, string>).map(([k, v]) => [k, String(v)]);
    }
    return call(() => this.inner.update({ where, assignments: pairs }));
  }

  /** Upserts by key column(s): chain when* clauses, then execute(data). */
  mergeInsert(on: string | string[]): MergeInsertBuilder {
    const keys = typeof on === "string" ? [on] : on;
    if (!Array.isArray(keys) || keys.length === 0 || keys.some((k) => typeof k !== "string")) {
      throw new StowageError("INVALID_ARGUMENT", "mergeInsert() takes a key column name or a non-empty array of names");
    }
    return new MergeInsertBuilder(keys, async (data, flags, onCols): Promise<MergeResult> => {
      this.ensureOpen();
      const ipc = await this.conforming(data);
      return call(() =>
        this.inner.mergeInsert({
          data: ipc,
          on: onCols,
          whenMatchedUpdateAll: flags.matchedUpdate,
          whenNotMatchedInsertAll: flags.notMatchedInsert,
          whenNotMatchedBySourceDelete: flags.bySourceDelete,
        }),
      );
    });
  }

  /**
   * Compacts small data files (and files with deletions), then removes
   * versions older than `cleanupOlderThan` (default: 7 days ago; never the
   * latest) and data files no remaining version needs. Files no version
   * names are kept for 7 days unless `deleteUnverified` (see docs/FORMAT.md).
   */
  async optimize(options?: Partial<OptimizeOptions>): Promise<OptimizeStats> {
    const cutoff = options?.cleanupOlderThan ?? new Date(Date.now() - 7 * 24 * 3600 * 1000);
    if (!(cutoff instanceof Date) || Number.isNaN(cutoff.getTime())) {
      throw new StowageError("INVALID_ARGUMENT", "cleanupOlderThan must be a Date: versions older than it are removed");
    }
    this.ensureOpen();
    const s = await call(() => this.inner.optimize(cutoff.getTime(), options?.deleteUnverified));
    return {
      compaction: { fragmentsRemoved: s.fragmentsRemoved, fragmentsAdded: s.fragmentsAdded, filesRemoved: s.fragmentsRemoved, filesAdded: s.fragmentsAdded },
      prune: { bytesRemoved: s.bytesRemoved, oldVersionsRemoved: s.oldVersionsRemoved, filesRemoved: s.filesRemoved },
    };
  }

  /** Every version of the table, oldest first. */
  async listVersions(): Promise<Version[]> {
    const vs = await call(() => this.inner.listVersions());
    return vs.map((v) => ({ version: v.version, timestamp: new Date(v.timestampMs), metadata: { operation: v.operation } }));
  }

  /** Reads an older version (time travel); writes fail until checkoutLatest(). */
  async checkout(version: number): Promise<void> {
    await call(() => this.inner.checkout(version));
    this.schemaCache = undefined;
  }

  async checkoutLatest(): Promise<void> {
    await call(() => this.inner.checkoutLatest());
    this.schemaCache = undefined;
  }

  /** Makes the checked-out version (or `version`) the latest, as a new version. */
  async restore(version?: number): Promise<void> {
    await call(() => this.inner.restore(version));
    this.schemaCache = undefined;
  }

  /** Counts rows, or the rows a SQL filter passes. */
  async countRows(filter?: string): Promise<number> {
    if (filter !== undefined && filter !== null && typeof filter !== "string") {
      throw new StowageError("INVALID_ARGUMENT", `countRows() takes a SQL filter string, got ${typeof filter}`);
    }
    return call(() => this.inner.countRows(filter ?? undefined));
  }

  query(): Query {
    return new Query(this.inner, () => this.ensureOpen());
  }

  /**
   * A full-text search for a string or full-text query (in `ftsColumns`, or
   * every column with a full-text index), or a nearest-neighbour search for
   * a vector. `queryType`: "auto" (default), "fts" or "vector"; "hybrid"
   * needs an embedding function, which this table does not have.
   */
  search(query: IntoVector, queryType?: string, ftsColumns?: string | string[]): VectorQuery;
  search(query: string | FullTextQuery, queryType?: string, ftsColumns?: string | string[]): Query;
  search(query: IntoVector | string | FullTextQuery, queryType?: string, ftsColumns?: string | string[]): VectorQuery | Query;
  search(query: IntoVector | string | FullTextQuery, queryType?: string, ftsColumns?: string | string[]): VectorQuery | Query {
    return searchDispatch(this, query, queryType, ftsColumns);
  }

  vectorSearch(vector: IntoVector): VectorQuery {
    return new VectorQuery(this.inner, () => this.ensureOpen(), vector);
  }

  async toArrow(): Promise<ArrowTable> {
    return this.query().toArrow();
  }

  // ---- Indexes (lib/indices.ts, docs/indexes.md) ----

  /**
   * Builds an index on `column` (a vector column when empty and the table
   * has one) and commits it; resolves when it is committed.
   */
  async createIndex(column: string, options?: Partial<IndexOptions>): Promise<void> {
    if (column !== undefined && column !== null && typeof column !== "string") {
      throw new StowageError("INVALID_ARGUMENT", `createIndex() takes a column name, got ${typeof column}`);
    }
    const config = options?.config;
    if (config !== undefined && !(config instanceof Index)) {
      throw new StowageError("INVALID_ARGUMENT", "createIndex: config must be made by one of the Index.* factories (Index.ivfPq(), Index.hnswSq(), ...)");
    }
    this.ensureOpen();
    await call(() =>
      this.inner.createIndex({
        column: column ?? undefined,
        config: config ? Index.config(config) : undefined,
        replace: options?.replace,
        name: options?.name,
        train: options?.train,
      }),
    );
  }

  async listIndices(): Promise<IndexConfig[]> {
    const list = await call(() => this.inner.listIndices());
    return list.map((i) => ({
      name: i.name,
      indexType: i.indexType,
      columns: i.columns,
      indexUuid: i.indexUuid,
      createdAt: new Date(i.createdAtMs),
      numIndexedRows: i.numIndexedRows,
      numUnindexedRows: i.numUnindexedRows,
      sizeBytes: i.sizeBytes,
      numSegments: i.numSegments,
      indexDetails: JSON.parse(i.indexDetails),
    }));
  }

  /** Statistics of the index `name`; undefined when there is none. */
  async indexStats(name: string): Promise<IndexStatistics | undefined> {
    const s = await call(() => this.inner.indexStats(name));
    if (s === null || s === undefined) return undefined;
    const out: IndexStatistics = { numIndexedRows: s.numIndexedRows, numUnindexedRows: s.numUnindexedRows, indexType: s.indexType, numIndices: s.numIndices };
    if (s.distanceType !== null && s.distanceType !== undefined) out.distanceType = s.distanceType;
    return out;
  }

  async dropIndex(name: string): Promise<void> {
    this.ensureOpen();
    await call(() => this.inner.dropIndex(name));
  }

  /** Waits until the named indexes exist (INDEX_NOT_FOUND after the timeout). */
  async waitForIndex(indexNames: string[], timeoutSeconds: number): Promise<void> {
    await call(() => this.inner.waitForIndex(indexNames, timeoutSeconds));
  }

  /** Loads an index's metadata into the process-wide cache. */
  async prewarmIndex(name: string): Promise<void> {
    await call(() => this.inner.prewarmIndex(name));
  }
}
