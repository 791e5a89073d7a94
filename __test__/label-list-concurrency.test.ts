// A LABEL_LIST index build racing appends from other processes (local
// directory and S3 on moto): the build commits through the one transaction
// loop, so rows appended meanwhile stay unindexed but present and found by
// array_has / array_has_any; no acknowledged row is lost.
import { spawn } from "node:child_process";
import { join } from "node:path";
import * as stowage from "../lib";
import { s3Options, uniq } from "./helpers/cloud";
import { emulatorsForSuite, s3CreateBucket } from "./helpers/emulators";
import { tempDir } from "./helpers/tmp";

const WRITERS = 3;
const APPENDS = 6;
const APPENDER = join(__dirname, "fixtures", "label-appender.js");

const emu = emulatorsForSuite(["s3"]);

function runWriter(uri: string, options: object, table: string, worker: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [APPENDER, uri, JSON.stringify(options), table, String(worker), String(APPENDS)], {
      env: { ...process.env },
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.on("error", reject);
    child.on("close", () => {
      const lines = out.split("\n").filter(Boolean);
      const errors = lines.filter((l) => l.startsWith("error "));
      if (errors.length) reject(new Error(errors.join("\n")));
      resolve(lines.filter((l) => l.startsWith("ack ")).map((l) => Number(l.slice(4))));
    });
  });
}

const backends = [
  { name: "local", setup: async () => ({ uri: tempDir().dir, options: {} }) },
  {
    name: "s3 (moto)",
    setup: async () => {
      const b = uniq("lbl").toLowerCase();
      await s3CreateBucket(emu.s3!, b);
      return { uri: `s3://${b}/db`, options: s3Options(emu.s3!) as Record<string, unknown> };
    },
  },
];

describe.each(backends)("$name", (b) => {
  test("createIndex(labelList) while other processes append: every acknowledged row is kept and found", async () => {
    const { uri, options } = await b.setup();
    const db = await stowage.connect(uri, { storageOptions: options as never });
    const table = uniq("t");
    const base = Array.from({ length: 2000 }, (_, i) => ({ id: i, tags: [`g${i % 10}`, "base"] }));
    const t = await db.createTable(table, base);
    const writers = Array.from({ length: WRITERS }, (_, w) => runWriter(uri, options, table, w + 1));
    await t.createIndex("tags", { config: stowage.Index.labelList() });
    const acked = (await Promise.all(writers)).flat();
    expect(acked).toHaveLength(WRITERS * APPENDS);
    const fresh = await db.openTable(table);
    // Every acknowledged row is present exactly once.
    const ids = (await fresh.query().select(["id"]).toArray()).map((r) => Number(r.id));
    expect(ids.length).toBe(base.length + acked.length);
    expect(new Set(ids).size).toBe(ids.length);
    expect((await fresh.listIndices()).map((i) => i.indexType)).toEqual(["LabelList"]);
    const found = async (f: string) => (await fresh.query().where(f).select(["id"]).toArray()).map((r) => Number(r.id)).sort((a, c) => a - c);
    const check = async () => {
      for (let w = 1; w <= WRITERS; w++) {
        expect(await found(`array_has(tags, 'marker${w}')`)).toEqual(acked.filter((id) => Math.floor(id / 100000) === w).sort((a, c) => a - c));
      }
      expect(await fresh.countRows("array_has_any(tags, ['g3', 'appended'])")).toBe(200 + acked.length);
      expect(await fresh.countRows("array_has_all(tags, ['g3', 'base'])")).toBe(200);
    };
    await check();
    const st = await fresh.indexStats("tags_idx");
    expect(st!.numIndexedRows + st!.numUnindexedRows).toBe(base.length + acked.length);
    await fresh.optimize();
    expect(await fresh.indexStats("tags_idx")).toMatchObject({ numUnindexedRows: 0 });
    await check();
  }, 120000);
});
