import type { RecordBatch } from "apache-arrow";

export * from "./rrf";

/**
 * Combines a hybrid query's vector results and full-text results into one
 * ranking. Both batches carry `_rowid`; the result must too, and should
 * carry `_relevance_score`. As in @lancedb/lancedb.
 */
export interface Reranker {
  rerankHybrid(query: string, vecResults: RecordBatch, ftsResults: RecordBatch): Promise<RecordBatch>;
}
