// Namespaces (issue 13, part 6): the same calls on @lancedb/lancedb and on
// ours (connect(dir) and connectNamespace("dir")) give the same listings,
// properties, tables and kinds of error; the documented differences
// (docs/evolution.md "Namespaces") hold; the same script gives the same
// answers on memory:// and S3 (moto); creators and droppers racing in
// separate processes end consistent.
import { existsSync, readdirSync } from "node:fs";
import * as net from "node:net";
import { join } from "node:path";
import * as arrow from "apache-arrow";
import * as ref from "@lancedb/lancedb";
import * as ours from "../lib";
import { s3Options, uniq } from "./helpers/cloud";
import { emulatorsForSuite, s3CreateBucket, s3ListObjects } from "./helpers/emulators";
import { expectCode, memoryUri, tempDir } from "./helpers/tmp";
import { runFixture, storeCases } from "./helpers/stores";

const emu = emulatorsForSuite(["s3"]);

type Db = ours.Connection;

/** The kind of an error: ours carry a code; the reference's are told by their message. */
function kind(e: unknown): string {
  const err = e as Error & { code?: string };
  if (typeof err.code === "string" && /^[A-Z_]+$/.test(err.code)) return err.code;
  const m = String(err.message);
  if (/Namespace already exists/.test(m)) return "NAMESPACE_EXISTS";
  if (/Namespace not found/.test(m)) return "NAMESPACE_NOT_FOUND";
  if (/Namespace not empty/.test(m)) return "NAMESPACE_NOT_EMPTY";
  if (/Table '.*' already exists/.test(m)) return "TABLE_EXISTS";
  if (/Table .*not found/i.test(m)) return "TABLE_NOT_FOUND";
  if (/Invalid (mode|behavior)/.test(m)) return "INVALID_ARGUMENT";
  if (/not supported|unsupported|not implemented/i.test(m)) return "NOT_SUPPORTED";
  return `UNCLASSIFIED: ${m.slice(0, 200)}`;
}

async function step(label: string, f: () => Promise<unknown>): Promise<unknown> {
  try {
    const v = await f();
    return { label, ok: v === undefined ? null : JSON.parse(JSON.stringify(v)) };
  } catch (e) {
    return { label, error: kind(e) };
  }
}

const ROWS = [{ id: 1, s: "a" }];
const SCHEMA = new arrow.Schema([new arrow.Field("id", new arrow.Int64(), true)]);

async function rowsOf(db: Db, name: string, ns: string[]): Promise<unknown[]> {
  const t = await db.openTable(name, ns);
  const rs = (await t.query().toArray()) as { toJSON: () => Record<string, unknown> }[];
  return rs.map((r) => ({ ...r.toJSON(), id: Number(r.toJSON().id) })).sort((a, b) => a.id - b.id);
}

/** Every namespace call the reference answers as documented, with what a user sees after each. */
async function script(db: Db): Promise<unknown[]> {
  const out: unknown[] = [];
  const s = async (label: string, f: () => Promise<unknown>) => out.push(await step(label, f));
  await s("list empty", () => db.listNamespaces());
  await s("create a", () => db.createNamespace(["a"], { properties: { k: "1", owner: "x" } }));
  await s("create a again", () => db.createNamespace(["a"]));
  await s("create b", () => db.createNamespace(["b"]));
  await s("create c/d without c", () => db.createNamespace(["c", "d"]));
  await s("create a/n1", () => db.createNamespace(["a", "n1"]));
  await s("create a/n1/deep", () => db.createNamespace(["a", "n1", "deep"], { properties: { d: "1" } }));
  for (const n of ["m", "Z", "e", "q"]) await s(`create ${n}`, () => db.createNamespace([n]));
  await s("describe a", () => db.describeNamespace(["a"]));
  await s("describe a/n1", () => db.describeNamespace(["a", "n1"]));
  await s("describe a/n1/deep", () => db.describeNamespace(["a", "n1", "deep"]));
  await s("describe root", () => db.describeNamespace([]));
  await s("describe missing", () => db.describeNamespace(["zz"]));
  await s("describe missing child", () => db.describeNamespace(["a", "zz"]));
  await s("list root", () => db.listNamespaces());
  await s("pages of 2", async () => {
    const pages = [];
    let token: string | undefined;
    for (let i = 0; i < 6; i++) {
      const p = await db.listNamespaces([], { limit: 2, pageToken: token });
      pages.push(p);
      token = p.pageToken;
      if (token === undefined) break;
    }
    return pages;
  });
  await s("after a token", () => db.listNamespaces([], { pageToken: "b" }));
  await s("limit 0", () => db.listNamespaces([], { limit: 0 }));
  await s("list a", () => db.listNamespaces(["a"]));
  await s("list a/n1", () => db.listNamespaces(["a", "n1"]));
  await s("list missing", () => db.listNamespaces(["zz"]));
  await s("bad create mode", () => db.createNamespace(["q2"], { mode: "bogus" as never }));
  await s("bad drop mode", () => db.dropNamespace(["q"], { mode: "bogus" as never }));
  await s("bad drop behavior", () => db.dropNamespace(["q"], { behavior: "bogus" as never }));
  await s("table in a", async () => (await db.createTable("t", ROWS, ["a"])).name);
  await s("table in a/n1 (options form)", async () => (await db.createTable({ name: "t2", data: [{ id: 5, s: "z" }] }, ["a", "n1"])).name);
  await s("table in root", async () => (await db.createTable("r", ROWS)).name);
  await s("table in a again", async () => (await db.createTable("t", ROWS, ["a"])).name);
  await s("table in a, existOk", async () => (await (await db.createTable("t", ROWS, ["a"], { existOk: true })).countRows()));
  await s("empty table in b", async () => (await db.createEmptyTable("e", SCHEMA, ["b"])).name);
  await s("names root", () => db.tableNames());
  await s("names a", () => db.tableNames(["a"]));
  await s("names a limit 1", () => db.tableNames(["a"], { limit: 1 }));
  await s("names a/n1", () => db.tableNames(["a", "n1"]));
  await s("names b", () => db.tableNames(["b"]));
  await s("names missing", () => db.tableNames(["zz"]));
  await s("open a/t, add", async () => {
    const t = await db.openTable("t", ["a"]);
    await t.add([{ id: 2, s: "b" }]);
    return [t.name, await t.countRows(), await rowsOf(db, "t", ["a"])];
  });
  await s("rows a/n1/t2", () => rowsOf(db, "t2", ["a", "n1"]));
  await s("overwrite a/t", async () => (await db.createTable("t", [{ id: 9, s: "o" }], ["a"], { mode: "overwrite" })).countRows());
  await s("open t at root", async () => (await db.openTable("t")).name);
  await s("open t in missing", async () => (await db.openTable("t", ["zz"])).name);
  await s("open t2 in a", async () => (await db.openTable("t2", ["a"])).name);
  await s("drop a (not empty)", () => db.dropNamespace(["a"]));
  await s("drop missing", () => db.dropNamespace(["zz"]));
  await s("drop m", () => db.dropNamespace(["m"]));
  await s("drop a/n1/deep", () => db.dropNamespace(["a", "n1", "deep"]));
  await s("list a/n1 after", () => db.listNamespaces(["a", "n1"]));
  await s("dropTable missing in b", () => db.dropTable("nope", ["b"]));
  await s("dropTable e in b", () => db.dropTable("e", ["b"]));
  await s("names b after drop", () => db.tableNames(["b"]));
  await s("empty table in b again", async () => (await db.createEmptyTable("e2", SCHEMA, ["b"])).name);
  await s("dropAllTables b", () => db.dropAllTables(["b"]));
  await s("names b after dropAll", () => db.tableNames(["b"]));
  await s("names root after", () => db.tableNames());
  await s("dropAllTables missing", () => db.dropAllTables(["zz"]));
  await s("drop b", () => db.dropNamespace(["b"]));
  await s("describe b after", () => db.describeNamespace(["b"]));
  await s("re-create b", () => db.createNamespace(["b"], { properties: { again: "yes" } }));
  await s("names b re-created", () => db.tableNames(["b"]));
  await s("list root at end", () => db.listNamespaces());
  await s("rename with namespaces", () => (db.renameTable as (...a: unknown[]) => Promise<void>).call(db, "t", "u", { namespacePath: ["a"], newNamespacePath: ["a"] }));
  return out;
}

describe("the same calls as @lancedb/lancedb", () => {
  test.each([
    ["connect(dir)", (m: typeof ours, dir: string) => m.connect(dir)],
    ["connectNamespace('dir')", (m: typeof ours, dir: string) => m.connectNamespace("dir", { root: dir })],
  ])("%s: listings, properties, tables and kinds of error", async (_name, open) => {
    const r = await script((await open(ref as unknown as typeof ours, tempDir().dir)) as Db);
    const dir = tempDir().dir;
    const o = await script(await open(ours, dir));
    expect(o).toEqual(r);
    // Our layout: a marker beside each namespace's prefix, tables inside it.
    expect(existsSync(join(dir, "a.ns.json"))).toBe(true);
    expect(readdirSync(join(dir, "a.ns")).sort()).toEqual(["n1.ns", "n1.ns.json", "t.stowage"]);
    expect(existsSync(join(dir, "m.ns.json")) || existsSync(join(dir, "m.ns"))).toBe(false);
  }, 60000);

  test("the same script gives the same answers on memory:// and on S3 (moto)", async () => {
    const local = await script(await ours.connect(tempDir().dir));
    expect(await script(await ours.connect(memoryUri()))).toEqual(local);
    const bucket = uniq("ns").toLowerCase();
    await s3CreateBucket(emu.s3!, bucket);
    const s3 = await ours.connect(`s3://${bucket}/db`, { storageOptions: s3Options(emu.s3!) as never });
    expect(await script(s3)).toEqual(local);
    const keys = await s3ListObjects(emu.s3!, bucket, "db/");
    expect(keys).toContain("db/a.ns.json");
    expect(keys).toContain("db/a.ns/n1.ns.json");
    expect(keys.some((k) => k.startsWith("db/a.ns/t.stowage/_versions/"))).toBe(true);
    // Dropped namespaces left nothing behind.
    expect(keys.filter((k) => k.startsWith("db/m.ns") || k.startsWith("db/a.ns/n1.ns/deep.ns"))).toEqual([]);
    await s3.dropNamespace(["a"], { behavior: "cascade" });
    expect((await s3ListObjects(emu.s3!, bucket, "db/")).filter((k) => k.startsWith("db/a.ns"))).toEqual([]);
    expect(await s3.tableNames()).toEqual(["r"]);
  }, 90000);
});

describe("where we differ from @lancedb/lancedb 0.31.0 (docs/evolution.md)", () => {
  test("exist_ok, overwrite, skip and cascade do what the API documents (the reference's directory namespace ignores them)", async () => {
    const rdb = await ref.connect(tempDir().dir);
    await rdb.createNamespace(["a"], { properties: { k: "1" } });
    const refSays = [
      await step("exist_ok", () => rdb.createNamespace(["a"], { mode: "exist_ok" })),
      await step("overwrite", () => rdb.createNamespace(["a"], { mode: "overwrite", properties: { k: "2" } })),
      await step("skip", () => rdb.dropNamespace(["zz"], { mode: "skip" })),
      await step("cascade", async () => {
        await rdb.createTable("t", ROWS, ["a"]);
        return rdb.dropNamespace(["a"], { behavior: "cascade" });
      }),
    ];
    expect(refSays).toEqual([
      { label: "exist_ok", error: "NAMESPACE_EXISTS" },
      { label: "overwrite", error: "NAMESPACE_EXISTS" },
      { label: "skip", error: "NAMESPACE_NOT_FOUND" },
      { label: "cascade", error: "NAMESPACE_NOT_EMPTY" },
    ]);

    const dir = tempDir().dir;
    const db = await ours.connect(dir);
    await db.createNamespace(["a"], { properties: { k: "1" } });
    expect(await db.createNamespace(["a"], { mode: "exist_ok", properties: { ignored: "1" } })).toEqual({ properties: { k: "1" } });
    expect(await db.createNamespace(["a"], { mode: "overwrite", properties: { k: "2" } })).toEqual({ properties: { k: "2" } });
    expect(await db.describeNamespace(["a"])).toEqual({ properties: { k: "2" } });
    expect(await db.dropNamespace(["zz"], { mode: "skip" })).toEqual({});
    await expectCode(db.dropNamespace(["zz"], { mode: "fail" }), "NAMESPACE_NOT_FOUND", /Namespace \["zz"\] was not found/);
    // Overwrite keeps the contents.
    await db.createTable("t", ROWS, ["a"]);
    await db.createNamespace(["a", "child"]);
    await db.createTable("t3", ROWS, ["a", "child"]);
    await db.createNamespace(["a"], { mode: "overwrite" });
    expect(await db.tableNames(["a"])).toEqual(["t"]);
    expect(await db.describeNamespace(["a"])).toEqual({});
    await expectCode(db.dropNamespace(["a"]), "NAMESPACE_NOT_EMPTY", /Namespace \["a"\] is not empty \(it holds tables t and namespaces child\).*cascade/);
    expect(await db.dropNamespace(["a"], { behavior: "cascade" })).toEqual({});
    await expectCode(db.describeNamespace(["a"]), "NAMESPACE_NOT_FOUND", /\["a"\]/);
    await expectCode(db.describeNamespace(["a", "child"]), "NAMESPACE_NOT_FOUND", /\["a", "child"\]/);
    expect(readdirSync(dir).filter((f) => f.startsWith("a."))).toEqual([]);
    // Created again, it is empty: nothing of the dropped one comes back.
    await db.createNamespace(["a"]);
    expect(await db.tableNames(["a"])).toEqual([]);
    expect(await db.listNamespaces(["a"])).toEqual({ namespaces: [] });
    await expectCode(db.openTable("t", ["a"]), "TABLE_NOT_FOUND", /Table 't' was not found in namespace \["a"\] of /);
  });

  test("a table in a namespace that does not exist, and names that are not one path segment, are refused", async () => {
    const rdb = await ref.connect(tempDir().dir);
    expect(await step("ref", async () => (await rdb.createTable("t", ROWS, ["nope"])).name)).toEqual({ label: "ref", ok: "t" });
    expect(await step("ref", () => rdb.createNamespace(["x/y"]))).toEqual({ label: "ref", ok: {} });

    const db = await ours.connect(tempDir().dir);
    await expectCode(db.createTable("t", ROWS, ["nope"]), "NAMESPACE_NOT_FOUND", /Namespace \["nope"\] was not found \(creating table 't' in it\); create it first with createNamespace/);
    await expectCode(db.createEmptyTable("t", SCHEMA, ["nope", "x"]), "NAMESPACE_NOT_FOUND", /\["nope", "x"\]/);
    await expectCode(db.openTable("t", ["nope"]), "TABLE_NOT_FOUND", /namespace \["nope"\] \(which does not exist\)/);
    for (const bad of ["x/y", "", ".hidden", "a$b"]) {
      await expectCode(db.createNamespace(["ok", bad]), "INVALID_ARGUMENT", /Invalid namespace name .* in namespace \["ok"\]/);
    }
    await expectCode(db.createNamespace("a" as never), "INVALID_ARGUMENT", /namespace path must be an array of strings/);
    await expectCode(db.tableNames([1] as never), "INVALID_ARGUMENT", /namespace path must be an array of strings/);
    await expectCode(db.createNamespace(["p"], { properties: { n: 1 } as never }), "INVALID_ARGUMENT", /property 'n' must be a string/);
    await expectCode(db.listNamespaces([], { limit: -1 }), "INVALID_ARGUMENT", /limit/);
    await expectCode(db.dropNamespace([]), "INVALID_ARGUMENT", /root namespace \[\] cannot be dropped/);
    await expectCode(db.createNamespace([]), "NAMESPACE_EXISTS", /root namespace/);
    expect(await db.createNamespace([], { mode: "exist_ok" })).toEqual({});
  });
});

describe("connectNamespace", () => {
  test("'dir' with manifestEnabled: false has the root namespace only, as in the reference", async () => {
    const seen = [];
    for (const m of [ref, ours] as unknown as (typeof ours)[]) {
      const db = await m.connectNamespace("dir", { root: tempDir().dir, manifestEnabled: false });
      await db.createTable("x", ROWS);
      seen.push([
        await db.tableNames(),
        await db.listNamespaces(),
        await step("create child", () => db.createNamespace(["q"])),
        await step("describe root", () => db.describeNamespace([])),
      ]);
    }
    expect(seen[1]).toEqual(seen[0]);
    const db = await ours.connectNamespace("dir", { root: tempDir().dir, manifestEnabled: false });
    await expectCode(db.createTable("t", ROWS, ["a"]), "NOT_SUPPORTED", /child namespaces are only supported with manifestEnabled/);
  });

  test("'dir' takes storage.* extra properties as storage options and refuses the rest by name", async () => {
    const dir = tempDir().dir;
    const db = await ours.connectNamespace("dir", { root: dir, extraProperties: { "storage.timeout": "30s" } }, { readConsistencyInterval: 0 });
    expect(db.effectiveStorageOptions().find((e) => e.key === "timeout")?.value).toBe("30s");
    await expectCode(ours.connectNamespace("dir", { root: dir, extraProperties: { "storage.timout": "1s" } }), "UNKNOWN_STORAGE_OPTION", /timout/);
    await expectCode(ours.connectNamespace("dir", { root: dir, extraProperties: { dir_listing_enabled: "true" } }), "NOT_SUPPORTED", /extraProperties key 'dir_listing_enabled'/);
    await expectCode(ours.connectNamespace("dir", { root: dir }, { namespaceClientProperties: { a: "b" } }), "NOT_SUPPORTED", /namespaceClientProperties/);
    await expectCode(ours.connectNamespace("dir", {} as never), "INVALID_ARGUMENT", /needs config.root/);
  });

  test("'rest' and other implementations are NOT_SUPPORTED and send nothing anywhere", async () => {
    let connections = 0;
    const server = net.createServer((s) => {
      connections++;
      s.destroy();
    });
    await new Promise<void>((res) => server.listen(0, "127.0.0.1", () => res()));
    const port = (server.address() as net.AddressInfo).port;
    try {
      await expectCode(ours.connectNamespace("rest", { uri: `http://127.0.0.1:${port}`, headers: { "x-api-key": "k" } }), "NOT_SUPPORTED", /REST catalog server is not supported.*connectNamespace\("dir", \{ root \}\)/);
      await expectCode(ours.connectNamespace("my.custom.Namespace", { endpoint: `http://127.0.0.1:${port}` }), "NOT_SUPPORTED", /'my.custom.Namespace' is not available; Stowage supports "dir"/);
      await new Promise((res) => setTimeout(res, 100));
      expect(connections).toBe(0);
    } finally {
      server.close();
    }
  });
});

describe.each(storeCases(emu, ["local", "s3"]))("%s: racing processes", (_name, setup) => {
  test("4 processes create one namespace: one wins, the others get NAMESPACE_EXISTS; exist_ok gives them the winner's properties", async () => {
    const { uri, options } = await setup();
    const json = JSON.stringify(options);
    const start = String(Date.now() + 1500);
    const outs = (await Promise.all([0, 1, 2, 3].map(() => runFixture("ns-worker.js", [uri, json, "create-ns", '["race"]', "create", start])))).flat();
    const created = outs.filter((l) => l.startsWith("created "));
    expect(created).toHaveLength(1);
    expect(outs.filter((l) => l.startsWith("error NAMESPACE_EXISTS ") && l.includes('Namespace [\\"race\\"] already exists'))).toHaveLength(3);
    const winner = JSON.parse(created[0].slice("created ".length));
    const db = await ours.connect(uri, { storageOptions: options as never });
    expect(await db.describeNamespace(["race"])).toEqual(winner);
    const start2 = String(Date.now() + 1500);
    const again = (await Promise.all([0, 1, 2].map(() => runFixture("ns-worker.js", [uri, json, "create-ns", '["race"]', "exist_ok", start2])))).flat();
    expect(again).toEqual([0, 1, 2].map(() => `created ${JSON.stringify(winner)}`));
    expect(await db.listNamespaces()).toEqual({ namespaces: ["race"] });
  }, 90000);

  test("a cascade drop racing table creations leaves no half-visible table", async () => {
    const { uri, options } = await setup();
    const json = JSON.stringify(options);
    const db = await ours.connect(uri, { storageOptions: options as never });
    await db.createNamespace(["c"]);
    await db.createTable("before", ROWS, ["c"]);
    const start = String(Date.now() + 1500);
    const outs = await Promise.all([
      ...["w0", "w1", "w2"].map((w) => runFixture("ns-worker.js", [uri, json, "create-tables", '["c"]', w, start])),
      runFixture("ns-worker.js", [uri, json, "drop-cascade", '["c"]', "150", start]),
    ]);
    const lines = outs.flat();
    expect(outs[3]).toEqual(["dropped"]);
    // Every creator was still creating when the drop came (it stops at its first error).
    for (const o of outs.slice(0, 3)) expect(o[o.length - 1]).toMatch(/^error NAMESPACE_NOT_FOUND .*Namespace \[\\"c\\"\] was not found/);
    // A creator either succeeded or was told the namespace is gone; nothing else.
    const other = lines.filter((l) => l !== "dropped" && !l.startsWith("created ") && !l.startsWith("error NAMESPACE_NOT_FOUND "));
    expect(other).toEqual([]);
    await expectCode(db.describeNamespace(["c"]), "NAMESPACE_NOT_FOUND");
    expect(await db.tableNames(["c"])).toEqual([]);
    // Created again, the namespace shows none of the racing tables, acknowledged or not.
    await db.createNamespace(["c"]);
    expect(await db.tableNames(["c"])).toEqual([]);
    for (const l of lines.filter((x) => x.startsWith("created "))) {
      await expectCode(db.openTable(l.slice("created ".length), ["c"]), "TABLE_NOT_FOUND");
    }
    // And a table created now is the only one there.
    await db.createTable("after", ROWS, ["c"]);
    expect(await db.tableNames(["c"])).toEqual(["after"]);
  }, 90000);
});
