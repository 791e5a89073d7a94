import type { RecordBatch, Table as ArrowTable } from "apache-arrow";
import { fromIpc } from "./arrow";
import { StowageError } from "./errors";
import { call, NativeTable } from "./native";

/** Options of a plain (non-vector) query, built up by the Query methods. */
interface QueryState {
  columns?: string[];
  limit?: number;
  offset?: number;
}

function checkCount(what: string, n: unknown): number {
  if (typeof n !== "number" || !Number.isInteger(n) || n < 0) {
    throw new StowageError("INVALID_ARGUMENT", `${what} must be a non-negative integer, got ${String(n)}`);
  }
  return n;
}

/**
 * A query over a table, as in @lancedb/lancedb: chain `select`, `limit`,
 * `offset`, then `toArrow()`, `toArray()` or iterate the record batches.
 */
export class Query implements AsyncIterable<RecordBatch> {
  private state: QueryState = {};

  /** @internal */
  constructor(private readonly inner: NativeTable, private readonly ensureOpen: () => void) {}

  /** Columns to return, in this order. */
  select(columns: string[] | string): this {
    const cols = typeof columns === "string" ? [columns] : columns;
    if (!Array.isArray(cols) || cols.some((c) => typeof c !== "string")) {
      throw new StowageError(
        "INVALID_ARGUMENT",
        "select() takes a column name or an array of column names (SQL expressions come with the query engine)",
      );
    }
    this.state.columns = [...cols];
    return this;
  }

  limit(limit: number): this {
    this.state.limit = checkCount("limit", limit);
    return this;
  }

  offset(offset: number): this {
    this.state.offset = checkCount("offset", offset);
    return this;
  }

  async toArrow(): Promise<ArrowTable> {
    this.ensureOpen();
    const ipc = await call(() =>
      this.inner.scan({ columns: this.state.columns, limit: this.state.limit, offset: this.state.offset }),
    );
    return fromIpc(ipc);
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  async toArray(): Promise<any[]> {
    return (await this.toArrow()).toArray();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<RecordBatch> {
    const table = await this.toArrow();
    for (const batch of table.batches) yield batch;
  }
}
