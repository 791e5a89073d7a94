// Hostile and out-of-range arguments: each is a StowageError with code
// INVALID_ARGUMENT naming the argument and what it accepts, never a panic,
// a wrapped integer, a bare Error or a message about napi or Rust types.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import * as lancedb from "../lib";
import { expectCode, memoryUri } from "./helpers/tmp";

const ROOT = join(__dirname, "..");
const COUNT = /must be a non-negative integer \(0 to 9007199254740991\)/;
const NO_INTERNALS = /napi|rust type|Failed to convert|on Js[A-Z]/;

async function table(): Promise<lancedb.Table> {
  const db = await lancedb.connect(memoryUri());
  return db.createTable("t", [1, 2, 3].map((id) => ({ id, vector: [id, id + 1] })));
}

async function codedError(p: Promise<unknown> | (() => unknown), message: RegExp): Promise<void> {
  const e = await expectCode(p, "INVALID_ARGUMENT", message);
  expect(e).toBeInstanceOf(lancedb.StowageError);
  expect(e.message).not.toMatch(NO_INTERNALS);
}

describe("readConsistencyInterval", () => {
  test("1e300 seconds is a coded error, and nothing is printed to stderr (no panic)", () => {
    const script = `
      const lancedb = require(${JSON.stringify(join(ROOT, "dist", "index.js"))});
      lancedb.connect("memory://rci", { readConsistencyInterval: 1e300 }).then(
        () => console.log("connected"),
        (e) => console.log(JSON.stringify({ code: e.code, message: e.message, stowage: e instanceof lancedb.StowageError })),
      );`;
    const r = spawnSync(process.execPath, ["-e", script], { encoding: "utf8", timeout: 60_000 });
    expect(r.stderr).toBe("");
    const got = JSON.parse(r.stdout.trim());
    expect(got).toMatchObject({ code: "INVALID_ARGUMENT", stowage: true });
    expect(got.message).toMatch(/^readConsistencyInterval must be a number of seconds from 0 to \d+; got 1e\+?300$/);
  });

  test.each([NaN, -1, Infinity, -Infinity])("%p is a coded error naming the range", async (v) => {
    await codedError(lancedb.connect(memoryUri(), { readConsistencyInterval: v }), /^readConsistencyInterval must be a number of seconds from 0 to \d+; got/);
  });

  test("a string is a coded error, not napi's", async () => {
    await codedError(lancedb.connect(memoryUri(), { readConsistencyInterval: "5" as never }), /^readConsistencyInterval must be .*; got the string '5'$/);
  });
});

describe("integer arguments are range-checked, never wrapped", () => {
  test("tableNames({ limit }) above 2^32 is a limit, not a wrapped one", async () => {
    const db = await lancedb.connect(memoryUri());
    for (const n of ["a", "b", "c"]) await db.createTable(n, [{ x: 1 }]);
    expect(await db.tableNames({ limit: 2 ** 32 })).toEqual(["a", "b", "c"]);
    expect(await db.tableNames({ limit: 2 ** 32 + 1 })).toEqual(["a", "b", "c"]);
    expect(await db.tableNames({ limit: 2 })).toEqual(["a", "b"]);
  });

  test.each([1.5, -1, NaN, Infinity, 2 ** 53, 1e300])("tableNames({ limit: %p }) is INVALID_ARGUMENT", async (limit) => {
    const db = await lancedb.connect(memoryUri());
    await codedError(db.tableNames({ limit }), new RegExp(`^limit ${COUNT.source}; got`));
  });

  test.each([
    ["limit", 1.5],
    ["limit", NaN],
    ["offset", -1],
    ["offset", 2 ** 60],
  ] as const)("query().%s(%p) throws INVALID_ARGUMENT where it is called", async (method, v) => {
    const t = await table();
    await codedError(() => t.query()[method](v), new RegExp(`^${method} ${COUNT.source}; got`));
  });

  test("a limit above 2^32 returns every row", async () => {
    const t = await table();
    expect(await t.query().limit(2 ** 32).toArray()).toHaveLength(3);
    expect(await t.search([1, 2]).limit(2 ** 32 + 1).toArray()).toHaveLength(3);
  });

  test.each([1.5, 0, -1, NaN])("checkout(%p) and restore() of it name the version's range", async (v) => {
    const t = await table();
    await codedError(t.checkout(v), /^version must be a positive integer \(1 to 9007199254740991\); got/);
    await codedError(t.restore(v), /^version must be a positive integer \(1 to 9007199254740991\); got/);
  });

  test.each([
    ["nprobes", 0],
    ["nprobes", 1.5],
    ["refineFactor", -2],
  ] as const)("%s(%p) is INVALID_ARGUMENT", async (method, v) => {
    const t = await table();
    await codedError(() => t.search([1, 2])[method](v), new RegExp(`^${method} must be a positive integer`));
  });
});

describe("wrong types and throwing getters", () => {
  test("a getter that throws inside storageOptions is a StowageError naming storageOptions", async () => {
    const storageOptions = {
      get timeout(): string {
        throw new Error("boom from a getter");
      },
    };
    await codedError(lancedb.connect(memoryUri(), { storageOptions } as never), /^storageOptions must be .*reading it threw: Error: boom from a getter$/);
    const db = await lancedb.connect(memoryUri());
    await codedError(db.createTable("x", [{ a: 1 }], { storageOptions } as never), /^storageOptions .*boom from a getter/);
  });

  test("strings where a vector's numbers belong name the element", async () => {
    const t = await table();
    await codedError(t.search(["a", "b"] as never).toArray(), /^vector\[0\] must be a number; got the string 'a'$/);
    await codedError(t.search([1, NaN]).toArray(), /^vector\[1\] must be a finite number; got NaN$/);
    await codedError(t.search({ length: 2 } as never).toArray(), /^vector must be an array of numbers; got an object$/);
  });
});

describe("modes and distance types: one list, in Rust", () => {
  test("distance types are those of @lancedb/lancedb, in any case", async () => {
    const t = await table();
    const distances = async (d: string) => (await t.search([1, 2]).distanceType(d as never).toArray()).map((r) => r._distance);
    expect(await distances("l2")).toEqual([0, 2, 8]);
    expect(await distances("L2")).toEqual([0, 2, 8]);
    expect(await distances("COSINE")).toEqual(await distances("cosine"));
    for (const bad of ["euclidean", "hamming", ""]) {
      await codedError(
        () => t.search([1, 2]).distanceType(bad as never),
        new RegExp(`^distanceType must be one of "l2", "cosine" or "dot"; got '${bad}'$`),
      );
    }
  });

  test("add and createTable modes name the accepted values", async () => {
    const t = await table();
    await codedError(t.add([{ id: 9, vector: [1, 1] }], { mode: "bogus" as never }), /^mode must be one of "append" or "overwrite"; got 'bogus'$/);
    const db = await lancedb.connect(memoryUri());
    await codedError(db.createTable("m", [{ a: 1 }], { mode: "replace" as never }), /^mode must be one of "create" or "overwrite"; got 'replace'$/);
    await codedError(db.createTable("m", [{ a: 1 }], { mode: 3 as never }), /^mode must be one of "create" or "overwrite"; got the number 3$/);
  });

  test("an error quotes at most 200 characters of the value", async () => {
    const t = await table();
    const e = await expectCode(() => t.search([1, 2]).distanceType("x".repeat(5000) as never), "INVALID_ARGUMENT");
    expect(e.message).toContain(`'${"x".repeat(200)}\u2026 (5000 characters)'`);
    expect(e.message).not.toContain("x".repeat(201));
  });
});
