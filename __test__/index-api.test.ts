// The index API surface, compared with @lancedb/lancedb 0.31.0: the Index
// factories, option checks, and the calls on a table with no indexes.
import * as reference from "@lancedb/lancedb";
import * as stowage from "../lib";
import { expectCode, memoryUri } from "./helpers/tmp";

test("Index has every static factory of the reference", () => {
  const ours = Object.getOwnPropertyNames(stowage.Index).filter((n) => typeof (stowage.Index as unknown as Record<string, unknown>)[n] === "function");
  const theirs = Object.getOwnPropertyNames(reference.Index).filter((n) => typeof (reference.Index as unknown as Record<string, unknown>)[n] === "function");
  for (const f of theirs) expect(ours).toContain(f);
});

test("a table without indexes answers as the reference does", async () => {
  const db = await stowage.connect(memoryUri());
  const t = await db.createTable("t", [{ id: 1, s: "a", vector: [1, 2] }]);
  expect(await t.listIndices()).toEqual([]);
  expect(await t.indexStats("vector_idx")).toBeUndefined();
  await expectCode(t.dropIndex("vector_idx"), "INDEX_NOT_FOUND", /no index named 'vector_idx'/);
  await expectCode(t.waitForIndex(["vector_idx"], 0), "INDEX_NOT_FOUND");
  await expectCode(t.prewarmIndex("vector_idx"), "INDEX_NOT_FOUND");
});

test("kinds not available yet and bad options fail clearly, writing nothing", async () => {
  const db = await stowage.connect(memoryUri());
  const t = await db.createTable("t", [{ id: 1, s: "a", vector: [1, 2] }]);
  // BTREE, BITMAP, LABEL_LIST and FTS build now (issue 12); LABEL_LIST needs a list column.
  await expectCode(t.createIndex("id", { config: stowage.Index.labelList() }), "INVALID_ARGUMENT", /list column.*'id' has type Float64/);
  await expectCode(t.createIndex("vector", { config: stowage.Index.fm() }), "NOT_SUPPORTED", /not available yet/);
  await expectCode(t.createIndex("vector", { config: stowage.Index.ivfRq() }), "NOT_SUPPORTED", /ivfPq/);
  await expectCode(t.createIndex("nope", { config: stowage.Index.ivfPq() }), "INVALID_ARGUMENT", /column 'nope' does not exist/);
  await expectCode(t.createIndex("vector", { config: stowage.Index.ivfPq({ numPartitions: 0 }) }), "INVALID_ARGUMENT", /numPartitions/);
  await expectCode(t.createIndex("vector", { config: stowage.Index.ivfPq({ numPartitions: 2.5 }) }), "INVALID_ARGUMENT", /numPartitions/);
  await expectCode(
    t.createIndex("vector", { config: stowage.Index.ivfPq({ distanceType: "euclidean" as "l2" }) }),
    "INVALID_ARGUMENT",
    /distanceType/,
  );
  await expectCode(t.createIndex("vector", { config: {} as stowage.Index }), "INVALID_ARGUMENT", /Index\.\* factories/);
  expect(await t.listIndices()).toEqual([]);
  expect(await t.version()).toBe(1);
});
