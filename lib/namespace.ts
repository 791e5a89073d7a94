// SPDX-License-Identifier: Apache-2.0
//
// Namespaces (issue 13; docs/evolution.md "Namespaces", docs/FORMAT.md
// "Namespaces"): connectNamespace("dir", ...) and the namespace calls of
// Connection, which lib/connection.ts forwards here.

import type { Connection, ConnectionOptions, StorageOptions } from "./index";
import { connect } from "./index";
import { StowageError } from "./errors";
import { call, NativeConnection } from "./native";

/** Configuration of the directory namespace (`"dir"`), as in @lancedb/lancedb. */
export interface DirNamespaceConfig {
  /** The database: a local directory, `memory://`, `s3://`, `s3+ddb://`, `gs://` or `az://` URI. */
  root: string;
  /**
   * Whether child namespaces are allowed (default true). `false`: only the
   * root namespace, as the reference's directory namespace without its
   * manifest; namespace calls on a child fail with NOT_SUPPORTED.
   */
  manifestEnabled?: boolean;
  /**
   * Raw properties, as the reference passes them to its implementation.
   * `storage.<key>` keys are storage options (typed `storageOptions` win on
   * a collision); any other key fails with NOT_SUPPORTED naming it.
   */
  extraProperties?: Record<string, string>;
}

/** Configuration of the REST namespace (`"rest"`): not supported (NOT_SUPPORTED). */
export interface RestNamespaceConfig {
  uri: string;
  headers?: Record<string, string>;
  extraProperties?: Record<string, string>;
}

export interface ConnectNamespaceOptions {
  /** As connect()'s option: seconds between checks for other writers' versions. */
  readConsistencyInterval?: number;
  storageOptions?: StorageOptions;
  /** Properties of the reference's namespace client: not supported (NOT_SUPPORTED when not empty). */
  namespaceClientProperties?: Record<string, string>;
  /** Not supported (Stowage sizes its caches itself). */
  session?: unknown;
}

export interface ListNamespacesOptions {
  /** The `pageToken` of the previous page: names after it. */
  pageToken?: string;
  /** At most this many names. */
  limit?: number;
}

export interface CreateNamespaceOptions {
  /** `"create"` (default: fails with NAMESPACE_EXISTS), `"exist_ok"` or `"overwrite"` (replaces the properties). */
  mode?: "create" | "exist_ok" | "overwrite";
  /** Properties to set on the new namespace. */
  properties?: Record<string, string>;
}

export interface DropNamespaceOptions {
  /** A missing namespace: `"fail"` (default, NAMESPACE_NOT_FOUND) or `"skip"`. */
  mode?: "skip" | "fail";
  /** A namespace with contents: `"restrict"` (default, NAMESPACE_NOT_EMPTY) or `"cascade"` (drops them too). */
  behavior?: "restrict" | "cascade";
}

export interface RenameTableOptions {
  namespacePath?: string[];
  newNamespacePath?: string[];
}

export interface ListNamespacesResponse {
  namespaces: Array<string>;
  pageToken?: string;
}

export interface CreateNamespaceResponse {
  properties?: Record<string, string>;
  transactionId?: string;
}

export interface DropNamespaceResponse {
  properties?: Record<string, string>;
  transactionId?: Array<string>;
}

export interface DescribeNamespaceResponse {
  properties?: Record<string, string>;
}

/** Connections made with `manifestEnabled: false`: the root namespace only. */
const rootOnly = new WeakSet<object>();

function listOf(ns: string[]): string {
  return `[${ns.map((n) => JSON.stringify(n)).join(", ")}]`;
}

/**
 * A namespace path argument: undefined/null is the root `[]`; anything else
 * must be an array of strings.
 * @internal
 */
export function namespacePath(value: unknown, what: string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.some((p) => typeof p !== "string")) {
    let got: string = typeof value;
    if (typeof value === "string") got = `the string '${value.slice(0, 80)}'`;
    else if (Array.isArray(value)) got = "an array with a non-string element";
    throw new StowageError("INVALID_ARGUMENT", `${what}: a namespace path must be an array of strings (e.g. ["a", "b"]; [] is the root), got ${got}`);
  }
  return value as string[];
}

/**
 * The namespace a table call addresses; fails with NOT_SUPPORTED for a child
 * namespace on a connection without namespaces.
 * @internal
 */
export function tableNamespace(conn: Connection, value: unknown, what: string): string[] {
  const ns = namespacePath(value, what);
  if (ns.length > 0 && rootOnly.has(conn)) throw childrenOff(what, ns);
  return ns;
}

function childrenOff(what: string, ns: string[]): StowageError {
  return new StowageError(
    "NOT_SUPPORTED",
    `${what}: namespace ${listOf(ns)}: child namespaces are only supported with manifestEnabled (this connection was made with connectNamespace("dir", { manifestEnabled: false })); connect without that option`,
  );
}

function properties(value: unknown, what: string): Record<string, string> | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "object" || Array.isArray(value)) {
    throw new StowageError("INVALID_ARGUMENT", `${what}: properties must be an object of strings, got ${Array.isArray(value) ? "an array" : typeof value}`);
  }
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (typeof v !== "string") {
      throw new StowageError("INVALID_ARGUMENT", `${what}: property '${k}' must be a string, got ${typeof v}`);
    }
  }
  return value as Record<string, string>;
}

function withProperties(p: Record<string, string>): { properties?: Record<string, string> } {
  return Object.keys(p).length > 0 ? { properties: { ...p } } : {};
}

/** @internal */
export async function createNamespace(
  conn: Connection,
  inner: NativeConnection,
  path: unknown,
  options?: Partial<CreateNamespaceOptions>,
): Promise<CreateNamespaceResponse> {
  const ns = namespacePath(path, "createNamespace");
  if (rootOnly.has(conn)) throw childrenOff("createNamespace", ns);
  const props = properties(options?.properties, "createNamespace");
  const r = await call(() => inner.createNamespace(ns, { mode: options?.mode as never, properties: props }));
  return withProperties(r.properties);
}

/** @internal */
export async function describeNamespace(conn: Connection, inner: NativeConnection, path: unknown): Promise<DescribeNamespaceResponse> {
  const ns = namespacePath(path, "describeNamespace");
  if (ns.length === 0) return { properties: {} };
  if (rootOnly.has(conn)) throw childrenOff("describeNamespace", ns);
  const r = await call(() => inner.describeNamespace(ns));
  return withProperties(r.properties);
}

/** @internal */
export async function listNamespaces(
  conn: Connection,
  inner: NativeConnection,
  path: unknown,
  options?: Partial<ListNamespacesOptions>,
): Promise<ListNamespacesResponse> {
  const ns = namespacePath(path, "listNamespaces");
  if (rootOnly.has(conn)) {
    if (ns.length > 0) throw childrenOff("listNamespaces", ns);
    return { namespaces: [] };
  }
  const r = await call(() => inner.listNamespaces(ns, { pageToken: options?.pageToken, limit: options?.limit }));
  return r.pageToken === undefined || r.pageToken === null ? { namespaces: r.namespaces } : { namespaces: r.namespaces, pageToken: r.pageToken };
}

/** @internal */
export async function dropNamespace(
  conn: Connection,
  inner: NativeConnection,
  path: unknown,
  options?: Partial<DropNamespaceOptions>,
): Promise<DropNamespaceResponse> {
  const ns = namespacePath(path, "dropNamespace");
  if (rootOnly.has(conn)) throw childrenOff("dropNamespace", ns);
  await call(() => inner.dropNamespace(ns, { mode: options?.mode as never, behavior: options?.behavior as never }));
  return {};
}

/**
 * Connects through a namespace implementation, as in @lancedb/lancedb.
 * `"dir"` is a directory-backed database (the same as `connect(root)`; the
 * namespace calls of the connection work on both). `"rest"` and custom
 * implementations fail with NOT_SUPPORTED, without any network request.
 */
export async function connectNamespace(implName: "dir", config: DirNamespaceConfig, options?: Partial<ConnectNamespaceOptions>): Promise<Connection>;
export async function connectNamespace(implName: "rest", config: RestNamespaceConfig, options?: Partial<ConnectNamespaceOptions>): Promise<Connection>;
export async function connectNamespace(implName: string, config: Record<string, string>, options?: Partial<ConnectNamespaceOptions>): Promise<Connection>;
export async function connectNamespace(
  implName: string,
  config: DirNamespaceConfig | RestNamespaceConfig | Record<string, string>,
  options?: Partial<ConnectNamespaceOptions>,
): Promise<Connection> {
  if (implName === "rest") {
    throw new StowageError(
      "NOT_SUPPORTED",
      `connectNamespace("rest"): a REST catalog server is not supported (Stowage sends no request to it); use connectNamespace("dir", { root }) or connect(uri) with a local directory or an s3://, gs:// or az:// URI`,
    );
  }
  if (implName !== "dir") {
    throw new StowageError(
      "NOT_SUPPORTED",
      `connectNamespace: the namespace implementation '${String(implName).slice(0, 200)}' is not available; Stowage supports "dir" (connectNamespace("dir", { root })) and connect(uri)`,
    );
  }
  const c = (config ?? {}) as Partial<DirNamespaceConfig>;
  if (typeof c.root !== "string" || c.root.length === 0) {
    throw new StowageError("INVALID_ARGUMENT", `connectNamespace("dir") needs config.root: the database directory or URI, got ${c.root === undefined ? "nothing" : typeof c.root}`);
  }
  const o = options ?? {};
  if (o.session !== undefined && o.session !== null) {
    throw new StowageError("NOT_SUPPORTED", "connectNamespace: Session (cache sizes) is not supported: Stowage sizes its caches itself; leave `session` out");
  }
  const clientProps = Object.keys(o.namespaceClientProperties ?? {});
  if (clientProps.length > 0) {
    throw new StowageError("NOT_SUPPORTED", `connectNamespace: namespaceClientProperties ('${clientProps[0]}') are not supported: Stowage has no separate namespace client; give storage options in storageOptions`);
  }
  const storageOptions: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(c.extraProperties ?? {})) {
    if (!k.startsWith("storage.") || k.length === "storage.".length) {
      throw new StowageError(
        "NOT_SUPPORTED",
        `connectNamespace("dir"): extraProperties key '${k.slice(0, 200)}' is not supported; only storage.<option> keys (storage options) are, or pass them in options.storageOptions`,
      );
    }
    storageOptions[k.slice("storage.".length)] = v;
  }
  Object.assign(storageOptions, o.storageOptions ?? {});
  const connectOptions: Partial<ConnectionOptions> = { storageOptions: storageOptions as StorageOptions };
  if (o.readConsistencyInterval !== undefined) connectOptions.readConsistencyInterval = o.readConsistencyInterval;
  const conn = await connect(c.root, connectOptions);
  if (c.manifestEnabled === false) rootOnly.add(conn);
  return conn;
}
