// cloneTable (issue 13, part 4): shallow clones that share their source's
// files, compared step by step with @lancedb/lancedb; cleanup on either
// side; errors; a clone racing appends in separate processes, on a local
// directory and on S3 (moto). renameTable answers as the reference does.
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import * as ref from "@lancedb/lancedb";
import * as ours from "../lib";
import { childEnv } from "./helpers/cloud";
import { emulatorsForSuite } from "./helpers/emulators";
import { expectCode, tempDir } from "./helpers/tmp";
import { startWriter, writerId } from "./helpers/writers";
import { freshStore } from "./helpers/stores";

const emu = emulatorsForSuite(["s3"]);

type AnyTable = ours.Table | ref.Table;

const plain = (v: unknown): unknown => JSON.parse(JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? Number(x) : x)));

async function rows(t: AnyTable): Promise<Record<string, unknown>[]> {
  const rs = (await t.query().toArray()) as { toJSON?: () => unknown }[];
  const out = rs.map((r) => plain(r.toJSON ? r.toJSON() : r)) as Record<string, unknown>[];
  return out.sort((a, b) => Number(a.id) - Number(b.id));
}

/** What a user sees of a table: version, version list, schema and rows. */
async function view(t: AnyTable): Promise<unknown> {
  return {
    version: await t.version(),
    versions: (await t.listVersions()).map((v) => v.version),
    schema: (await t.schema()).fields.map((f) => `${f.name}:${f.type}:${f.nullable}`),
    rows: await rows(t),
  };
}

/** The files under a directory, relative to it. */
function files(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const f of readdirSync(d)) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(relative(dir, p));
    }
  };
  if (existsSync(dir)) walk(dir);
  return out.sort();
}

/** The same script on both packages; `src(name)` is the URI of table `name`. */
async function script(db: ours.Connection, src: (name: string) => string, btree: unknown): Promise<Record<string, unknown>> {
  const seen: Record<string, unknown> = {};
  const s = await db.createTable("src", [
    { id: 1, v: "a" },
    { id: 2, v: "b" },
  ]);
  await s.add([{ id: 3, v: "c" }]); // v2
  await (await s.tags()).create("t2", 2);
  await s.addColumns([{ name: "w", valueSql: "id * 10" }]); // v3: a column file
  await s.createIndex("id", { config: btree as never }); // v4: index files
  await s.add([{ id: 4, v: "d", w: 40 }]); // v5
  await s.delete("id = 1"); // v6: a deletion file
  seen.source = await view(s);

  const latest = await db.cloneTable("c_latest", src("src"));
  seen.latest = await view(latest);
  seen.latestTags = await (await latest.tags()).list();
  seen.byVersion = await view(await db.cloneTable("c_v2", src("src"), { sourceVersion: 2 }));
  seen.byTag = await view(await db.cloneTable("c_tag", src("src"), { sourceTag: "t2" }));
  seen.ofClone = await view(await db.cloneTable("c_of_clone", src("c_latest")));
  // The indexes come along and answer on the clone.
  seen.indices = (await latest.listIndices()).map((i) => ({ name: i.name, type: i.indexType, columns: i.columns }));
  seen.indexed = await rows({ query: () => latest.query().where("id >= 3") } as never);

  // Each side writes on its own.
  await latest.add([{ id: 10, v: "x", w: 100 }]);
  await latest.delete("id = 2");
  await latest.update({ where: "id = 3", values: { v: "cc" } } as never);
  await s.add([{ id: 20, v: "y", w: 200 }]);
  seen.afterWritesClone = await view(latest);
  seen.afterWritesSource = await view(s);
  seen.reopened = await view(await db.openTable("c_latest"));
  seen.ofCloneUnchanged = await view(await db.openTable("c_of_clone"));
  await latest.checkout(6);
  seen.cloneAtFirst = await rows(latest);
  await latest.checkoutLatest();
  seen.names = await db.tableNames();
  return seen;
}

test("shallow clones: versions, schemas and rows after each step as in @lancedb/lancedb", async () => {
  const rdir = tempDir().dir;
  const odir = tempDir().dir;
  const r = await script((await ref.connect(rdir)) as unknown as ours.Connection, (n) => join(rdir, `${n}.lance`), ref.Index.btree());
  const o = await script(await ours.connect(odir), (n) => join(odir, `${n}.stowage`), ours.Index.btree());
  expect(o).toEqual(r);
  expect(o.latest).toMatchObject({ version: 6, versions: [6] });
  expect(o.indices).toEqual([{ name: "id_idx", type: "BTree", columns: ["id"] }]);
  expect((o.indexed as unknown[]).length).toBe(2);
  expect(o.byVersion).toMatchObject({ version: 2, versions: [2] });
  // Shallow: the clones wrote no data of their own until they were written to.
  for (const c of ["c_v2", "c_tag", "c_of_clone"]) {
    expect(files(join(odir, `${c}.stowage`)).filter((f) => !f.startsWith("_versions/"))).toEqual([]);
  }
  // The source's files are the ones the clone reads.
  const manifest = JSON.parse(readFileSync(join(odir, "c_of_clone.stowage", "_versions", readdirSync(join(odir, "c_of_clone.stowage", "_versions"))[0]), "utf8"));
  expect(manifest.format_version).toBe(3);
  expect(manifest.operation).toEqual({ type: "clone", from_version: 6 });
  expect(manifest.indices[0].segments[0].files[0].path).toMatch(/^\.\.\/src\.stowage\/_indices\//);
  for (const f of manifest.fragments) expect(f.path).toMatch(/^\.\.\/src\.stowage\/data\//);
});

test("cleanup: the clone's never touches the source; the source's keeps the clones it pins (unlike the reference)", async () => {
  // The reference: cleanup on the source removes files a clone still reads.
  const rdir = tempDir().dir;
  {
    const db = await ref.connect(rdir);
    const s = await db.createTable("src", [{ id: 1 }, { id: 2 }]);
    await s.add([{ id: 3 }]);
    const c = await db.cloneTable("c", join(rdir, "src.lance"), { sourceVersion: 1 });
    await s.delete("id = 1");
    await s.optimize({ cleanupOlderThan: new Date(Date.now() + 3600_000), deleteUnverified: true });
    await expect(rows(c)).rejects.toThrow(/not found/i);
  }
  const dir = tempDir().dir;
  const db = await ours.connect(dir);
  const s = await db.createTable("src", [{ id: 1 }, { id: 2 }]);
  await s.add([{ id: 3 }]);
  const c = await db.cloneTable("c", join(dir, "src.stowage"), { sourceVersion: 1 });
  const srcFiles = files(join(dir, "src.stowage")).filter((f) => !f.startsWith("_versions/"));

  // The clone rewrites its rows (compaction) and cleans up: the source keeps every file.
  await c.add([{ id: 4 }]);
  await c.delete("id = 2");
  await c.optimize({ cleanupOlderThan: new Date(Date.now() + 3600_000), deleteUnverified: true });
  expect(files(join(dir, "src.stowage")).filter((f) => !f.startsWith("_versions/"))).toEqual(srcFiles);
  expect(await rows(c)).toEqual([{ id: 1 }, { id: 4 }]);
  expect(await rows(s)).toEqual([{ id: 1 }, { id: 2 }, { id: 3 }]);
  // Compacted, the clone names no file of the source any more.
  const cm = readdirSync(join(dir, "c.stowage", "_versions")).sort()[0];
  const latestManifest = JSON.parse(readFileSync(join(dir, "c.stowage", "_versions", cm), "utf8"));
  expect(JSON.stringify(latestManifest.fragments)).not.toMatch(/\.\.\//);
  expect(latestManifest.format_version).toBeLessThan(3);

  // Cleanup on the source keeps the version a live clone was made of.
  const c2 = await db.cloneTable("c2", join(dir, "src.stowage"), { sourceVersion: 1 });
  await s.delete("id = 1");
  await s.optimize({ cleanupOlderThan: new Date(Date.now() + 3600_000), deleteUnverified: true });
  expect((await s.listVersions()).map((v) => v.version)).toEqual([1, 4]);
  expect(await rows(await db.openTable("c2"))).toEqual([{ id: 1 }, { id: 2 }]);
  expect(await rows(s)).toEqual([{ id: 2 }, { id: 3 }]);
  void c2;
  // Once the clone's name belongs to another table, the pin is released.
  await db.dropTable("c2");
  await db.dropTable("c");
  await db.createTable("c2", [{ id: 9 }]);
  await db.createTable("c", [{ id: 9 }]);
  await s.optimize({ cleanupOlderThan: new Date(Date.now() + 3600_000), deleteUnverified: true });
  expect((await s.listVersions()).map((v) => v.version)).toEqual([4]);
  expect(await rows(s)).toEqual([{ id: 2 }, { id: 3 }]);
});

test("errors: coded, and rejected where the reference rejects", async () => {
  const rdir = tempDir().dir;
  const rdb = await ref.connect(rdir);
  const rs = await rdb.createTable("src", [{ id: 1 }]);
  await (await rs.tags()).create("t", 1);
  const rsrc = join(rdir, "src.lance");
  const refRejects = async (p: Promise<unknown>) => expect(p).rejects.toThrow();
  await refRejects(rdb.cloneTable("a", rsrc, { sourceVersion: 1, sourceTag: "t" }));
  await refRejects(rdb.cloneTable("b", rsrc, { sourceVersion: 9 }));
  await refRejects(rdb.cloneTable("c", rsrc, { sourceTag: "nope" }));
  await refRejects(rdb.cloneTable("d", rsrc, { isShallow: false }));
  await refRejects(rdb.cloneTable("src", rsrc));
  await refRejects(rdb.cloneTable("e", join(rdir, "nope.lance")));
  await refRejects(rdb.cloneTable("f", rsrc, { targetNamespacePath: ["x"] }));
  await refRejects(rdb.cloneTable("a/b", rsrc));
  await refRejects(rdb.renameTable("src", "other"));

  const dir = tempDir().dir;
  const db = await ours.connect(dir);
  const s = await db.createTable("src", [{ id: 1 }]);
  await (await s.tags()).create("t", 1);
  const src = join(dir, "src.stowage");
  await expectCode(db.cloneTable("a", src, { sourceVersion: 1, sourceTag: "t" }), "INVALID_ARGUMENT", /sourceVersion or sourceTag, not both/);
  await expectCode(db.cloneTable("b", src, { sourceVersion: 9 }), "VERSION_NOT_FOUND", /9/);
  await expectCode(db.cloneTable("b", src, { sourceVersion: 0 }), "INVALID_ARGUMENT", /sourceVersion/);
  await expectCode(db.cloneTable("c", src, { sourceTag: "nope" }), "INVALID_ARGUMENT", /tag 'nope' does not exist/);
  await expectCode(db.cloneTable("src", src), "TABLE_EXISTS", /src/);
  await db.cloneTable("taken", src);
  await expectCode(db.cloneTable("taken", src), "TABLE_EXISTS", /taken/);
  await expectCode(db.cloneTable("e", join(dir, "nope.stowage")), "TABLE_NOT_FOUND", /nope/);
  await expectCode(db.cloneTable("f", src, { targetNamespacePath: ["x"] }), "NOT_SUPPORTED", /namespace/);
  await expectCode(db.cloneTable("a/b", src), "INVALID_TABLE_NAME", /a\/b/);
  await expectCode(db.cloneTable("g", join(tempDir().dir, "src.stowage")), "NOT_SUPPORTED", /not a table of this database/);
  await expectCode(db.cloneTable("h", join(dir, "src.parquet")), "INVALID_ARGUMENT", /not a table directory/);
  await expectCode(db.renameTable("src", "other", { namespacePath: [] }), "NOT_SUPPORTED", /renameTable\('src', 'other'\).*not supported.*isShallow: false/);
  // Nothing was left behind by the failures.
  expect(await db.tableNames()).toEqual(["src", "taken"]);
  await db.dropTable("taken");
  // A relative path (against the working directory) and a file:// URI name the same table.
  expect(await (await db.cloneTable("rel", relative(process.cwd(), src))).countRows()).toBe(1);
  expect(await (await db.cloneTable("url", `file://${src}`)).countRows()).toBe(1);
});

describe.each(["local", "s3"] as const)("deep clones (isShallow: false; the reference rejects them: 'Deep clone is not yet implemented') (%s)", (kind) => {
  test("copy the source version's files: independent of the source, even of its drop", async () => {
    const { uri, options } = await freshStore(emu, kind);
    const db = await ours.connect(uri, { storageOptions: options as ours.StorageOptions });
    const s = await db.createTable("src", [
      { id: 1, t: "apple pie" },
      { id: 2, t: "banana split" },
    ]);
    await s.add([{ id: 3, t: "cherry tart" }]);
    await s.addColumns([{ name: "w", valueSql: "id * 2" }]);
    await s.createIndex("t", { config: ours.Index.fts() });
    await s.delete("id = 2");
    // A shallow clone in between: a deep clone of it copies the original table's files.
    await db.cloneTable("mid", `${uri}/src.stowage`);
    const deep = await db.cloneTable("deep", `${uri}/mid.stowage`, { isShallow: false });
    const want = [
      { id: 1, t: "apple pie", w: 2 },
      { id: 3, t: "cherry tart", w: 6 },
    ];
    expect(await rows(deep)).toEqual(want);
    expect(await deep.version()).toBe(await s.version());
    expect((await deep.listVersions()).map((v) => v.version)).toEqual([await s.version()]);
    // The index came along (copied) and answers.
    expect(((await deep.search("cherry").select(["id"]).toArray()) as { id: number }[]).map((r) => r.id)).toEqual([3]);
    await db.dropTable("mid");
    await db.dropTable("src");
    expect(await rows(await db.openTable("deep"))).toEqual(want);
    await deep.add([{ id: 4, t: "date", w: 8 }]);
    await deep.optimize({ cleanupOlderThan: new Date(Date.now() + 3600_000), deleteUnverified: true });
    expect((await rows(deep)).map((r) => r.id)).toEqual([1, 3, 4]);
    if (kind === "local") {
      const dir = join(uri, "deep.stowage");
      const v = readdirSync(join(dir, "_versions")).sort()[0];
      const m = readFileSync(join(dir, "_versions", v), "utf8");
      expect(m).not.toMatch(/\.\.\//);
      expect(JSON.parse(m).format_version).toBeLessThan(3);
    }
  }, 60000);
});

describe.each(["local", "s3"] as const)("a clone racing appends on the source in separate processes (%s)", (kind) => {
  test("the clone sees one consistent version; the source loses nothing", async () => {
    const { uri, options } = await freshStore(emu, kind);
    const db = await ours.connect(uri, { storageOptions: options as ours.StorageOptions });
    const s = await db.createTable("src", [{ id: -1, worker: -1 }]);
    const writers = [1, 2].map((w) => startWriter(uri, options, "src", w, 12));
    const clones: ours.Table[] = [];
    await writers[0].acks(2);
    for (let i = 0; i < 4; i++) {
      clones.push(await db.cloneTable(`c${i}`, `${uri}/src.stowage`));
      // The source cleans up while writers append and clones pin versions.
      await s.optimize({ cleanupOlderThan: new Date() });
    }
    const exits = await Promise.all(writers.map((w) => w.done));
    expect(exits.map((e) => e.code)).toEqual([0, 0]);
    expect(writers.flatMap((w) => w.errors)).toEqual([]);
    await s.checkoutLatest();
    const ids = (await rows(s)).map((r) => r.id);
    const want = [-1, ...[1, 2].flatMap((w) => Array.from({ length: 12 }, (_, i) => writerId(w, i)))].sort((a, b) => a - b);
    expect(ids).toEqual(want);
    for (const [i, c] of clones.entries()) {
      const v = await c.version();
      const got = (await rows(await db.openTable(`c${i}`))).map((r) => r.id);
      // The clone holds exactly the rows the source had at that version
      // (which the source's cleanups kept: the clone pins it).
      await s.checkout(v);
      expect(got).toEqual((await rows(s)).map((r) => r.id));
      for (const w of [1, 2]) {
        const mine = got.filter((id) => Math.floor(Number(id) / 100000) === w);
        expect(mine).toEqual(Array.from({ length: mine.length }, (_, k) => writerId(w, k)));
      }
      // The clone takes writes of its own; the source does not see them.
      await c.add([{ id: 7_000_000, worker: 0 }]);
      expect(await c.countRows()).toBe(got.length + 1);
    }
    await s.checkoutLatest();
    expect((await rows(s)).map((r) => r.id)).toEqual(want);
    expect(ids).not.toContain(7_000_000);
  }, 120000);
});

describe.each(["local", "s3"] as const)("createTable and cloneTable of one name racing in separate processes (%s)", (kind) => {
  test("never both acknowledged; the table holds what the acknowledged one wrote", async () => {
    const { uri, options } = await freshStore(emu, kind);
    const db = await ours.connect(uri, { storageOptions: options as ours.StorageOptions });
    const s = await db.createTable("src", [{ id: 1 }, { id: 2 }]);
    await s.add([{ id: 3 }]); // version 2: a clone's first version is 2, a created table's 1
    const count = 6;
    const startAt = Date.now() + 1500; // both processes loaded and connected by then
    const run = (mode: string) =>
      new Promise<string>((resolve, reject) => {
        const child = spawn(process.execPath, [join(__dirname, "fixtures", "clone-race.js"), uri, JSON.stringify(options), mode, String(count), String(startAt)], {
          env: childEnv({}),
          stdio: ["ignore", "pipe", "inherit"],
        });
        let out = "";
        child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
        child.on("error", reject);
        child.on("close", () => resolve(out));
      });
    const [created, cloned] = await Promise.all([run("create"), run("clone")]);
    const acks = (out: string) => new Set(out.split("\n").filter((l) => l.startsWith("ack ")).map((l) => Number(l.slice(4))));
    const errors = (out: string) => out.split("\n").filter((l) => l.startsWith("error ") || l.startsWith("fatal ")).map((l) => JSON.parse(l.slice(l.indexOf("{"))).code);
    expect([...errors(created), ...errors(cloned)].filter((c) => c !== "TABLE_EXISTS")).toEqual([]);
    const [ca, cl] = [acks(created), acks(cloned)];
    for (let i = 0; i < count; i++) {
      expect({ i, both: ca.has(i) && cl.has(i) }).toEqual({ i, both: false });
      if (ca.has(i)) expect(await rows(await db.openTable(`x${i}`))).toEqual([{ id: 1000 + i }]);
      if (cl.has(i)) expect(await rows(await db.openTable(`x${i}`))).toEqual([{ id: 1 }, { id: 2 }, { id: 3 }]);
      if (!ca.has(i) && !cl.has(i)) await expectCode(db.openTable(`x${i}`), "TABLE_NOT_FOUND");
    }
    // The source is untouched.
    expect(await rows(s)).toEqual([{ id: 1 }, { id: 2 }, { id: 3 }]);
  }, 60000);
});
