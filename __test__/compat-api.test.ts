// SPDX-License-Identifier: Apache-2.0
//
// Issue 11: typical @lancedb/lancedb code runs unchanged against Stowage.
// Each test runs the same code on both packages and compares what a user
// sees: schemas, rows, result fields, errors.

import * as http from "node:http";
import type { AddressInfo } from "node:net";

import * as ref from "@lancedb/lancedb";
import { Field, FixedSizeList, Float32, Float64, Int32, Schema, Utf8 } from "apache-arrow";
import * as ours from "../lib";
import { expectCode, memoryUri } from "./helpers/tmp";

type Pkg = typeof ref | typeof ours;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

function describeSchema(s: { fields: Any[]; metadata: Map<string, string> }): unknown {
  const f = (x: Any): unknown => ({ name: x.name, type: String(x.type), nullable: x.nullable, children: (x.type.children ?? []).map(f) });
  return { fields: s.fields.map(f), metadata: [...s.metadata.entries()].sort() };
}

function plain(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v === "bigint") return `${v}n`;
  if (typeof v === "number") return Math.round(v * 1e5) / 1e5;
  if (typeof v !== "object") return v;
  if (ArrayBuffer.isView(v)) return Array.from(v as unknown as ArrayLike<number>).map(plain);
  if (Array.isArray(v)) return v.map(plain);
  const o = v as Any;
  if (typeof o.toArray === "function" && typeof o.length === "number") return [...(v as Iterable<unknown>)].map(plain);
  if (typeof o.toJSON === "function") return plain(o.toJSON());
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
}

async function both<T>(fn: (pkg: Pkg, db: Any) => Promise<T>): Promise<[T, T]> {
  const r = await fn(ref, await ref.connect("memory://"));
  const o = await fn(ours, await ours.connect(memoryUri()));
  return [r, o];
}

// ---------------------------------------------------------------------------
// makeArrowTable and input types
// ---------------------------------------------------------------------------

const INPUTS: [string, Record<string, unknown>[], Any?][] = [
  ["numbers, strings, booleans", [{ a: 1, b: "x", c: true }, { a: 2.5, b: "y", c: false }], undefined],
  ["vector column", [{ id: 1, vector: [1, 2, 3] }], undefined],
  ["nested struct", [{ id: 1, meta: { k: "v", n: 2 } }], undefined],
  ["list of strings", [{ tags: ["a", "b"] }], undefined],
  ["bigint", [{ big: 10n }], undefined],
  ["typed array", [{ emb: new Float32Array([1, 2]) }], undefined],
  ["embedding-named column", [{ text_embedding: [0.5, 0.25] }], undefined],
  ["custom vector columns", [{ vec: [1, 2], vector: [1, 2, 3] }], { vectorColumns: { vec: new ours.VectorColumnOptions({ type: new Float64() }) } }],
  ["dictionary strings", [{ s: "a" }, { s: "a" }], { dictionaryEncodeStrings: true }],
  ["explicit schema", [{ id: 1, v: [1, 2] }], { schema: new Schema([new Field("id", new Int32(), true), new Field("v", new FixedSizeList(2, new Field("item", new Float32(), true)), true)]) }],
];

describe("makeArrowTable gives the reference's schema", () => {
  test.each(INPUTS)("%s", (_name, data, options) => {
    const refOpts = options?.vectorColumns ? { ...options, vectorColumns: { vec: new ref.VectorColumnOptions({ type: new Float64() }) } } : options;
    const r = ref.makeArrowTable(data, refOpts);
    const o = ours.makeArrowTable(data, options);
    expect(describeSchema(o.schema)).toEqual(describeSchema(r.schema));
    if (_name === "nested struct") {
      // The reference's table of nested records cannot be read back
      // (apache-arrow: "data.getValid is not a function"); ours can.
      expect(() => JSON.stringify(r.toArray())).toThrow(/getValid/);
      expect(plain(o.toArray())).toEqual(plain(data));
    } else {
      expect(plain(o.toArray())).toEqual(plain(r.toArray()));
    }
  });

  test("metadata and makeEmptyTable", () => {
    const md = new Map([["k", "v"]]);
    const r = ref.makeArrowTable([{ a: 1 }], undefined, md);
    const o = ours.makeArrowTable([{ a: 1 }], undefined, md);
    expect(describeSchema(o.schema)).toEqual(describeSchema(r.schema));
    const schema = new Schema([new Field("a", new Utf8(), true)]);
    const re = ref.makeArrowTable([], { schema }, md);
    const oe = ours.makeEmptyTable(schema, md);
    expect([oe.numRows, describeSchema(oe.schema)]).toEqual([re.numRows, describeSchema(re.schema)]);
  });

  test("MakeArrowTableOptions defaults", () => {
    const r = new ref.MakeArrowTableOptions();
    const o = new ours.MakeArrowTableOptions();
    expect(Object.keys(o.vectorColumns)).toEqual(Object.keys(r.vectorColumns));
    expect(String(o.vectorColumns.vector.type)).toEqual(String(r.vectorColumns.vector.type));
    expect(o.dictionaryEncodeStrings).toBe(r.dictionaryEncodeStrings);
  });

  test("a schema given as a plain object with type names", async () => {
    const schema = { fields: [{ name: "id", type: "int64", nullable: true }, { name: "name", type: "Utf8", nullable: true }], metadata: new Map(), names: ["id", "name"] };
    const [r, o] = await both(async (pkg, db) => {
      const t = await db.createEmptyTable("t", schema as Any);
      await t.add([{ id: 1, name: "a" }]);
      return [describeSchema(await t.schema()), plain(await t.query().toArray())];
    });
    expect(o).toEqual(r);
    await expectCode(ours.connect(memoryUri()).then((db) => db.createEmptyTable("t", { fields: [{ name: "x", type: "int65", nullable: true }], metadata: new Map(), names: [] } as Any)), "INVALID_ARGUMENT", /int65/);
  });
});

describe("IntoVector forms", () => {
  test("number[], Float32Array, Float64Array and a Promise give the same neighbours as the reference", async () => {
    const rows = Array.from({ length: 20 }, (_, i) => ({ id: i, vector: [i, i % 5, 1] }));
    const queries: Any[] = [[3, 1, 1], new Float32Array([7, 2, 1]), new Float64Array([12, 0, 1]), Promise.resolve([15, 3, 1])];
    const [r, o] = await both(async (_pkg, db) => {
      const t = await db.createTable("t", rows);
      const out = [];
      for (const q of queries) out.push(plain((await t.search(q).limit(3).toArray()).map((x: Any) => x.id)));
      out.push(plain((await t.search([3, 1, 1]).limit(3).offset(2).toArray()).map((x: Any) => x.id)));
      return out;
    });
    expect(o).toEqual(r);
  });
});

// ---------------------------------------------------------------------------
// Embeddings
// ---------------------------------------------------------------------------

/** A deterministic local embedding: letter counts of a, e, o. */
function letterEmbed(text: string): number[] {
  const c = (ch: string): number => [...text].filter((x) => x === ch).length;
  return [c("a"), c("e"), c("o")];
}

const refEmb = ref.embedding;
class RefLetters extends refEmb.TextEmbeddingFunction<{ scale?: number }> {
  constructor(private readonly opts: { scale?: number } = {}) {
    super();
    this.resolveVariables(opts);
  }
  ndims(): number {
    return 3;
  }
  async generateEmbeddings(texts: string[]): Promise<number[][]> {
    return texts.map((t) => letterEmbed(t).map((x) => x * (this.opts.scale ?? 1)));
  }
}
refEmb.register("letters")(RefLetters as Any);

class OurLetters extends ours.embedding.TextEmbeddingFunction<{ scale?: number }> {
  constructor(private readonly opts: { scale?: number } = {}) {
    super();
    this.resolveVariables(opts);
  }
  ndims(): number {
    return 3;
  }
  async generateEmbeddings(texts: string[]): Promise<number[][]> {
    return texts.map((t) => letterEmbed(t).map((x) => x * (this.opts.scale ?? 1)));
  }
}
ours.embedding.register("letters")(OurLetters as Any);

const TEXTS = ["banana", "apple tree", "orange", "avocado", "pear", "elderberry", "coconut"];

describe("embedding functions", () => {
  test("createTable({ embeddingFunction }): same schema and metadata text, vectors filled on create, add and mergeInsert, search(text)", async () => {
    const [r, o] = await both(async (pkg, db) => {
      const func = (pkg.embedding.getRegistry() as Any).get("letters")!.create({ scale: 2 });
      const t = await db.createTable("fruits", TEXTS.slice(0, 4).map((text, id) => ({ id, text })), {
        embeddingFunction: { sourceColumn: "text", vectorColumn: "vec", function: func },
      });
      await t.add(TEXTS.slice(4).map((text, i) => ({ id: 4 + i, text })));
      await t
        .mergeInsert("id")
        .whenMatchedUpdateAll()
        .whenNotMatchedInsertAll()
        .execute([{ id: 0, text: "ooo" }, { id: 9, text: "eee" }]);
      const schema = await t.schema();
      const rows = await t.query().select(["id", "text", "vec"]).toArray();
      const hits = await t.search("aaa o").limit(3).select(["id", "text"]).toArray();
      return { schema: describeSchema(schema), rows: plain(rows.sort((a: Any, b: Any) => a.id - b.id)), hits: plain(hits.map((h: Any) => h.text)) };
    });
    expect(o.schema).toEqual(r.schema);
    expect(o.rows).toEqual(r.rows);
    expect(o.hits).toEqual(r.hits);
    // The stored configuration, byte for byte.
    expect(JSON.parse((o.schema as Any).metadata[0][1])).toEqual([{ sourceColumn: "text", vectorColumn: "vec", name: "letters", model: { scale: 2 } }]);
  });

  test("LanceSchema + createEmptyTable: a table opened again knows its function", async () => {
    const [r, o] = await both(async (pkg, db) => {
      const func = (pkg.embedding.getRegistry() as Any).get("letters")!.create();
      const schema = pkg.embedding.LanceSchema({ id: new Int32(), text: func.sourceField(), vector: func.vectorField() });
      await db.createEmptyTable("docs", schema);
      const t = await db.openTable("docs");
      await t.add([{ id: 1, text: "aaa" }, { id: 2, text: "ooo" }, { id: 3, text: "eee" }]);
      const s = await t.schema();
      return { schema: describeSchema(s), top: plain((await t.search("oo").limit(1).toArray())[0].text), vec: plain((await t.query().where("id = 1").toArray())[0].vector) };
    });
    expect(o).toEqual(r);
  });

  test("search(text) without an embedding function fails clearly", async () => {
    const db = await ours.connect(memoryUri());
    const t = await db.createTable("t", [{ id: 1, vector: [1, 2] }]);
    // "vector" needs an embedding function; "auto" (the default) is then a
    // full-text search, which needs a full-text index (as in the reference).
    await expectCode(t.search("hello", "vector").toArray(), "NOT_SUPPORTED", /no embedding function/);
    await expectCode(t.search("hello").toArray(), "INVALID_ARGUMENT", /full-text/);
  });

  test("a function that is not registered is named in the error", async () => {
    const db = await ours.connect(memoryUri());
    const schema = new Schema([new Field("text", new Utf8(), true)], new Map([["embedding_functions", JSON.stringify([{ sourceColumn: "text", vectorColumn: "vector", name: "nope", model: {} }])]]));
    const t = await db.createEmptyTable("t", schema);
    await expectCode(t.add([{ text: "x" }]), "INVALID_ARGUMENT", /"nope".*not registered/);
  });

  test("the transformers provider names its missing package", async () => {
    // The package is an optional peer: an install may or may not have it, so
    // it is made missing here whatever this machine has.
    jest.doMock(
      "@huggingface/transformers",
      () => {
        throw Object.assign(new Error("Cannot find module '@huggingface/transformers'"), { code: "MODULE_NOT_FOUND" });
      },
      { virtual: true },
    );
    try {
      await import("../lib/embedding/transformers");
      const create = ours.embedding.getRegistry().get<Any>("huggingface")!.create();
      await expectCode(create, "NOT_SUPPORTED", /@huggingface\/transformers.*npm install/);
    } finally {
      jest.dontMock("@huggingface/transformers");
    }
  });

  test("the OpenAI provider against an OpenAI-compatible server on 127.0.0.1, same results as the reference", async () => {
    const requests: Any[] = [];
    const server = http.createServer((req, res) => {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        const parsed = JSON.parse(body);
        requests.push({ url: req.url, auth: req.headers.authorization, model: parsed.model });
        const inputs: string[] = Array.isArray(parsed.input) ? parsed.input : [parsed.input];
        const data = inputs.map((text, index) => ({ object: "embedding", index, embedding: [...letterEmbed(text), text.length] }));
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify({ object: "list", data, model: parsed.model, usage: { prompt_tokens: 1, total_tokens: 1 } }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;
    const saved = { base: process.env.OPENAI_BASE_URL, key: process.env.OPENAI_API_KEY };
    process.env.OPENAI_BASE_URL = `http://127.0.0.1:${port}/v1`;
    process.env.OPENAI_API_KEY = "sk-test-local";
    try {
      await import("../lib/embedding/openai");
      // The reference registers its provider on import of its subpath too.
      await import("@lancedb/lancedb/embedding/openai" as Any);
      const [r, o] = await both(async (pkg, db) => {
        const func = (pkg.embedding.getRegistry() as Any).get("openai")!.create({ model: "text-embedding-3-small" });
        const t = await db.createTable("t", TEXTS.map((text, id) => ({ id, text })), {
          embeddingFunction: { sourceColumn: "text", function: func },
        });
        const s = await t.schema();
        const hit = await t.search("coconut").limit(1).toArray();
        return { schema: describeSchema(s), hit: plain(hit[0].text), vec: plain((await t.query().where("id = 0").toArray())[0].vector) };
      });
      expect(o).toEqual(r);
      expect(o.vec).toEqual([3, 0, 0, 6]);
      expect(requests.length).toBeGreaterThanOrEqual(4);
      expect(requests.every((q) => q.url === "/v1/embeddings" && q.auth === "Bearer sk-test-local" && q.model === "text-embedding-3-small")).toBe(true);
      // The key is never stored in the schema metadata.
      expect(JSON.stringify(o.schema)).not.toContain("sk-test-local");
    } finally {
      process.env.OPENAI_BASE_URL = saved.base;
      process.env.OPENAI_API_KEY = saved.key;
      if (saved.base === undefined) delete process.env.OPENAI_BASE_URL;
      if (saved.key === undefined) delete process.env.OPENAI_API_KEY;
      server.close();
    }
  });
});

// ---------------------------------------------------------------------------
// Queries
// ---------------------------------------------------------------------------

const ROWS = Array.from({ length: 30 }, (_, i) => ({ id: i, name: `n${i}`, vector: [i, 30 - i] }));

describe("queries", () => {
  test("takeOffsets and takeRowIds, with select and withRowId", async () => {
    const [r, o] = await both(async (_pkg, db) => {
      const t = await db.createTable("t", ROWS);
      await t.delete("id = 2");
      return [
        plain(await t.takeOffsets([5, 1, 3]).toArray()),
        plain(await t.takeOffsets([0, 28]).select(["name"]).toArray()),
        plain(await t.takeRowIds([3, 7n]).withRowId().toArray()),
        plain(await t.takeRowIds([4]).select(["id"]).toArray()),
      ];
    });
    expect(o).toEqual(r);
  });

  test("select({ alias: expr }) on vector searches and take queries, with offset and withRowId", async () => {
    const [r, o] = await both(async (_pkg, db) => {
      const t = await db.createTable("t", ROWS);
      return [
        plain(await t.search([3.2, 26.9]).select({ id2: "id * 2", nm: "name" }).limit(4).toArray()),
        plain(await t.search([3.2, 26.9]).select({ id2: "id * 2" }).withRowId().limit(2).offset(1).toArray()),
        plain(await t.takeRowIds([5, 1, 3]).select({ x: "id + 100" }).toArray()),
        plain(await t.takeOffsets([2, 0]).select({ x: "name" }).withRowId().toArray()),
        plain(await t.query().orderBy({ columnName: "id", ascending: false }).select({ neg: "0 - id" }).limit(3).toArray()),
        describeSchema(await t.search([1, 2]).select({ id2: "id * 2" }).outputSchema()),
      ];
    });
    expect(o).toEqual(r);
  });

  test("multivector search: a list-of-vectors column, a MultiVector query or addQueryVector, filters", async () => {
    const { Int32: I32, List: L, Field: F, FixedSizeList: FSL, Float32: F32, Schema: S } = await import("apache-arrow");
    const schema = new S([
      new F("id", new I32(), true),
      new F("mv", new L(new F("item", new FSL(2, new F("item", new F32(), true)), true)), true),
    ]);
    const data = [
      { id: 1, mv: [[1, 0], [0, 1]] },
      { id: 2, mv: [[1, 1]] },
      { id: 3, mv: [[-1, 0], [0.5, 0.5], [2, 1]] },
      { id: 4, mv: [[0.2, 0.9], [0.8, -0.1]] },
    ];
    const [r, o] = await both(async (_pkg, db) => {
      const t = await db.createTable("t", data, { schema });
      const run = async (q: Any): Promise<unknown> => plain((await q.toArray()).map((x: Any) => [x.id, x._distance]));
      return [
        await run(t.search([[1, 0]]).limit(5)),
        await run(t.search([[1, 0], [0, 1]]).limit(5)),
        await run(t.search([[0.3, 0.7], [-1, 0.2]]).limit(3)),
        await run(t.search([1, 0]).addQueryVector([0, 1]).limit(5)),
        await run(t.search([[1, 0]]).where("id > 1").limit(2)),
        await run(t.search([[1, 0]]).limit(2).offset(1)),
        plain(await t.search([[0.3, 0.7]]).select(["id"]).limit(1).toArray()),
        await run(t.search([[1, 0], [0, 1]]).limit(3).orderBy({ columnName: "id", ascending: false })),
      ];
    });
    expect(o).toEqual(r);
  });

  test("maxBatchLength, async iteration and outputSchema", async () => {
    const [r, o] = await both(async (_pkg, db) => {
      const t = await db.createTable("t", ROWS);
      const sizes: number[] = [];
      for await (const b of t.query().select(["id"]) as Any) sizes.push(b.numRows);
      const arrow = await t.query().toArrow({ maxBatchLength: 7 });
      const maxRows = Math.max(...arrow.batches.map((b: Any) => b.numRows));
      const schema = await t.query().select({ id2: "id * 2", name: "name" }).outputSchema();
      const vschema = await t.search([1, 2]).select(["name"]).outputSchema();
      return { total: sizes.reduce((a, b) => a + b, 0), rows: arrow.numRows, maxRows, schema: describeSchema(schema), vschema: describeSchema(vschema) };
    });
    expect(o.total).toBe(r.total);
    expect(o.rows).toBe(r.rows);
    expect(o.maxRows).toBeLessThanOrEqual(7);
    expect(o.schema).toEqual(r.schema);
    expect(o.vschema).toEqual(r.vschema);
  });

  test("async iteration streams a many-file table file by file, with filters, offset and limit as the reference", async () => {
    const [r, o] = await both(async (_pkg, db) => {
      const t = await db.createTable("t", ROWS.slice(0, 10));
      await t.add(ROWS.slice(10, 20));
      await t.add(ROWS.slice(20));
      await t.delete("id = 12");
      const ids = async (q: Any): Promise<number[]> => {
        const out: number[] = [];
        for await (const b of q) for (const row of b.toArray()) out.push(Number(row.id));
        return out;
      };
      // Leaving the loop early is allowed (and stops the reading).
      let first = -1;
      for await (const b of t.query() as Any) {
        first = Number(b.toArray()[0].id);
        break;
      }
      return {
        all: await ids(t.query()),
        filtered: await ids(t.query().where("id % 3 = 0").offset(2).limit(5)),
        page: await ids(t.query().offset(8).limit(4)),
        empty: await ids(t.query().where("id > 1000")),
        first,
      };
    });
    expect(o).toEqual(r);
    // Ours yields one batch per data file at least (not one materialised result).
    const db = await ours.connect(memoryUri());
    const t = await db.createTable("t", ROWS.slice(0, 10));
    await t.add(ROWS.slice(10, 20));
    await t.add(ROWS.slice(20));
    let batches = 0;
    for await (const _b of t.query()) batches++;
    expect(batches).toBe(3);
  });

  test("orderBy: direction, nulls, several keys, with filter, offset and limit", async () => {
    const data = [{ a: 3, b: "x" }, { a: null, b: "y" }, { a: 1, b: "z" }, { a: 3, b: "a" }, { a: 2, b: null }, { a: 1, b: "q" }];
    const [r, o] = await both(async (_pkg, db) => {
      const t = await db.createTable("t", data);
      const run = async (q: Any): Promise<unknown> => plain((await q.toArray()).map((x: Any) => [x.a, x.b]));
      return [
        await run(t.query().orderBy({ columnName: "a" })),
        await run(t.query().orderBy({ columnName: "a", ascending: false })),
        await run(t.query().orderBy({ columnName: "a", nullsFirst: true })),
        await run(t.query().orderBy([{ columnName: "a" }, { columnName: "b", ascending: false }])),
        // Ties under a limit come back in any order in the reference (a top-k sort): no ties here.
        await run(t.query().orderBy({ columnName: "b" }).offset(1).limit(3)),
        await run(t.query().where("a > 1").orderBy({ columnName: "b" }).select(["a", "b"])),
      ];
    });
    expect(o).toEqual(r);
  });

  test("timeoutMs: a generous one lets the query finish, zero fails (as in the reference)", async () => {
    const [r, o] = await both(async (_pkg, db) => {
      const t = await db.createTable("t", ROWS);
      const n = (await t.query().toArray({ timeoutMs: 60000 })).length;
      const zero = await t.query().toArray({ timeoutMs: 0 }).then(() => "ok", () => "failed");
      const iterated = await (async () => {
        for await (const _b of t.query() as Any) void _b;
        return "ok";
      })();
      return { n, zero, iterated };
    });
    expect(o).toEqual(r);
    const db = await ours.connect(memoryUri());
    const t = await db.createTable("t", ROWS);
    await expectCode(t.query().toArray({ timeoutMs: 0 }), "STORAGE_TIMEOUT", /timeoutMs=0/);
    await expectCode(t.search([1, 2]).toArray({ timeoutMs: 0 }), "STORAGE_TIMEOUT", /timeoutMs=0/);
  });

  test("explainPlan and analyzePlan: files opened, rows, filter pushdown, cache, result", async () => {
    const db = await ours.connect(memoryUri());
    const t = await db.createTable("t", ROWS.slice(0, 10));
    await t.add(ROWS.slice(10, 20));
    await t.add(ROWS.slice(20));
    const plan = await t.query().where("id > 3").select(["name"]).limit(5).explainPlan(true);
    expect(plan).toMatch(/Limit: offset=0, limit=5/);
    expect(plan).toMatch(/Version 3: 3 data file\(s\), 30 rows \(0 deleted/);
    expect(plan).toMatch(/Filter pushed down: id > 3 .*\[id\]/);
    expect(plan).toMatch(/Columns read: \[name\] \(1 of 3 columns\)/);
    // Unfiltered with a limit: only the first file is opened.
    expect(await t.query().limit(5).explainPlan()).toMatch(/Data files opened: 1 of 3/);
    expect(await t.query().offset(12).limit(5).explainPlan()).toMatch(/Data files opened: 1 of 3/);
    // The column cache: cold, then warm after a full read.
    const id = "id";
    expect(await t.query().select([id]).explainPlan()).toMatch(/Column cache: 0 of 3/);
    await t.query().select([id]).toArray();
    expect(await t.query().select([id]).explainPlan()).toMatch(/Column cache: 3 of 3/);
    const analyzed = await t.query().where("id > 3").analyzePlan();
    expect(analyzed).toMatch(/rows_in_table=30, rows_returned=26/);
    expect(await t.search([1, 2]).explainPlan()).toMatch(/KNN \(exact, flat\).*k=10/);
    expect(await t.takeOffsets([1, 2]).explainPlan()).toMatch(/Take: 2 offsets/);
  });
});

// ---------------------------------------------------------------------------
// Writes
// ---------------------------------------------------------------------------

describe("writes", () => {
  test("delete returns numDeletedRows; mergeInsert returns the reference's fields", async () => {
    const [r, o] = await both(async (_pkg, db) => {
      const t = await db.createTable("t", ROWS.map(({ id, name }) => ({ id, name })));
      const del = await t.delete("id >= 25");
      const merged = await t
        .mergeInsert("id")
        .whenMatchedUpdateAll()
        .whenNotMatchedInsertAll()
        .execute([{ id: 1, name: "one" }, { id: 100, name: "hundred" }], { timeoutMs: 60000 });
      return {
        del: { n: del.numDeletedRows, keys: Object.keys(del).sort() },
        merged: { ins: merged.numInsertedRows, upd: merged.numUpdatedRows, del: merged.numDeletedRows, attempts: merged.numAttempts, keys: Object.keys(merged).sort() },
        count: await t.countRows(),
      };
    });
    expect(o).toEqual(r);
  });

  test("mergeInsert with whenMatchedUpdateAll({ where }) and whenNotMatchedBySourceDelete({ where })", async () => {
    const start = [{ id: 1, v: 10, s: "a" }, { id: 2, v: 20, s: "b" }, { id: 3, v: 30, s: "c" }, { id: 4, v: 40, s: "d" }];
    const [r, o] = await both(async (_pkg, db) => {
      const sorted = async (t: Any): Promise<unknown> => plain((await t.query().toArray()).sort((a: Any, b: Any) => a.id - b.id));
      const a = await db.createTable("a", start);
      const ra = await a
        .mergeInsert("id")
        .whenMatchedUpdateAll({ where: "target.v < source.v" })
        .whenNotMatchedInsertAll()
        .execute([{ id: 1, v: 5, s: "x" }, { id: 2, v: 25, s: "y" }, { id: 9, v: 90, s: "z" }]);
      const b = await db.createTable("b", start);
      const rb = await b.mergeInsert("id").whenNotMatchedBySourceDelete({ where: "v > 25" }).execute([{ id: 1, v: 1, s: "q" }]);
      const c = await db.createTable("c", start);
      const rc = await c
        .mergeInsert("id")
        .whenMatchedUpdateAll({ where: "source.s = 'keep'" })
        .whenNotMatchedInsertAll()
        .whenNotMatchedBySourceDelete({ where: "s = 'd'" })
        .execute([{ id: 2, v: 0, s: "keep" }, { id: 3, v: 0, s: "drop" }, { id: 5, v: 50, s: "e" }]);
      const pick = (x: Any): unknown => [x.numInsertedRows, x.numUpdatedRows, x.numDeletedRows, x.numRows];
      return { a: [pick(ra), await sorted(a)], b: [pick(rb), await sorted(b)], c: [pick(rc), await sorted(c)] };
    });
    expect(o).toEqual(r);
  });

  test("update with list, vector and binary values", async () => {
    const [r, o] = await both(async (_pkg, db) => {
      const t = await db.createTable("t", [
        { id: 1, tags: ["a"], vector: [1, 2], blob: Buffer.from("x") },
        { id: 2, tags: ["b", "c"], vector: [3, 4], blob: Buffer.from("y") },
      ]);
      const u1 = await t.update({ where: "id = 1", values: { tags: ["p", "q", "r"], vector: [9, 8] } });
      const u2 = await t.update({ where: "id = 2", values: { blob: Buffer.from("zz"), id: 20 } });
      const rows = (await t.query().toArray()).sort((a: Any, b: Any) => a.id - b.id);
      return { u: [u1.rowsUpdated, u2.rowsUpdated], rows: plain(rows) };
    });
    expect(o).toEqual(r);
    const db = await ours.connect(memoryUri());
    const t = await db.createTable("t", [{ id: 1, vector: [1, 2] }]);
    await expectCode(t.update({ values: { vector: [1, 2, 3] } }), "SCHEMA_MISMATCH", /vector/);
    await expectCode(t.update({ values: { nope: [1] } }), "INVALID_ARGUMENT", /'nope'.*does not exist/);
  });

  test("optimize() statistics: the reference's shape, compaction counts as the reference, what was pruned counted", async () => {
    const fs = await import("node:fs");
    const os = await import("node:os");
    const path = await import("node:path");
    const stats: Any[] = [];
    for (const pkg of [ref, ours] as Any[]) {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stowage-opt-"));
      try {
        const db = await pkg.connect(dir);
        const t = await db.createTable("t", [{ id: 1 }]);
        await t.add([{ id: 2 }]);
        await t.add([{ id: 3 }]);
        await t.delete("id = 2");
        await new Promise((r) => setTimeout(r, 20));
        stats.push({ s: await t.optimize({ cleanupOlderThan: new Date(), deleteUnverified: true }), rows: await t.countRows(), versions: (await t.listVersions()).length });
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }
    const [r, o] = stats;
    expect(o.s.compaction).toEqual(r.s.compaction);
    expect(Object.keys(o.s.prune)).toEqual(expect.arrayContaining(Object.keys(r.s.prune)));
    expect([o.rows, o.versions]).toEqual([r.rows, r.versions]);
    // Every version but the latest was removed, and bytes with them.
    expect(o.s.prune.oldVersionsRemoved).toBeGreaterThanOrEqual(4);
    expect(o.s.prune.bytesRemoved).toBeGreaterThan(0);
  });

  test("add({ progress }) reports the reference's shape, ending with done", async () => {
    const [r, o] = await both(async (_pkg, db) => {
      const t = await db.createTable("t", [{ id: 0 }]);
      const seen: Any[] = [];
      await t.add(Array.from({ length: 100 }, (_, i) => ({ id: i + 1 })), { progress: (p: Any) => seen.push(p) });
      const last = seen[seen.length - 1];
      return { keys: Object.keys(last).sort(), done: last.done, rows: last.outputRows, total: last.totalRows, bytes: last.outputBytes > 0 };
    });
    expect(o).toEqual(r);
  });
});

// ---------------------------------------------------------------------------
// permutationBuilder and Scannable
// ---------------------------------------------------------------------------

describe("permutationBuilder", () => {
  test("no split, sequential and calculated splits give the reference's rows; random gives its split sizes", async () => {
    const [r, o] = await both(async (pkg, db) => {
      const t = await db.createTable("t", Array.from({ length: 10 }, (_, i) => ({ id: i, g: i % 3 })));
      const rows = async (p: Any): Promise<unknown> => plain(await (await p.execute()).query().toArray());
      const out: Any = {};
      out.plain = await rows(pkg.permutationBuilder(t));
      out.schema = describeSchema(await (await pkg.permutationBuilder(t).execute()).schema());
      for (const opts of [{ ratios: [0.25, 0.25] }, { ratios: [0.35, 0.65] }, { fixed: 3 }, { counts: [3, 3, 3] }]) {
        out[JSON.stringify(opts)] = await rows(pkg.permutationBuilder(t).splitSequential(opts));
      }
      out.calc = await rows(pkg.permutationBuilder(t).filter("g = 1").splitCalculated({ calculation: "id % 2" }));
      const random = (await (await pkg.permutationBuilder(t).splitRandom({ ratios: [0.3, 0.3], seed: 7 }).shuffle({ seed: 3 }).execute()).query().toArray()) as Any[];
      out.randomSizes = [0, 1].map((s) => random.filter((x) => Number(x.split_id) === s).length);
      out.randomIdsDistinct = new Set(random.map((x) => Number(x.row_id))).size;
      const persisted = await pkg.permutationBuilder(t).persist(db, "perm").execute();
      out.persisted = [(await db.tableNames()).includes("perm"), await persisted.countRows()];
      return out;
    });
    expect(o).toEqual(r);
  });
});

describe("Scannable", () => {
  test("createTable and add accept a Scannable from a table, an iterable and a factory", async () => {
    const data = ours.makeArrowTable([{ id: 1, s: "a" }, { id: 2, s: "b" }]);
    const db = await ours.connect(memoryUri());
    const t = await db.createTable("t", await ours.Scannable.fromTable(data));
    await t.add(await ours.Scannable.fromIterable(data.schema, data.batches));
    const factory = await ours.Scannable.fromFactory(data.schema, () => data.batches);
    expect(factory.rescannable).toBe(true);
    await t.add(factory);
    await t.add(factory);
    expect(await t.countRows()).toBe(8);
    const once = await ours.Scannable.fromIterable(data.schema, data.batches);
    await t.add(once);
    await expectCode(t.add(once), "INVALID_ARGUMENT", /not rescannable/);
  });
});
