// SPDX-License-Identifier: Apache-2.0
//
// What `add` does with a value that does not match its column, next to what
// @lancedb/lancedb 0.31.0 does with the same rows. Where the reference keeps
// the value or refuses it, so do we; where it converts silently ("123" for a
// number, false for "true", a padded vector, NaN for a hole) we refuse with
// SCHEMA_MISMATCH naming the column and row. README "What add converts".

import * as lancedb from "@lancedb/lancedb";
import {
  Bool,
  Field,
  FixedSizeList,
  Float32,
  Float64,
  Int64,
  List,
  Schema,
  Struct,
  Table as ArrowTable,
  Utf8,
  tableFromArrays,
} from "apache-arrow";

import * as stowage from "../lib";
import { expectCode, tempDir } from "./helpers/tmp";

type Rec = Record<string, unknown>;

const schema = (): Schema =>
  new Schema([
    new Field("name", new Utf8(), true),
    new Field("n_int", new Int64(), true),
    new Field("n_float", new Float64(), true),
    new Field("flag", new Bool(), true),
    new Field("vector", new FixedSizeList(3, new Field("item", new Float32(), true)), true),
    new Field("tags", new List(new Field("item", new Utf8(), true)), true),
  ]);

const base: Rec = { name: "ok", n_int: 1, n_float: 1.5, flag: true, vector: [1, 2, 3], tags: ["a"] };

/** Arrow values -> comparable plain values (bigint as "5n", NaN as "NaN"). */
function plain(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v === "bigint") return `${v}n`;
  if (typeof v === "number") return Number.isNaN(v) ? "NaN" : v;
  if (typeof v !== "object") return v;
  if (ArrayBuffer.isView(v)) return Array.from(v as unknown as ArrayLike<number>, plain);
  if (Array.isArray(v)) return v.map(plain);
  const o = v as { toArray?: unknown; toJSON?: () => unknown; type?: unknown };
  if (typeof o.toArray === "function" && o.type !== undefined) return [...(v as Iterable<unknown>)].map(plain);
  if (typeof o.toJSON === "function") return plain(o.toJSON());
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
}

const rowsOf = (t: ArrowTable): unknown[] => t.toArray().map(plain);

let cleanup: () => void;
let ref: lancedb.Connection;
let ours: stowage.Connection;
let counter = 0;
const nextName = (): string => `t${counter++}`;

beforeAll(async () => {
  const tmp = tempDir("stowage-add-coercion-");
  cleanup = tmp.cleanup;
  ref = await lancedb.connect(`${tmp.dir}/ref`);
  ours = await stowage.connect(`${tmp.dir}/ours`);
});

afterAll(() => cleanup());

/** Adds [base, row] to a fresh table of `schema()` in the reference; the stored second row. */
async function refAdd(data: Rec[] | ArrowTable): Promise<unknown[]> {
  const t = await ref.createEmptyTable(nextName(), schema());
  await t.add(data);
  return rowsOf(await t.query().toArrow());
}

async function oursTable(): Promise<stowage.Table> {
  return ours.createEmptyTable(nextName(), schema());
}

async function oursAdd(data: Rec[] | ArrowTable): Promise<unknown[]> {
  const t = await oursTable();
  await t.add(data);
  return rowsOf(await t.toArrow());
}

// A sparse array, as `[1, , 3]` writes one (lint rules forbid the literal).
function sparse<T>(length: number, items: Record<number, T>): T[] {
  const a = new Array<T>(length);
  for (const [i, x] of Object.entries(items)) a[Number(i)] = x;
  return a;
}

describe("values the reference stores unchanged are stored the same", () => {
  const cases: [string, Rec][] = [
    ["a string", { name: "héllo" }],
    ["null and undefined fields", { name: null, n_int: undefined, flag: null, vector: null, tags: undefined }],
    ["an integer number into Int64 (lossless)", { n_int: 5 }],
    ["an integer number above 2^53 into Int64 (the number's exact value)", { n_int: 2 ** 53 + 2 }],
    ["a bigint into Int64", { n_int: -(2n ** 62n) }],
    ["NaN into Float64", { n_float: NaN }],
    ["a null element inside a vector", { vector: [1, null, 3] }],
    ["a Float32Array vector", { vector: new Float32Array([1, 2, 3]) }],
    ["a Float64Array vector", { vector: new Float64Array([1, 2.5, 3]) }],
    ["a number rounded to float32 in a vector", { vector: [0.1, 2, 3] }],
    ["Infinity in a vector", { vector: [Infinity, 2, 3] }],
    ["a null element inside a list", { tags: ["a", null] }],
  ];
  test.each(cases)("%s", async (_label, patch) => {
    const rows = [base, { ...base, ...patch }];
    const expected = await refAdd(rows);
    expect(await oursAdd(rows)).toEqual(expected);
  });

  test("fields left out are null, as in the reference", async () => {
    const rows = [base, { name: "only" }];
    const expected = await refAdd(rows);
    expect(expected[1]).toEqual({ name: "only", n_int: null, n_float: null, flag: null, vector: null, tags: null });
    expect(await oursAdd(rows)).toEqual(expected);
  });
});

describe("values the reference refuses are refused, naming the column and row", () => {
  const cases: [string, Rec, RegExp][] = [
    ["1.5 into Int64", { n_int: 1.5 }, /column 'n_int' is an Int64 column but got the number 1\.5 at row 1/],
    ["NaN into Int64", { n_int: NaN }, /column 'n_int' is an Int64 column but got the number NaN at row 1/],
    ["a non-numeric string into Int64", { n_int: "abc" }, /column 'n_int' is an Int64 column but got the string "abc" at row 1/],
    ["a bigint into Float64", { n_float: 5n }, /column 'n_float' is a Float64 column but got the bigint 5n at row 1/],
    ["an object into a string column", { name: { a: 1 } }, /column 'name' is a string column but got an object \(Object\) at row 1/],
    ["an object into Int64", { n_int: { a: 1 } }, /column 'n_int' is an Int64 column but got an object/],
    ["an object into Bool", { flag: { a: 1 } }, /column 'flag' is a boolean column but got an object/],
    ["an object into a vector", { vector: { a: 1 } }, /column 'vector' is a FixedSizeList\[3\]<Float32> column and needs 3 values per row, but got an object/],
    ["undefined inside a vector", { vector: [1, undefined, 3] }, /column 'vector' has no value at index 1 at row 1/],
    ["a hole in a vector ([1, , 3])", { vector: sparse(3, { 0: 1, 2: 3 }) }, /column 'vector' has no value at index 1 at row 1 \(a hole in the array or undefined\); write null/],
  ];
  test.each(cases)("%s", async (_label, patch, message) => {
    const rows = [base, { ...base, ...patch }];
    await expect(refAdd(rows)).rejects.toThrow();
    const t = await oursTable();
    await expectCode(t.add(rows), "SCHEMA_MISMATCH", message);
    expect(await t.countRows()).toBe(0);
  });
});

describe("values the reference converts silently are refused with SCHEMA_MISMATCH", () => {
  // [label, the row's fields, what the reference stores for them, our message]
  const cases: [string, Rec, Rec, RegExp][] = [
    ["a number into a string column", { name: 123 }, { name: "123" }, /column 'name' is a string column but got the number 123 at row 1/],
    ["a fraction into a string column", { name: 1.5 }, { name: "1.5" }, /column 'name' is a string column but got the number 1\.5 at row 1/],
    ["a boolean into a string column", { name: true }, { name: "true" }, /column 'name' is a string column but got the boolean true at row 1/],
    ["a bigint into a string column", { name: 10n }, { name: "10" }, /column 'name' is a string column but got the bigint 10n at row 1/],
    ["an array into a string column", { name: ["x"] }, { name: "x" }, /column 'name' is a string column but got an array of length 1 at row 1/],
    ["a Buffer into a string column", { name: Buffer.from("hi") }, { name: "hi" }, /column 'name' is a string column but got a Buffer of length 2 at row 1/],
    ["a numeric string into Int64", { n_int: "5" }, { n_int: "5n" }, /column 'n_int' is an Int64 column but got the string "5" at row 1/],
    ["a boolean into Int64", { n_int: true }, { n_int: "1n" }, /column 'n_int' is an Int64 column but got the boolean true at row 1/],
    ["2^64 into Int64 (the reference wraps to 0)", { n_int: 2 ** 64 }, { n_int: "0n" }, /column 'n_int' is an Int64 column but got the number 18446744073709552000 at row 1/],
    ["a numeric string into Float64", { n_float: "1.5" }, { n_float: 1.5 }, /column 'n_float' is a Float64 column but got the string "1\.5" at row 1/],
    ["a non-numeric string into Float64", { n_float: "abc" }, { n_float: "NaN" }, /column 'n_float' is a Float64 column but got the string "abc" at row 1/],
    ["a boolean into Float64", { n_float: true }, { n_float: 1 }, /column 'n_float' is a Float64 column but got the boolean true at row 1/],
    ["the string \"true\" into Bool (the reference stores false)", { flag: "true" }, { flag: false }, /column 'flag' is a boolean column but got the string "true" at row 1/],
    ["a number into Bool", { flag: 1 }, { flag: true }, /column 'flag' is a boolean column but got the number 1 at row 1/],
    ["a short vector (the reference pads with null)", { vector: [1, 2] }, { vector: [1, 2, null] }, /column 'vector' is a FixedSizeList\[3\]<Float32> column and needs 3 values per row, but got an array of length 2 at row 1/],
    ["a long vector (the reference truncates)", { vector: [1, 2, 3, 4] }, { vector: [1, 2, 3] }, /column 'vector' .* needs 3 values per row, but got an array of length 4 at row 1/],
    ["strings in a vector", { vector: [1, "2", 3] }, { vector: [1, 2, 3] }, /column 'vector\[\]' is a Float32 column but got the string "2" at row 1/],
    ["a boolean in a vector", { vector: [1, true, 3] }, { vector: [1, 1, 3] }, /column 'vector\[\]' is a Float32 column but got the boolean true at row 1/],
    ["a number for a vector", { vector: 5 }, { vector: [null, null, null] }, /column 'vector' .* needs 3 values per row, but got the number 5 at row 1/],
    ["a float32 overflow in a vector (the reference stores Infinity)", { vector: [1e40, 2, 3] }, { vector: [Infinity, 2, 3] }, /column 'vector\[\]' is a Float32 column and the number 1e\+40 at row 1 is outside the Float32 range/],
    ["numbers in a list of strings", { tags: [1, 2] }, { tags: ["1", "2"] }, /column 'tags\[\]' is a string column but got the number 1 at row 1/],
    ["a boolean in a list of strings", { tags: [true] }, { tags: ["true"] }, /column 'tags\[\]' is a string column but got the boolean true at row 1/],
    ["a hole in a list of strings (the reference stores \"\")", { tags: sparse(3, { 0: "a", 2: "b" }) }, { tags: ["a", "", "b"] }, /column 'tags' has no value at index 1 at row 1/],
    ["a string for a list", { tags: "a" }, { tags: ["a"] }, /column 'tags' is a List<Utf8> column but got the string "a" at row 1/],
    ["a nested list in a list of strings", { tags: [["a"]] }, { tags: ["a"] }, /column 'tags\[\]' is a string column but got an array of length 1 at row 1/],
    ["an object in a list of strings", { tags: [{ a: 1 }] }, { tags: ["[object Object]"] }, /column 'tags\[\]' is a string column but got an object/],
  ];
  test.each(cases)("%s", async (_label, patch, refStores, message) => {
    const rows = [base, { ...base, ...patch }];
    const stored = (await refAdd(rows))[1] as Rec;
    expect(Object.fromEntries(Object.keys(patch).map((k) => [k, stored[k]]))).toEqual(refStores);
    const t = await oursTable();
    await expectCode(t.add(rows), "SCHEMA_MISMATCH", message);
    expect(await t.countRows()).toBe(0);
  });

  test("the row index counts from the first record of the add", async () => {
    const t = await oursTable();
    const rows = [base, base, base, { ...base, name: 7 }];
    await expectCode(t.add(rows), "SCHEMA_MISMATCH", /^Schema mismatch: column 'name' is a string column but got the number 7 at row 3$/);
  });

  test("a nested column is named by its path", async () => {
    const nested = new Schema([new Field("s", new Struct([new Field("label", new Utf8(), true)]), true)]);
    const rt = await ref.createEmptyTable(nextName(), nested);
    await rt.add([{ s: { label: 5 } }]);
    expect(rowsOf(await rt.query().toArrow())).toEqual([{ s: { label: "5" } }]);
    const t = await ours.createEmptyTable(nextName(), nested);
    await expectCode(t.add([{ s: { label: 5 } }]), "SCHEMA_MISMATCH", /column 's\.label' is a string column but got the number 5 at row 0/);
  });

  test("an Arrow column of another type is not cast (the reference casts Int64 to text)", async () => {
    const data = (): ArrowTable => tableFromArrays({ name: BigInt64Array.from([5n]) });
    expect((await refAdd(data()))[0]).toMatchObject({ name: "5" });
    const t = await oursTable();
    await expectCode(t.add(data()), "SCHEMA_MISMATCH", /column 'name' has type Int64 in the data but the schema has Utf8/);
    const floats = tableFromArrays({ n_int: Float64Array.from([1.5]) });
    expect((await refAdd(floats))[0]).toMatchObject({ n_int: "1n" }); // the reference truncates
    await expectCode(t.add(floats), "SCHEMA_MISMATCH", /column 'n_int' has type Float64 in the data but the schema has Int64/);
    expect(await t.countRows()).toBe(0);
  });
});

describe("createTable (inferred schema)", () => {
  async function refCreate(rows: Rec[]): Promise<unknown[]> {
    const t = await ref.createTable(nextName(), rows);
    return rowsOf(await t.query().toArrow());
  }

  test("a null element inside a vector is kept, as in the reference", async () => {
    const rows = (): Rec[] => [{ vector: [1, 2, 3] }, { vector: [1, null, 3] }];
    const expected = await refCreate(rows());
    const t = await ours.createTable(nextName(), rows());
    expect(rowsOf(await t.toArrow())).toEqual(expected);
  });

  const holes: [string, () => Rec[], unknown, RegExp][] = [
    ["a hole in a vector (the reference stores NaN)", () => [{ vector: sparse(3, { 0: 1, 2: 3 }) }], [1, "NaN", 3], /column 'vector' has no value at index 1 at row 0/],
    ["a hole in a later vector", () => [{ vector: [1, 2, 3] }, { vector: sparse(3, { 1: 2, 2: 3 }) }], ["NaN", 2, 3], /column 'vector' has no value at index 0 at row 1/],
    ["a hole in an embedding", () => [{ embedding: sparse(2, { 0: 1 }) }], [1, "NaN"], /column 'embedding' has no value at index 1 at row 0/],
    ["a hole in a list of strings (the reference stores \"\")", () => [{ l: sparse(3, { 0: "a", 2: "b" }) }], ["a", "", "b"], /column 'l' has no value at index 1 at row 0/],
    ["a hole in a list of numbers", () => [{ l: sparse(3, { 0: 1, 2: 3 }) }], [1, "NaN", 3], /column 'l' has no value at index 1 at row 0/],
  ];
  test.each(holes)("%s is refused", async (_label, rows, refStores, message) => {
    const stored = (await refCreate(rows())).at(-1) as Rec;
    expect(Object.values(stored)[0]).toEqual(refStores);
    await expectCode(ours.createTable(nextName(), rows()), "INVALID_ARGUMENT", message);
  });

  test("an inferred string column takes a later number as text, like the reference, but add does not", async () => {
    // Kept for schema compatibility with lancedb (see README): the schema is
    // inferred from the same records, so the first value decides the type.
    const rows = (): Rec[] => [{ a: "x" }, { a: 1 }, { a: true }];
    const expected = await refCreate(rows());
    expect(expected).toEqual([{ a: "x" }, { a: "1" }, { a: "true" }]);
    const t = await ours.createTable(nextName(), rows());
    expect(rowsOf(await t.toArrow())).toEqual(expected);
    await expectCode(t.add([{ a: 2 }]), "SCHEMA_MISMATCH", /column 'a' is a string column but got the number 2 at row 0/);
    expect(await t.countRows()).toBe(3);
  });

  test("a float32 overflow in an inferred vector is refused", async () => {
    await expectCode(
      ours.createTable(nextName(), [{ vector: [1e39, 1] }]),
      "INVALID_ARGUMENT",
      /column 'vector\[\]' is a Float32 column and the number 1e\+39 at row 0 is outside the Float32 range/,
    );
  });
});
