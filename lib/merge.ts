import type { Data } from "./arrow";
import { StowageError } from "./errors";

export interface MergeResult {
  version: number;
  numInsertedRows: number;
  numUpdatedRows: number;
  numDeletedRows: number;
}

/** Builds a merge-insert ("upsert"), as in @lancedb/lancedb. */
export class MergeInsertBuilder {
  private matchedUpdate = false;
  private notMatchedInsert = false;
  private bySourceDelete = false;

  /** @internal */
  constructor(
    private readonly on: string[],
    private readonly run: (data: Data, flags: { matchedUpdate: boolean; notMatchedInsert: boolean; bySourceDelete: boolean }, on: string[]) => Promise<MergeResult>,
  ) {}

  /** Rows whose key exists in the table replace the table's row. */
  whenMatchedUpdateAll(options?: { where?: string }): this {
    if (options?.where) {
      throw new StowageError("NOT_SUPPORTED", "whenMatchedUpdateAll({ where }) is not supported yet; filter the new data instead");
    }
    this.matchedUpdate = true;
    return this;
  }

  /** Rows whose key is not in the table are inserted. */
  whenNotMatchedInsertAll(): this {
    this.notMatchedInsert = true;
    return this;
  }

  /** Table rows whose key is not in the new data are deleted. */
  whenNotMatchedBySourceDelete(options?: { where?: string }): this {
    if (options?.where) {
      throw new StowageError("NOT_SUPPORTED", "whenNotMatchedBySourceDelete({ where }) is not supported yet");
    }
    this.bySourceDelete = true;
    return this;
  }

  async execute(data: Data): Promise<MergeResult> {
    return this.run(
      data,
      { matchedUpdate: this.matchedUpdate, notMatchedInsert: this.notMatchedInsert, bySourceDelete: this.bySourceDelete },
      this.on,
    );
  }
}
