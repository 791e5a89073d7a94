import { Connection } from "./connection";
import type { StorageOptions } from "./connection";
import { StowageError } from "./errors";
import { call, native } from "./native";

export { Connection } from "./connection";
export type { CreateTableOptions, OpenTableOptions, StorageOptions, TableNamesOptions } from "./connection";
export { Table } from "./table";
export type { AddDataOptions, AddResult, DeleteResult, OptimizeOptions, OptimizeStats, UpdateResult, Version } from "./table";
export { MergeInsertBuilder } from "./merge";
export type { MergeResult } from "./merge";
export { Query, VectorQuery } from "./query";
export type { DistanceType, IntoVector } from "./query";
// Full-text search, hybrid search and rerankers (issue 12).
export { BooleanQuery, BoostQuery, FullTextQueryType, MatchQuery, MultiMatchQuery, Occur, Operator, PhraseQuery, instanceOfFullTextQuery } from "./fts";
export type { FullTextQuery, FullTextSearchOptions } from "./fts";
export * as rerankers from "./rerankers";
export { StowageError } from "./errors";
export { Index } from "./indices";
export type {
  FtsOptions,
  HnswPqOptions,
  HnswSqOptions,
  IndexConfig,
  IndexOptions,
  IndexProgress,
  IndexStatistics,
  IvfFlatOptions,
  IvfPqOptions,
  IvfRqOptions,
} from "./indices";
export type { ErrorCode } from "./errors";
export type { EffectiveOption } from "./native";
export type { KnownStorageOptions } from "./options.generated";
export type { Data } from "./arrow";

export interface ConnectionOptions {
  /** Storage options for every table of this connection; see the README for the keys. */
  storageOptions?: StorageOptions;
  /**
   * Seconds between checks for versions written by other processes or
   * handles. Unset: never check (a handle sees its own writes only); 0: check
   * on every read; n: at most every n seconds. As in @lancedb/lancedb.
   */
  readConsistencyInterval?: number;
}

/**
 * Connects to a database: a local directory, `memory://`, `s3://`,
 * `s3+ddb://bucket/path?ddbTableName=T`, `gs://` or `az://`.
 */
export async function connect(uri: string, options?: Partial<ConnectionOptions>): Promise<Connection>;
export async function connect(options: Partial<ConnectionOptions> & { uri: string }): Promise<Connection>;
export async function connect(
  uriOrOptions: string | (Partial<ConnectionOptions> & { uri: string }),
  options?: Partial<ConnectionOptions>,
): Promise<Connection> {
  let uri: string;
  let opts: Partial<ConnectionOptions>;
  if (typeof uriOrOptions === "object" && uriOrOptions !== null) {
    ({ uri, ...opts } = uriOrOptions);
  } else {
    uri = uriOrOptions;
    opts = options ?? {};
  }
  if (typeof uri !== "string") {
    throw new StowageError("INVALID_URI", `connect() needs a URI string, got ${typeof uri}`);
  }
  const { storageOptions, readConsistencyInterval } = opts;
  const inner = await call(() => native.JsConnection.connect({ uri, storageOptions, readConsistencyInterval }));
  if (!uri.startsWith("memory://")) installSignalHandlers();
  return new Connection(inner);
}

let signalHandlersInstalled = false;

/**
 * On SIGINT/SIGTERM, abort the multipart uploads in flight (so no parts are
 * left in the bucket), then let the process end as it would have. When the
 * application has its own handler for the signal, it decides what happens:
 * Stowage does nothing (closing a connection or table aborts its uploads).
 */
function installSignalHandlers(): void {
  if (signalHandlersInstalled) return;
  signalHandlersInstalled = true;
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    const handler = (): void => {
      if (process.listenerCount(sig) > 1) return;
      process.removeListener(sig, handler);
      native
        .abortInflightUploads(10000)
        .catch(() => 0)
        .finally(() => {
          if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
        });
    };
    process.on(sig, handler);
  }
}
