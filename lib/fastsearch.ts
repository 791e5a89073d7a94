import { makeData, RecordBatch, Schema, Struct, Table as ArrowTableClass } from "apache-arrow";
import type { Data, DataType, Table as ArrowTable } from "apache-arrow";
import { fromIpc } from "./arrow";
import type { NativeTable } from "./native";

type VectorOptions = Parameters<NativeTable["vectorSearch"]>[0];

/**
 * A vector search, answered on this thread when everything it needs is in
 * memory (a warm index and columns: no I/O, no hop to a worker thread and
 * back), else run asynchronously. The same rows either way; always a
 * Promise. `compact`: the synchronous answer may come in the compact layout
 * (read it with {@link decodeResult}). `STOWAGE_SYNC_SEARCH=0` turns the
 * synchronous attempt off.
 */
export function vectorSearch(inner: NativeTable, options: VectorOptions, compact = false): Promise<Buffer> {
  if (process.env.STOWAGE_SYNC_SEARCH !== "0") {
    const now = inner.vectorSearchCached(options, compact);
    if (now) return Promise.resolve(now);
  }
  return inner.vectorSearch(options);
}

// Decoded result schemas by their IPC bytes: a search repeats the same few.
const schemas = new Map<string, Schema>();

/**
 * A native result as an Arrow table: Arrow IPC, or the compact layout of
 * small number-only results (src/bindings/fast_search.rs, `compact`), whose
 * columns are viewed in place instead of decoded from IPC.
 */
export function decodeResult(buf: Buffer | Buffer[]): ArrowTable {
  if (Array.isArray(buf) || buf.length < 24 || buf[0] !== 0x53 || buf[1] !== 0x54 || buf[2] !== 0x57 || buf[3] !== 0x31) return fromIpc(buf);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const schemaLen = view.getUint32(4, true);
  const rows = view.getUint32(8, true);
  const ncols = view.getUint32(12, true);
  const nbatches = view.getUint32(16, true);
  let at = 24;
  const schemaBytes = buf.subarray(at, at + schemaLen);
  const key = schemaBytes.toString("latin1");
  let schema = schemas.get(key);
  if (!schema) {
    schema = fromIpc(schemaBytes).schema;
    if (schemas.size >= 64) schemas.clear();
    schemas.set(key, schema);
  }
  at += schemaLen + ((8 - (schemaLen % 8)) % 8);
  if (nbatches === 0) return new ArrowTableClass(schema);
  const children: Data[] = [];
  for (let c = 0; c < ncols; c++) {
    const nullCount = view.getUint32(at, true);
    const validityLen = view.getUint32(at + 4, true);
    const dataLen = view.getUint32(at + 8, true);
    at += 16;
    const nullBitmap = validityLen > 0 ? Uint8Array.prototype.slice.call(buf, at, at + validityLen) : undefined;
    at += validityLen + ((8 - (validityLen % 8)) % 8);
    const type = schema.fields[c].type as DataType;
    const ArrayType = (type as unknown as { ArrayType: { new (b: ArrayBuffer, o: number, n: number): ArrayLike<number>; BYTES_PER_ELEMENT: number } }).ArrayType;
    const offset = buf.byteOffset + at;
    // A view in place when aligned (it keeps the native buffer alive), else a copy.
    const values = offset % ArrayType.BYTES_PER_ELEMENT === 0 ? new ArrayType(buf.buffer as ArrayBuffer, offset, dataLen / ArrayType.BYTES_PER_ELEMENT) : new ArrayType(buf.buffer.slice(offset, offset + dataLen) as ArrayBuffer, 0, dataLen / ArrayType.BYTES_PER_ELEMENT);
    at += dataLen + ((8 - (dataLen % 8)) % 8);
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    children.push(makeData({ type, length: rows, nullCount, nullBitmap, data: values } as any));
  }
  const batch = new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: rows, nullCount: 0, children }));
  return new ArrowTableClass(schema, [batch]);
}
