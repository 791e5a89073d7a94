import { Schema } from "apache-arrow";
import { Data, isArrowTable, localizeSchema, SchemaLike, schemaToIpc, toArrowTable, toIpc } from "./arrow";
import { embedData, functionsOf, tableWithFunction } from "./embedding/apply";
import { EmbeddingFunctionConfig, getRegistry } from "./embedding/registry";
import { isScannable, Scannable } from "./scannable";
import { StowageError } from "./errors";
import type { JsCreateMode } from "../index";
import { Handle } from "./handle";
import { call, NativeConnection } from "./native";
import { Table } from "./table";
import { CredentialsProvider, wrapCredentials } from "./credentials";

import type { KnownStorageOptions } from "./options.generated";
import type { RenameTableOptions } from "./placeholders";

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
  /** The table's schema (an apache-arrow Schema, or a plain object with fields whose types may be names like "int64"). */
  schema?: SchemaLike;
  /** An embedding function that fills a vector column from a source column (stored in the schema metadata). */
  embeddingFunction?: EmbeddingFunctionConfig;
  /** This table's own AWS credentials provider (wins over the connection's); see docs/credentials.md. */
  credentials?: CredentialsProvider;
}

export interface OpenTableOptions {
  storageOptions?: StorageOptions;
  /** This table's own AWS credentials provider (wins over the connection's); see docs/credentials.md. */
  credentials?: CredentialsProvider;
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
    const credentials = wrapCredentials(opts.credentials, "openTable");
    const t = await call(() => this.inner.openTable(checkName(name), { storageOptions: opts.storageOptions, credentials }));
    const table = new Table(t);
    if (opts.version !== undefined && opts.version !== null) await table.checkout(opts.version);
    // The schema (no request: the handle holds it) tells search(text) whether
    // the table has an embedding function.
    await table.schema();
    return table;
  }

  async createTable(options: Partial<CreateTableOptions> & { name: string; data: Data | Scannable }): Promise<Table>;
  async createTable(name: string, data: Data | Scannable, options?: Partial<CreateTableOptions>): Promise<Table>;
  async createTable(
    name: string,
    data: Data | Scannable,
    namespace?: string[],
    options?: Partial<CreateTableOptions>,
  ): Promise<Table>;
  async createTable(
    nameOrOptions: string | (Partial<CreateTableOptions> & { name: string; data: Data | Scannable }),
    data?: Data | Scannable,
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
    const input: Data = isScannable(data) ? await (data as Scannable).toTable() : data;
    const schema = opts.schema === undefined || opts.schema === null ? undefined : localizeSchema(opts.schema);
    let table;
    if (opts.embeddingFunction !== undefined) {
      table = await tableWithFunction(input, opts.embeddingFunction, schema);
    } else {
      const embedded = schema !== undefined ? await embedData(input, await functionsOf(schema)) : input;
      table = isArrowTable(embedded) && !schema ? (embedded as never) : toArrowTable(embedded, schema);
    }
    return this.create(checkName(name), toIpc(table), opts);
  }

  async createEmptyTable(name: string, schema: SchemaLike, options?: Partial<CreateTableOptions>): Promise<Table>;
  async createEmptyTable(
    name: string,
    schema: SchemaLike,
    namespace?: string[],
    options?: Partial<CreateTableOptions>,
  ): Promise<Table>;
  async createEmptyTable(
    name: string,
    schema: SchemaLike,
    a?: string[] | Partial<CreateTableOptions>,
    b?: Partial<CreateTableOptions>,
  ): Promise<Table> {
    checkNamespace(a);
    const opts = (Array.isArray(a) ? b : a) ?? {};
    if (!schema || !Array.isArray((schema as Schema).fields)) {
      throw new StowageError("INVALID_ARGUMENT", "createEmptyTable needs an apache-arrow Schema");
    }
    let local = localizeSchema(schema);
    if (opts.embeddingFunction !== undefined) {
      const metadata = getRegistry().getTableMetadata([opts.embeddingFunction]);
      local = new Schema(local.fields, new Map([...local.metadata, ...metadata]));
    }
    return this.create(checkName(name), schemaToIpc(local), opts);
  }

  private async create(name: string, data: Buffer, opts: Partial<CreateTableOptions>): Promise<Table> {
    const { mode, existOk, storageOptions } = opts;
    const credentials = wrapCredentials(opts.credentials, "createTable");
    const table = new Table(await call(() => this.inner.createTable({ name, data, mode, existOk, storageOptions, credentials })));
    await table.schema(); // see openTable
    return table;
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

  /**
   * As in @lancedb/lancedb OSS, a database of files cannot rename tables:
   * rejects with NOT_SUPPORTED whatever the arguments.
   */
  async renameTable(currentName: string, newName: string, options?: RenameTableOptions): Promise<void> {
    void options;
    throw new StowageError("NOT_SUPPORTED", `renameTable('${currentName}', '${newName}') is not supported for this database (as in @lancedb/lancedb OSS); make a copy under the new name with cloneTable('${newName}', '<db uri>/${currentName}.stowage', { isShallow: false }) (a deep clone copies the files), then drop the old one`);
  }

  /**
   * A shallow clone of a table of this database (docs/evolution.md): a new
   * table with its own versions that shares the source's files. `sourceUri`
   * is `<db uri>/<name>.stowage` (or `<name>.lance`, as the reference names
   * it); `sourceVersion` or `sourceTag` pick the version (default latest).
   * `isShallow: false` copies the files instead (a deep clone).
   */
  async cloneTable(
    targetTableName: string,
    sourceUri: string,
    options?: { targetNamespacePath?: string[]; sourceVersion?: number; sourceTag?: string; isShallow?: boolean },
  ): Promise<Table> {
    const o = options ?? {};
    checkNamespace(o.targetNamespacePath);
    if (typeof sourceUri !== "string") {
      throw new StowageError("INVALID_ARGUMENT", `cloneTable: sourceUri must be a string, got ${typeof sourceUri}`);
    }
    const t = await call(() =>
      this.inner.cloneTable({
        targetTableName: checkName(targetTableName),
        sourceUri,
        sourceVersion: o.sourceVersion,
        sourceTag: o.sourceTag,
        isShallow: o.isShallow,
      }),
    );
    const table = new Table(t);
    await table.schema(); // see openTable
    return table;
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
