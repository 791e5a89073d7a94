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

export class TagContents {
  version!: number;
  manifestSize!: number;
}
export class Tags {
  constructor() {
    throw pending("Tags", TAGS);
  }
}
// Moved to lib/namespace.ts; re-exported for modules that still import it from here.
export type { RenameTableOptions } from "./namespace";
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
