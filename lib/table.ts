import { Schema as ArrowSchema } from "apache-arrow";
import type { Schema, Table as ArrowTable } from "apache-arrow";
import { Data, fromIpc, toArrowTable, toIpc } from "./arrow";
import { StowageError } from "./errors";
import type { JsAddMode } from "../index";
import { Handle } from "./handle";
import { call, NativeTable } from "./native";
import { MergeInsertBuilder, MergeResult } from "./merge";
import { Index, IndexConfig, IndexOptions, IndexProgress, IndexStatistics } from "./indices";
import { IntoVector, Query, TakeQuery, toOffsets, toRowIds, VectorQuery } from "./query";
import type { MultiVector } from "./arrow";
import { functionsOf, embedData, needsEmbedding } from "./embedding/apply";
import type { EmbeddingFunctionConfig } from "./embedding/registry";
import { isScannable, Scannable } from "./scannable";
import * as evolve from "./evolve";
import { Branches } from "./branches";
import type { Field } from "apache-arrow";
import { searchDispatch } from "./fts";
import type { FullTextQuery } from "./fts";

export interface AddDataOptions {
  /** "append" (the default) adds rows; "overwrite" replaces the table's rows. */
  mode: JsAddMode;
  /**
   * Called with the write's progress, as in @lancedb/lancedb: once the data
   * is written (rows and bytes), and once more with `done: true` after the
   * commit. Errors it throws are logged and do not abort the write.
   */
  progress: (progress: WriteProgress) => void;
}

/** Progress of an add(), in the reference's shape. */
export interface WriteProgress {
  /** Rows written so far. */
  outputRows: number;
  /** Bytes written so far (of the Arrow data handed to the writer). */
  outputBytes: number;
  /** Rows expected; always set on the final call. */
  totalRows?: number;
  /** Seconds since the write started. */
  elapsedSeconds: number;
  /** Write tasks in flight (Stowage writes one data file per add). */
  activeTasks: number;
  /** Write parallelism (1). */
  totalTasks: number;
  /** True on the final call. */
  done: boolean;
}

/** Options of update(valuesSql, options), as in @lancedb/lancedb. */
export interface UpdateOptions {
  /** A SQL predicate; unset: every row. */
  where: string;
}

export interface AddResult {
  version: number;
}

export interface DeleteResult {
  numDeletedRows: number;
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

/** Values update() sets as typed Arrow values rather than SQL literals. */
function isTypedValue(v: unknown): boolean {
  return Array.isArray(v) || ArrayBuffer.isView(v) || v instanceof ArrayBuffer;
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

/** The user's progress callback, never throwing into the addon. */
function progressOf(f: IndexOptions["progress"]): ((p: IndexProgress) => void) | undefined {
  if (f === undefined || f === null) return undefined;
  if (typeof f !== "function") throw new StowageError("INVALID_ARGUMENT", "createIndex: progress must be a function");
  return (p) => {
    try {
      f(p);
    } catch {
      // A failing progress callback must not end the build.
    }
  };
}

/** Rows in an Arrow IPC stream (for progress reports). */
function fromIpcRowCount(ipc: Buffer): number {
  return fromIpc(ipc).numRows;
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

  async add(data: Data | Scannable, options?: Partial<AddDataOptions>): Promise<AddResult> {
    this.ensureOpen();
    const started = process.hrtime.bigint();
    const mode = options?.mode;
    const input = isScannable(data) ? await data.toTable() : data;
    // Records follow the table's schema on append, as in LanceDB; an
    // overwrite infers afresh (it may change the schema).
    const ipc = mode === "overwrite" ? toIpc(toArrowTable(await this.embedded(input))) : await this.conforming(input);
    const progress = options?.progress;
    const report = (p: Omit<WriteProgress, "elapsedSeconds" | "totalTasks">): void => {
      if (typeof progress !== "function") return;
      try {
        progress({ ...p, elapsedSeconds: Number(process.hrtime.bigint() - started) / 1e9, totalTasks: 1 });
      } catch (e) {
        console.warn("Table.add progress callback threw:", e);
      }
    };
    let sent = ipc;
    let version: number;
    try {
      version = await call(() => this.inner.add({ data: ipc, mode }));
    } catch (e) {
      // Another writer changed the schema (e.g. renamed a column) since it
      // was cached: conform to the current one and try once more.
      if (!(e instanceof StowageError && e.code === "SCHEMA_MISMATCH" && mode !== "overwrite" && this.schemaCache)) throw e;
      this.schemaCache = undefined;
      sent = await this.conforming(input);
      version = await call(() => this.inner.add({ data: sent, mode }));
    }
    const rows = fromIpcRowCount(sent);
    report({ outputRows: rows, outputBytes: sent.byteLength, totalRows: rows, activeTasks: 1, done: false });
    report({ outputRows: rows, outputBytes: sent.byteLength, totalRows: rows, activeTasks: 0, done: true });
    if (mode === "overwrite") this.schemaCache = undefined;
    return { version };
  }

  /** The table's embedding functions (from its schema metadata). */
  async embeddingFunctions(): Promise<EmbeddingFunctionConfig[]> {
    return functionsOf(this.schemaCache ?? (await this.schema()));
  }

  /** Reference name of embeddingFunctions(): a map by function name. */
  async getEmbeddingFunctions(): Promise<Map<string, EmbeddingFunctionConfig>> {
    const fns = await this.embeddingFunctions();
    const { getRegistry } = await import("./embedding/registry");
    return new Map(fns.map((f) => [getRegistry().functionToMetadata(f).name as string, f]));
  }

  /** `data` with the vectors of the table's embedding functions computed. */
  private async embedded(data: Data): Promise<Data> {
    if (!needsEmbedding(data, this.schemaCache ?? (await this.schema()))) return data;
    return embedData(data, await this.embeddingFunctions());
  }

  /** `data` in this table's schema, as Arrow IPC. */
  private async conforming(data: Data): Promise<Buffer> {
    const schema = this.schemaCache ?? (await this.schema());
    data = await this.embedded(data);
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
    return call(() => this.inner.deleteRows(predicate));
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
    let values: Buffer | undefined;
    const o = opts as { values?: Record<string, unknown>; valuesSql?: Record<string, string>; where?: string };
    if (!(opts instanceof Map) && (o.values !== undefined || o.valuesSql !== undefined)) {
      where = o.where;
      if (o.values !== undefined) {
        // Lists and binary values go as typed Arrow values (SQL has no literal for them).
        const all = entries(o.values);
        const typed = all.filter(([, v]) => isTypedValue(v));
        pairs = all.filter(([, v]) => !isTypedValue(v)).map(([k, v]) => [k, toSqlLiteral(k, v)]);
        if (typed.length > 0) values = await this.typedValues(typed);
      } else {
        pairs = entries(o.valuesSql as Record<string, string>).map(([k, v]) => [k, String(v)]);
      }
    } else {
      pairs = entries(opts as Record<string, string>).map(([k, v]) => [k, String(v)]);
    }
    return call(() => this.inner.update({ where, assignments: pairs, values }));
  }

  /** One row of `pairs` in the table's column types, as Arrow IPC. */
  private async typedValues(pairs: [string, unknown][]): Promise<Buffer> {
    const schema = this.schemaCache ?? (await this.schema());
    const fields = pairs.map(([k]) => {
      const f = schema.fields.find((x) => x.name === k);
      if (f === undefined) {
        throw new StowageError("INVALID_ARGUMENT", `cannot update column '${k}': it does not exist; the table has: ${schema.fields.map((x) => x.name).join(", ")}`);
      }
      return f;
    });
    const row = Object.fromEntries(pairs.map(([k, v]) => [k, v instanceof ArrayBuffer ? Buffer.from(v) : v]));
    try {
      return toIpc(toArrowTable([row], new ArrowSchema(fields)));
    } catch (e) {
      if (e instanceof StowageError && e.code === "INVALID_ARGUMENT") {
        throw new StowageError("SCHEMA_MISMATCH", `update: ${e.message}`);
      }
      throw e;
    }
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
      const r = await call(() =>
        this.inner.mergeInsert({
          data: ipc,
          on: onCols,
          whenMatchedUpdateAll: flags.matchedUpdate,
          whenMatchedUpdateAllWhere: flags.matchedWhere,
          whenNotMatchedInsertAll: flags.notMatchedInsert,
          whenNotMatchedBySourceDelete: flags.bySourceDelete,
          whenNotMatchedBySourceDeleteWhere: flags.bySourceWhere,
        }),
      );
      return { ...r, numRows: r.numInsertedRows + r.numUpdatedRows };
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

  /** Reads an older version, or a tagged one (time travel); writes fail until checkoutLatest(). */
  async checkout(version: number | string): Promise<void> {
    if (typeof version === "string" && this.inner.currentBranch()) {
      throw new StowageError("NOT_SUPPORTED", `checkout('${version}'): tags name versions of main; on branch '${this.inner.currentBranch()}' checkout a version number`);
    }
    const v = typeof version === "string" ? await call(() => this.inner.tagVersion(version)) : version;
    await call(() => this.inner.checkout(v));
    this.schemaCache = undefined;
  }

  // --- Schema evolution, tags, statistics (lib/evolve.ts, docs/evolution.md) ---

  /** Adds columns computed by SQL, or all-null columns given as Arrow fields. */
  async addColumns(cols: evolve.AddColumnsSql[] | Field | Field[] | ArrowSchema): Promise<evolve.AddColumnsResult> {
    this.ensureOpen();
    this.schemaCache = undefined;
    return evolve.addColumns(this.inner, cols);
  }

  /** Renames columns (nested too), changes nullability or the type within its family. */
  async alterColumns(alterations: evolve.ColumnAlteration[]): Promise<evolve.AlterColumnsResult> {
    this.ensureOpen();
    this.schemaCache = undefined;
    return evolve.alterColumns(this.inner, alterations);
  }

  async dropColumns(names: string[]): Promise<evolve.DropColumnsResult> {
    this.ensureOpen();
    this.schemaCache = undefined;
    return evolve.dropColumns(this.inner, names);
  }

  async updateFieldMetadata(updates: evolve.FieldMetadataUpdate[]): Promise<evolve.UpdateFieldMetadataResult> {
    this.ensureOpen();
    this.schemaCache = undefined;
    return evolve.updateFieldMetadata(this.inner, updates);
  }

  /** Sizes and fragment row counts, from the manifest alone. */
  async stats(): Promise<evolve.TableStatistics> {
    this.ensureOpen();
    return evolve.stats(this.inner);
  }

  /** The branch this handle is on, or `null` on main (lib/branches.ts). */
  currentBranch(): string | null {
    return this.inner.currentBranch() ?? null;
  }

  /** Branches: writable lines of versions forked from main or another branch. */
  async branches(): Promise<Branches> {
    this.ensureOpen();
    return new Branches(this.inner, (t) => new Table(t));
  }

  /** Names for versions; a tagged version survives `optimize({ cleanupOlderThan })`. */
  async tags(): Promise<evolve.Tags> {
    this.ensureOpen();
    return new evolve.Tags(this.inner);
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
   * A search, as in @lancedb/lancedb: a vector (or multivector) is a
   * nearest-neighbour search; a full-text query object is a full-text
   * search; a string is embedded with the table's embedding function when
   * `queryType` is "vector", or "auto" (the default) and the table has one,
   * searched both ways and fused when "hybrid", and otherwise (no embedding
   * function, or "fts") a full-text search in `ftsColumns` (or every column
   * with a full-text index).
   */
  search(query: IntoVector | MultiVector, queryType?: string, ftsColumns?: string | string[]): VectorQuery;
  search(query: string | FullTextQuery, queryType?: string, ftsColumns?: string | string[]): VectorQuery | Query;
  search(query: IntoVector | MultiVector | string | FullTextQuery, queryType?: string, ftsColumns?: string | string[]): VectorQuery | Query;
  search(query: IntoVector | MultiVector | string | FullTextQuery, queryType?: string, ftsColumns?: string | string[]): VectorQuery | Query {
    if (typeof query === "string" && (queryType === "vector" || queryType === "hybrid")) {
      const q = this.searchText(query);
      return queryType === "hybrid" ? q.fullTextSearch(query, { columns: ftsColumns }) : q;
    }
    if (typeof query === "string" && (queryType === undefined || queryType === "auto")) {
      // Embedded or full-text: decided when the query runs, from the
      // table's schema then (another handle or process may have changed
      // its embedding functions; checkout may have changed the version).
      return VectorQuery.forText(this.inner, () => this.ensureOpen(), {
        text: query,
        ftsColumns,
        functions: async () => functionsOf(await this.schema()),
      });
    }
    return searchDispatch(this, query as IntoVector | string | FullTextQuery, queryType, ftsColumns);
  }

  /** A vector search for the embedding of `text`, computed when the query runs with the table's embedding function then. */
  private searchText(text: string): VectorQuery {
    return VectorQuery.forText(this.inner, () => this.ensureOpen(), {
      text,
      mustEmbed: true,
      functions: async () => functionsOf(await this.schema()),
    });
  }

  /** Rows at these positions (0 = the first row the table stores). */
  takeOffsets(offsets: number[]): TakeQuery {
    return new TakeQuery(this.inner, () => this.ensureOpen(), { offsets: toOffsets(offsets) });
  }

  /** Rows with these row ids (`_rowid` from withRowId()). */
  takeRowIds(rowIds: readonly (number | bigint)[]): TakeQuery {
    return new TakeQuery(this.inner, () => this.ensureOpen(), { rowIds: toRowIds(rowIds) });
  }

  vectorSearch(vector: IntoVector | MultiVector): VectorQuery {
    return new VectorQuery(this.inner, () => this.ensureOpen(), vector);
  }

  // ---- issue 11: smaller reference methods ----

  /** Reads `columns` (default: all) once, so later queries find them in the column cache. */
  async prewarmData(columns?: string[]): Promise<void> {
    const q = this.query();
    if (columns !== undefined) q.select(columns);
    await q.toArrow();
  }

  /** The storage options this table was opened with (connection and table options; secrets masked). */
  async initialStorageOptions(): Promise<Record<string, string> | undefined> {
    return this.givenStorageOptions();
  }

  /** As initialStorageOptions(): Stowage's options do not change while a table is open. */
  async latestStorageOptions(): Promise<Record<string, string> | undefined> {
    return this.givenStorageOptions();
  }

  private givenStorageOptions(): Record<string, string> | undefined {
    const given = this.effectiveStorageOptions().filter((o) => o.source === "table" || o.source === "connection");
    return given.length === 0 ? undefined : Object.fromEntries(given.map((o) => [o.key, String(o.value)]));
  }

  /** LanceDB's LSM write path; Stowage writes every change through its one transaction loop. */
  async setLsmWriteSpec(_spec: unknown): Promise<never> {
    throw new StowageError("NOT_SUPPORTED", "LSM writes (setLsmWriteSpec) are not supported: use add() and mergeInsert()");
  }

  async unsetLsmWriteSpec(): Promise<never> {
    throw new StowageError("NOT_SUPPORTED", "LSM writes (unsetLsmWriteSpec) are not supported: use add() and mergeInsert()");
  }

  async closeLsmWriters(): Promise<never> {
    throw new StowageError("NOT_SUPPORTED", "LSM writes (closeLsmWriters) are not supported: use add() and mergeInsert()");
  }

  /** An unenforced primary key is schema metadata Stowage does not record yet. */
  async setUnenforcedPrimaryKey(_columns: string | string[]): Promise<never> {
    throw new StowageError("NOT_SUPPORTED", "setUnenforcedPrimaryKey() is not supported yet; pass the key to mergeInsert(on)");
  }

  // ---- end of issue 11 block ----

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
      }, progressOf(options?.progress)),
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
    if (s.loss !== null && s.loss !== undefined) out.loss = s.loss;
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
