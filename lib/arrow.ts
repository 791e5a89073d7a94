// SPDX-License-Identifier: Apache-2.0
//
// Conversion of user data (arrays of plain JS records, or Apache Arrow tables)
// into Apache Arrow, and Arrow <-> IPC stream bytes.
//
// Schema inference follows the rules that @lancedb/lancedb 0.31.0 applies in
// `createTable(name, records)` so that the same records produce the same
// stored schema in both packages (see __test__/schema-compat.test.ts):
//
//   JS value (first non-undefined occurrence of a path)  -> Arrow type
//   ---------------------------------------------------------------------
//   number (integer or not)                              -> Float64
//   bigint                                               -> Int64
//   string                                               -> Utf8
//   boolean                                              -> Bool
//   Buffer                                               -> Binary
//   Float32Array/Float64Array/Int8/16/32Array/
//     Uint8/16/32Array (not Buffer)                      -> FixedSizeList[len]<T>
//   plain object                                         -> Struct (children in
//                                                           first-seen order)
//   array, top-level key exactly "vector"                -> FixedSizeList[len]<Float32>
//   array whose key contains "vector"/"embedding"
//     (case-insensitive) and whose first element is
//     inferable                                          -> FixedSizeList[len]<Float32>
//   other array with inferable first element             -> List<type of first element>
//   null, empty array, Date, Map, Set, RegExp, function,
//     DataView, BigInt64Array, Float16Array, array with
//     null/object/empty first element                    -> error
//
// Every inferred field (and every list item) is nullable. Fields are ordered
// by first appearance across rows; `undefined` values are treated as missing.
// Values are converted strictly: where lancedb would silently store NaN, null,
// a truncated or padded vector, stowage throws an INVALID_ARGUMENT error
// (Table.add reports it as SCHEMA_MISMATCH). The only conversions made are the
// ones that keep the value (see "What add converts" in README.md): integer
// numbers into integer columns, bigints into Int64, numbers into Float32
// (rounded to the nearest float32, never to infinity), Dates into dates and
// timestamps. A string column takes strings only, with one exception kept for
// lancedb compatibility: in a schema inferred from the same records, a later
// number, bigint or boolean is stored as its text (`[{a:"x"},{a:1}]` -> "1").

import {
  Binary,
  Bool,
  Data as ArrowData,
  DataType,
  Date_,
  Decimal,
  Dictionary,
  Duration,
  Field,
  FixedSizeBinary,
  FixedSizeList,
  Float,
  Float32,
  Float64,
  Int,
  Int16,
  Int32,
  Int64,
  Int8,
  Interval,
  LargeBinary,
  LargeUtf8,
  List,
  Map_,
  Null,
  Precision,
  RecordBatch,
  RecordBatchStreamWriter,
  Schema,
  Struct,
  Table as ArrowTable,
  Time,
  Timestamp,
  Type,
  Uint16,
  Uint32,
  Uint8,
  Union,
  Utf8,
  makeBuilder,
  makeVector,
  tableFromIPC,
  Uint64,
  Float16,
  DateMillisecond,
  DateDay,
  TimeNanosecond,
  TimeMicrosecond,
  TimeMillisecond,
  TimeSecond,
  IntervalDayTime,
  IntervalYearMonth,
  DurationNanosecond,
  DurationMicrosecond,
  DurationMillisecond,
  DurationSecond,
} from "apache-arrow";

import { StowageError } from "./errors";

export { ArrowTable };

/** A schema: an apache-arrow Schema (of any copy of apache-arrow) or an object of the same shape. */
export type SchemaLike =
  | Schema
  | {
      fields: FieldLike[];
      metadata: Map<string, string>;
      get names(): unknown[];
    };

/** A field: an apache-arrow Field, or `{ name, type, nullable }` where `type` may be a type name such as "int64". */
export type FieldLike =
  | Field
  | {
      type: string;
      name: string;
      nullable: boolean;
      metadata?: Map<string, string>;
    };

/* eslint-disable @typescript-eslint/no-explicit-any */
/** A record batch's data, from any copy of apache-arrow. */
export type DataLike =
  | ArrowData<Struct<any>>
  | {
      type: any;
      length: number;
      offset: number;
      stride: number;
      nullable: boolean;
      children: DataLike[];
      get nullCount(): number;
      values: any;
      typeIds: any;
      nullBitmap: any;
      valueOffsets: any;
    };
/* eslint-enable @typescript-eslint/no-explicit-any */

/** A record batch, from any copy of apache-arrow. */
export type RecordBatchLike = RecordBatch | { schema: SchemaLike; data: DataLike };

/** An Arrow table, from any copy of apache-arrow. */
export type TableLike = ArrowTable | { schema: SchemaLike; batches: RecordBatchLike[] };

/** What `createTable` / `add` accept: an array of records or an Arrow table. */
export type Data = Record<string, unknown>[] | TableLike;

/**
 * A query vector: numbers, a Float32Array/Float64Array, a Uint8Array (its
 * bytes as numbers), or a Promise of any of them (as an embedding function
 * returns).
 */
export type IntoVector =
  | Float32Array
  | Float64Array
  | Uint8Array
  | number[]
  | Promise<Float32Array | Float64Array | Uint8Array | number[]>;

/** Several query vectors, for multivector search. */
export type MultiVector = IntoVector[];

export function isIntoVector(value: unknown): value is IntoVector {
  return (
    value instanceof Float32Array ||
    value instanceof Float64Array ||
    value instanceof Uint8Array ||
    value instanceof Promise ||
    (Array.isArray(value) && !Array.isArray(value[0]))
  );
}

export function isMultiVector(value: unknown): value is MultiVector {
  return Array.isArray(value) && value.length > 0 && isIntoVector(value[0]) && !(typeof value[0] === "number");
}

/** How a column should be converted to a vector (fixed size list) column. */
export class VectorColumnOptions {
  /** Element type of the vector; Float32 unless given. */
  type: Float = new Float32();

  constructor(values?: Partial<VectorColumnOptions>) {
    Object.assign(this, values);
  }
}

/** Options for inference; these mirror lancedb's `MakeArrowTableOptions`. */
export interface InferOptions {
  /**
   * Top-level columns that are always fixed size lists, keyed by name. The
   * default is `{ vector: { type: new Float32() } }`. Giving this replaces
   * the default.
   */
  vectorColumns?: Record<string, VectorColumnOptions>;
  /** Infer strings as `Dictionary<Int32, Utf8>` instead of `Utf8`. */
  dictionaryEncodeStrings?: boolean;
}

const INVALID_ARGUMENT = "INVALID_ARGUMENT";

function invalid(message: string): StowageError {
  return new StowageError(INVALID_ARGUMENT, message);
}

// ---------------------------------------------------------------------------
// Type guards
// ---------------------------------------------------------------------------

/**
 * Whether `x` is an Apache Arrow table. Duck-typed, so tables built with a
 * different copy of `apache-arrow` than ours are recognised too.
 */
export function isArrowTable(x: unknown): boolean {
  if (x instanceof ArrowTable) return true;
  if (typeof x !== "object" || x === null || Array.isArray(x)) return false;
  const candidate = x as { schema?: unknown; batches?: unknown };
  if (!("schema" in candidate) || !("batches" in candidate)) return false;
  const schema = candidate.schema as { fields?: unknown } | null | undefined;
  return (
    Array.isArray(candidate.batches) &&
    typeof schema === "object" &&
    schema !== null &&
    Array.isArray(schema.fields)
  );
}

/** True for values that are walked into as nested records (structs). */
function isRecordObject(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === "object" &&
    value !== null &&
    !Array.isArray(value) &&
    !(value instanceof RegExp) &&
    !(value instanceof Date) &&
    !(value instanceof Set) &&
    !(value instanceof Map) &&
    !ArrayBuffer.isView(value)
  );
}

function isTypedArray(value: unknown): value is ArrayLike<number | bigint> & ArrayBufferView {
  return ArrayBuffer.isView(value) && !(value instanceof DataView);
}

function isNullish(value: unknown): value is null | undefined {
  return value === null || value === undefined;
}

function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (value === undefined) return "undefined";
  if (typeof value === "string") {
    return value.length > 40
      ? `the string ${JSON.stringify(value.slice(0, 40))}… (${value.length} characters)`
      : `the string ${JSON.stringify(value)}`;
  }
  if (typeof value === "bigint") return `the bigint ${value}n`;
  if (typeof value === "number") return `the number ${value}`;
  if (typeof value === "boolean") return `the boolean ${value}`;
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (isTypedArray(value)) return `a ${value.constructor.name} of length ${value.length}`;
  if (value instanceof Date) return "a Date";
  if (typeof value === "function") return "a function";
  if (typeof value === "object") return `an object (${value.constructor?.name ?? "Object"})`;
  return typeof value;
}

/** "a string column", "an Int64 column", ... for messages about a value that does not fit. */
function columnKind(type: DataType): string {
  if (DataType.isDictionary(type)) return columnKind((type as Dictionary).dictionary);
  if (DataType.isUtf8(type) || DataType.isLargeUtf8(type)) return "a string column";
  if (DataType.isBool(type)) return "a boolean column";
  return columnOfType(String(type));
}

/** "an Int64 column", "a List<Utf8> column", "a Uint8 column" (a "you" sound takes "a"). */
function columnOfType(typeName: string): string {
  return `${/^[AEIO]/.test(typeName) ? "an" : "a"} ${typeName} column`;
}

/** The error for a value that a column of `type` cannot hold. */
function wrongValue(type: DataType, ctx: BuildContext, index: number, value: unknown): StowageError {
  return invalid(`column '${ctx.path}' is ${columnKind(type)} but got ${describeValue(value)}${ctx.locate(index)}`);
}

// ---------------------------------------------------------------------------
// Schema inference
// ---------------------------------------------------------------------------

interface StructNode {
  kind: "struct";
  children: Map<string, InferNode>;
}
interface LeafNode {
  kind: "leaf";
  type: DataType;
}
type InferNode = StructNode | LeafNode;

function nameSuggestsVector(name: string): boolean {
  const lower = name.toLowerCase();
  return lower.includes("vector") || lower.includes("embedding");
}

/** Element type for the typed arrays that infer to a fixed size list. */
function typedArrayElementType(value: ArrayBufferView): DataType | undefined {
  if (value instanceof Float32Array) return new Float32();
  if (value instanceof Float64Array) return new Float64();
  if (value instanceof Uint8Array) return new Uint8();
  if (value instanceof Uint16Array) return new Uint16();
  if (value instanceof Uint32Array) return new Uint32();
  if (value instanceof Int8Array) return new Int8();
  if (value instanceof Int16Array) return new Int16();
  if (value instanceof Int32Array) return new Int32();
  return undefined;
}

function itemField(type: DataType): Field {
  return new Field("item", type, true);
}

function inferValueType(
  value: unknown,
  path: readonly string[],
  vectorColumns: Record<string, VectorColumnOptions>,
  dictionaryEncodeStrings: boolean,
): DataType | undefined {
  switch (typeof value) {
    case "bigint":
      return new Int64();
    case "number":
      return new Float64();
    case "string":
      return dictionaryEncodeStrings ? new Dictionary(new Utf8(), new Int32()) : new Utf8();
    case "boolean":
      return new Bool();
    default:
      break;
  }
  if (Buffer.isBuffer(value)) return new Binary();
  if (isTypedArray(value)) {
    const element = typedArrayElementType(value);
    return element === undefined ? undefined : new FixedSizeList(value.length, itemField(element));
  }
  if (Array.isArray(value)) {
    if (value.length === 0) return undefined;
    const name = path[path.length - 1];
    if (path.length === 1 && Object.prototype.hasOwnProperty.call(vectorColumns, name)) {
      return new FixedSizeList(value.length, itemField(vectorColumns[name].type));
    }
    const elementType = inferValueType(value[0], path, vectorColumns, dictionaryEncodeStrings);
    if (elementType === undefined) return undefined;
    if (nameSuggestsVector(name)) {
      return new FixedSizeList(value.length, itemField(new Float32()));
    }
    return new List(itemField(elementType));
  }
  return undefined;
}

function checkRow(row: unknown, rowIndex: number): asserts row is Record<string, unknown> {
  if (typeof row !== "object" || row === null || Array.isArray(row) || !isRecordObject(row)) {
    throw invalid(`Row ${rowIndex} must be a plain object (a record), got ${describeValue(row)}`);
  }
}

/**
 * Infer the Arrow schema for `records` exactly as @lancedb/lancedb 0.31.0
 * does when creating a table from records without a schema.
 */
export function inferSchema(records: readonly Record<string, unknown>[], options: InferOptions = {}): Schema {
  if (records.length === 0) {
    throw invalid(
      "Cannot infer a schema from empty data: a schema is required to create a table without any records",
    );
  }
  const vectorColumns: Record<string, VectorColumnOptions> = options.vectorColumns ?? {
    vector: { type: new Float32() },
  };
  const dictionaryEncodeStrings = options.dictionaryEncodeStrings ?? false;
  const root: StructNode = { kind: "struct", children: new Map() };

  const addLeaf = (path: string[], value: unknown, rowIndex: number): void => {
    let node: StructNode = root;
    for (let depth = 0; depth < path.length - 1; depth++) {
      let next = node.children.get(path[depth]);
      if (next === undefined) {
        next = { kind: "struct", children: new Map() };
        node.children.set(path[depth], next);
      } else if (next.kind === "leaf") {
        throw invalid(
          `Field ${path.slice(0, depth + 1).join(".")} was inferred as ${next.type} from an earlier row ` +
            `but row ${rowIndex} has a nested object there. Consider providing an explicit schema.`,
        );
      }
      node = next;
    }
    const key = path[path.length - 1];
    if (node.children.has(key)) return; // first occurrence wins
    const type = inferValueType(value, path, vectorColumns, dictionaryEncodeStrings);
    if (type === undefined) {
      throw invalid(
        `Failed to infer data type for field ${path.join(".")} at row ${rowIndex} ` +
          `from ${describeValue(value)}. Consider providing an explicit schema.`,
      );
    }
    node.children.set(key, { kind: "leaf", type });
  };

  const visit = (obj: Record<string, unknown>, prefix: string[], rowIndex: number): void => {
    for (const [key, value] of Object.entries(obj)) {
      const path = [...prefix, key];
      if (isRecordObject(value)) {
        visit(value, path, rowIndex);
      } else if (value !== undefined) {
        addLeaf(path, value, rowIndex);
      }
    }
  };

  records.forEach((row, rowIndex) => {
    checkRow(row, rowIndex);
    visit(row, [], rowIndex);
  });

  const toFields = (node: StructNode): Field[] =>
    [...node.children.entries()].map(([name, child]) =>
      child.kind === "leaf"
        ? new Field(name, child.type, true)
        : new Field(name, new Struct(toFields(child)), true),
    );
  return new Schema(toFields(root));
}

// ---------------------------------------------------------------------------
// Localising Arrow objects from another copy of apache-arrow
// ---------------------------------------------------------------------------

/* eslint-disable @typescript-eslint/no-explicit-any */
type Foreign = any;

/** Type names a schema may give instead of a type, as @lancedb/lancedb accepts them (case-insensitive). */
const TYPES_BY_NAME: Record<string, () => DataType> = {
  null: () => new Null(),
  binary: () => new Binary(),
  utf8: () => new Utf8(),
  bool: () => new Bool(),
  int8: () => new Int8(),
  int16: () => new Int16(),
  int32: () => new Int32(),
  int64: () => new Int64(),
  uint8: () => new Uint8(),
  uint16: () => new Uint16(),
  uint32: () => new Uint32(),
  uint64: () => new Uint64(),
  float16: () => new Float16(),
  float32: () => new Float32(),
  float64: () => new Float64(),
  datemillisecond: () => new DateMillisecond(),
  dateday: () => new DateDay(),
  timenanosecond: () => new TimeNanosecond(),
  timemicrosecond: () => new TimeMicrosecond(),
  timemillisecond: () => new TimeMillisecond(),
  timesecond: () => new TimeSecond(),
  intervaldaytime: () => new IntervalDayTime(),
  intervalyearmonth: () => new IntervalYearMonth(),
  durationnanosecond: () => new DurationNanosecond(),
  durationmicrosecond: () => new DurationMicrosecond(),
  durationmillisecond: () => new DurationMillisecond(),
  durationsecond: () => new DurationSecond(),
};

function localizeType(t: Foreign): DataType {
  if (t instanceof DataType) return t;
  if (typeof t === "string") {
    const make = TYPES_BY_NAME[t.toLowerCase()];
    if (make === undefined) {
      throw invalid(`Unrecognized type name in schema: '${t}'; use one of ${Object.keys(TYPES_BY_NAME).join(", ")} or an apache-arrow DataType`);
    }
    return make();
  }
  if (typeof t !== "object" || t === null || t.typeId === undefined) {
    throw invalid(`Expected an Arrow data type or a type name, got ${describeValue(t)}`);
  }
  const children = (): Field[] => ((t.children ?? []) as Foreign[]).map(localizeField);
  switch (t.typeId as Type) {
    case Type.Null:
      return new Null();
    case Type.Int:
      return new Int(t.isSigned, t.bitWidth);
    case Type.Float:
      return new Float(t.precision);
    case Type.Binary:
      return new Binary();
    case Type.LargeBinary:
      return new LargeBinary();
    case Type.Utf8:
      return new Utf8();
    case Type.LargeUtf8:
      return new LargeUtf8();
    case Type.Bool:
      return new Bool();
    case Type.Decimal:
      return new Decimal(t.scale, t.precision, t.bitWidth);
    case Type.Date:
      return new Date_(t.unit);
    case Type.Time:
      return new Time(t.unit, t.bitWidth);
    case Type.Timestamp:
      return new Timestamp(t.unit, t.timezone);
    case Type.Interval:
      return new Interval(t.unit);
    case Type.Duration:
      return new Duration(t.unit);
    case Type.List:
      return new List(children()[0]);
    case Type.Struct:
      return new Struct(children());
    case Type.Union:
      return new Union(t.mode, Array.from(t.typeIds as ArrayLike<number>), children());
    case Type.FixedSizeBinary:
      return new FixedSizeBinary(t.byteWidth);
    case Type.FixedSizeList:
      return new FixedSizeList(t.listSize, children()[0]);
    case Type.Map:
      return new Map_(children()[0] as Field<Struct>, t.keysSorted);
    case Type.Dictionary:
      return new Dictionary(localizeType(t.dictionary), localizeType(t.indices) as Foreign, t.id, t.isOrdered);
    default:
      throw invalid(`Unsupported Arrow data type: ${String(t)}`);
  }
}

function localizeField(f: Foreign): Field {
  if (f instanceof Field && f.type instanceof DataType) return f;
  return new Field(String(f.name), localizeType(f.type), Boolean(f.nullable), new Map(f.metadata ?? []));
}

export function localizeSchema(schema: Foreign): Schema {
  if (schema instanceof Schema) return schema;
  if (typeof schema !== "object" || schema === null || !Array.isArray(schema.fields)) {
    throw invalid("schema must be an Apache Arrow Schema");
  }
  return new Schema((schema.fields as Foreign[]).map(localizeField), new Map(schema.metadata ?? []));
}

function localizeData(d: Foreign, type: DataType): ArrowData {
  const childTypes: DataType[] = (type.children ?? []).map((c: Field) => c.type);
  const children: ArrowData[] = ((d.children ?? []) as Foreign[]).map((c, i) => localizeData(c, childTypes[i]));
  let dictionary: Foreign = undefined;
  if (d.dictionary !== undefined && d.dictionary !== null) {
    const dictType = (type as Dictionary).dictionary;
    dictionary = makeVector(((d.dictionary.data ?? []) as Foreign[]).map((x) => localizeData(x, dictType)));
  }
  const nullCount: number = typeof d._nullCount === "number" ? d._nullCount : d.nullCount;
  return new ArrowData(
    type as Foreign,
    d.offset,
    d.length,
    nullCount,
    [d.valueOffsets, d.values, d.nullBitmap, d.typeIds] as Foreign,
    children,
    dictionary,
  );
}

export function localizeTable(table: Foreign): ArrowTable {
  if (table instanceof ArrowTable) return table;
  const schema = localizeSchema(table.schema);
  const structType = new Struct(schema.fields);
  const batches = (table.batches as Foreign[]).map(
    (batch) => new RecordBatch(schema, localizeData(batch.data, structType) as ArrowData<Struct>),
  );
  return batches.length === 0 ? new ArrowTable(schema) : new ArrowTable(schema, batches);
}
/* eslint-enable @typescript-eslint/no-explicit-any */

// ---------------------------------------------------------------------------
// Column building
// ---------------------------------------------------------------------------

/** Lazily allocated validity bitmap. */
class Validity {
  private bits: Uint8Array | undefined;
  nullCount = 0;

  constructor(private readonly length: number) {}

  setNull(index: number): void {
    if (this.bits === undefined) {
      this.bits = new Uint8Array((this.length + 7) >> 3).fill(0xff);
    }
    this.bits[index >> 3] &= ~(1 << (index & 7));
    this.nullCount++;
  }

  isNull(index: number): boolean {
    return this.bits !== undefined && (this.bits[index >> 3] & (1 << (index & 7))) === 0;
  }

  bitmap(): Uint8Array {
    return this.bits ?? new Uint8Array(0);
  }
}

/** Describes where in the input a (possibly nested) value came from. */
type Locator = (index: number) => string;

interface BuildContext {
  path: string;
  locate: Locator;
  /** masked[i] = 1 when a parent of value i is null (see markNull). */
  masked?: Uint8Array;
  /**
   * Whether a number, bigint or boolean may become text in a string column.
   * Only for a schema inferred from the records themselves: lancedb stores
   * `[{a:"x"},{a:1}]` as "x", "1" and the inferred schemas must match. Where
   * the schema is given (add, mergeInsert, createTable with a schema) a
   * string column takes strings only.
   */
  scalarsAsText: boolean;
}

function newData(
  type: DataType,
  length: number,
  validity: Validity,
  buffers: { values?: ArrayBufferView; offsets?: Int32Array },
  children: ArrowData[] = [],
): ArrowData {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const bufs: any = [buffers.offsets, buffers.values, validity.bitmap()];
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return new ArrowData(type as any, 0, length, validity.nullCount, bufs, children);
}

type NumericArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

interface NumericSpec {
  create(length: number): NumericArray;
  kind: "float" | "int" | "bigint";
  min: number | bigint;
  max: number | bigint;
  name: string;
}

function numericSpec(type: DataType): NumericSpec | undefined {
  if (DataType.isFloat(type)) {
    const precision = (type as Float).precision;
    if (precision === Precision.SINGLE) {
      return { create: (n) => new Float32Array(n), kind: "float", min: -Infinity, max: Infinity, name: "Float32" };
    }
    if (precision === Precision.DOUBLE) {
      return { create: (n) => new Float64Array(n), kind: "float", min: -Infinity, max: Infinity, name: "Float64" };
    }
    return undefined; // Float16: handled by the generic builder
  }
  if (DataType.isInt(type)) {
    const { isSigned, bitWidth } = type as Int;
    const name = `${isSigned ? "Int" : "Uint"}${bitWidth}`;
    switch (bitWidth) {
      case 8:
        return isSigned
          ? { create: (n) => new Int8Array(n), kind: "int", min: -128, max: 127, name }
          : { create: (n) => new Uint8Array(n), kind: "int", min: 0, max: 255, name };
      case 16:
        return isSigned
          ? { create: (n) => new Int16Array(n), kind: "int", min: -32768, max: 32767, name }
          : { create: (n) => new Uint16Array(n), kind: "int", min: 0, max: 65535, name };
      case 32:
        return isSigned
          ? { create: (n) => new Int32Array(n), kind: "int", min: -2147483648, max: 2147483647, name }
          : { create: (n) => new Uint32Array(n), kind: "int", min: 0, max: 4294967295, name };
      case 64:
        return isSigned
          ? {
              create: (n) => new BigInt64Array(n),
              kind: "bigint",
              min: -(2n ** 63n),
              max: 2n ** 63n - 1n,
              name,
            }
          : { create: (n) => new BigUint64Array(n), kind: "bigint", min: 0n, max: 2n ** 64n - 1n, name };
      default:
        return undefined;
    }
  }
  return undefined;
}

/** Convert one JS value for a numeric column, or throw. */
function toNumeric(value: unknown, spec: NumericSpec, ctx: BuildContext, index: number): number | bigint {
  const fail = (): never => {
    throw invalid(
      `column '${ctx.path}' is ${columnOfType(spec.name)} but got ${describeValue(value)}${ctx.locate(index)}`,
    );
  };
  if (spec.kind === "float") {
    if (typeof value !== "number") return fail();
    // Rounding to float32 is the documented conversion; turning a finite
    // number into an infinity is not.
    if (spec.name === "Float32" && Number.isFinite(value) && !Number.isFinite(Math.fround(value))) {
      throw invalid(
        `column '${ctx.path}' is a Float32 column and ${describeValue(value)}${ctx.locate(index)} ` +
          `is outside the Float32 range (±3.4e38)`,
      );
    }
    return value;
  }
  if (spec.kind === "int") {
    let n: number;
    if (typeof value === "number") n = value;
    else if (typeof value === "bigint") n = Number(value);
    else return fail();
    if (!Number.isInteger(n) || n < (spec.min as number) || n > (spec.max as number)) fail();
    return n;
  }
  let b: bigint;
  if (typeof value === "bigint") b = value;
  else if (typeof value === "number" && Number.isInteger(value)) b = BigInt(value);
  else return fail();
  if (b < (spec.min as bigint) || b > (spec.max as bigint)) fail();
  return b;
}

/**
 * Decide what a null/undefined value at `index` becomes: `true` = a null slot.
 * A non-nullable field throws, unless a parent of the slot is null; then the
 * slot gets a default (zero / empty) value, since Lance refuses nulls in a
 * non-nullable child even under a null parent.
 */
function markNull(field: Field, ctx: BuildContext, index: number, value: unknown): boolean {
  if (field.nullable) return true;
  if (ctx.masked !== undefined && ctx.masked[index] === 1) return false;
  throw invalid(`column '${ctx.path}' is not nullable but got ${describeValue(value)}${ctx.locate(index)}`);
}

/** Placeholder for a masked slot of a non-nullable field built by apache-arrow. */
function defaultValue(type: DataType): unknown {
  if (DataType.isDictionary(type)) return defaultValue((type as Dictionary).dictionary);
  if (DataType.isUtf8(type) || DataType.isLargeUtf8(type)) return "";
  if (DataType.isBinary(type) || DataType.isLargeBinary(type)) return new Uint8Array(0);
  if (DataType.isBool(type)) return false;
  if (DataType.isInt(type)) return (type as Int).bitWidth === 64 ? 0n : 0;
  if (DataType.isFloat(type) || DataType.isTimestamp(type) || DataType.isDate(type)) return 0;
  return null;
}

function buildNumeric(field: Field, spec: NumericSpec, values: ArrayLike<unknown>, ctx: BuildContext): ArrowData {
  const n = values.length;
  const out = spec.create(n);
  const validity = new Validity(n);
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (isNullish(v)) {
      if (markNull(field, ctx, i, v)) validity.setNull(i);
    } else {
      (out as { [k: number]: number | bigint })[i] = toNumeric(v, spec, ctx, i);
    }
  }
  return newData(field.type, n, validity, { values: out });
}

function buildBool(field: Field, values: ArrayLike<unknown>, ctx: BuildContext): ArrowData {
  const n = values.length;
  const bits = new Uint8Array((n + 7) >> 3);
  const validity = new Validity(n);
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (isNullish(v)) {
      if (markNull(field, ctx, i, v)) validity.setNull(i);
    } else if (typeof v === "boolean") {
      if (v) bits[i >> 3] |= 1 << (i & 7);
    } else {
      throw wrongValue(field.type, ctx, i, v);
    }
  }
  return newData(field.type, n, validity, { values: bits });
}

function toBytes(value: unknown): Uint8Array | undefined {
  if (value instanceof Uint8Array) return value;
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  return undefined;
}

/** The text for a string column, or throw (see BuildContext.scalarsAsText). */
function toText(value: unknown, ctx: BuildContext, index: number): string {
  if (typeof value === "string") return value;
  if (ctx.scalarsAsText && (typeof value === "number" || typeof value === "bigint" || typeof value === "boolean")) {
    return String(value);
  }
  throw wrongValue(new Utf8(), ctx, index, value);
}

/**
 * Element `j` of an array value. A hole (`[1, , 3]`) or an `undefined`
 * element is refused rather than read as null: lancedb turns it into NaN or
 * "" depending on the column, and a record's `undefined` means "no such
 * field", which has no meaning inside a list.
 */
function elementAt(list: ArrayLike<unknown>, j: number, ctx: BuildContext, row: number): unknown {
  const e = list[j];
  if (e === undefined) {
    throw invalid(
      `column '${ctx.path}' has no value at index ${j}${ctx.locate(row)} (a hole in the array or undefined); ` +
        `write null for a null element`,
    );
  }
  return e;
}

/** Utf8 / Binary with 32-bit offsets. */
function buildVarBinary(field: Field, values: ArrayLike<unknown>, ctx: BuildContext, utf8: boolean): ArrowData {
  const n = values.length;
  const validity = new Validity(n);
  const items: (Uint8Array | string | undefined)[] = new Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (isNullish(v)) {
      if (markNull(field, ctx, i, v)) validity.setNull(i);
      continue;
    }
    if (utf8) {
      const s = toText(v, ctx, i);
      items[i] = s;
      total += Buffer.byteLength(s, "utf8");
    } else {
      const bytes = toBytes(v);
      if (bytes === undefined) {
        throw wrongValue(field.type, ctx, i, v);
      }
      items[i] = bytes;
      total += bytes.byteLength;
    }
    if (total > 0x7fffffff) {
      throw invalid(`column '${ctx.path}' holds more than 2 GiB of data; use a Large${utf8 ? "Utf8" : "Binary"} type`);
    }
  }
  const buffer = Buffer.alloc(total);
  const offsets = new Int32Array(n + 1);
  let pos = 0;
  for (let i = 0; i < n; i++) {
    const item = items[i];
    if (typeof item === "string") pos += buffer.write(item, pos, "utf8");
    else if (item !== undefined) {
      buffer.set(item, pos);
      pos += item.byteLength;
    }
    offsets[i + 1] = pos;
  }
  const data = new Uint8Array(buffer.buffer, buffer.byteOffset, total);
  return newData(field.type, n, validity, { values: data, offsets });
}

function buildFixedSizeBinary(field: Field, values: ArrayLike<unknown>, ctx: BuildContext): ArrowData {
  const n = values.length;
  const width = (field.type as FixedSizeBinary).byteWidth;
  const out = new Uint8Array(n * width);
  const validity = new Validity(n);
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (isNullish(v)) {
      if (markNull(field, ctx, i, v)) validity.setNull(i);
      continue;
    }
    const bytes = toBytes(v);
    if (bytes === undefined || bytes.byteLength !== width) {
      throw wrongValue(field.type, ctx, i, v);
    }
    out.set(bytes, i * width);
  }
  return newData(field.type, n, validity, { values: out });
}

function isListLike(value: unknown): value is ArrayLike<unknown> {
  return Array.isArray(value) || isTypedArray(value);
}

function buildList(field: Field, values: ArrayLike<unknown>, ctx: BuildContext): ArrowData {
  const n = values.length;
  const childField = (field.type as List).children[0];
  const validity = new Validity(n);
  const offsets = new Int32Array(n + 1);
  const flat: unknown[] = [];
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (isNullish(v)) {
      if (markNull(field, ctx, i, v)) validity.setNull(i);
    } else if (isListLike(v)) {
      for (let j = 0; j < v.length; j++) flat.push(elementAt(v, j, ctx, i));
    } else {
      throw wrongValue(field.type, ctx, i, v);
    }
    offsets[i + 1] = flat.length;
  }
  const locate: Locator = (j) => {
    // find the row whose range holds flat index j
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (offsets[mid] <= j) lo = mid;
      else hi = mid - 1;
    }
    return ctx.locate(lo);
  };
  const child = buildData(childField, flat, { ...ctx, path: `${ctx.path}[]`, locate, masked: undefined });
  return newData(field.type, n, validity, { offsets }, [child]);
}

function buildFixedSizeList(field: Field, values: ArrayLike<unknown>, ctx: BuildContext): ArrowData {
  const n = values.length;
  const type = field.type as FixedSizeList;
  const size = type.listSize;
  const childField = type.children[0];
  const validity = new Validity(n);
  const badRow = (i: number, v: unknown): never => {
    throw invalid(
      `column '${ctx.path}' is ${columnKind(type)} and needs ${size} values per row, ` +
        `but got ${describeValue(v)}${ctx.locate(i)}`,
    );
  };
  const spec = numericSpec(childField.type);
  const childLocate: Locator = (j) => ctx.locate(Math.floor(j / size));
  const childCtx: BuildContext = { ...ctx, path: `${ctx.path}[]`, locate: childLocate, masked: undefined };

  if (spec !== undefined) {
    // Fast path: write the elements straight into one typed array.
    const out = spec.create(n * size) as { [k: number]: number | bigint; set?: unknown };
    const childValidity = new Validity(n * size);
    const sameCtor = (v: unknown): boolean =>
      isTypedArray(v) && (v as object).constructor === (out as object).constructor;
    for (let i = 0; i < n; i++) {
      const v = values[i];
      if (isNullish(v)) {
        if (markNull(field, ctx, i, v)) validity.setNull(i);
        continue;
      }
      if (!isListLike(v) || v.length !== size) badRow(i, v);
      const row = v as ArrayLike<unknown>;
      const base = i * size;
      if (sameCtor(row)) {
        (out as unknown as { set(a: ArrayLike<number | bigint>, o: number): void }).set(
          row as ArrayLike<number | bigint>,
          base,
        );
        continue;
      }
      for (let j = 0; j < size; j++) {
        const e = elementAt(row, j, ctx, i);
        if (e === null) {
          if (markNull(childField, childCtx, base + j, e)) childValidity.setNull(base + j);
        } else {
          out[base + j] = toNumeric(e, spec, childCtx, base + j);
        }
      }
    }
    const child = newData(childField.type, n * size, childValidity, { values: out as unknown as NumericArray });
    return newData(field.type, n, validity, {}, [child]);
  }

  const flat: unknown[] = new Array(n * size).fill(null);
  const masked = new Uint8Array(n * size);
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (isNullish(v)) {
      if (markNull(field, ctx, i, v)) validity.setNull(i);
      masked.fill(1, i * size, (i + 1) * size);
      continue;
    }
    if (!isListLike(v) || v.length !== size) badRow(i, v);
    const row = v as ArrayLike<unknown>;
    for (let j = 0; j < size; j++) flat[i * size + j] = elementAt(row, j, ctx, i);
  }
  const child = buildData(childField, flat, { ...childCtx, masked });
  return newData(field.type, n, validity, {}, [child]);
}

function buildStruct(field: Field, values: ArrayLike<unknown>, ctx: BuildContext): ArrowData {
  const n = values.length;
  const type = field.type as Struct;
  const validity = new Validity(n);
  let masked: Uint8Array | undefined = ctx.masked;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (isNullish(v)) {
      if (markNull(field, ctx, i, v)) validity.setNull(i);
      if (masked === undefined || masked === ctx.masked) {
        masked = ctx.masked ? Uint8Array.from(ctx.masked) : new Uint8Array(n);
      }
      masked[i] = 1;
    } else if (!isRecordObject(v)) {
      throw wrongValue(type, ctx, i, v);
    }
  }
  const children = type.children.map((child) => {
    const childValues = new Array<unknown>(n);
    for (let i = 0; i < n; i++) {
      const v = values[i];
      childValues[i] = isRecordObject(v) ? v[child.name] : null;
    }
    return buildData(child, childValues, { ...ctx, path: `${ctx.path}.${child.name}`, masked });
  });
  return newData(field.type, n, validity, {}, children);
}

/** Light normalisation of values handed to apache-arrow's generic builders. */
function normalizeForBuilder(type: DataType, value: unknown, ctx: BuildContext, index: number): unknown {
  const fail = (): never => {
    throw wrongValue(type, ctx, index, value);
  };
  if (DataType.isDictionary(type)) {
    return normalizeForBuilder((type as Dictionary).dictionary, value, ctx, index);
  }
  if (DataType.isUtf8(type) || DataType.isLargeUtf8(type)) {
    return toText(value, ctx, index);
  }
  if (DataType.isBinary(type) || DataType.isLargeBinary(type)) {
    return toBytes(value) ?? fail();
  }
  if (DataType.isFloat(type)) {
    return typeof value === "number" ? value : fail();
  }
  if (DataType.isTimestamp(type) || DataType.isDate(type)) {
    if (value instanceof Date) return Number.isNaN(value.getTime()) ? fail() : value;
    return typeof value === "number" ? value : fail();
  }
  return value;
}

function buildWithArrowBuilder(field: Field, values: ArrayLike<unknown>, ctx: BuildContext): ArrowData {
  const builder = makeBuilder({ type: field.type, nullValues: [null, undefined] });
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (isNullish(v)) {
      builder.append(markNull(field, ctx, i, v) ? null : defaultValue(field.type));
    } else {
      try {
        builder.append(normalizeForBuilder(field.type, v, ctx, i));
      } catch (e) {
        if (e instanceof StowageError) throw e;
        throw invalid(
          `column '${ctx.path}' is ${columnKind(field.type)} and cannot hold ${describeValue(v)}${ctx.locate(i)}: ` +
            `${(e as Error).message}`,
        );
      }
    }
  }
  const chunks = builder.finish().toVector().data;
  if (chunks.length === 1) return chunks[0];
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return (makeVector(chunks as any) as any).data[0] as ArrowData;
}

function buildData(field: Field, values: ArrayLike<unknown>, ctx: BuildContext): ArrowData {
  const type = field.type;
  switch (type.typeId) {
    case Type.Null: {
      for (let i = 0; i < values.length; i++) {
        if (!isNullish(values[i])) {
          throw wrongValue(type, ctx, i, values[i]);
        }
      }
      return new ArrowData(type, 0, values.length, values.length);
    }
    case Type.Bool:
      return buildBool(field, values, ctx);
    case Type.Int:
    case Type.Float: {
      const spec = numericSpec(type);
      return spec !== undefined ? buildNumeric(field, spec, values, ctx) : buildWithArrowBuilder(field, values, ctx);
    }
    case Type.Utf8:
      return buildVarBinary(field, values, ctx, true);
    case Type.Binary:
      return buildVarBinary(field, values, ctx, false);
    case Type.FixedSizeBinary:
      return buildFixedSizeBinary(field, values, ctx);
    case Type.List:
      return buildList(field, values, ctx);
    case Type.FixedSizeList:
      return buildFixedSizeList(field, values, ctx);
    case Type.Struct:
      return buildStruct(field, values, ctx);
    default:
      return buildWithArrowBuilder(field, values, ctx);
  }
}

const rowLocator: Locator = (i) => ` at row ${i}`;

function recordsToTable(
  records: readonly Record<string, unknown>[],
  schema: Schema,
  scalarsAsText: boolean,
): ArrowTable {
  if (records.length === 0) return new ArrowTable(schema);
  const n = records.length;
  const children = schema.fields.map((field) => {
    const values = new Array<unknown>(n);
    for (let i = 0; i < n; i++) values[i] = records[i][field.name];
    return buildData(field, values, { path: field.name, locate: rowLocator, scalarsAsText });
  });
  const data = new ArrowData(new Struct(schema.fields), 0, n, 0, undefined, children);
  return new ArrowTable(schema, [new RecordBatch(schema, data as ArrowData<Struct>)]);
}

/** Reject keys that the schema does not have (undefined values are ignored). */
function checkKeysAgainstSchema(
  obj: Record<string, unknown>,
  fields: readonly Field[],
  prefix: string,
  rowIndex: number,
): void {
  for (const [key, value] of Object.entries(obj)) {
    if (value === undefined) continue;
    const path = prefix === "" ? key : `${prefix}.${key}`;
    const field = fields.find((f) => f.name === key);
    if (field === undefined) {
      throw invalid(
        `Found field not in schema: ${path} at row ${rowIndex}. ` +
          `Schema fields${prefix === "" ? "" : ` of ${prefix}`}: ${fields.map((f) => f.name).join(", ") || "(none)"}`,
      );
    }
    if (isRecordObject(value) && DataType.isStruct(field.type)) {
      checkKeysAgainstSchema(value, (field.type as Struct).children, path, rowIndex);
    }
  }
}

// ---------------------------------------------------------------------------
// Conforming Arrow tables to a schema
// ---------------------------------------------------------------------------

function sameFields(a: readonly Field[], b: readonly Field[]): boolean {
  return (
    a.length === b.length &&
    a.every(
      (f, i) =>
        f.name === b[i].name &&
        f.nullable === b[i].nullable &&
        String(f.type) === String(b[i].type) &&
        sameFields(f.type.children ?? [], b[i].type.children ?? []),
    )
  );
}

function conformTable(table: ArrowTable, schema: Schema): ArrowTable {
  const source = table.schema;
  if (sameFields(source.fields, schema.fields)) {
    return rebaseTable(table, schema);
  }
  for (const f of source.fields) {
    if (!schema.fields.some((s) => s.name === f.name)) {
      throw invalid(
        `Found field not in schema: ${f.name}. Schema fields: ${schema.fields.map((s) => s.name).join(", ") || "(none)"}`,
      );
    }
  }
  const plan = schema.fields.map((target) => {
    const index = source.fields.findIndex((f) => f.name === target.name);
    if (index < 0) {
      if (!target.nullable) {
        throw invalid(`The data is missing the non-nullable field ${target.name}`);
      }
      return -1;
    }
    const actual = source.fields[index];
    if (String(actual.type) !== String(target.type)) {
      throw invalid(
        `column '${target.name}' has type ${actual.type} in the data but the schema has ${target.type}; ` +
          `Arrow columns are not converted, cast them first`,
      );
    }
    return index;
  });
  const batches = table.batches.map((batch) => {
    const children = plan.map((index, i) => {
      const target = schema.fields[i];
      if (index < 0) {
        return buildData(target, new Array(batch.numRows).fill(null), {
          path: target.name,
          locate: rowLocator,
          scalarsAsText: false,
        });
      }
      const child = batch.data.children[index];
      if (!target.nullable && child.nullCount > 0) {
        throw invalid(`column '${target.name}' is not nullable but the data contains nulls`);
      }
      return child;
    });
    const data = new ArrowData(new Struct(schema.fields), 0, batch.numRows, 0, undefined, children);
    return new RecordBatch(schema, data as ArrowData<Struct>);
  });
  return batches.length === 0 ? new ArrowTable(schema) : new ArrowTable(schema, batches);
}

/** Make every batch carry `schema` (the IPC writer stops at a schema change). */
function rebaseTable(table: ArrowTable, schema: Schema): ArrowTable {
  if (table.schema === schema && table.batches.every((b) => b.schema === schema)) return table;
  const batches = table.batches.map((b) =>
    b.schema === schema ? b : new RecordBatch(schema, b.data as ArrowData<Struct>),
  );
  return batches.length === 0 ? new ArrowTable(schema) : new ArrowTable(schema, batches);
}

// ---------------------------------------------------------------------------
// Storage constraints (Lance rejects these when the table is written)
// ---------------------------------------------------------------------------

function validateForStorage(schema: Schema): void {
  const visit = (field: Field, path: string): void => {
    if (DataType.isFixedSizeList(field.type) && (field.type as FixedSizeList).listSize <= 0) {
      throw invalid(
        `Field ${path} is a FixedSizeList with dimension ${(field.type as FixedSizeList).listSize}; ` +
          `the dimension must be a positive integer (was a vector or typed array empty?)`,
      );
    }
    for (const child of field.type.children ?? []) visit(child, `${path}.${child.name}`);
  };
  for (const field of schema.fields) {
    if (field.name.includes(".")) {
      throw invalid(
        `Top level field ${field.name} cannot contain \`.\`. Maybe you meant to create a struct field?`,
      );
    }
    visit(field, field.name);
  }
}

// ---------------------------------------------------------------------------
// Public conversion API
// ---------------------------------------------------------------------------

/**
 * Convert user data into an Arrow table.
 *
 * - Records without `schema`: the schema is inferred exactly as
 *   @lancedb/lancedb 0.31.0 infers it (see the table at the top of this file).
 * - Records with `schema`: the records are conformed to it. Missing or
 *   undefined values become null (an error for non-nullable fields); keys not
 *   in the schema are an error. The result carries `schema` unchanged,
 *   metadata included.
 * - An Arrow table is passed through; one built with another copy of
 *   apache-arrow is re-encoded with ours. With `schema`, its columns are
 *   reordered to the schema and missing nullable columns filled with nulls.
 * - An empty array needs `schema`; without one a StowageError with code
 *   INVALID_ARGUMENT is thrown.
 */
export function toArrowTable(data: Data, schema?: Schema, options: InferOptions = {}): ArrowTable {
  const target = schema === undefined || schema === null ? undefined : localizeSchema(schema);
  let table: ArrowTable;
  if (isArrowTable(data)) {
    const local = localizeTable(data);
    table = target === undefined ? rebaseTable(local, local.schema) : conformTable(local, target);
  } else if (Array.isArray(data)) {
    if (target !== undefined) {
      data.forEach((row, i) => {
        checkRow(row, i);
        checkKeysAgainstSchema(row, target.fields, "", i);
      });
      table = recordsToTable(data, target, false);
    } else if (data.length === 0) {
      throw invalid(
        "A schema is required when the data is empty: pass a schema (e.g. createEmptyTable(name, schema)) " +
          "or at least one record",
      );
    } else {
      table = recordsToTable(data, inferSchema(data, options), true);
    }
  } else {
    throw invalid(`data must be an array of records or an Apache Arrow Table, got ${describeValue(data)}`);
  }
  validateForStorage(table.schema);
  return table;
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Serialize a table in the Arrow IPC *stream* format. A table without rows
 * still yields a stream that carries its schema.
 */
export function toIpc(table: ArrowTable): Buffer {
  const local = localizeTable(table);
  const rebased = rebaseTable(local, local.schema);
  return toBuffer(RecordBatchStreamWriter.writeAll(rebased).toUint8Array(true));
}

/**
 * The Arrow IPC stream of `table` as the writer produced it: a list of
 * pieces (message headers, and views of the table's own column buffers)
 * instead of one joined copy. The native side joins them into memory of
 * its own, off the JavaScript thread (a 50 MB table costs a 50 MB
 * zero-filled allocation and a copy here otherwise). Falls back to one
 * joined buffer if the writer's pieces are not reachable.
 */
export function toIpcChunks(table: ArrowTable): Buffer[] {
  const local = localizeTable(table);
  const rebased = rebaseTable(local, local.schema);
  const writer = RecordBatchStreamWriter.writeAll(rebased);
  // apache-arrow keeps the written pieces in its sink's `_values`.
  const pieces = (writer as unknown as { _sink?: { _values?: unknown } })._sink?._values;
  if (Array.isArray(pieces) && pieces.length > 0 && pieces.every((p) => p instanceof Uint8Array)) {
    return (pieces as Uint8Array[]).filter((p) => p.byteLength > 0).map(toBuffer);
  }
  return [toBuffer(writer.toUint8Array(true))];
}

/** An Arrow IPC stream holding only `schema` (no record batches). */
export function schemaToIpc(schema: Schema): Buffer {
  return toIpc(new ArrowTable(localizeSchema(schema)));
}

/** Read an Arrow IPC stream (or file) into a table: one buffer, or the stream's messages one buffer each (read without joining them). */
export function fromIpc(buf: Uint8Array | Uint8Array[]): ArrowTable {
  try {
    return tableFromIPC(buf);
  } catch (e) {
    throw invalid(`Invalid Arrow IPC data: ${(e as Error).message}`);
  }
}

// ---------------------------------------------------------------------------
// makeArrowTable / makeEmptyTable, as exported by @lancedb/lancedb
// ---------------------------------------------------------------------------

/** Options of makeArrowTable, as in @lancedb/lancedb. */
export class MakeArrowTableOptions {
  /** The schema of the data; when given, the records are converted to it (and it may be empty). */
  schema?: SchemaLike;
  /** Columns to store as vectors (fixed size lists); `vector` (Float32) unless given. Ignored with `schema`. */
  vectorColumns: Record<string, VectorColumnOptions> = { vector: new VectorColumnOptions() };
  /** Accepted for compatibility; makeArrowTable itself does not run embedding functions (createTable and add do). */
  embeddings?: unknown;
  /** Accepted for compatibility; see `embeddings`. */
  embeddingFunction?: unknown;
  /** Infer strings as `Dictionary<Int32, Utf8>`. Ignored with `schema`. */
  dictionaryEncodeStrings = false;

  constructor(values?: Partial<MakeArrowTableOptions>) {
    Object.assign(this, values);
  }
}

/** `table` with `metadata` merged into its schema's metadata. */
export function withSchemaMetadata(table: ArrowTable, metadata: Map<string, string> | undefined): ArrowTable {
  if (metadata === undefined || metadata.size === 0) return table;
  const merged = new Map([...table.schema.metadata, ...metadata]);
  return rebaseTable(table, new Schema(table.schema.fields, merged));
}

/**
 * An Arrow table from records, with the schema @lancedb/lancedb's
 * makeArrowTable gives them: numbers Float64, bigints Int64, `vector`
 * (or `vectorColumns`) Float32 fixed size lists, other arrays lists,
 * objects structs. With `options.schema` the records are converted to that
 * schema. `metadata` is added to the schema's metadata.
 */
export function makeArrowTable(
  data: Array<Record<string, unknown>>,
  options?: Partial<MakeArrowTableOptions>,
  metadata?: Map<string, string>,
): ArrowTable {
  const opt = new MakeArrowTableOptions(options ?? {});
  if (!Array.isArray(data)) {
    throw invalid(`makeArrowTable takes an array of records, got ${describeValue(data)}`);
  }
  const schema = opt.schema === undefined || opt.schema === null ? undefined : localizeSchema(opt.schema);
  if (data.length === 0 && schema === undefined) {
    throw invalid("At least one record or a schema needs to be provided");
  }
  const table =
    schema !== undefined
      ? toArrowTable(data, schema)
      : toArrowTable(data, undefined, {
          vectorColumns: opt.vectorColumns,
          dictionaryEncodeStrings: opt.dictionaryEncodeStrings,
        });
  return withSchemaMetadata(table, metadata);
}

/** An Arrow table with no rows, of `schema` (plus `metadata`). */
export function makeEmptyTable(schema: SchemaLike, metadata?: Map<string, string>): ArrowTable {
  return makeArrowTable([], { schema }, metadata);
}
