import { Schema } from "apache-arrow";
import { Data, isArrowTable, localizeSchema, SchemaLike, schemaToIpc, toArrowTable, toIpcChunks } from "./arrow";
import { embedData, functionsOf, tableWithFunction } from "./embedding/apply";
import { EmbeddingFunctionConfig, getRegistry } from "./embedding/registry";
import { isScannable, Scannable } from "./scannable";
import { StowageError } from "./errors";
import type { JsCreateMode } from "../index";
import { Handle } from "./handle";
import { call, NativeConnection } from "./native";
import { Table } from "./table";
import { atBranch } from "./branches";
import { CredentialsProvider, wrapCredentials } from "./credentials";
import * as ns from "./namespace";

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
  /** This table's own credentials provider (wins over the connection's); see docs/credentials.md. */
  credentials?: CredentialsProvider;
}

export interface OpenTableOptions {
  storageOptions?: StorageOptions;
  /** This table's own credentials provider (wins over the connection's); see docs/credentials.md. */
  credentials?: CredentialsProvider;
  /** Open at this version (checked out: reads only, as after `checkout`). */
  version?: number;
  /** Open this branch (`main`: the main line); with `version`, that version of it (reads only). */
  branch?: string;
}

export interface TableNamesOptions {
  /** Return names that sort after this one. */
  startAfter?: string;
  /** At most this many names. */
  limit?: number;
}

/**
 * For calls that take only the root namespace (h13c's cloneTable target):
 * a child namespace fails with NOT_SUPPORTED. Namespaces themselves are in
 * lib/namespace.ts.
 */
// eslint-disable-next-line @typescript-eslint/no-unused-vars
function checkNamespace(ns: unknown, what = "this call"): void {
  if (Array.isArray(ns) && ns.length > 0) {
    throw new StowageError("NOT_SUPPORTED", `${what} into namespace [${ns.join(", ")}] is not supported; only the root namespace []`);
  }
}

function checkName(name: unknown): string {
  if (typeof name !== "string") {
    throw new StowageError("INVALID_ARGUMENT", `a table name must be a string, got ${typeof name}`);
  }
  return name;
}

/** A connection to a database, as in @lancedb/lancedb. */
export class Connection extends Handle<NativeConnection> {
  get uri(): string {
    return this.inner.uri;
  }

  async tableNames(options?: Partial<TableNamesOptions>): Promise<string[]>;
  async tableNames(namespace?: string[], options?: Partial<TableNamesOptions>): Promise<string[]>;
  async tableNames(a?: string[] | Partial<TableNamesOptions>, b?: Partial<TableNamesOptions>): Promise<string[]> {
    const path = ns.tableNamespace(this, Array.isArray(a) ? a : undefined, "tableNames");
    const { startAfter, limit } = (Array.isArray(a) ? b : a) ?? {};
    if (path.length > 0) return call(() => this.inner.namespaceTableNames(path, { startAfter, limit }));
    return call(() => this.inner.tableNames({ startAfter, limit }));
  }

  async openTable(name: string, options?: Partial<OpenTableOptions>): Promise<Table>;
  async openTable(name: string, namespace?: string[], options?: Partial<OpenTableOptions>): Promise<Table>;
  async openTable(
    name: string,
    a?: string[] | Partial<OpenTableOptions>,
    b?: Partial<OpenTableOptions>,
  ): Promise<Table> {
    const path = ns.tableNamespace(this, Array.isArray(a) ? a : undefined, "openTable");
    const opts = (Array.isArray(a) ? b : a) ?? {};
    const credentials = wrapCredentials(opts.credentials, "openTable");
    const open = { storageOptions: opts.storageOptions, credentials };
    const t = await call(() =>
      path.length > 0 ? this.inner.namespaceOpenTable(path, checkName(name), open) : this.inner.openTable(checkName(name), open),
    );
    // A branch (and a version of it) through the branch manager (lib/branches.ts).
    const table = await atBranch(new Table(t), opts.branch, opts.version);
    // The schema (no request: the handle holds it) tells search(text) whether
    // the table has an embedding function.
    await table.schema();
    return table;
  }

  async createTable(
    options: Partial<CreateTableOptions> & { name: string; data: Data | Scannable },
    namespace?: string[],
  ): Promise<Table>;
  async createTable(name: string, data: Data | Scannable, options?: Partial<CreateTableOptions>): Promise<Table>;
  async createTable(
    name: string,
    data: Data | Scannable,
    namespace?: string[],
    options?: Partial<CreateTableOptions>,
  ): Promise<Table>;
  async createTable(
    nameOrOptions: string | (Partial<CreateTableOptions> & { name: string; data: Data | Scannable }),
    data?: Data | Scannable | string[],
    a?: string[] | Partial<CreateTableOptions>,
    b?: Partial<CreateTableOptions>,
  ): Promise<Table> {
    let name: string;
    let opts: Partial<CreateTableOptions>;
    let path: string[];
    if (typeof nameOrOptions === "object" && nameOrOptions !== null) {
      // createTable({ name, data, ...options }, namespace?)
      path = ns.tableNamespace(this, data, "createTable");
      ({ name, data, ...opts } = nameOrOptions);
    } else {
      path = ns.tableNamespace(this, Array.isArray(a) ? a : undefined, "createTable");
      name = nameOrOptions;
      opts = (Array.isArray(a) ? b : a) ?? {};
    }
    if (data === undefined || data === null) {
      throw new StowageError("INVALID_ARGUMENT", "createTable needs data (records or an Arrow Table); use createEmptyTable for a schema only");
    }
    const input: Data = isScannable(data) ? await (data as Scannable).toTable() : (data as Data);
    const schema = opts.schema === undefined || opts.schema === null ? undefined : localizeSchema(opts.schema);
    let table;
    if (opts.embeddingFunction !== undefined) {
      table = await tableWithFunction(input, opts.embeddingFunction, schema);
    } else {
      const embedded = schema !== undefined ? await embedData(input, await functionsOf(schema)) : input;
      table = isArrowTable(embedded) && !schema ? (embedded as never) : toArrowTable(embedded, schema);
    }
    return this.create(checkName(name), toIpcChunks(table), opts, path);
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
    const path = ns.tableNamespace(this, Array.isArray(a) ? a : undefined, "createEmptyTable");
    const opts = (Array.isArray(a) ? b : a) ?? {};
    if (!schema || !Array.isArray((schema as Schema).fields)) {
      throw new StowageError("INVALID_ARGUMENT", "createEmptyTable needs an apache-arrow Schema");
    }
    let local = localizeSchema(schema);
    if (opts.embeddingFunction !== undefined) {
      const metadata = getRegistry().getTableMetadata([opts.embeddingFunction]);
      local = new Schema(local.fields, new Map([...local.metadata, ...metadata]));
    }
    return this.create(checkName(name), schemaToIpc(local), opts, path);
  }

  private async create(name: string, data: Buffer | Buffer[], opts: Partial<CreateTableOptions>, path: string[]): Promise<Table> {
    const { mode, existOk, storageOptions } = opts;
    const credentials = wrapCredentials(opts.credentials, "createTable");
    const req = { name, data, mode, existOk, storageOptions, credentials };
    const table = new Table(await call(() => (path.length > 0 ? this.inner.namespaceCreateTable(path, req) : this.inner.createTable(req))));
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
    const path = ns.tableNamespace(this, namespace, "dropTable");
    await call(() => (path.length > 0 ? this.inner.namespaceDropTable(path, checkName(name)) : this.inner.dropTable(checkName(name))));
  }

  async dropAllTables(namespace?: string[]): Promise<void> {
    const path = ns.tableNamespace(this, namespace, "dropAllTables");
    await call(() => (path.length > 0 ? this.inner.namespaceDropAllTables(path) : this.inner.dropAllTables()));
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

  // Namespaces (lib/namespace.ts; docs/evolution.md "Namespaces").

  /** The immediate child namespaces of `namespace` (default: the root), sorted by name. */
  async listNamespaces(namespace?: string[], options?: Partial<ns.ListNamespacesOptions>): Promise<ns.ListNamespacesResponse> {
    return ns.listNamespaces(this, this.inner, namespace, options);
  }

  async createNamespace(namespace: string[], options?: Partial<ns.CreateNamespaceOptions>): Promise<ns.CreateNamespaceResponse> {
    return ns.createNamespace(this, this.inner, namespace, options);
  }

  async describeNamespace(namespace: string[]): Promise<ns.DescribeNamespaceResponse> {
    return ns.describeNamespace(this, this.inner, namespace);
  }

  async dropNamespace(namespace: string[], options?: Partial<ns.DropNamespaceOptions>): Promise<ns.DropNamespaceResponse> {
    return ns.dropNamespace(this, this.inner, namespace, options);
  }
}
