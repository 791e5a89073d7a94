import type { Data } from "./arrow";
import { StowageError } from "./errors";

export interface MergeResult {
  version: number;
  numInsertedRows: number;
  numUpdatedRows: number;
  numDeletedRows: number;
  /** Commits tried (Stowage's transaction loop retries internally and reports 1). */
  numAttempts: number;
  /** Rows written: inserted plus updated (as the reference counts them). */
  numRows: number;
}

/** Options of MergeInsertBuilder.execute(), as in @lancedb/lancedb. */
export interface WriteExecutionOptions {
  /**
   * Reject with STORAGE_TIMEOUT when the merge has not finished after this
   * many milliseconds. The merge itself is not cancelled and may still
   * commit: check `table.version()` before retrying.
   */
  timeoutMs?: number;
}

type Flags = {
  matchedUpdate: boolean;
  matchedWhere?: string;
  notMatchedInsert: boolean;
  bySourceDelete: boolean;
  bySourceWhere?: string;
};

/** Builds a merge-insert ("upsert"), as in @lancedb/lancedb. */
export class MergeInsertBuilder {
  private flags: Flags = { matchedUpdate: false, notMatchedInsert: false, bySourceDelete: false };

  /** @internal */
  constructor(
    private readonly on: string[],
    private readonly run: (data: Data, flags: Flags, on: string[]) => Promise<MergeResult>,
  ) {}

  /**
   * Rows whose key exists in the table replace the table's row; with
   * `where`, only the matched rows for which it holds (`target.col` and
   * `source.col` name the two sides).
   */
  whenMatchedUpdateAll(options?: { where: string }): this {
    const where = options?.where;
    if (where !== undefined && where !== null && typeof where !== "string") {
      throw new StowageError("INVALID_ARGUMENT", "whenMatchedUpdateAll({ where }) takes a SQL predicate string");
    }
    this.flags.matchedUpdate = true;
    this.flags.matchedWhere = where || undefined;
    return this;
  }

  /** Rows whose key is not in the table are inserted. */
  whenNotMatchedInsertAll(): this {
    this.flags.notMatchedInsert = true;
    return this;
  }

  /** Table rows whose key is not in the new data are deleted (with `where`, only those it matches). */
  whenNotMatchedBySourceDelete(options?: { where: string }): this {
    const where = options?.where;
    if (where !== undefined && where !== null && typeof where !== "string") {
      throw new StowageError("INVALID_ARGUMENT", "whenNotMatchedBySourceDelete({ where }) takes a SQL predicate string");
    }
    this.flags.bySourceDelete = true;
    this.flags.bySourceWhere = where || undefined;
    return this;
  }

  /** Accepted for compatibility: Stowage has no index to consult for the join. */
  useIndex(useIndex: boolean): this {
    if (typeof useIndex !== "boolean") throw new StowageError("INVALID_ARGUMENT", "useIndex() takes a boolean");
    return this;
  }

  /** LSM writes are a LanceDB feature Stowage does not have. */
  useLsmWrite(_useLsmWrite: boolean): this {
    throw new StowageError("NOT_SUPPORTED", "useLsmWrite() is not supported: Stowage merges through its one transaction loop");
  }

  /** LSM writes are a LanceDB feature Stowage does not have. */
  validateSingleShard(_validate: boolean): this {
    throw new StowageError("NOT_SUPPORTED", "validateSingleShard() is not supported: Stowage has no LSM shards");
  }

  async execute(data: Data, execOptions?: Partial<WriteExecutionOptions>): Promise<MergeResult> {
    const p = this.run(data, { ...this.flags }, this.on);
    const ms = execOptions?.timeoutMs;
    if (ms === undefined || ms === null) return p;
    if (typeof ms !== "number" || !Number.isFinite(ms) || ms < 0) {
      throw new StowageError("INVALID_ARGUMENT", `timeoutMs must be a non-negative number of milliseconds, got ${String(ms)}`);
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new StowageError("STORAGE_TIMEOUT", `mergeInsert did not finish within timeoutMs=${ms}; it may still commit (check table.version())`)),
        ms,
      );
    });
    try {
      return await Promise.race([p, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}
