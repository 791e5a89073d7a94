import { inspect } from "node:util";
import type { Schema, Table as ArrowTable } from "apache-arrow";
import { Data, fromIpc, toArrowTable, toIpc } from "./arrow";
import { StowageError } from "./errors";
import { call, callSync, EffectiveOption, NativeTable } from "./native";
import { IntoVector, Query, VectorQuery } from "./query";

export interface AddDataOptions {
  /** "append" (the default) adds rows; "overwrite" replaces the table's rows. */
  mode: "append" | "overwrite";
}

export interface AddResult {
  version: number;
}

/** A table, as in @lancedb/lancedb. */
export class Table {
  private schemaCache?: Schema;

  /** @internal */
  constructor(private readonly inner: NativeTable) {}

  get name(): string {
    return this.inner.name;
  }

  isOpen(): boolean {
    return this.inner.isOpen();
  }

  /** Closes this handle. Committed data is unaffected; further calls fail with code CLOSED. */
  close(): void {
    this.inner.close();
  }

  display(): string {
    return this.inner.display();
  }

  [inspect.custom](): string {
    return this.display();
  }

  toString(): string {
    return this.display();
  }

  /** Every resolved storage option, with its source; secrets are masked. */
  effectiveStorageOptions(): EffectiveOption[] {
    return callSync(() => this.inner.effectiveStorageOptions());
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
    const mode = options?.mode ?? "append";
    if (mode !== "append" && mode !== "overwrite") {
      throw new StowageError("INVALID_ARGUMENT", `mode '${String(mode)}' is not valid for add; use "append" or "overwrite"`);
    }
    // Records follow the table's schema on append, as in LanceDB; an
    // overwrite infers afresh (it may change the schema).
    const schema = mode === "append" ? (this.schemaCache ?? (await this.schema())) : undefined;
    let table: ArrowTable;
    try {
      table = toArrowTable(data, schema);
    } catch (e) {
      // Data that does not fit the table's schema is a schema mismatch,
      // whichever side of the boundary notices.
      if (schema && e instanceof StowageError && e.code === "INVALID_ARGUMENT") {
        throw new StowageError("SCHEMA_MISMATCH", `Schema mismatch: ${e.message}`);
      }
      throw e;
    }
    const version = await call(() => this.inner.add(toIpc(table), mode));
    if (mode === "overwrite") this.schemaCache = undefined;
    return { version };
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

  /** A nearest-neighbour search for `vector` (full-text search is not supported). */
  search(query: IntoVector | string): VectorQuery {
    if (typeof query === "string") {
      throw new StowageError("NOT_SUPPORTED", "full-text search is not supported; pass a vector to search()");
    }
    return this.vectorSearch(query);
  }

  vectorSearch(vector: IntoVector): VectorQuery {
    return new VectorQuery(this.inner, () => this.ensureOpen(), vector);
  }

  async toArrow(): Promise<ArrowTable> {
    return this.query().toArrow();
  }
}
