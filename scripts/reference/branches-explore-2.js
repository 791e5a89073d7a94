// Second part of branches-explore.js: BranchContents fields, openTable({ branch, version }),
// handles on deleted branches. PKG=./dist/index.js runs it on Stowage.
const lancedb = require(process.env.PKG ? require("path").resolve(process.env.PKG) : "@lancedb/lancedb");
const fs = require("fs"); const os = require("os"); const path = require("path");
async function tryit(label, f) { try { const r = await f(); console.log(label, "=>", JSON.stringify(r)); return r; } catch (e) { console.log(label, "ERR", e.code, String(e.message).slice(0, 200)); } }
(async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "refbr-"));
  const db = await lancedb.connect(dir);
  const t = await db.createTable("t", [{ id: 1 }, { id: 2 }]);
  await t.add([{ id: 3 }]);
  const br = await t.branches();
  const b1 = await br.create("b1");
  await b1.add([{ id: 10 }]);
  const b2 = await br.create("b2", "b1", 2);
  await tryit("list", async () => { const l = await br.list(); return Object.fromEntries(Object.entries(l).map(([k, v]) => [k, { pb: v.parentBranch, pv: v.parentVersion, ms: v.manifestSize, keys: Object.keys(v), proto: Object.getOwnPropertyNames(Object.getPrototypeOf(v)), ctor: v.constructor.name }])); });
  await tryit("b1 child", async () => { const c = await (await b1.branches()).create("b5"); return [(await c.query().toArray()).map(r=>r.id)]; });
  await tryit("list b5", async () => { const l = await br.list(); return { pb: l.b5.parentBranch, pv: l.b5.parentVersion }; });
  await tryit("openTable branch", async () => { const b = await db.openTable("t", [], { branch: "b1" }); return [b.currentBranch(), await b.version(), (await b.query().toArray()).map(r=>r.id)]; });
  await tryit("openTable branch+version", async () => { const b = await db.openTable("t", [], { branch: "b1", version: 2 }); return [b.currentBranch(), await b.version(), await b.countRows(), await b.add([{id:1}]).then(()=>"added", e=>"ERR "+e.message.slice(0,150)), await b.checkoutLatest().then(async ()=>[await b.version(), b.currentBranch()])]; });
  await tryit("openTable unknown branch", () => db.openTable("t", [], { branch: "nope" }));
  await tryit("openTable main branch", async () => { const b = await db.openTable("t", [], { branch: "main" }); return [b.currentBranch(), await b.version()]; });
  await tryit("openTable version only", async () => { const b = await db.openTable("t", [], { version: 1 }); return [b.currentBranch(), await b.version()]; });
  await tryit("checkout b1 v1", () => br.checkout("b1", 1));
  await tryit("create b1 from main again", () => br.create("b1"));
  await tryit("b1 versions", async () => (await b1.listVersions()).map(v=>[v.version]));
  await tryit("b1 ver ops", async () => { await b1.delete("id = 1"); await b1.update({ where: "id = 2", values: { id: 20 } }); await b1.optimize(); return [await b1.version(), (await b1.query().toArray()).map(r=>r.id)]; });
  await tryit("main rows", async () => [await t.version(), (await t.query().toArray()).map(r=>r.id)]);
  await tryit("b2 rows", async () => { const b = await br.checkout("b2"); return [await b.version(), (await b.query().toArray()).map(r=>r.id)]; });
  await tryit("delete b1 while b2 forked from it", () => br.delete("b1"));
  await tryit("delete b2", () => br.delete("b2"));
  await tryit("b2 handle after delete", async () => { return await b2.add([{id: 77}]).then(async () => ["added", await b2.version()]); });
  await tryit("b2 handle read after delete", async () => { return await b2.countRows(); });
  await tryit("checkout b2 after", () => br.checkout("b2"));
  await tryit("list", async () => Object.keys(await br.list()));
  await tryit("create 'main'", () => br.create("main"));
  await tryit("create long", () => br.create("x".repeat(200)));
  await tryit("checkout name with ..", () => br.checkout("a..b"));
})();
