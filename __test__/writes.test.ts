// delete, update, mergeInsert, versions and read consistency, compared with
// @lancedb/lancedb 0.31.0 where both can run the same calls.
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import * as reference from "@lancedb/lancedb";
import * as stowage from "../lib";
import { expectCode, tempDir } from "./helpers/tmp";

type Row = { id: number; name: string; score: number; vector: number[] };
const base: Row[] = Array.from({ length: 40 }, (_, i) => ({ id: i, name: `n${i}`, score: i * 1.5, vector: [i, -i] }));

function sortById(rows: unknown[]): Record<string, unknown>[] {
  return rows
    .map((r) => {
      const j = (r as { toJSON(): Record<string, unknown> }).toJSON();
      return { id: j.id, name: j.name, score: j.score, vector: Array.from(j.vector as ArrayLike<number>) };
    })
    .sort((a, b) => Number(a.id) - Number(b.id));
}

let dir: string;
let cleanup: () => void;
let n = 0;
beforeAll(() => ({ dir, cleanup } = tempDir()));
afterAll(() => cleanup());

async function both(rows: Row[]): Promise<[reference.Table, stowage.Table, string]> {
  const name = `t${n++}`;
  const r = await (await reference.connect(join(dir, "ref"))).createTable(name, rows);
  const s = await (await stowage.connect(join(dir, "ours"))).createTable(name, rows);
  return [r, s, name];
}

async function sameRows(r: reference.Table, s: stowage.Table): Promise<void> {
  expect(sortById(await s.query().toArray())).toEqual(sortById(await r.query().toArray()));
  expect(await s.countRows()).toBe(await r.countRows());
}

describe("delete", () => {
  test("removes matching rows without rewriting data files", async () => {
    const [r, s, name] = await both(base);
    const dataDir = join(dir, "ours", `${name}.stowage`, "data");
    const before = readdirSync(dataDir).map((f) => [f, statSync(join(dataDir, f)).mtimeMs]);
    await r.delete("id % 3 = 0 OR name = 'n7'");
    const res = await s.delete("id % 3 = 0 OR name = 'n7'");
    expect(res.version).toBe(2);
    await sameRows(r, s);
    expect(readdirSync(dataDir).map((f) => [f, statSync(join(dataDir, f)).mtimeMs])).toEqual(before);
    expect(readdirSync(join(dir, "ours", `${name}.stowage`, "_deletions"))).toHaveLength(1);
    // Deleting more accumulates; deleting everything drops the file.
    await r.delete("id < 20");
    await s.delete("id < 20");
    await sameRows(r, s);
    await r.delete("true");
    await s.delete("true");
    await sameRows(r, s);
    expect(await s.countRows()).toBe(0);
  });

  test("filters, offsets and search skip deleted rows", async () => {
    const [r, s] = await both(base);
    await r.delete("id BETWEEN 5 AND 30");
    await s.delete("id BETWEEN 5 AND 30");
    expect(await s.countRows("id > 2")).toBe(await r.countRows("id > 2"));
    const ids = (rows: unknown[]) => rows.map((x) => Number((x as { id: number }).id));
    expect(ids(await s.query().offset(3).limit(4).toArray())).toEqual([3, 4, 31, 32]);
    expect(ids(await s.search([6, -6]).limit(3).toArray())).toEqual(ids(await r.search([6, -6]).limit(3).toArray()));
  });

  test("a bad predicate changes nothing", async () => {
    const [, s] = await both(base);
    await expectCode(s.delete("id >"), "INVALID_FILTER");
    expect(await s.countRows()).toBe(40);
    expect(await s.version()).toBe(1);
  });
});

describe("update", () => {
  test("values and valuesSql as in lancedb", async () => {
    const [r, s] = await both(base);
    await r.update({ where: "id < 5", values: { name: "low", score: 0 } });
    const res = await s.update({ where: "id < 5", values: { name: "low", score: 0 } });
    expect(res.rowsUpdated).toBe(5);
    await sameRows(r, s);
    await r.update({ where: "id >= 35", valuesSql: { score: "score * 2 + 1", name: "'it''s'" } });
    await s.update({ where: "id >= 35", valuesSql: { score: "score * 2 + 1", name: "'it''s'" } });
    await sameRows(r, s);
    await r.update({ valuesSql: { score: "score + 1" } });
    await s.update({ valuesSql: { score: "score + 1" } });
    await sameRows(r, s);
  });

  test("errors name the column", async () => {
    const [, s] = await both(base);
    await expectCode(s.update({ values: { nope: 1 } }), "INVALID_ARGUMENT", /'nope'/);
    await expectCode(s.update({ where: "id = 1", valuesSql: { score: "'abc'" } }), "INVALID_ARGUMENT", /score/);
    expect(await s.version()).toBe(1);
  });
});

describe("mergeInsert", () => {
  const incoming: Row[] = [
    { id: 3, name: "three", score: -1, vector: [0, 0] },
    { id: 100, name: "hundred", score: 100, vector: [1, 1] },
  ];

  test("upsert", async () => {
    const [r, s] = await both(base);
    await r.mergeInsert("id").whenMatchedUpdateAll().whenNotMatchedInsertAll().execute(incoming);
    const res = await s.mergeInsert("id").whenMatchedUpdateAll().whenNotMatchedInsertAll().execute(incoming);
    expect(res).toMatchObject({ numInsertedRows: 1, numUpdatedRows: 1, numDeletedRows: 0, version: 2 });
    await sameRows(r, s);
  });

  test("insert if not exists, and replace-all by source delete", async () => {
    const [r, s] = await both(base);
    await r.mergeInsert("id").whenNotMatchedInsertAll().execute(incoming);
    await s.mergeInsert("id").whenNotMatchedInsertAll().execute(incoming);
    await sameRows(r, s);
    await r.mergeInsert(["id"]).whenMatchedUpdateAll().whenNotMatchedInsertAll().whenNotMatchedBySourceDelete().execute(incoming);
    const res = await s.mergeInsert(["id"]).whenMatchedUpdateAll().whenNotMatchedInsertAll().whenNotMatchedBySourceDelete().execute(incoming);
    expect(res.numDeletedRows).toBe(39);
    await sameRows(r, s);
    expect(await s.countRows()).toBe(2);
  });

  test("duplicate keys in the new data are refused", async () => {
    const [, s] = await both(base);
    await expectCode(
      s.mergeInsert("id").whenMatchedUpdateAll().execute([incoming[0], incoming[0]]),
      "INVALID_ARGUMENT",
      /same key/,
    );
    expect(await s.countRows()).toBe(40);
  });
});

describe("versions", () => {
  test("listVersions, checkout, checkoutLatest, restore", async () => {
    const [, s] = await both(base);
    await s.add([{ id: 50, name: "x", score: 1, vector: [0, 0] }]);
    await s.delete("id < 10");
    const versions = await s.listVersions();
    expect(versions.map((v) => v.version)).toEqual([1, 2, 3]);
    expect(versions[0].timestamp).toBeInstanceOf(Date);
    expect(versions.map((v) => v.metadata.operation)).toEqual(["create", "append", "delete"]);

    await s.checkout(1);
    expect(await s.version()).toBe(1);
    expect(await s.countRows()).toBe(40);
    await expectCode(s.add(base), "INVALID_ARGUMENT", /checked out at version 1.*checkoutLatest/);
    await s.checkoutLatest();
    expect(await s.countRows()).toBe(31);

    await s.checkout(2);
    await s.restore();
    expect(await s.version()).toBe(4);
    expect(await s.countRows()).toBe(41);
    await s.add([{ id: 60, name: "y", score: 1, vector: [0, 0] }]);
    expect(await s.countRows()).toBe(42);
    await expectCode(s.checkout(99), "VERSION_NOT_FOUND", /no version 99/);
  });
});

describe("readConsistencyInterval", () => {
  test("unset: a handle does not see other handles' writes; 0: sees them at once", async () => {
    const uri = join(dir, "rci");
    const writer = await stowage.connect(uri);
    await writer.createTable("t", base);
    const lazy = await (await stowage.connect(uri)).openTable("t");
    const strict = await (await stowage.connect(uri, { readConsistencyInterval: 0 })).openTable("t");
    const wt = await writer.openTable("t");
    await wt.add(base);
    expect(await lazy.countRows()).toBe(40);
    expect(await strict.countRows()).toBe(80);
    // A handle always sees its own writes, and conflicts rebase appends.
    await lazy.add(base);
    expect(await lazy.countRows()).toBe(120);
    await lazy.checkoutLatest();
    expect(await lazy.countRows()).toBe(120);
  });

  test("n seconds: re-checks at most that often", async () => {
    const uri = join(dir, "rci2");
    const writer = await stowage.connect(uri);
    const wt = await writer.createTable("t", base);
    const t = await (await stowage.connect(uri, { readConsistencyInterval: 0.3 })).openTable("t");
    expect(await t.countRows()).toBe(40);
    await wt.add(base);
    await new Promise((res) => setTimeout(res, 400));
    expect(await t.countRows()).toBe(80);
  });
});

describe("optimize", () => {
  test("compacts, removes old versions and unreferenced files, never the latest", async () => {
    const [, s, name] = await both(base);
    for (let i = 0; i < 4; i++) await s.add(base.map((r) => ({ ...r, id: r.id + 100 * (i + 1) })));
    await s.delete("id % 2 = 1");
    const live = await s.countRows();
    const rowsBefore = (await s.query().toArray()).map((r) => Number(r.id)).sort((a, b) => a - b);
    const tdir = join(dir, "ours", `${name}.stowage`);
    expect(readdirSync(join(tdir, "data"))).toHaveLength(5);

    // Cutoff in the past: compaction only, nothing old enough to remove.
    const first = await s.optimize({ cleanupOlderThan: new Date(0) });
    expect(first.compaction).toMatchObject({ fragmentsRemoved: 5, fragmentsAdded: 1 });
    expect(first.prune.oldVersionsRemoved).toBe(0);
    expect(await s.countRows()).toBe(live);

    // Cutoff now: every version but the latest goes, and the old files with them.
    const second = await s.optimize({ cleanupOlderThan: new Date(Date.now() + 1000) });
    expect(second.prune.oldVersionsRemoved).toBe(6); // versions 1-6; 7 (the compaction) stays
    expect(readdirSync(join(tdir, "_versions"))).toHaveLength(1);
    expect(readdirSync(join(tdir, "data"))).toHaveLength(1);
    expect(readdirSync(join(tdir, "_deletions"))).toHaveLength(0);
    const reopened = await (await stowage.connect(join(dir, "ours"))).openTable(name);
    expect((await reopened.query().toArray()).map((r) => Number(r.id)).sort((a, b) => a - b)).toEqual(rowsBefore);
    expect((await reopened.listVersions()).map((v) => v.version)).toEqual([await reopened.version()]);
  });
});
