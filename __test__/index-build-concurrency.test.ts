// Index builds (FTS and LABEL_LIST) racing appends from other processes (local directory and S3 on
// moto): a build commits through the one transaction loop, so rows appended meanwhile stay
// unindexed but present and found (full-text search, array_has / array_has_any); no acknowledged
// row is lost, and optimize() then indexes them.
import * as stowage from "../lib";
import { uniq } from "./helpers/cloud";
import { emulatorsForSuite } from "./helpers/emulators";
import { storeCases } from "./helpers/stores";
import { RowShape, runWriters } from "./helpers/writers";

const WRITERS = 3;
const APPENDS = 6;

const emu = emulatorsForSuite(["s3"]);


const byId = (a: number, c: number) => a - c;
const ofWriter = (acked: number[], w: number) => acked.filter((id) => Math.floor(id / 100000) === w).sort(byId);

interface Kind {
  name: string;
  shape: RowShape;
  column: string;
  config: () => stowage.Index;
  indexType: string;
  base: (i: number) => Record<string, unknown>;
  /** asserts every acknowledged row is found through the indexed column, indexed or not */
  check: (t: stowage.Table, acked: number[]) => Promise<void>;
  /** after optimize(): rows found through the index alone (fastSearch) */
  indexedOnly?: (t: stowage.Table) => Promise<void>;
}

const kinds: Kind[] = [
  {
    name: "fts",
    shape: "text",
    column: "text",
    config: () => stowage.Index.fts(),
    indexType: "FTS",
    base: (i) => ({ id: i, text: `base document number ${i} about rivers and boats` }),
    check: async (t, acked) => {
      for (let w = 1; w <= WRITERS; w++) {
        const found = (await t.search(`marker${w}`).select(["id"]).limit(100).toArray()).map((r) => Number(r.id)).sort(byId);
        expect(found).toEqual(ofWriter(acked, w));
      }
    },
    indexedOnly: async (t) => expect((await t.search("marker1").fastSearch().limit(100).toArray()).length).toBe(APPENDS),
  },
  {
    name: "labelList",
    shape: "labels",
    column: "tags",
    config: () => stowage.Index.labelList(),
    indexType: "LabelList",
    base: (i) => ({ id: i, tags: [`g${i % 10}`, "base"] }),
    check: async (t, acked) => {
      for (let w = 1; w <= WRITERS; w++) {
        const found = (await t.query().where(`array_has(tags, 'marker${w}')`).select(["id"]).toArray()).map((r) => Number(r.id)).sort(byId);
        expect(found).toEqual(ofWriter(acked, w));
      }
      expect(await t.countRows("array_has_any(tags, ['g3', 'appended'])")).toBe(200 + acked.length);
      expect(await t.countRows("array_has_all(tags, ['g3', 'base'])")).toBe(200);
    },
  },
];

describe.each(storeCases(emu, ["local", "s3"]))("%s", (_name, setup) => {
  test.each(kinds)("createIndex($name) while other processes append: every acknowledged row is kept and found", async (k) => {
    const { uri, options } = await setup();
    const db = await stowage.connect(uri, { storageOptions: options as never });
    const table = uniq("t");
    const base = Array.from({ length: 2000 }, (_, i) => k.base(i));
    const t = await db.createTable(table, base);
    const writers = runWriters(uri, options, table, WRITERS, APPENDS, k.shape);
    await t.createIndex(k.column, { config: k.config() });
    const { acked, errors } = await writers;
    expect(errors).toEqual([]);
    expect(acked).toHaveLength(WRITERS * APPENDS);
    const fresh = await db.openTable(table);
    // Every acknowledged row is present exactly once.
    const ids = (await fresh.query().select(["id"]).toArray()).map((r) => Number(r.id));
    expect(ids.length).toBe(base.length + acked.length);
    expect(new Set(ids).size).toBe(ids.length);
    expect((await fresh.listIndices()).map((i) => i.indexType)).toEqual([k.indexType]);
    await k.check(fresh, acked);
    const name = `${k.column}_idx`;
    const st = await fresh.indexStats(name);
    expect(st!.numIndexedRows + st!.numUnindexedRows).toBe(base.length + acked.length);
    await fresh.optimize();
    expect(await fresh.indexStats(name)).toMatchObject({ numUnindexedRows: 0 });
    await k.check(fresh, acked);
    await k.indexedOnly?.(fresh);
  }, 120000);
});
