// An FTS index build racing appends from other processes (local directory
// and S3 on moto): the build commits through the one transaction loop, so
// rows appended meanwhile stay unindexed but present and searchable; no
// acknowledged row is lost.
import { spawn } from "node:child_process";
import { join } from "node:path";
import * as stowage from "../lib";
import { s3Options, uniq } from "./helpers/cloud";
import { emulatorsForSuite, s3CreateBucket } from "./helpers/emulators";
import { tempDir } from "./helpers/tmp";

const WRITERS = 3;
const APPENDS = 6;
const APPENDER = join(__dirname, "fixtures", "fts-appender.js");

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
      const b = uniq("fts").toLowerCase();
      await s3CreateBucket(emu.s3!, b);
      return { uri: `s3://${b}/db`, options: s3Options(emu.s3!) as Record<string, unknown> };
    },
  },
];

describe.each(backends)("$name", (b) => {
  test("createIndex(fts) while other processes append: every acknowledged row is kept and found", async () => {
    const { uri, options } = await b.setup();
    const db = await stowage.connect(uri, { storageOptions: options as never });
    const table = uniq("t");
    const base = Array.from({ length: 2000 }, (_, i) => ({ id: i, text: `base document number ${i} about rivers and boats` }));
    const t = await db.createTable(table, base);
    const writers = Array.from({ length: WRITERS }, (_, w) => runWriter(uri, options, table, w + 1));
    await t.createIndex("text", { config: stowage.Index.fts() });
    const acked = (await Promise.all(writers)).flat();
    expect(acked).toHaveLength(WRITERS * APPENDS);
    const fresh = await db.openTable(table);
    // Every acknowledged row is present exactly once.
    const ids = (await fresh.query().select(["id"]).toArray()).map((r) => Number(r.id));
    expect(ids.length).toBe(base.length + acked.length);
    expect(new Set(ids).size).toBe(ids.length);
    // The index exists and every appended row is found, indexed or not.
    expect((await fresh.listIndices()).map((i) => i.indexType)).toEqual(["FTS"]);
    for (let w = 1; w <= WRITERS; w++) {
      const found = (await fresh.search(`marker${w}`).select(["id"]).limit(100).toArray()).map((r) => Number(r.id)).sort((a, c) => a - c);
      expect(found).toEqual(acked.filter((id) => Math.floor(id / 100000) === w).sort((a, c) => a - c));
    }
    const st = await fresh.indexStats("text_idx");
    expect(st!.numIndexedRows + st!.numUnindexedRows).toBe(base.length + acked.length);
    await fresh.optimize();
    expect(await fresh.indexStats("text_idx")).toMatchObject({ numUnindexedRows: 0 });
    expect((await fresh.search("marker1").fastSearch().limit(100).toArray()).length).toBe(APPENDS);
  }, 120000);
});
