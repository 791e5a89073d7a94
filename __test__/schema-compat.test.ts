// SPDX-License-Identifier: Apache-2.0
//
// Proves that lib/arrow.ts infers the same Arrow schema as the reference
// package, @lancedb/lancedb 0.31.0, by creating real lancedb tables from the
// same records and comparing the *stored* schema (what lancedb reports from
// `table.schema()` after the write) with `toArrowTable(records).schema`.

import * as fs from "fs";
import * as os from "os";
import * as path from "path";

import * as lancedb from "@lancedb/lancedb";
import {
  DataType,
  Field,
  FixedSizeList,
  Float32,
  Float64,
  Int32,
  Int64,
  Schema,
  Struct,
  Table,
  TimestampMillisecond,
  DateDay,
  Utf8,
  tableFromArrays,
  vectorFromArray,
} from "apache-arrow";

import { fromIpc, inferSchema, isArrowTable, schemaToIpc, toArrowTable, toIpc } from "../lib/arrow";
import { StowageError } from "../lib/errors";
import * as stowage from "../lib";

type Rec = Record<string, unknown>;

// ---------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------

interface FieldDesc {
  name: string;
  type: string;
  nullable: boolean;
  metadata: [string, string][];
  children: FieldDesc[];
}

function describeField(f: Field): FieldDesc {
  return {
    name: f.name,
    type: String(f.type),
    nullable: f.nullable,
    metadata: [...f.metadata.entries()].sort(),
    children: (f.type.children ?? []).map(describeField),
  };
}

function describeSchema(s: Schema): { fields: FieldDesc[]; metadata: [string, string][] } {
  return { fields: s.fields.map(describeField), metadata: [...s.metadata.entries()].sort() };
}

/** Arrow values -> plain, comparable JSON-ish values. */
function plain(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v === "bigint") return `${v}n`;
  if (typeof v === "number") return Number.isNaN(v) ? "NaN" : v;
  if (typeof v !== "object") return v;
  if (ArrayBuffer.isView(v)) return { bytes: Array.from(v as unknown as ArrayLike<number>) };
  if (Array.isArray(v)) return v.map(plain);
  const o = v as { toArray?: unknown; toJSON?: () => unknown; type?: unknown; length?: unknown };
  if (typeof o.toArray === "function" && o.type !== undefined && typeof o.length === "number") {
    return [...(v as Iterable<unknown>)].map(plain); // an arrow Vector (list value)
  }
  if (typeof o.toJSON === "function") return plain(o.toJSON()); // a StructRow
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
}

function rowsOf(t: Table): unknown[] {
  return t.toArray().map((r) => plain(r));
}

function expectInvalidArgument(fn: () => unknown): StowageError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(StowageError);
  expect((caught as StowageError).code).toBe("INVALID_ARGUMENT");
  return caught as StowageError;
}

let dir: string;
let db: lancedb.Connection;
let stowageDb: stowage.Connection;
let counter = 0;
const nextName = (): string => `t${counter++}`;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "stowage-schema-compat-"));
  db = await lancedb.connect(dir);
  stowageDb = await stowage.connect(path.join(dir, "stowage"));
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Create a lancedb table and return [stored schema, stored rows]. */
async function lanceStore(data: Rec[] | Table, options?: Record<string, unknown>): Promise<[Schema, unknown[]]> {
  const tbl = await db.createTable(nextName(), data, options as never);
  const schema = await tbl.schema();
  const rows = rowsOf(await tbl.query().toArrow());
  return [schema, rows];
}

// ---------------------------------------------------------------------------
// the spread of inputs
// ---------------------------------------------------------------------------

class Point {
  x = 1;
  get ignored(): number {
    return 2;
  }
}

/** Inputs lancedb accepts and stores faithfully: schema and rows must match. */
const compatible: [string, () => Rec[]][] = [
  ["integers", () => [{ a: 1 }, { a: 2 }]],
  ["floats", () => [{ a: 1.5 }, { a: -2.25 }]],
  ["mixed int/float", () => [{ a: 1 }, { a: 2.5 }]],
  ["large number", () => [{ a: 2 ** 60 }]],
  ["NaN and Infinity", () => [{ a: NaN }, { a: Infinity }]],
  ["strings", () => [{ s: "x" }, { s: "héllo ✓" }, { s: "" }]],
  ["booleans", () => [{ b: true }, { b: false }]],
  ["column with some nulls (first non-null)", () => [{ a: 1, b: "x" }, { a: null, b: null }]],
  ["undefined in the first row", () => [{ a: undefined, b: 1 }, { a: 2, b: 1 }]],
  ["key missing in the first row", () => [{ b: 1 }, { a: 2, b: 1 }]],
  ["key missing in a later row", () => [{ a: 1, b: 1 }, { b: 2 }]],
  ["column that is always undefined", () => [{ a: undefined, b: 1 }]],
  ["keys in different order", () => [{ a: 1, b: "x" }, { b: "y", a: 2 }]],
  ["new keys in later rows", () => [{ a: 1 }, { c: true, b: "y", a: 2 }]],
  ["integer-like keys", () => [{ b: 3, 2: 1, 1: 2 }]],
  ["symbol keys are ignored", () => [{ [Symbol("s")]: 1, a: 1 }]],
  ["struct", () => [{ s: { x: 1, y: "a" } }, { s: { x: 2, y: "b" } }]],
  ["struct with missing keys", () => [{ s: { x: 1 } }, { s: { y: "b" } }]],
  ["nested struct", () => [{ s: { t: { u: 1 }, v: true } }]],
  ["struct child order is first-seen", () => [{ s: { t: {}, u: 1 } }, { s: { t: { v: 1 } } }]],
  ["empty object is ignored", () => [{ s: {}, a: 1 }]],
  ["empty struct then full", () => [{ s: {} }, { s: { x: 1 } }]],
  ["dotted name inside a struct", () => [{ s: { "a.b": 1 } }]],
  ["class instance as struct", () => [{ p: new Point() }]],
  ["String object as struct", () => [{ s: new String("x") as unknown }]],
  ["inherited properties are ignored", () => [Object.assign(Object.create({ inh: 1 }), { own: 2 }) as Rec]],
  ["vector", () => [{ vector: [1, 2, 3] }, { vector: [4, 5, 6] }]],
  ["vector with a null row later", () => [{ vector: [1, 2] }, { vector: null }]],
  ["vector with a null first element", () => [{ vector: [null, 1] }]],
  ["Vector (capitalised)", () => [{ Vector: [1, 2] }]],
  ["embedding", () => [{ embedding: [0.5, 1.5] }]],
  ["name containing vector", () => [{ MyVector_x: [1, 2] }]],
  ["name containing embedding", () => [{ text_embedding: [1, 2, 3, 4] }]],
  ["vector inside a struct", () => [{ s: { vector: [1, 2] } }]],
  ["embedding inside a struct", () => [{ meta: { embedding: [1, 2] } }]],
  ["tags (list of numbers)", () => [{ tags: [1, 2, 3] }, { tags: [4] }]],
  ["tags (list of strings)", () => [{ tags: ["a", "b"] }, { tags: ["c"] }]],
  ["list of strings with a null element", () => [{ l: ["a", null] }]],
  ["list of booleans", () => [{ l: [true, false] }]],
  ["list of bigints", () => [{ l: [1n, 2n] }]],
  ["list of Buffers", () => [{ l: [Buffer.from("a"), Buffer.from("bc")] }]],
  ["list of Float32Arrays", () => [{ l: [new Float32Array([1, 2])] }]],
  ["list of lists", () => [{ l: [[1, 2], [3]] }]],
  ["empty array in a later row", () => [{ tags: [1] }, { tags: [] }]],
  ["bigint", () => [{ a: 1n }, { a: -(2n ** 62n) }]],
  ["bigint then number", () => [{ a: 1n }, { a: 2 }]],
  ["string then number", () => [{ a: "x" }, { a: 1 }]],
  ["Buffer", () => [{ b: Buffer.from("ab") }]],
  ["Buffer named vector", () => [{ vector: Buffer.from([1, 2]) }]],
  ["Uint8Array", () => [{ b: new Uint8Array([1, 2]) }]],
  ["Uint8Array named embedding", () => [{ embedding: new Uint8Array([1, 2]) }]],
  ["Float32Array", () => [{ v: new Float32Array([1, 2]) }]],
  ["Float32Array named vector", () => [{ vector: new Float32Array([1, 2]) }]],
  ["Float64Array named vector", () => [{ vector: new Float64Array([1, 2]) }]],
  ["Float64Array", () => [{ v: new Float64Array([1.5, 2]) }]],
  ["Int8Array", () => [{ v: new Int8Array([-1, 2]) }]],
  ["Int16Array", () => [{ v: new Int16Array([1]) }]],
  ["Int32Array", () => [{ v: new Int32Array([1, 2, 3]) }]],
  ["Uint16Array", () => [{ v: new Uint16Array([1]) }]],
  ["Uint32Array", () => [{ v: new Uint32Array([1, 4000000000]) }]],
  [
    "everything together",
    () => [
      { id: 1n, name: "a", score: 0.5, ok: true, vector: [1, 2], tags: ["x"], meta: { n: 1, k: "q" } },
      { id: 2n, name: null, score: 1, ok: null, vector: [3, 4], tags: [], meta: { n: null } },
      { id: 3n, vector: new Float32Array([5, 6]), meta: { k: "z" } },
    ],
  ],
];

/** Inputs for which lancedb's createTable throws: we must throw too. */
const rejected: [string, () => Rec[]][] = [
  ["null in the first row", () => [{ a: null }, { a: 1 }]],
  ["column that is all null", () => [{ a: null }, { a: null }]],
  ["struct that is null in the first row", () => [{ s: null }, { s: { x: 1 } }]],
  ["null inside a struct in the first row", () => [{ s: { x: null } }]],
  ["empty array in the first row", () => [{ tags: [] }, { tags: [1] }]],
  ["empty vector", () => [{ vector: [] }]],
  ["list whose first element is null", () => [{ l: [null, 1] }]],
  ["list of objects", () => [{ l: [{ a: 1 }] }]],
  ["embedding with a null first element", () => [{ embedding: [null, 1] }]],
  ["embedding of objects", () => [{ embedding: [{ a: 1 }] }]],
  ["Date", () => [{ d: new Date(0) }]],
  ["Map", () => [{ m: new Map([["a", 1]]) }]],
  ["Set", () => [{ m: new Set([1]) }]],
  ["RegExp", () => [{ r: /x/ }]],
  ["function", () => [{ f: () => 1 }]],
  ["DataView", () => [{ d: new DataView(new ArrayBuffer(2)) }]],
  ["BigInt64Array", () => [{ v: new BigInt64Array([1n]) }]],
  ["Uint8ClampedArray", () => [{ v: new Uint8ClampedArray([1]) }]],
  ["number then bigint", () => [{ a: 1 }, { a: 2n }]],
  ["number then nested object", () => [{ a: 5 }, { a: { x: 1 } }]],
  ["top-level name with a dot", () => [{ "a.b": 1 }]],
  ["empty Float32Array", () => [{ v: new Float32Array(0) }]],
  ["empty Float32Array inside a struct", () => [{ s: { v: new Float32Array(0) } }]],
  ["list of empty Float32Arrays", () => [{ l: [new Float32Array(0)] }]],
  ["an apache-arrow Vector as a value", () => [{ v: vectorFromArray([1, 2]) as unknown }]],
];

/**
 * Inputs lancedb accepts but stores wrong values for (NaN, null, padding or
 * truncation). We infer the same schema but refuse the data.
 */
const lossy: [string, string, () => Rec[]][] = [
  ["vector shorter than the first", "pads with null", () => [{ vector: [1, 2, 3] }, { vector: [4, 5] }]],
  ["vector longer than the first", "truncates", () => [{ vector: [1, 2] }, { vector: [1, 2, 3] }]],
  ["vector of strings", "stores nulls", () => [{ vector: ["a", "b"] }]],
  ["embedding of strings", "stores nulls", () => [{ embedding: ["a", "b"] }]],
  ["vector of vectors (multivector)", "stores NaN", () => [{ vector: [[1, 2], [3, 4]] }]],
  ["embedding of vectors (multivector)", "stores NaN", () => [{ embedding: [[1, 2], [3, 4]] }]],
  ["vector of objects", "stores NaN", () => [{ vector: [{ a: 1 }] }]],
  ["number then string", "stores NaN", () => [{ a: 1 }, { a: "x" }]],
  ["boolean then number", "stores true", () => [{ a: true }, { a: 1 }]],
  ["list of numbers then list of objects", "stores NaN", () => [{ l: [1] }, { l: [{ a: 1 }] }]],
  ["embedding of nested arrays", "stores NaN", () => [{ embedding_list: [[1, 2]] }]],
  ["struct then number", "stores {x: null}", () => [{ s: { x: 1 } }, { s: 5 }]],
];

// ---------------------------------------------------------------------------
// tests
// ---------------------------------------------------------------------------

describe("inferred schema matches @lancedb/lancedb 0.31.0", () => {
  test.each(compatible)("%s", async (_name, make) => {
    const [storedSchema, storedRows] = await lanceStore(make());
    const ours = toArrowTable(make());

    expect(describeSchema(ours.schema)).toEqual(describeSchema(storedSchema));
    expect(describeSchema(inferSchema(make()))).toEqual(describeSchema(storedSchema));
    expect(ours.numRows).toBe(make().length);
    expect(rowsOf(ours)).toEqual(storedRows);

    // The table we build is valid for lance (arrow-rs) and stores unchanged.
    const [roundSchema, roundRows] = await lanceStore(ours);
    expect(describeSchema(roundSchema)).toEqual(describeSchema(ours.schema));
    expect(roundRows).toEqual(rowsOf(ours));

    // And a Stowage table made from the same records stores the same schema and rows.
    const st = await stowageDb.createTable(nextName(), make());
    expect(describeSchema(await st.schema())).toEqual(describeSchema(storedSchema));
    expect(rowsOf(await st.toArrow())).toEqual(storedRows);
  });
});

describe("inputs lancedb rejects are rejected", () => {
  test.each(rejected)("%s", async (_name, make) => {
    await expect(lanceStore(make())).rejects.toThrow();
    expectInvalidArgument(() => toArrowTable(make()));
  });

  test("empty data without a schema", async () => {
    await expect(db.createTable(nextName(), [])).rejects.toThrow(/schema/);
    const err = expectInvalidArgument(() => toArrowTable([]));
    expect(err.name).toBe("StowageError");
    expect(err).toBeInstanceOf(Error);
    expect(err.message).toMatch(/schema is required/i);
  });
});

describe("inputs lancedb stores lossily: same schema, but we refuse the values", () => {
  test.each(lossy)("%s (lancedb %s)", async (_name, _what, make) => {
    const [storedSchema, storedRows] = await lanceStore(make());
    expect(describeSchema(inferSchema(make()))).toEqual(describeSchema(storedSchema));
    expect(storedRows).toHaveLength(make().length);
    expect(storedRows).not.toEqual(make().map(plain)); // what lancedb stored is not what was given
    expectInvalidArgument(() => toArrowTable(make()));
  });
});

describe("documented differences from lancedb", () => {
  test("an empty key: same schema (lancedb cannot query such a table afterwards)", async () => {
    const tbl = await db.createTable(nextName(), [{ "": 1 }]);
    const stored = await tbl.schema();
    expect(describeSchema(toArrowTable([{ "": 1 }]).schema)).toEqual(describeSchema(stored));
    await expect(tbl.query().toArrow()).rejects.toThrow();
  });

  test("a null struct value is stored as null (lancedb stores a struct of nulls)", async () => {
    const make = (): Rec[] => [{ s: { x: 1 } }, { s: null }, {}];
    const [storedSchema, storedRows] = await lanceStore(make());
    const ours = toArrowTable(make());
    expect(describeSchema(ours.schema)).toEqual(describeSchema(storedSchema));
    expect(storedRows).toEqual([{ s: { x: 1 } }, { s: { x: null } }, { s: { x: null } }]);
    expect(rowsOf(ours)).toEqual([{ s: { x: 1 } }, { s: null }, { s: null }]);
    // lance keeps the struct-level nulls we write
    const [, roundRows] = await lanceStore(ours);
    expect(roundRows).toEqual(rowsOf(ours));
  });

  test("rows must be objects (lancedb reads arrays/numbers as records)", async () => {
    const [storedSchema] = await lanceStore([[1, 2] as unknown as Rec]);
    expect(storedSchema.fields.map((f) => f.name)).toEqual(["0", "1"]);
    expectInvalidArgument(() => toArrowTable([[1, 2] as unknown as Rec]));
    expectInvalidArgument(() => toArrowTable([5 as unknown as Rec, { a: 1 }]));
    expectInvalidArgument(() => toArrowTable([null as unknown as Rec]));
  });
});

describe("inference options (mirroring MakeArrowTableOptions)", () => {
  test("dictionaryEncodeStrings", async () => {
    const make = (): Rec[] => [{ s: "a", l: ["x"] }, { s: "a", l: ["y", "x"] }];
    const [storedSchema, storedRows] = await lanceStore(make(), { dictionaryEncodeStrings: true });
    const ours = toArrowTable(make(), undefined, { dictionaryEncodeStrings: true });
    expect(String(ours.schema.fields[0].type)).toBe("Dictionary<Int32, Utf8>");
    expect(describeSchema(ours.schema)).toEqual(describeSchema(storedSchema));
    expect(rowsOf(ours)).toEqual(storedRows);
  });

  test("vectorColumns", async () => {
    const make = (): Rec[] => [{ vec: [1, 2], vector: [1, 2, 3] }];
    const options = { vectorColumns: { vec: { type: new Float64() } } };
    const [storedSchema, storedRows] = await lanceStore(make(), options);
    const ours = toArrowTable(make(), undefined, options);
    expect(String(ours.schema.fields[0].type)).toBe("FixedSizeList[2]<Float64>");
    expect(describeSchema(ours.schema)).toEqual(describeSchema(storedSchema));
    expect(rowsOf(ours)).toEqual(storedRows);
  });
});

describe("records with an explicit schema", () => {
  const makeSchema = (withFieldMetadata: boolean): Schema =>
    new Schema(
      [
        new Field("id", new Int32(), false),
        new Field("name", new Utf8(), true, withFieldMetadata ? new Map([["fm", "1"]]) : new Map()),
        new Field("vec", new FixedSizeList(2, new Field("item", new Float32(), true)), true),
        new Field(
          "s",
          new Struct([new Field("x", new Int64(), true), new Field("y", new Utf8(), true)]),
          true,
        ),
      ],
      new Map([["k", "v"]]),
    );

  test("empty data with a schema equals createEmptyTable", async () => {
    const schema = makeSchema(true);
    const tbl = await db.createEmptyTable(nextName(), schema);
    const stored = await tbl.schema();
    const ours = toArrowTable([], schema);
    expect(ours.numRows).toBe(0);
    expect(describeSchema(ours.schema)).toEqual(describeSchema(stored));
    expect(describeSchema(ours.schema).metadata).toEqual([["k", "v"]]);
    expect(describeSchema(ours.schema).fields[1].metadata).toEqual([["fm", "1"]]);
    // createTable(name, [], { schema }) stores the same
    const [stored2] = await lanceStore([], { schema });
    expect(describeSchema(ours.schema)).toEqual(describeSchema(stored2));
  });

  test("complete records (any key order) store the same schema and rows", async () => {
    const schema = makeSchema(false);
    const make = (): Rec[] => [
      { id: 1, name: "a", vec: [1, 2], s: { x: 1n, y: "q" } },
      { s: { y: "r", x: 2 }, vec: new Float32Array([3, 4]), name: null, id: 2 },
    ];
    const [storedSchema, storedRows] = await lanceStore(make(), { schema });
    const ours = toArrowTable(make(), schema);
    expect(describeSchema(ours.schema)).toEqual(describeSchema(storedSchema));
    expect(rowsOf(ours)).toEqual(storedRows);
  });

  test("field metadata is kept (lancedb drops it when records come with a schema)", async () => {
    const schema = makeSchema(true);
    const make = (): Rec[] => [{ id: 1, name: "a", vec: [1, 2], s: { x: 1n, y: "q" } }];
    const [storedSchema] = await lanceStore(make(), { schema });
    expect(describeSchema(storedSchema).fields[1].metadata).toEqual([]);
    expect(describeSchema(toArrowTable(make(), schema).schema).fields[1].metadata).toEqual([["fm", "1"]]);
  });

  test("missing nullable fields become null (lancedb stores only the present columns)", async () => {
    const schema = makeSchema(false);
    const make = (): Rec[] => [{ id: 1 }, { id: 2, name: "b", s: { x: 3 } }];
    const [storedSchema] = await lanceStore(make(), { schema });
    expect(storedSchema.fields.map((f) => f.name)).toEqual(["id", "name", "s"]);
    const ours = toArrowTable(make(), schema);
    expect(describeSchema(ours.schema)).toEqual(describeSchema(schema));
    expect(rowsOf(ours)).toEqual([
      { id: 1, name: null, vec: null, s: null },
      { id: 2, name: "b", vec: null, s: { x: "3n", y: null } },
    ]);
  });

  test("extra fields are an error, top-level and nested", async () => {
    const schema = makeSchema(false);
    await expect(lanceStore([{ id: 1, zzz: 1 }], { schema })).rejects.toThrow(/not in schema/);
    await expect(lanceStore([{ id: 1, s: { x: 1, zz: 2 } }], { schema })).rejects.toThrow(/not in schema/);
    expect(expectInvalidArgument(() => toArrowTable([{ id: 1, zzz: 1 }], schema)).message).toMatch(/zzz/);
    expect(expectInvalidArgument(() => toArrowTable([{ id: 1, s: { x: 1, zz: 2 } }], schema)).message).toMatch(
      /s\.zz/,
    );
    // undefined values do not count as present
    expect(toArrowTable([{ id: 1, zzz: undefined }], schema).numRows).toBe(1);
  });

  test("null in a non-nullable field is an error", async () => {
    const schema = makeSchema(false);
    await expect(lanceStore([{ id: null, name: "x" }], { schema })).rejects.toThrow(/non-nullable/);
    expectInvalidArgument(() => toArrowTable([{ id: null, name: "x" }], schema));
    // lancedb silently drops a non-nullable column that no record has; we refuse
    const [storedSchema] = await lanceStore([{ name: "x" }], { schema });
    expect(storedSchema.fields.map((f) => f.name)).toEqual(["name"]);
    expectInvalidArgument(() => toArrowTable([{ name: "x" }], schema));
  });

  test("values of the wrong type or vector length are an error", () => {
    const schema = makeSchema(false);
    expectInvalidArgument(() => toArrowTable([{ id: "abc" }], schema));
    expectInvalidArgument(() => toArrowTable([{ id: 1.5 }], schema));
    expectInvalidArgument(() => toArrowTable([{ id: 2 ** 40 }], schema));
    expectInvalidArgument(() => toArrowTable([{ id: 1, vec: [1, 2, 3] }], schema));
    expectInvalidArgument(() => toArrowTable([{ id: 1, s: 5 }], schema));
    expectInvalidArgument(() => toArrowTable([{ id: 1, s: { x: 1.5 } }], schema));
  });

  test("dates into timestamp and date columns", async () => {
    const schema = new Schema([
      new Field("d", new TimestampMillisecond(), true),
      new Field("d2", new DateDay(), true),
    ]);
    const make = (): Rec[] => [{ d: new Date(1000), d2: new Date(86400000 * 3) }, { d: null }];
    const [storedSchema, storedRows] = await lanceStore(make(), { schema });
    const ours = toArrowTable(make(), schema);
    expect(describeSchema(ours.schema)).toEqual(describeSchema(storedSchema));
    expect(rowsOf(ours)).toEqual(storedRows);
    expectInvalidArgument(() => toArrowTable([{ d: "yesterday" }], schema));
  });

  test("non-nullable struct children: nulls allowed only under a null struct", async () => {
    const makeNested = (itemNullable: boolean): Schema =>
      new Schema([
        new Field(
          "s",
          new Struct([
            new Field("x", new Float64(), false),
            new Field("name", new Utf8(), false),
            new Field("v", new FixedSizeList(2, new Field("item", new Float32(), itemNullable)), false),
            new Field("t", new Struct([new Field("b", new Int64(), false)]), false),
          ]),
          true,
        ),
      ]);
    const schema = makeNested(false);
    const make = (): Rec[] => [{ s: { x: 1, name: "a", v: [1, 2], t: { b: 3n } } }, { s: null }, {}];
    const ours = toArrowTable(make(), schema);
    expect(rowsOf(ours)).toEqual([{ s: { x: 1, name: "a", v: [1, 2], t: { b: "3n" } } }, { s: null }, { s: null }]);
    // lance refuses nulls in a non-nullable child even under a null parent
    const [storedSchema, storedRows] = await lanceStore(ours);
    // (lance itself stores FixedSizeList items as nullable)
    expect(describeSchema(storedSchema)).toEqual(describeSchema(makeNested(true)));
    expect(storedRows).toEqual(rowsOf(ours));
    expect(rowsOf(fromIpc(toIpc(ours)))).toEqual(rowsOf(ours));
    expectInvalidArgument(() => toArrowTable([{ s: { name: "a", v: [1, 2], t: { b: 1n } } }], schema));
    expectInvalidArgument(() => toArrowTable([{ s: { x: 1, name: "a", v: [1, null], t: { b: 1n } } }], schema));
    expectInvalidArgument(() => toArrowTable([{ s: { x: 1, name: "a", v: [1, 2], t: {} } }], schema));
  });

});

describe("Arrow tables", () => {
  test("an Arrow table is passed through and stores the same schema", async () => {
    const t = tableFromArrays({ a: Int32Array.from([1, 2]), b: ["x", "y"] });
    expect(isArrowTable(t)).toBe(true);
    const ours = toArrowTable(t);
    expect(ours).toBe(t);
    const [storedSchema, storedRows] = await lanceStore(t);
    expect(describeSchema(ours.schema)).toEqual(describeSchema(storedSchema));
    expect(rowsOf(ours)).toEqual(storedRows);
  });

  test("an empty Arrow table keeps its schema", async () => {
    const schema = new Schema([new Field("a", new Int32(), false)], new Map([["k", "v"]]));
    const ours = toArrowTable(new Table(schema));
    expect(ours.numRows).toBe(0);
    const [storedSchema] = await lanceStore(new Table(schema));
    expect(describeSchema(ours.schema)).toEqual(describeSchema(storedSchema));
  });

  test("a table from another copy of apache-arrow is recognised and re-encoded", async () => {
    let foreign: typeof import("apache-arrow") | undefined;
    jest.isolateModules(() => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      foreign = require("apache-arrow") as typeof import("apache-arrow");
    });
    if (foreign === undefined) throw new Error("could not load a second apache-arrow");
    expect(foreign.Table).not.toBe(Table);

    const fSchema = new foreign.Schema(
      [
        new foreign.Field("id", new foreign.Int64(), false),
        new foreign.Field("vector", new foreign.FixedSizeList(2, new foreign.Field("item", new foreign.Float32(), true)), true),
        new foreign.Field("tag", new foreign.Dictionary(new foreign.Utf8(), new foreign.Int32()), true),
        new foreign.Field(
          "s",
          new foreign.Struct([new foreign.Field("x", new foreign.Utf8(), true)]),
          true,
        ),
      ],
      new Map([["k", "v"]]),
    );
    const fTable = new foreign.Table(fSchema, {
      id: foreign.vectorFromArray([1n, 2n], new foreign.Int64()),
      // (apache-arrow's own builder mis-sizes a FixedSizeList with a null row, so no null here)
      vector: foreign.vectorFromArray([[1, 2], [3, 4]], fSchema.fields[1].type),
      tag: foreign.vectorFromArray(["a", null], fSchema.fields[2].type),
      s: foreign.vectorFromArray([{ x: "q" }, null], fSchema.fields[3].type),
    });
    expect(fTable).not.toBeInstanceOf(Table);
    expect(isArrowTable(fTable)).toBe(true);

    const ours = toArrowTable(fTable as unknown as Table);
    expect(ours).toBeInstanceOf(Table);
    expect(ours.schema.fields[0].type).toBeInstanceOf(DataType);
    expect(describeSchema(ours.schema)).toEqual(describeSchema(fTable.schema as unknown as Schema));
    expect(rowsOf(ours)).toEqual([
      { id: "1n", vector: [1, 2], tag: "a", s: { x: "q" } },
      { id: "2n", vector: [3, 4], tag: null, s: null },
    ]);
    const back = fromIpc(toIpc(ours));
    expect(rowsOf(back)).toEqual(rowsOf(ours));
    const [storedSchema, storedRows] = await lanceStore(ours);
    expect(describeSchema(storedSchema)).toEqual(describeSchema(ours.schema));
    expect(storedRows).toEqual(rowsOf(ours));
  });

  test("with a schema, columns are reordered and missing nullable ones filled", () => {
    const t = tableFromArrays({ b: ["x", "y"], a: Float64Array.from([1, 2]) });
    const schema = new Schema([
      new Field("a", new Float64(), true),
      new Field("b", t.schema.fields[0].type, true),
      new Field("c", new Int32(), true),
    ]);
    const ours = toArrowTable(t, schema);
    expect(ours.schema).toBe(schema);
    expect(rowsOf(ours)).toEqual([
      { a: 1, b: "x", c: null },
      { a: 2, b: "y", c: null },
    ]);
    expect(rowsOf(fromIpc(toIpc(ours)))).toEqual(rowsOf(ours));
    expectInvalidArgument(() => toArrowTable(t, new Schema([new Field("a", new Float64(), true)])));
    expectInvalidArgument(() =>
      toArrowTable(t, new Schema([new Field("a", new Int32(), true), new Field("b", new Utf8(), true)])),
    );
    expectInvalidArgument(() =>
      toArrowTable(
        t,
        new Schema([...schema.fields.slice(0, 2), new Field("z", new Int32(), false)]),
      ),
    );
  });

  test("anything else is rejected", () => {
    expectInvalidArgument(() => toArrowTable("nope" as unknown as Rec[]));
    expectInvalidArgument(() => toArrowTable({ schema: 1 } as unknown as Rec[]));
    expect(isArrowTable({ schema: { fields: [] }, batches: [] })).toBe(true);
    expect(isArrowTable([{ a: 1 }])).toBe(false);
    expect(isArrowTable(null)).toBe(false);
  });
});

describe("IPC", () => {
  test("fromIpc(toIpc(t)) gives the same schema and rows", () => {
    const make = (): Rec[] => [
      { id: 1n, name: "a", score: 0.5, ok: true, vector: [1, 2], tags: ["x", null], meta: { n: 1, k: "q" }, b: Buffer.from("hi") },
      { id: 2n, name: null, score: NaN, ok: false, vector: null, tags: [], meta: null, b: null },
      { id: 3n, name: "ü", vector: new Float32Array([5, 6]), tags: null, meta: { k: "z" } },
    ];
    const t = toArrowTable(make());
    const buf = toIpc(t);
    expect(Buffer.isBuffer(buf)).toBe(true);
    // stream format, not file format (which starts with "ARROW1")
    expect(buf.subarray(0, 6).toString("latin1")).not.toBe("ARROW1");
    const back = fromIpc(buf);
    expect(describeSchema(back.schema)).toEqual(describeSchema(t.schema));
    expect(back.numRows).toBe(3);
    expect(rowsOf(back)).toEqual(rowsOf(t));
    expect(rowsOf(back)[1]).toEqual({
      id: "2n",
      name: null,
      score: "NaN",
      ok: false,
      vector: null,
      tags: [],
      meta: null,
      b: null,
    });
  });

  test("zero-row tables and schemaToIpc carry the schema", () => {
    const schema = new Schema(
      [
        new Field("id", new Int32(), false),
        new Field("v", new FixedSizeList(3, new Field("item", new Float32(), true)), true, new Map([["m", "1"]])),
      ],
      new Map([["k", "v"]]),
    );
    for (const buf of [toIpc(toArrowTable([], schema)), schemaToIpc(schema)]) {
      expect(buf.length).toBeGreaterThan(0);
      const back = fromIpc(buf);
      expect(back.numRows).toBe(0);
      expect(describeSchema(back.schema)).toEqual(describeSchema(schema));
    }
  });

  test("garbage is an INVALID_ARGUMENT error", () => {
    expectInvalidArgument(() => fromIpc(Buffer.from("definitely not arrow ipc data at all")));
  });
});
