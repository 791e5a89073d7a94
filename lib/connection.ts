import type { Schema } from "apache-arrow";
import { Data, isArrowTable, schemaToIpc, toArrowTable, toIpc } from "./arrow";
import { StowageError } from "./errors";
import type { JsCreateMode } from "../index";
import { Handle } from "./handle";
import { call, NativeConnection } from "./native";
import { Table } from "./table";

import type { KnownStorageOptions } from "./options.generated";

/**
 * Storage options: any key the registry knows (see docs/storage-options.md),
 * in camelCase, snake_case or UPPER_CASE. Unknown keys fail at run time with
 * code UNKNOWN_STORAGE_OPTION and a suggestion.
 */
export type StorageOptions = KnownStorageOptions & Record<string, string | boolean | number | undefined>;

export interface CreateTableOptions {
  mode: JsCreateMode;
  existOk: boolean;
  storageOptions?: StorageOptions;
  schema?: Schema;
}

export interface OpenTableOptions {
  storageOptions?: StorageOptions;
  /** Open at this version (checked out: reads only, as after `checkout`). */
  version?: number;
  /** Branches are not supported yet: any value fails with NOT_SUPPORTED. */
  branch?: string;
}

export interface TableNamesOptions {
  /** Return names that sort after this one. */
  startAfter?: string;
  /** At most this many names. */
  limit?: number;
}

function checkName(name: unknown): string {
  if (typeof name !== "string") {
    throw new StowageError("INVALID_ARGUMENT", `a table name must be a string, got ${typeof name}`);
  }
  return name;
}

/** Namespaces are not supported: only the root namespace ([]) is accepted. */
function checkNamespace(ns: unknown): void {
  if (Array.isArray(ns) && ns.length > 0) {
    throw new StowageError("NOT_SUPPORTED", `namespaces are not supported; got namespace [${ns.join(", ")}]`);
  }
}

/** A connection to a database, as in @lancedb/lancedb. */
export class Connection extends Handle<NativeConnection> {
  get uri(): string {
    return this.inner.uri;
  }

  async tableNames(options?: Partial<TableNamesOptions>): Promise<string[]>;
  async tableNames(namespace?: string[], options?: Partial<TableNamesOptions>): Promise<string[]>;
  async tableNames(a?: string[] | Partial<TableNamesOptions>, b?: Partial<TableNamesOptions>): Promise<string[]> {
    checkNamespace(a);
    const { startAfter, limit } = (Array.isArray(a) ? b : a) ?? {};
    return call(() => this.inner.tableNames({ startAfter, limit }));
  }

  async openTable(name: string, options?: Partial<OpenTableOptions>): Promise<Table>;
  async openTable(name: string, namespace?: string[], options?: Partial<OpenTableOptions>): Promise<Table>;
  async openTable(
    name: string,
    a?: string[] | Partial<OpenTableOptions>,
    b?: Partial<OpenTableOptions>,
  ): Promise<Table> {
    checkNamespace(a);
    const opts = (Array.isArray(a) ? b : a) ?? {};
    if (opts.branch !== undefined && opts.branch !== null && opts.branch !== "main") {
      throw new StowageError("NOT_SUPPORTED", `openTable: branches are not supported yet (branch '${opts.branch}'); open the table without a branch, or use tags and checkout() instead`);
    }
    const t = await call(() => this.inner.openTable(checkName(name), { storageOptions: opts.storageOptions }));
    const table = new Table(t);
    if (opts.version !== undefined && opts.version !== null) await table.checkout(opts.version);
    return table;
  }

  async createTable(options: Partial<CreateTableOptions> & { name: string; data: Data }): Promise<Table>;
  async createTable(name: string, data: Data, options?: Partial<CreateTableOptions>): Promise<Table>;
  async createTable(
    name: string,
    data: Data,
    namespace?: string[],
    options?: Partial<CreateTableOptions>,
  ): Promise<Table>;
  async createTable(
    nameOrOptions: string | (Partial<CreateTableOptions> & { name: string; data: Data }),
    data?: Data,
    a?: string[] | Partial<CreateTableOptions>,
    b?: Partial<CreateTableOptions>,
  ): Promise<Table> {
    let name: string;
    let opts: Partial<CreateTableOptions>;
    if (typeof nameOrOptions === "object" && nameOrOptions !== null) {
      ({ name, data, ...opts } = nameOrOptions);
    } else {
      checkNamespace(a);
      name = nameOrOptions;
      opts = (Array.isArray(a) ? b : a) ?? {};
    }
    if (data === undefined || data === null) {
      throw new StowageError("INVALID_ARGUMENT", "createTable needs data (records or an Arrow Table); use createEmptyTable for a schema only");
    }
    const table = isArrowTable(data) && !opts.schema ? (data as never) : toArrowTable(data, opts.schema);
    return this.create(checkName(name), toIpc(table), opts);
  }

  async createEmptyTable(name: string, schema: Schema, options?: Partial<CreateTableOptions>): Promise<Table>;
  async createEmptyTable(
    name: string,
    schema: Schema,
    namespace?: string[],
    options?: Partial<CreateTableOptions>,
  ): Promise<Table>;
  async createEmptyTable(
    name: string,
    schema: Schema,
    a?: string[] | Partial<CreateTableOptions>,
    b?: Partial<CreateTableOptions>,
  ): Promise<Table> {
    checkNamespace(a);
    const opts = (Array.isArray(a) ? b : a) ?? {};
    if (!schema || !Array.isArray((schema as Schema).fields)) {
      throw new StowageError("INVALID_ARGUMENT", "createEmptyTable needs an apache-arrow Schema");
    }
    return this.create(checkName(name), schemaToIpc(schema), opts);
  }

  private async create(name: string, data: Buffer, opts: Partial<CreateTableOptions>): Promise<Table> {
    const { mode, existOk, storageOptions } = opts;
    return new Table(await call(() => this.inner.createTable({ name, data, mode, existOk, storageOptions })));
  }

  /**
   * Aborts the multipart uploads under this database that crashed writers
   * left behind (S3). `olderThan`: an age in milliseconds (default one day)
   * or a Date (uploads started before it). Returns how many were found and
   * aborted. GCS and Azure have no such listing: use a bucket lifecycle rule
   * (GCS) or let uncommitted blocks expire (Azure, 7 days).
   */
  async cleanupIncompleteUploads(options?: { olderThan?: number | Date }): Promise<{ found: number; aborted: number }> {
    const o = options?.olderThan ?? 24 * 3600 * 1000;
    const ageMs = o instanceof Date ? Date.now() - o.getTime() : o;
    return call(() => this.inner.cleanupIncompleteUploads(ageMs));
  }

  async dropTable(name: string, namespace?: string[]): Promise<void> {
    checkNamespace(namespace);
    await call(() => this.inner.dropTable(checkName(name)));
  }

  async dropAllTables(namespace?: string[]): Promise<void> {
    checkNamespace(namespace);
    await call(() => this.inner.dropAllTables());
  }

  // --- Copying, renaming, namespaces (issue 13; docs/evolution.md) ---

  /** As in @lancedb/lancedb OSS, a database of files cannot rename tables. */
  async renameTable(currentName: string, newName: string): Promise<void> {
    throw new StowageError("NOT_SUPPORTED", `renameTable('${currentName}', '${newName}') is not supported for this database (as in @lancedb/lancedb OSS); create a table under the new name from the old one's data and drop the old one`);
  }

  async cloneTable(targetTableName: string, sourceUri: string): Promise<Table> {
    throw new StowageError("NOT_SUPPORTED", `cloneTable('${targetTableName}', '${sourceUri}') is not supported yet; tag the version to keep (table.tags().create) or copy the rows with createTable`);
  }

  /** The root namespace has no child namespaces: namespaces are not supported. */
  async listNamespaces(namespace?: string[]): Promise<{ namespaces: string[] }> {
    checkNamespace(namespace);
    return { namespaces: [] };
  }

  async createNamespace(namespace: string[]): Promise<never> {
    throw new StowageError("NOT_SUPPORTED", `createNamespace([${(namespace ?? []).join(", ")}]): namespaces are not supported; use table name prefixes instead`);
  }

  async describeNamespace(namespace: string[]): Promise<never> {
    throw new StowageError("NOT_SUPPORTED", `describeNamespace([${(namespace ?? []).join(", ")}]): namespaces are not supported`);
  }

  async dropNamespace(namespace: string[]): Promise<never> {
    throw new StowageError("NOT_SUPPORTED", `dropNamespace([${(namespace ?? []).join(", ")}]): namespaces are not supported`);
  }
}
