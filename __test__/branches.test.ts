// Branches (issue 13, part 3): the same calls on @lancedb/lancedb and on
// Stowage compared step by step, errors with codes, cleanup that keeps what
// every branch needs, and writers on main and a branch in separate processes
// on a local directory, on S3 (moto) and on s3+ddb (moto).
import { readdirSync } from "node:fs";
import { join } from "node:path";
import * as ref from "@lancedb/lancedb";
import * as ours from "../lib";
import { uniq } from "./helpers/cloud";
import { emulatorsForSuite } from "./helpers/emulators";
import { expectCode, tempDir } from "./helpers/tmp";
import { runFixture, storeCases } from "./helpers/stores";

const emu = emulatorsForSuite(["s3"]);

// The calls both packages share, typed once (the two Table types differ in
// their private members).
interface T {
  version(): Promise<number>;
  add(rows: Record<string, unknown>[]): Promise<unknown>;
  countRows(): Promise<number>;
  currentBranch(): string | null;
  branches(): Promise<B>;
  listVersions(): Promise<{ version: number }[]>;
  query(): { toArray(): Promise<unknown[]> };
  checkout(v: number): Promise<void>;
  checkoutLatest(): Promise<void>;
  restore(v?: number): Promise<void>;
  delete(p: string): Promise<unknown>;
}
interface B {
  list(): Promise<Record<string, { parentBranch?: string | null; parentVersion: number; manifestSize: number }>>;
  create(name: string, fromRef?: string, fromVersion?: number): Promise<T>;
  checkout(name: string, version?: number): Promise<T>;
  delete(name: string): Promise<void>;
}
interface Db {
  createTable(name: string, rows: Record<string, unknown>[]): Promise<T>;
  openTable(name: string, ns: string[], opts: { branch?: string; version?: number }): Promise<T>;
}

async function ids(t: T): Promise<number[]> {
  return ((await t.query().toArray()) as { id: number }[]).map((r) => Number(r.id)).sort((a, b) => a - b);
}
const versions = async (t: T) => (await t.listVersions()).map((v) => v.version);
async function state(t: T): Promise<unknown> {
  return { branch: t.currentBranch(), version: await t.version(), ids: await ids(t), versions: await versions(t) };
}
async function listed(b: B): Promise<unknown> {
  const l = await b.list();
  // manifestSize is the size of each package's own manifest format.
  return Object.fromEntries(Object.keys(l).sort().map((k) => [k, { parentBranch: l[k].parentBranch ?? null, parentVersion: l[k].parentVersion, sized: l[k].manifestSize > 0 }]));
}
async function rejects(p: Promise<unknown>): Promise<boolean> {
  return p.then(
    () => false,
    () => true,
  );
}

test("the same branch calls give the same rows, versions and lists as @lancedb/lancedb", async () => {
  const seen: unknown[][] = [];
  for (const mod of [ref, ours] as const) {
    const out: unknown[] = [];
    seen.push(out);
    const db = (await (mod as typeof ours).connect(tempDir().dir)) as unknown as Db;
    const t = await db.createTable("t", [{ id: 1 }, { id: 2 }]);
    await t.add([{ id: 3 }]);
    const br = await t.branches();
    out.push(["empty", await listed(br), t.currentBranch()]);
    // From main's latest: the branch starts at main's version number.
    const dev = await br.create("dev");
    out.push(["dev", await state(dev)]);
    await dev.add([{ id: 10 }]);
    await t.add([{ id: 4 }]);
    out.push(["after writes", await state(dev), await state(t)]);
    // From a version of main, and from a branch (latest and a version).
    out.push(["old", await state(await br.create("old", "main", 1))]);
    out.push(["sub", await state(await br.create("sub", "dev"))]);
    out.push(["sub2", await state(await br.create("sub2", "dev", 2))]);
    out.push(["list", await listed(br)]);
    // A child created through a branch's handle forks from main by default.
    const child = await (await dev.branches()).create("child");
    out.push(["child", await state(child), (await br.list()).child.parentBranch ?? null]);
    // Checkout: latest (writable) or a version (reads only).
    const pinned = await br.checkout("dev", 2);
    out.push(["pinned", await state(pinned), await rejects(pinned.add([{ id: 99 }]))]);
    await pinned.checkoutLatest();
    out.push(["pinned latest", pinned.currentBranch(), await pinned.version()]);
    const main = await br.checkout("main");
    out.push(["main", main.currentBranch(), await main.version()]);
    // openTable composes branch and version.
    out.push(["open branch", await state(await db.openTable("t", [], { branch: "dev" }))]);
    const openedAt = await db.openTable("t", [], { branch: "dev", version: 2 });
    out.push(["open branch@2", await state(openedAt), await rejects(openedAt.add([{ id: 98 }]))]);
    // Time travel and restore on a branch.
    await dev.delete("id = 1");
    await dev.checkout(2);
    await dev.restore();
    out.push(["restored", await state(dev)]);
    // Deleting: a branch others forked from is refused; then it goes.
    out.push(["delete parent", await rejects(br.delete("dev"))]);
    await br.delete("sub");
    await br.delete("sub2");
    await br.delete("dev");
    out.push(["deleted", await listed(br), await rejects(br.checkout("dev"))]);
    // The name can be used again: a new line.
    out.push(["again", await state(await br.create("dev", "main", 2))]);
    out.push(["main at end", await state(t)]);
  }
  expect(seen[1]).toEqual(seen[0]);
});

test("errors name the branch, the version or the rule, with a code", async () => {
  const db = await ours.connect(tempDir().dir);
  const t = await db.createTable("t", [{ id: 1 }]);
  await t.add([{ id: 2 }]);
  const br = await t.branches();
  const dev = await br.create("dev");
  await expectCode(br.create("dev"), "INVALID_ARGUMENT", /branch 'dev' already exists/);
  await expectCode(br.checkout("nope"), "INVALID_ARGUMENT", /branch 'nope' does not exist/);
  await expectCode(db.openTable("t", { branch: "nope" }), "INVALID_ARGUMENT", /branch 'nope' does not exist/);
  await expectCode(br.create("x", "nope"), "INVALID_ARGUMENT", /fromRef 'nope' is neither 'main', a branch nor a tag/);
  await expectCode(br.create("x", "main", 9), "INVALID_ARGUMENT", /'main' has no version 9/);
  await expectCode(br.create("x", "dev", 1), "INVALID_ARGUMENT", /'dev' has no version 1/);
  await expectCode(br.checkout("dev", 1), "INVALID_ARGUMENT", /branch 'dev' has no version 1.*start at the version it forked from/);
  for (const [name, why] of [
    ["", /empty/],
    ["main", /'main' is the table's own line/],
    ["a b", /' ' is not allowed/],
    ["a..b", /'\.\.'/],
    ["x.lock", /\.lock/],
    ["a/", /'\/' separates segments/],
    ["x".repeat(201), /at most 200/],
  ] as const) {
    await expectCode(br.create(name), "INVALID_ARGUMENT", why);
  }
  await expectCode(br.create(42 as unknown as string), "INVALID_ARGUMENT", /must be a string/);
  await expectCode(br.delete("main"), "INVALID_ARGUMENT", /main line cannot be deleted/);
  await expectCode(br.delete("nope"), "INVALID_ARGUMENT", /branch 'nope' does not exist/);
  await br.create("kid", "dev");
  await expectCode(br.delete("dev"), "INVALID_ARGUMENT", /branches forked from it: 'kid' \(from version 2\)/);
  const pinned = await br.checkout("dev", 2);
  await expectCode(pinned.add([{ id: 3 }]), "INVALID_ARGUMENT", /checked out at version 2/);
  // Tags name versions of main.
  await expectCode((await dev.tags()).create("x", 2), "NOT_SUPPORTED", /tags name versions of main/);
  await expectCode(dev.checkout("x"), "NOT_SUPPORTED", /tags name versions of main/);
  // A branch from a tag (the reference refuses tags; we take the version).
  await (await t.tags()).create("first", 1);
  const fromTag = await br.create("fromtag", "first");
  expect([await fromTag.version(), await fromTag.countRows()]).toEqual([1, 1]);
  // A handle on a deleted branch cannot write into it (nor into a new branch of the name).
  await br.delete("kid");
  const stale = await br.checkout("kid").catch(() => null);
  expect(stale).toBeNull();
  const old = await br.create("gone");
  await br.delete("gone");
  await br.create("gone");
  await expectCode(old.add([{ id: 7 }]), "TABLE_NOT_FOUND", /Branch 'gone' of table 't' was deleted/);
  expect(await (await br.checkout("gone")).countRows()).toBe(2);
});

test("tables without branches are unchanged on disk; a branch adds its ref and manifests, no data", async () => {
  const dir = tempDir().dir;
  const db = await ours.connect(dir);
  const t = await db.createTable("t", [{ id: 1 }]);
  expect((await (await t.branches()).list())).toEqual({});
  expect(readdirSync(join(dir, "t.stowage")).sort()).toEqual(["_versions", "data"]);
  const dataBefore = readdirSync(join(dir, "t.stowage", "data")).sort();
  await (await t.branches()).create("feature/x");
  expect(readdirSync(join(dir, "t.stowage")).sort()).toEqual(["_branches", "_refs", "_versions", "data"]);
  expect(readdirSync(join(dir, "t.stowage", "data")).sort()).toEqual(dataBefore);
  expect(readdirSync(join(dir, "t.stowage", "_refs", "branches", "feature"))).toEqual(["x.json"]);
  // Dropping the table removes every branch with it.
  await db.dropTable("t");
  expect(await db.tableNames()).toEqual([]);
});

test("cleanup on any line keeps what other branches need, including the version they forked from", async () => {
  const db = await ours.connect(tempDir().dir);
  const t = await db.createTable("t", [{ id: 1 }, { id: 2 }]);
  await t.add([{ id: 3 }]); // v2
  const br = await t.branches();
  const dev = await br.create("dev"); // forks from main v2
  await dev.add([{ id: 10 }]);
  // main rewrites everything: no version of main names the forked files any more.
  await t.delete("id = 1");
  await t.add([{ id: 4 }]);
  await t.optimize({ cleanupOlderThan: new Date(Date.now() + 1000), deleteUnverified: true });
  expect(await versions(t)).toContain(2); // the fork point stays, like a tagged version
  expect(await ids(await br.checkout("dev"))).toEqual([1, 2, 3, 10]);
  expect(await ids(t)).toEqual([2, 3, 4]);
  // And the other way round: the branch rewrites and cleans up; main keeps its rows.
  const dev2 = await br.checkout("dev");
  await dev2.delete("id = 2");
  await dev2.optimize({ cleanupOlderThan: new Date(Date.now() + 1000), deleteUnverified: true });
  expect(await versions(dev2)).toEqual([await dev2.version()]);
  expect(await ids(dev2)).toEqual([1, 3, 10]);
  await t.checkout(2);
  expect(await ids(t)).toEqual([1, 2, 3]);
  await t.checkoutLatest();
  expect(await ids(t)).toEqual([2, 3, 4]);
  // A branch of a branch keeps its parent's fork version through the parent's cleanup.
  const sub = await br.create("sub", "dev");
  const forked = await sub.version();
  await dev2.add([{ id: 11 }]);
  await dev2.delete("id = 1");
  await dev2.optimize({ cleanupOlderThan: new Date(Date.now() + 1000), deleteUnverified: true });
  expect(await versions(dev2)).toContain(forked);
  expect(await ids(await br.checkout("sub"))).toEqual([1, 3, 10]);
  // Once branches are deleted, cleanup may remove what only they needed.
  await br.delete("sub");
  await br.delete("dev");
  await t.optimize({ cleanupOlderThan: new Date(Date.now() + 1000), deleteUnverified: true });
  expect(await versions(t)).toEqual([await t.version()]);
  expect(await ids(t)).toEqual([2, 3, 4]);
});

describe.each(storeCases(emu, ["local", "s3", "s3+ddb"]))("%s: writers on main and on a branch in separate processes", (_name, setup) => {
  test("every acknowledged row is on its line only; branches created and cleanups run meanwhile", async () => {
    const { uri, options } = await setup();
    const db = await ours.connect(uri, { storageOptions: options as never });
    const table = uniq("t");
    const t = await db.createTable(table, [{ id: -1, line: "main" }]);
    await (await t.branches()).create("dev");
    const json = JSON.stringify(options);
    const outs = await Promise.all([
      runFixture("branch-writer.js", [uri, json, table, "append", "main", "1", "5"]),
      runFixture("branch-writer.js", [uri, json, table, "append", "main", "2", "5"]),
      runFixture("branch-writer.js", [uri, json, table, "append", "dev", "3", "5"]),
      runFixture("branch-writer.js", [uri, json, table, "append", "dev", "4", "5"]),
      runFixture("branch-writer.js", [uri, json, table, "branch", "c", "3"]),
      // Cleanup on main meanwhile: it must keep what the branches need.
      runFixture("branch-writer.js", [uri, json, table, "cleanup", "3"]),
    ]);
    const lines = outs.flat();
    expect(lines.filter((l) => l.startsWith("error"))).toEqual([]);
    const acked = (o: string[][]) => o.flat().filter((l) => l.startsWith("ack ")).map((l) => Number(l.split(" ")[1])).sort((a, b) => a - b);
    const mainAcked = acked(outs.slice(0, 2));
    const devAcked = acked(outs.slice(2, 4));
    expect(mainAcked).toHaveLength(10);
    expect(devAcked).toHaveLength(10);
    const db2 = await ours.connect(uri, { storageOptions: options as never });
    const main = await db2.openTable(table);
    const dev = await db2.openTable(table, { branch: "dev" });
    expect(await ids(main as unknown as T)).toEqual([-1, ...mainAcked]);
    expect(await ids(dev as unknown as T)).toEqual([-1, ...devAcked]);
    // Each line has its own numbering: dev forked at 1, then 10 appends (main also has compactions).
    expect(await dev.version()).toBe(11);
    expect(await main.version()).toBeGreaterThanOrEqual(11);
    expect(outs[5].filter((l) => l.startsWith("cleaned "))).toHaveLength(3);
    // Branches created while main was written and cleaned: each holds main's
    // rows at its fork version, which cleanup kept.
    const branched = outs[4].filter((l) => l.startsWith("branched "));
    expect(branched).toHaveLength(3);
    for (const l of branched) {
      const [, name, version, count] = l.split(" ");
      const c = await db2.openTable(table, { branch: name });
      expect(await c.version()).toBe(Number(version));
      const got = await ids(c as unknown as T);
      expect(got).toHaveLength(Number(count));
      expect(got.every((id) => id === -1 || mainAcked.includes(id))).toBe(true);
      await main.checkout(Number(version));
      expect(await ids(main as unknown as T)).toEqual(got);
    }
    await main.checkoutLatest();
    // Cleanup on main keeps every branch readable.
    await main.optimize({ cleanupOlderThan: new Date(Date.now() + 1000) });
    expect(await ids((await db2.openTable(table, { branch: "dev" })) as unknown as T)).toEqual([-1, ...devAcked]);
    for (const l of branched) {
      const name = l.split(" ")[1];
      expect((await ids((await db2.openTable(table, { branch: name })) as unknown as T)).length).toBe(Number(l.split(" ")[3]));
    }
    expect(await ids((await db2.openTable(table)) as unknown as T)).toEqual([-1, ...mainAcked]);
  }, 120000);
});
