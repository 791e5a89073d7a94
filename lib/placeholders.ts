// SPDX-License-Identifier: Apache-2.0
//
// =====================================================================
// PLACEHOLDERS for names of @lancedb/lancedb's main entry that other
// issues implement (vector indexes, full-text search and rerankers,
// schema evolution/tags/branches/namespaces). Each exists so programs
// that import it load; each use fails with NOT_SUPPORTED naming the
// feature. When the real implementation lands, delete its block here and
// the matching line in lib/index.ts ("placeholders" block).
// =====================================================================

/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unused-vars */
import { StowageError } from "./errors";

function pending(what: string, feature: string): StowageError {
  return new StowageError("NOT_SUPPORTED", `${what} arrives with ${feature}; it is not available in this build`);
}

// ---- schema evolution, tags, branches, namespaces (issue: format features) --
const TAGS = "tags and branches";
const NAMESPACES = "namespaces";

export class TagContents {
  version!: number;
  manifestSize!: number;
}
export class Tags {
  constructor() {
    throw pending("Tags", TAGS);
  }
}
export async function connectNamespace(_implName: string, _config: Record<string, any>, _options?: Record<string, any>): Promise<never> {
  throw pending("connectNamespace", NAMESPACES);
}
export interface DirNamespaceConfig {
  root: string;
  manifestEnabled?: boolean;
  extraProperties?: Record<string, string>;
}
export interface RestNamespaceConfig {
  uri: string;
  headers?: Record<string, string>;
  extraProperties?: Record<string, string>;
}
export interface ConnectNamespaceOptions {
  readConsistencyInterval?: number;
  storageOptions?: Record<string, string>;
  namespaceClientProperties?: Record<string, string>;
}
export interface ListNamespacesOptions {
  pageToken?: string;
  limit?: number;
}
export interface CreateNamespaceOptions {
  mode?: "create" | "exist_ok" | "overwrite";
  properties?: Record<string, string>;
}
export interface DropNamespaceOptions {
  mode?: "skip" | "fail";
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
export interface AddColumnsSql {
  name: string;
  valueSql: string;
}
export interface AddColumnsResult {
  version: number;
}
export interface AlterColumnsResult {
  version: number;
}
export interface DropColumnsResult {
  version: number;
}
export interface UpdateFieldMetadataResult {
  version: number;
}
export interface ColumnAlteration {
  path: string;
  rename?: string;
  dataType?: string | any;
  nullable?: boolean;
}
export interface FieldMetadataUpdate {
  path: string;
  metadata: Record<string, string | null>;
  replace?: boolean;
}
export interface LsmWriteSpec {
  specType: "bucket" | "identity" | "unsharded";
  column?: string;
  numBuckets?: number;
  maintainedIndexes?: string[];
  writerConfigDefaults?: Record<string, string>;
}
// ===================== end of placeholders ===========================
