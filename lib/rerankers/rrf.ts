import { RecordBatch, Table as ArrowTable, tableFromIPC, tableToIPC } from "apache-arrow";
import { StowageError } from "../errors";
import { call, native } from "../native";

function toBuffer(b: RecordBatch): Buffer {
  return Buffer.from(tableToIPC(new ArrowTable(b), "stream"));
}

/**
 * Reciprocal Rank Fusion: a row scores the sum of `1 / (k + rank)` over the
 * result lists it is in (rank from 0), as `_relevance_score`. The default
 * reranker of hybrid queries, as in @lancedb/lancedb.
 *
 * @hideconstructor
 */
export class RRFReranker {
  /** @ignore */
  constructor(private readonly k: number) {}

  static async create(k = 60): Promise<RRFReranker> {
    if (typeof k !== "number" || !Number.isFinite(k) || k <= 0) {
      throw new StowageError("INVALID_ARGUMENT", `RRFReranker.create: k must be a positive number, got ${String(k)}`);
    }
    return new RRFReranker(k);
  }

  async rerankHybrid(query: string, vecResults: RecordBatch, ftsResults: RecordBatch): Promise<RecordBatch> {
    void query;
    const out = await call(() => native.rrfRerank(this.k, toBuffer(vecResults), toBuffer(ftsResults)));
    const t = tableFromIPC(out);
    if (t.batches.length === 1) return t.batches[0];
    // An empty result is one empty batch with the schema.
    return t.batches[0] ?? new RecordBatch(t.schema, undefined as never);
  }
}
