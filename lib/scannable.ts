// SPDX-License-Identifier: Apache-2.0
// Scannable, as in @lancedb/lancedb 0.31.0: a source of record batches with a
// schema, accepted by createTable and add. Stowage reads the batches when the
// write runs (a rescannable source can be written again).

import { RecordBatch, RecordBatchReader, Schema, Table as ArrowTable } from "apache-arrow";
import { localizeSchema, localizeTable } from "./arrow";
import { StowageError } from "./errors";

export interface ScannableOptions {
  /** Hint about the number of rows. Not validated against the stream. */
  numRows?: number;
  /** Whether the source can be read more than once (a factory or a table can). */
  rescannable?: boolean;
}

type BatchSource = AsyncIterable<RecordBatch> | Iterable<RecordBatch> | AsyncIterator<RecordBatch> | Iterator<RecordBatch>;

export class Scannable {
  readonly schema: Schema;
  readonly numRows: number | null;
  readonly rescannable: boolean;
  #open: () => BatchSource;
  #scanned = false;

  private constructor(schema: Schema, open: () => BatchSource, numRows: number | null, rescannable: boolean) {
    this.schema = schema;
    this.#open = open;
    this.numRows = numRows;
    this.rescannable = rescannable;
  }

  /** A source that calls `factory` for a fresh stream of batches each time it is read. */
  static async fromFactory(schema: Schema, factory: () => BatchSource, opts?: ScannableOptions): Promise<Scannable> {
    return new Scannable(localizeSchema(schema), factory, opts?.numRows ?? null, opts?.rescannable ?? true);
  }

  /** An Arrow table (rescannable; its row count is known). */
  static async fromTable(table: ArrowTable, opts?: ScannableOptions): Promise<Scannable> {
    const local = localizeTable(table);
    return new Scannable(local.schema, () => local.batches, opts?.numRows ?? local.numRows, opts?.rescannable ?? true);
  }

  /** Batches from an iterable; read once unless `rescannable`. */
  static async fromIterable(schema: Schema, iter: AsyncIterable<RecordBatch> | Iterable<RecordBatch>, opts?: ScannableOptions): Promise<Scannable> {
    return new Scannable(localizeSchema(schema), () => iter, opts?.numRows ?? null, opts?.rescannable ?? false);
  }

  /** Batches from an apache-arrow RecordBatchReader (read once). */
  static async fromRecordBatchReader(reader: RecordBatchReader, opts?: ScannableOptions): Promise<Scannable> {
    if (!reader.schema) await reader.open();
    return new Scannable(localizeSchema(reader.schema), () => reader as unknown as BatchSource, opts?.numRows ?? null, false);
  }

  /** @internal Reads every batch into one table. */
  async toTable(): Promise<ArrowTable> {
    if (this.#scanned && !this.rescannable) {
      throw new StowageError("INVALID_ARGUMENT", "this Scannable was already read and is not rescannable; create a new one");
    }
    this.#scanned = true;
    const source = this.#open();
    const batches: RecordBatch[] = [];
    const it: Iterator<RecordBatch> | AsyncIterator<RecordBatch> =
      Symbol.asyncIterator in (source as object)
        ? (source as AsyncIterable<RecordBatch>)[Symbol.asyncIterator]()
        : Symbol.iterator in (source as object)
          ? (source as Iterable<RecordBatch>)[Symbol.iterator]()
          : (source as Iterator<RecordBatch>);
    for (;;) {
      const r = await it.next();
      if (r.done) break;
      batches.push(r.value);
    }
    if (batches.length === 0) return new ArrowTable(this.schema);
    return localizeTable({ schema: this.schema, batches });
  }
}

/** Whether `x` is a Scannable. */
export function isScannable(x: unknown): x is Scannable {
  return x instanceof Scannable;
}
