// Exercises branches on @lancedb/lancedb (default) or Stowage (PKG=./dist/index.js) on a temp
// directory and prints what each call returns: how docs/evolution.md *Branches* was matched.
const lancedb = require(process.env.PKG ? require("path").resolve(process.env.PKG) : "@lancedb/lancedb");
const fs = require("fs"); const os = require("os"); const path = require("path");
async function tryit(label, f) { try { const r = await f(); console.log(label, "=>", JSON.stringify(r)); return r; } catch (e) { console.log(label, "ERR", e.code, String(e.message).slice(0, 300)); } }
(async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "refbr-"));
  const db = await lancedb.connect(dir);
  const t = await db.createTable("t", [{ id: 1 }, { id: 2 }]);
  await t.add([{ id: 3 }]);           // v2
  console.log("main version", await t.version(), "current", t.currentBranch());
  const br = await t.branches();
  await tryit("list empty", () => br.list());
  const b1 = await br.create("b1");
  console.log("b1 current", b1.currentBranch(), "version", await b1.version(), "rows", await b1.countRows());
  await tryit("b1 versions", async () => (await b1.listVersions()).map(v => v.version));
  await b1.add([{ id: 10 }]);
  console.log("b1 after add version", await b1.version(), "rows", await b1.countRows());
  await t.add([{ id: 4 }]);
  console.log("main after add version", await t.version(), "rows", await t.countRows());
  await tryit("b1 versions", async () => (await b1.listVersions()).map(v => v.version));
  await tryit("main versions", async () => (await t.listVersions()).map(v => v.version));
  await tryit("list", () => br.list());
  await tryit("create b2 from main v1", async () => { const b = await br.create("b2", "main", 1); return [b.currentBranch(), await b.version(), await b.countRows()]; });
  await tryit("create b3 from b1", async () => { const b = await br.create("b3", "b1"); return [b.currentBranch(), await b.version(), await b.countRows()]; });
  await tryit("create b3b from b1 v2", async () => { const b = await br.create("b3b", "b1", 2); return [await b.version(), await b.countRows()]; });
  await tryit("create b3c from b1 v1", async () => { const b = await br.create("b3c", "b1", 1); return [await b.version(), await b.countRows()]; });
  await (await t.tags()).create("tg", 1);
  await tryit("create b4 from tag", async () => { const b = await br.create("b4", "tg"); return [b.currentBranch(), await b.version(), await b.countRows()]; });
  await tryit("create dup", () => br.create("b1"));
  await tryit("create from unknown", () => br.create("bx", "nope"));
  await tryit("create from bad version", () => br.create("by", "main", 99));
  await tryit("create main", () => br.create("main"));
  for (const n of ["", "a/b", "a b", ".x", "a..b", "x.lock", "-a", "a/", "ü", "a".repeat(300), "a:b", "HEAD"]) await tryit(`create name '${n.slice(0,20)}'`, async () => { const b = await br.create(n); return b.currentBranch(); });
  await tryit("list", () => br.list());
  await tryit("checkout b1", async () => { const b = await br.checkout("b1"); return [b.currentBranch(), await b.version(), await b.countRows()]; });
  await tryit("checkout b1 v2", async () => { const b = await br.checkout("b1", 2); return [b.currentBranch(), await b.version(), await b.countRows(), await b.add([{id: 99}]).then(()=>"added", e => "ERR "+e.message.slice(0,200))]; });
  await tryit("checkout b1 v1", async () => { const b = await br.checkout("b1", 1); return [await b.version(), await b.countRows()]; });
  await tryit("checkout b1 v9", async () => { const b = await br.checkout("b1", 9); return [await b.version()]; });
  await tryit("checkout unknown", () => br.checkout("zz"));
  await tryit("checkout main", async () => { const b = await br.checkout("main"); return [b.currentBranch(), await b.version()]; });
  await tryit("b1 handle checkout latest/version", async () => { const b = await br.checkout("b1"); await b.checkout(2); const r = [await b.version(), await b.countRows()]; await b.checkoutLatest(); r.push(await b.version(), b.currentBranch()); return r; });
  await tryit("b1 handle branches().list", async () => { const b = await br.checkout("b1"); return Object.keys(await (await b.branches()).list()); });
  await tryit("b1 handle create child", async () => { const b = await br.checkout("b1"); const c = await (await b.branches()).create("b5"); return [c.currentBranch(), await c.version(), await c.countRows()]; });
  await tryit("openTable branch", async () => { const b = await db.openTable("t", [], { branch: "b1" }); return [b.currentBranch(), await b.version(), await b.countRows()]; });
  await tryit("openTable branch+version", async () => { const b = await db.openTable("t", [], { branch: "b1", version: 2 }); return [b.currentBranch(), await b.version(), await b.countRows(), await b.add([{id:1}]).then(()=>"added", e=>"ERR "+e.message.slice(0,150))]; });
  await tryit("openTable unknown branch", () => db.openTable("t", [], { branch: "nope" }));
  await tryit("openTable main branch", async () => { const b = await db.openTable("t", [], { branch: "main" }); return [b.currentBranch(), await b.version()]; });
  await tryit("tags on b1", async () => { const b = await br.checkout("b1"); await (await b.tags()).create("btag", 3); return await (await b.tags()).list(); });
  await tryit("restore on b1", async () => { const b = await br.checkout("b1"); await b.checkout(2); await b.restore(); return [await b.version(), await b.countRows(), (await b.listVersions()).map(v=>v.version)]; });
  await tryit("delete b3 (parent b1)", () => br.delete("b3"));
  await tryit("delete b1 (has children)", () => br.delete("b1"));
  await tryit("delete unknown", () => br.delete("nope"));
  await tryit("delete main", () => br.delete("main"));
  await tryit("delete b2 from b2 handle", async () => { const b = await br.checkout("b2"); await (await b.branches()).delete("b2"); return "ok"; });
  await tryit("list after", () => br.list());
  await tryit("recreate b2", async () => { const b = await br.create("b2"); return [await b.version(), await b.countRows(), (await b.listVersions()).map(v=>v.version)]; });
  // cleanup
  await tryit("optimize main cleanup", async () => { const s = await t.optimize({ cleanupOlderThan: new Date(Date.now() + 1000), deleteUnverified: true }); return s; });
  await tryit("b1 rows after", async () => { const b = await br.checkout("b1"); return (await b.query().toArray()).map(r => r.id).sort(); });
  await tryit("b2 rows after", async () => { const b = await br.checkout("b2"); return (await b.query().toArray()).map(r => r.id).sort(); });
  await tryit("main versions after", async () => (await t.listVersions()).map(v => v.version));
  await tryit("b1 optimize", async () => { const b = await br.checkout("b1"); return await b.optimize({ cleanupOlderThan: new Date(Date.now() + 1000), deleteUnverified: true }); });
  await tryit("main rows after", async () => (await t.query().toArray()).map(r => r.id).sort());
  await tryit("b4 rows", async () => { const b = await br.checkout("b4"); return (await b.query().toArray()).map(r => r.id).sort(); });
  console.log(require("child_process").execSync(`find ${dir} | sort | head -80`).toString());
})();
