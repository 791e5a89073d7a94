import { Connection } from "./connection";
import type { StorageOptions } from "./connection";
import { StowageError } from "./errors";
import { call, native } from "./native";
import { cloudNotSupported, HeaderProvider, Session } from "./cloud";

export { Connection } from "./connection";
export type { CreateTableOptions, OpenTableOptions, StorageOptions, TableNamesOptions } from "./connection";
export { Table } from "./table";
export type {
  AddDataOptions,
  AddResult,
  DeleteResult,
  OptimizeOptions,
  OptimizeStats,
  UpdateOptions,
  UpdateResult,
  Version,
  WriteProgress,
} from "./table";
export type { CompactionStats, RemovalStats } from "./types";
export type { SplitCalculatedOptions, SplitHashOptions, SplitRandomOptions, SplitSequentialOptions, ShuffleOptions } from "./types";
export { TagContents, Tags } from "./evolve";
export { BranchContents, Branches } from "./branches";
export type {
  AddColumnsResult, AddColumnsSql, AlterColumnsResult, ColumnAlteration, DropColumnsResult, FieldMetadataUpdate,
  FragmentStatistics, FragmentSummaryStats, TableStatistics, UpdateFieldMetadataResult,
} from "./evolve";
// Namespaces (issue 13): connectNamespace("dir") and the namespace calls of Connection.
export { connectNamespace } from "./namespace";
export type {
  ConnectNamespaceOptions,
  CreateNamespaceOptions,
  CreateNamespaceResponse,
  DescribeNamespaceResponse,
  DirNamespaceConfig,
  DropNamespaceOptions,
  DropNamespaceResponse,
  ListNamespacesOptions,
  ListNamespacesResponse,
  RenameTableOptions,
  RestNamespaceConfig,
} from "./namespace";
export { MergeInsertBuilder } from "./merge";
export type { MergeResult, WriteExecutionOptions } from "./merge";
export { Query, QueryBase, RecordBatchIterator, TakeQuery, VectorQuery } from "./query";
export type { ColumnOrdering, DistanceType, ExecutableQuery, QueryExecutionOptions } from "./query";
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
export { makeArrowTable, makeEmptyTable, MakeArrowTableOptions, VectorColumnOptions } from "./arrow";
export type { Data, DataLike, FieldLike, IntoVector, MultiVector, RecordBatchLike, SchemaLike, TableLike } from "./arrow";
export { packBits } from "./util";
export type { IntoSql } from "./util";
export * as embedding from "./embedding";
export { permutationBuilder, PermutationBuilder } from "./permutation";
export { Scannable } from "./scannable";
export type { ScannableOptions } from "./scannable";
// The LanceDB Cloud client: the names exist, every use fails with NOT_SUPPORTED (lib/cloud.ts).
export { HeaderProvider, NativeJsHeaderProvider, OAuthFlowType, OAuthHeaderProvider, Session, StaticHeaderProvider } from "./cloud";
export type { ClientConfig, NativeOAuthConfig, OAuthConfig, RetryConfig, TimeoutConfig, TlsConfig, TokenResponse } from "./cloud";

// ---- placeholders: names other issues implement (lib/placeholders.ts); delete a line when its feature lands ----
export type { LsmWriteSpec } from "./placeholders";
// ---- end of placeholders ----
export type {
  AwsCredentialsValue,
  AzureAccountKeyCredentialsValue,
  AzureSasCredentialsValue,
  CredentialsProvider,
  CredentialsValue,
  ExpiresAt,
  TokenCredentialsValue,
} from "./credentials";
export { doctor, formatDoctorReport } from "./doctor";
export type { DoctorCheck, DoctorOptions, DoctorReport } from "./doctor";
import { CredentialsProvider, wrapCredentials } from "./credentials";

export interface ConnectionOptions {
  /** Storage options for every table of this connection; see the README for the keys. */
  storageOptions?: StorageOptions;
  /**
   * Seconds between checks for versions written by other processes or
   * handles. Unset: never check (a handle sees its own writes only); 0: check
   * on every read; n: at most every n seconds. As in @lancedb/lancedb.
   */
  readConsistencyInterval?: number;
  /** LanceDB Cloud only: refused with NOT_SUPPORTED. */
  apiKey?: string;
  /** LanceDB Cloud only: refused with NOT_SUPPORTED. */
  region?: string;
  /** LanceDB Cloud only: refused with NOT_SUPPORTED. */
  hostOverride?: string;
  /** LanceDB Cloud only: refused with NOT_SUPPORTED. */
  clientConfig?: import("./cloud").ClientConfig;
  /** LanceDB Cloud only: refused with NOT_SUPPORTED. */
  oauthConfig?: import("./cloud").NativeOAuthConfig;
  /** Not supported (Stowage sizes its caches itself). */
  session?: Session;
  /**
   * An async function handing out credentials: AWS keys (s3://, s3+ddb://), a SAS, bearer token or
   * account key (az://), a bearer token (gs://); called lazily and again shortly before `expiresAt`.
   * See docs/credentials.md.
   */
  credentials?: CredentialsProvider;
}

type HeaderProviderLike = HeaderProvider | (() => Record<string, string>) | (() => Promise<Record<string, string>>);

/** Refuses what only the LanceDB Cloud client does. */
function refuseCloud(uri: unknown, opts: Partial<ConnectionOptions>, session?: unknown, headerProvider?: unknown): void {
  if (typeof uri === "string" && uri.startsWith("db://")) throw cloudNotSupported(`The db:// URI '${uri.slice(0, 80)}'`);
  for (const key of ["apiKey", "region", "hostOverride", "clientConfig", "oauthConfig"] as const) {
    if (opts[key] !== undefined && opts[key] !== null) throw cloudNotSupported(`The connect() option '${key}'`);
  }
  if ((opts.session ?? session) != null) {
    throw new StowageError("NOT_SUPPORTED", "Session (cache sizes) is not supported: Stowage sizes its caches itself; leave `session` out of connect()");
  }
  if (headerProvider != null) throw cloudNotSupported("A header provider");
}

/**
 * Connects to a database: a local directory, `memory://`, `s3://`,
 * `s3+ddb://bucket/path?ddbTableName=T`, `gs://` or `az://`.
 */
export async function connect(
  uri: string,
  options?: Partial<ConnectionOptions>,
  session?: Session,
  headerProvider?: HeaderProviderLike,
): Promise<Connection>;
export async function connect(options: Partial<ConnectionOptions> & { uri: string }): Promise<Connection>;
export async function connect(
  uriOrOptions: string | (Partial<ConnectionOptions> & { uri: string }),
  options?: Partial<ConnectionOptions>,
  session?: Session,
  headerProvider?: HeaderProviderLike,
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
  refuseCloud(uri, opts, session, headerProvider);
  const { storageOptions, readConsistencyInterval } = opts;
  const credentials = wrapCredentials(opts.credentials, "connect");
  const inner = await call(() => native.JsConnection.connect({ uri, storageOptions, readConsistencyInterval, credentials }));
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
