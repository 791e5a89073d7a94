// SPDX-License-Identifier: Apache-2.0
// The LanceDB Cloud client of @lancedb/lancedb (db:// URIs, apiKey, header
// and OAuth providers, Session). LanceDB Cloud is another company's hosted
// service; Stowage keeps the names so programs load, and every use fails
// with NOT_SUPPORTED saying what to use instead.

import { StowageError } from "./errors";

const INSTEAD =
  "Stowage is an embedded database: connect to a local directory, memory://, s3://, s3+ddb://, gs:// or az:// " +
  "with storageOptions for credentials";

/** The error for a LanceDB Cloud feature. */
export function cloudNotSupported(what: string): StowageError {
  return new StowageError("NOT_SUPPORTED", `${what} belongs to the LanceDB Cloud client, which Stowage does not include. ${INSTEAD}`);
}

/** Supplies HTTP headers for LanceDB Cloud requests. Not supported: there are no requests to decorate. */
export abstract class HeaderProvider {
  abstract getHeaders(): Record<string, string>;
}

/** A fixed set of headers for LanceDB Cloud. Constructs, but connect() refuses it. */
export class StaticHeaderProvider extends HeaderProvider {
  private _headers: Record<string, string>;

  constructor(headers: Record<string, string>) {
    super();
    this._headers = { ...headers };
  }

  getHeaders(): Record<string, string> {
    return { ...this._headers };
  }
}

export interface TokenResponse {
  accessToken: string;
  expiresIn?: number;
}

/** OAuth bearer tokens for LanceDB Cloud. Not supported. */
export class OAuthHeaderProvider extends HeaderProvider {
  constructor(_tokenFetcher: () => Promise<TokenResponse> | TokenResponse, _refreshBufferSeconds?: number) {
    super();
    throw cloudNotSupported("OAuthHeaderProvider");
  }

  getHeaders(): Record<string, string> {
    throw cloudNotSupported("OAuthHeaderProvider");
  }

  async refreshToken(): Promise<void> {
    throw cloudNotSupported("OAuthHeaderProvider");
  }
}

/** The native header provider class of the reference. Not supported. */
export class NativeJsHeaderProvider {
  constructor(..._args: unknown[]) {
    throw cloudNotSupported("NativeJsHeaderProvider");
  }
}

export enum OAuthFlowType {
  ClientCredentials = "client_credentials",
  AzureManagedIdentity = "azure_managed_identity",
}

export interface OAuthConfig {
  issuerUrl: string;
  clientId: string;
  scopes: string[];
  flow?: OAuthFlowType;
  clientSecret?: string;
  managedIdentityClientId?: string;
  refreshBufferSecs?: number;
}

/** The reference's native OAuth configuration (flow as a string). */
export interface NativeOAuthConfig {
  issuerUrl: string;
  clientId: string;
  scopes: Array<string>;
  flow?: string;
  clientSecret?: string;
  managedIdentityClientId?: string;
  refreshBufferSecs?: number;
}

/**
 * The reference's cache-size session (index and metadata caches). Stowage
 * sizes its caches itself: a Session cannot be created; leave `session` out.
 */
export class Session {
  constructor(_indexCacheSizeBytes?: bigint | null, _metadataCacheSizeBytes?: bigint | null) {
    throw new StowageError("NOT_SUPPORTED", "Session (cache sizes) is not supported: Stowage sizes its caches itself; leave `session` out of connect()");
  }

  static default(): Session {
    return new Session();
  }
}

/** Remote (LanceDB Cloud) client settings; accepted by the type only, refused by connect(). */
export interface ClientConfig {
  userAgent?: string;
  retryConfig?: RetryConfig;
  timeoutConfig?: TimeoutConfig;
  extraHeaders?: Record<string, string>;
  idDelimiter?: string;
  tlsConfig?: TlsConfig;
}
export interface RetryConfig {
  retries?: number;
  connectRetries?: number;
  readRetries?: number;
  backoffFactor?: number;
  backoffJitter?: number;
  statuses?: Array<number>;
}
export interface TimeoutConfig {
  timeout?: number;
  connectTimeout?: number;
  readTimeout?: number;
  poolIdleTimeout?: number;
}
export interface TlsConfig {
  certFile?: string;
  keyFile?: string;
  sslCaCert?: string;
  assertHostname?: boolean;
}
