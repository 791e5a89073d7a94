// Issue 9: corruption under concurrent cleanup and stale handles, checked with separate processes.
//
// A. optimize({ cleanupOlderThan: now }) racing writers: four processes each loop add, add, delete,
//    optimize; afterwards the table reads, searches, counts, deletes and optimizes, with every
//    acknowledged row present once (local, s3 on moto, s3+ddb on moto).
// B. A handle opened before its table was dropped (and maybe created again) never writes into the
//    table that took the name: TABLE_NOT_FOUND (local, s3, s3+ddb).
// Readers on the latest version (readConsistencyInterval 0) while another process adds and cleans up
// every round read only acknowledged, intact rows, never fewer than were acknowledged before the
// read began, and fail with nothing but the documented VERSION_NOT_FOUND.
// Cleanup keeps unreferenced files (in-flight commits, temp files of SIGKILLed local writers) for
// 7 days unless deleteUnverified; listVersions() on 3,000 versions; the local `_latest` hint when
// it is missing, stale or garbage.
// STRESS=1 runs more rounds.
import { ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as lancedb from "../lib";
import { childEnv, s3Options, uniq } from "./helpers/cloud";
import { ddbCreateTable } from "./helpers/ddb";
import { s3CreateBucket, useEmulators } from "./helpers/emulators";
import type { Endpoints } from "./helpers/emulators";
import { tempDir } from "./helpers/tmp";

const STRESS = process.env.STRESS === "1";
const CLEANER = path.join(__dirname, "fixtures", "cleaner.js");
const HANDLE = path.join(__dirname, "fixtures", "handle.js");
const DROPPED = /was dropped \(or dropped and created again\) after this handle opened it/;

let emu: Endpoints;
let stopEmu: () => Promise<void> = async () => undefined;
const cleanups: (() => void)[] = [];
beforeAll(async () => {
  const e = await useEmulators(["s3"]);
  emu = e.endpoints;
  stopEmu = e.stop;
}, 120000);
afterAll(async () => {
  for (const c of cleanups) c();
  await stopEmu();
});

interface Backend {
  name: string;
  /** rounds per churning process in test A */
  rounds: number;
  setup: () => Promise<{ uri: string; options: Record<string, unknown> }>;
}

function localDb(): string {
  const t = tempDir("stowage-hardening-");
  cleanups.push(t.cleanup);
  return t.dir;
}

const backends: Backend[] = [
  { name: "local", rounds: STRESS ? 25 : 5, setup: async () => ({ uri: localDb(), options: {} }) },
  {
    name: "s3",
    rounds: STRESS ? 10 : 2,
    setup: async () => {
      const b = uniq("hard").toLowerCase();
      await s3CreateBucket(emu.s3!, b);
      return { uri: `s3://${b}/db`, options: s3Options(emu.s3!) };
    },
  },
  {
    name: "s3+ddb",
    rounds: STRESS ? 10 : 2,
    setup: async () => {
      const b = uniq("hardd").toLowerCase();
      const t = uniq("commits");
      await s3CreateBucket(emu.s3!, b);
      await ddbCreateTable(emu.s3!, t);
      return { uri: `s3+ddb://${b}/db?ddbTableName=${t}`, options: s3Options(emu.s3!) };
    },
  },
];

const connect = (uri: string, options: Record<string, unknown>) => lancedb.connect(uri, { storageOptions: options as never });

/** A row as fixtures/cleaner.js writes it. */
const row = (id: number) => ({ id, val: id * 3 + 1, vector: [(id % 7) / 7, 0.5] });

// ---- child processes ----------------------------------------------------------------------------

interface Line {
  /** when this process read the line (Date.now()) */
  at: number;
  text: string;
}

interface Proc {
  child: ChildProcess;
  lines: Line[];
  stderr: () => string;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** resolves with the first line (old or new) that `pred` accepts, or undefined if the process ended */
  waitFor: (pred: (l: string) => boolean) => Promise<string | undefined>;
  /** resolves with line `i` (from 0), or undefined if the process ended before printing it */
  nth: (i: number) => Promise<string | undefined>;
}

function run(script: string, args: string[], timeoutMs = 120_000): Proc {
  const child = spawn(process.execPath, [script, ...args], { env: childEnv({}), stdio: ["pipe", "pipe", "pipe"] });
  const lines: Line[] = [];
  const waiters: { pred: (l: string) => boolean; resolve: (l: string | undefined) => void }[] = [];
  let buf = "";
  let stderr = "";
  let ended = false;
  child.stdout!.on("data", (d: Buffer) => {
    buf += d.toString();
    let nl: number;
    while ((nl = buf.indexOf("\n")) >= 0) {
      const text = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      lines.push({ at: Date.now(), text });
      for (let i = waiters.length - 1; i >= 0; i--) {
        if (waiters[i].pred(text)) {
          waiters[i].resolve(text);
          waiters.splice(i, 1);
        }
      }
    }
  });
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => {
    stderr += `\n[test] ${path.basename(script)} ${args[0]} did not finish within ${timeoutMs} ms; killed`;
    child.kill("SIGKILL");
  }, timeoutMs);
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      ended = true;
      for (const w of waiters.splice(0)) w.resolve(undefined);
      resolve({ code, signal });
    });
  });
  return {
    child,
    lines,
    stderr: () => stderr,
    done,
    waitFor: (pred) =>
      new Promise((resolve) => {
        const old = lines.find((l) => pred(l.text));
        if (old || ended) resolve(old?.text);
        else waiters.push({ pred, resolve });
      }),
    nth: (i) =>
      new Promise((resolve) => {
        if (lines.length > i || ended) resolve(lines[i]?.text);
        else waiters.push({ pred: () => lines.length > i, resolve: () => resolve(lines[i]?.text) });
      }),
  };
}

/** The numbers of `<word> <n>` lines. */
function numbers(p: Proc, word: string): number[] {
  const re = new RegExp(`^${word} (-?\\d+)$`);
  return p.lines.map((l) => re.exec(l.text)).filter((m): m is RegExpExecArray => m !== null).map((m) => Number(m[1]));
}

function errorLines(p: Proc): Record<string, unknown>[] {
  return p.lines.filter((l) => l.text.startsWith("error ")).map((l) => JSON.parse(l.text.slice(6)));
}

type Reply = { ok: true; value: unknown } | { ok: false; error: { code?: string; message: string } };

/** A table handle in another process (fixtures/handle.js), one command at a time. */
class RemoteHandle {
  /** index of the next reply line (line 0 is the "opened" line) */
  private next = 1;
  private constructor(
    private readonly p: Proc,
    readonly opened: number,
  ) {}

  static async open(uri: string, options: Record<string, unknown>, table: string, rci: number | "none" = "none"): Promise<RemoteHandle> {
    const p = run(HANDLE, [uri, JSON.stringify(options), table, String(rci)]);
    cleanups.push(() => p.child.kill("SIGKILL"));
    const first = await p.nth(0);
    const msg = first === undefined ? undefined : JSON.parse(first);
    if (!msg || msg.opened === undefined) throw new Error(`handle did not open: ${first} ${p.stderr()}`);
    return new RemoteHandle(p, msg.opened);
  }

  async call(cmd: Record<string, unknown>): Promise<Reply> {
    const i = this.next++;
    this.p.child.stdin!.write(`${JSON.stringify(cmd)}\n`);
    const line = await this.p.nth(i);
    if (line === undefined) throw new Error(`handle ended: ${this.p.stderr()}`);
    return JSON.parse(line);
  }

  async close(): Promise<void> {
    this.p.child.stdin!.end();
    this.p.child.kill("SIGKILL");
    await this.p.done;
  }
}

// ---- A: cleanup racing writers -----------------------------------------------------------------

interface Churned {
  /** ids whose add was acknowledged (real ones >= 0, junk ones < -1) */
  acked: number[];
  /** ids some add tried to write */
  tried: number[];
  /** junk ids whose delete was acknowledged */
  deleted: number[];
}

/**
 * Everything the issue found broken, on a fresh connection: scan, search, counts, delete, optimize;
 * every acknowledged row there once, no row that no add wrote, no junk row whose delete was
 * acknowledged.
 */
async function checkChurned(uri: string, options: Record<string, unknown>, name: string, c: Churned): Promise<void> {
  const db = await connect(uri, options);
  const t = await db.openTable(name);
  const rows = await t.query().select(["id", "val"]).toArray();
  const ids = rows.map((r) => Number(r.id));
  const counts = new Map<number, number>();
  for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
  const tried = new Set([...c.tried, -1]);
  const deleted = new Set(c.deleted);
  expect({
    wrongVal: rows.filter((r) => Number(r.val) !== Number(r.id) * 3 + 1).map((r) => Number(r.id)),
    twice: [...counts].filter(([, n]) => n > 1).map(([id]) => id),
    ackedButMissing: [...c.acked.filter((id) => id >= 0 && !deleted.has(id)), -1].filter((id) => !counts.has(id)),
    unknown: ids.filter((id) => !tried.has(id)),
    deletedButPresent: ids.filter((id) => deleted.has(id)),
  }).toEqual({ wrongVal: [], twice: [], ackedButMissing: [], unknown: [], deletedButPresent: [] });
  const real = ids.filter((id) => id >= 0).sort((a, b) => a - b);
  expect(await t.countRows()).toBe(ids.length);
  expect(await t.countRows("id >= 0")).toBe(real.length);
  const found = await t.vectorSearch([0.5, 0.5]).limit(1_000_000).select(["id"]).toArray();
  expect(found.length).toBe(ids.length);
  const versions = (await t.listVersions()).map((v) => v.version);
  expect(versions[versions.length - 1]).toBe(await t.version());
  await t.delete("id < 0");
  expect(await t.countRows()).toBe(real.length);
  await t.optimize({ cleanupOlderThan: new Date(), deleteUnverified: true });
  expect((await t.listVersions()).length).toBe(1);
  const after = await (await connect(uri, options)).openTable(name);
  expect(await idsOf(after)).toEqual(real);
}

describe.each(backends)("$name: optimize({ cleanupOlderThan: now }) racing writers (issue 9 A)", (b) => {
  const WORKERS = 4;
  test(
    `${WORKERS} processes x ${b.rounds} rounds of add, add, delete, optimize: the table stays whole, every step succeeds`,
    async () => {
      const { uri, options } = await b.setup();
      const db = await connect(uri, options);
      await db.createTable("t", [row(-1)]);
      const started = Date.now();
      const procs = Array.from({ length: WORKERS }, (_, w) => run(CLEANER, ["churn", uri, JSON.stringify(options), "t", String(w), String(b.rounds)], 240_000));
      const exits = await Promise.all(procs.map((p) => p.done));
      const churned: Churned = {
        acked: procs.flatMap((p) => numbers(p, "ack")),
        tried: procs.flatMap((p) => numbers(p, "try")),
        deleted: procs.flatMap((p) => numbers(p, "deleted")),
      };
      // first what the issue is about: the table the workers leave is whole...
      await checkChurned(uri, options, "t", churned);
      // ...no version number was acknowledged to two commits (one of them would be lost)...
      const committedBy = new Map<number, number[]>();
      for (const [w, p] of procs.entries()) for (const v of numbers(p, "committed")) committedBy.set(v, [...(committedBy.get(v) ?? []), w]);
      expect({ versionsAckedTwice: [...committedBy].filter(([, ws]) => ws.length > 1) }).toEqual({ versionsAckedTwice: [] });
      // ...then that no step failed on the way (a step that fails leaves the table whole, but the
      // user's delete or optimize still failed)
      for (const [w, p] of procs.entries()) {
        expect({ worker: w, errors: errorLines(p), stderr: p.stderr().trim(), exit: exits[w].code }).toEqual({ worker: w, errors: [], stderr: "", exit: 0 });
        expect({ worker: w, optimized: p.lines.filter((l) => l.text === "optimized").length }).toEqual({ worker: w, optimized: b.rounds });
      }
      expect(churned.acked.length).toBe(WORKERS * b.rounds * 3);
      expect(committedBy.size).toBe(WORKERS * b.rounds * 3);
      expect(churned.deleted.length).toBe(WORKERS * b.rounds);
      // eslint-disable-next-line no-console
      console.log(`${b.name}: ${WORKERS} x ${b.rounds} churn rounds (${churned.acked.length} rows, ${WORKERS * b.rounds} cleanups) in ${Date.now() - started} ms`);
    },
    300_000,
  );
});

// ---- B: stale handles of dropped tables ----------------------------------------------------------

const notFound = { ok: false, error: { code: "TABLE_NOT_FOUND", message: expect.stringMatching(DROPPED) } };

async function idsOf(t: lancedb.Table): Promise<number[]> {
  return (await t.query().select(["id"]).toArray()).map((r) => Number(r.id)).sort((x, y) => x - y);
}

async function history(t: lancedb.Table): Promise<[number, string][]> {
  return (await t.listVersions()).map((v) => [v.version, v.metadata.operation]);
}

describe.each(backends)("$name: a handle opened before its table was dropped (issue 9 B)", (b) => {
  test("dropped and created again: every write of the stale handle is TABLE_NOT_FOUND, the new table untouched", async () => {
    const { uri, options } = await b.setup();
    const a = await connect(uri, options);
    await a.createTable("t", [{ id: 1 }]);
    const stale = await RemoteHandle.open(uri, options, "t");
    expect(stale.opened).toBe(1);
    await a.dropTable("t");
    await a.createTable("t", [{ id: 100 }, { id: 101 }]);
    const replies = {
      add: await stale.call({ op: "add", rows: [{ id: 2 }] }),
      delete: await stale.call({ op: "delete", predicate: "id = 100" }),
      update: await stale.call({ op: "update", where: "id = 101", values: { id: 5 } }),
      optimize: await stale.call({ op: "optimize" }),
    };
    expect(replies).toEqual({ add: notFound, delete: notFound, update: notFound, optimize: notFound });
    await stale.close();
    const t = await (await connect(uri, options)).openTable("t");
    expect({ version: await t.version(), history: await history(t), ids: await idsOf(t) }).toEqual({
      version: 1,
      history: [[1, "create"]],
      ids: [100, 101],
    });
    expect((await t.add([{ id: 102 }])).version).toBe(2);
    expect(await idsOf(await (await connect(uri, options)).openTable("t"))).toEqual([100, 101, 102]);
  });

  test("created again and already ahead of the stale handle: its append is TABLE_NOT_FOUND", async () => {
    const { uri, options } = await b.setup();
    const a = await connect(uri, options);
    const old = await a.createTable("t", [{ id: 1 }]);
    await old.add([{ id: 2 }]);
    const stale = await RemoteHandle.open(uri, options, "t");
    expect(stale.opened).toBe(2);
    await a.dropTable("t");
    const fresh = await a.createTable("t", [{ id: 100 }]);
    await fresh.add([{ id: 101 }]);
    await fresh.add([{ id: 102 }]);
    expect(await stale.call({ op: "add", rows: [{ id: 3 }] })).toEqual(notFound);
    await stale.close();
    const t = await (await connect(uri, options)).openTable("t");
    expect({ history: await history(t), ids: await idsOf(t) }).toEqual({
      history: [
        [1, "create"],
        [2, "append"],
        [3, "append"],
      ],
      ids: [100, 101, 102],
    });
  });

  test("dropped, not created again: the stale append is TABLE_NOT_FOUND and brings no table back", async () => {
    const { uri, options } = await b.setup();
    const a = await connect(uri, options);
    await a.createTable("t", [{ id: 1 }]);
    const stale = await RemoteHandle.open(uri, options, "t");
    await a.dropTable("t");
    expect(await stale.call({ op: "add", rows: [{ id: 2 }] })).toEqual(notFound);
    await stale.close();
    const c = await connect(uri, options);
    await expect(c.openTable("t")).rejects.toMatchObject({ code: "TABLE_NOT_FOUND" });
    expect(await c.tableNames()).toEqual([]);
    // and the name is free for a new table
    const t = await c.createTable("t", [{ id: 7 }]);
    expect({ version: await t.version(), ids: await idsOf(t) }).toEqual({ version: 1, ids: [7] });
  });

  test("reads that refresh (readConsistencyInterval 0) are TABLE_NOT_FOUND after a drop and re-create", async () => {
    const { uri, options } = await b.setup();
    const a = await connect(uri, options);
    await a.createTable("t", [{ id: 1 }]);
    const stale = await RemoteHandle.open(uri, options, "t", 0);
    await a.dropTable("t");
    const fresh = await a.createTable("t", [{ id: 100 }, { id: 101 }]);
    // the new table at the stale handle's version number, then past it
    const same = { count: await stale.call({ op: "count" }), ids: await stale.call({ op: "ids" }), version: await stale.call({ op: "version" }) };
    await fresh.add([{ id: 102 }]);
    const ahead = { count: await stale.call({ op: "count" }), ids: await stale.call({ op: "ids" }), version: await stale.call({ op: "version" }) };
    await stale.close();
    const all = { count: notFound, ids: notFound, version: notFound };
    // At the same version number a refresh (one listing, version numbers
    // only) cannot tell the tables apart: what the manifest it holds answers
    // (count, version) is the dropped table's, as for a handle that never
    // refreshes; anything that reads data finds the table gone. Documented in
    // docs/FORMAT.md ("Dropping a table"). Writes are refused either way.
    const stillHeld = { count: { ok: true, value: 1 }, ids: notFound, version: { ok: true, value: 1 } };
    expect({ same, ahead }).toEqual({ same: stillHeld, ahead: all });
  });

  test("reads that refresh (readConsistencyInterval 0) are TABLE_NOT_FOUND after a drop", async () => {
    const { uri, options } = await b.setup();
    const a = await connect(uri, options);
    await a.createTable("t", [{ id: 1 }]);
    const stale = await RemoteHandle.open(uri, options, "t", 0);
    await a.dropTable("t");
    const replies = { count: await stale.call({ op: "count" }), ids: await stale.call({ op: "ids" }), version: await stale.call({ op: "version" }) };
    await stale.close();
    expect(replies).toEqual({ count: notFound, ids: notFound, version: notFound });
  });
});

// ---- readers during cleanup ------------------------------------------------------------------------

interface Read {
  k: "scan" | "count" | "fcount" | "search";
  /** start and end (Date.now() in the reader) */
  s: number;
  e: number;
  ids?: number[];
  n?: number;
  bad: string[];
}

describe.each(backends.slice(0, 2))("$name: readers on the latest version while another process cleans up every round", (b) => {
  const ROUNDS = b.name === "local" ? (STRESS ? 150 : 30) : STRESS ? 40 : 8;
  const READERS = 2;
  test(`${READERS} reader processes, 1 process x ${ROUNDS} rounds of add + optimize({ cleanupOlderThan: now })`, async () => {
    const { uri, options } = await b.setup();
    const db = await connect(uri, options);
    await db.createTable("t", [row(-1)]);
    const readers = Array.from({ length: READERS }, (_, r) => run(CLEANER, ["read", uri, JSON.stringify(options), "t", String(r), "0"], 240_000));
    // both readers are reading before the writer starts
    await Promise.all(readers.map((r) => r.waitFor((l) => l.startsWith("read "))));
    const writer = run(CLEANER, ["addopt", uri, JSON.stringify(options), "t", "0", String(ROUNDS)], 240_000);
    const writing = { from: Date.now(), to: 0 };
    const wexit = await writer.done;
    writing.to = Date.now();
    for (const r of readers) r.child.stdin!.end();
    const rexits = await Promise.all(readers.map((r) => r.done));

    expect({ errors: errorLines(writer), stderr: writer.stderr().trim(), exit: wexit.code }).toEqual({ errors: [], stderr: "", exit: 0 });
    const acks = writer.lines.filter((l) => l.text.startsWith("ack ")).map((l) => ({ at: l.at, id: Number(l.text.slice(4)) }));
    expect(acks.length).toBe(ROUNDS);
    const tried = new Set(numbers(writer, "try"));
    let overlapping = 0;
    let retryable = 0;
    for (const [i, r] of readers.entries()) {
      expect({ reader: i, stderr: r.stderr().trim(), exit: rexits[i].code }).toEqual({ reader: i, stderr: "", exit: 0 });
      const errors = errorLines(r);
      retryable += errors.length;
      expect({ reader: i, errors: errors.filter((e) => e.code !== "VERSION_NOT_FOUND") }).toEqual({ reader: i, errors: [] });
      for (const e of errors) expect(e.message).toMatch(/removed by a cleanup/);
      const reads: Read[] = r.lines.filter((l) => l.text.startsWith("read ")).map((l) => JSON.parse(l.text.slice(5)));
      for (const rd of reads) {
        // acknowledged before this read began (as seen here, so no later than the writer saw it)
        const before = acks.filter((a) => a.at < rd.s).map((a) => a.id);
        const what = { reader: i, read: rd.k, start: rd.s };
        expect({ ...what, bad: rd.bad }).toEqual({ ...what, bad: [] });
        if (rd.ids) {
          const got = new Set(rd.ids);
          expect({ ...what, missing: before.filter((id) => !got.has(id)), unknown: rd.ids.filter((id) => !tried.has(id)) }).toEqual({
            ...what,
            missing: [],
            unknown: [],
          });
        } else {
          // count includes the seed row; fcount ("id >= 0") does not
          const seed = rd.k === "count" ? 1 : 0;
          expect({ ...what, atLeast: rd.n! >= before.length + seed, atMost: rd.n! <= tried.size + seed }).toEqual({ ...what, atLeast: true, atMost: true });
        }
        if (rd.s < writing.to && rd.e > writing.from) overlapping++;
      }
    }
    expect(overlapping).toBeGreaterThan(ROUNDS / 2);
    // eslint-disable-next-line no-console
    console.log(`${b.name}: ${overlapping} reads during ${ROUNDS} add+cleanup rounds, ${retryable} VERSION_NOT_FOUND`);
    const t = await (await connect(uri, options)).openTable("t");
    expect((await idsOf(t)).filter((id) => id >= 0)).toEqual(acks.map((a) => a.id).sort((x, y) => x - y));
  }, 300_000);
});

// ---- unverified files: in-flight commits and temp files of crashed local writers ------------------

/** Every file (data and deletion) any manifest of the local table names. */
function namedFiles(tableDir: string): Set<string> {
  const out = new Set<string>();
  const vdir = path.join(tableDir, "_versions");
  for (const f of fs.readdirSync(vdir).filter((n) => /^\d{20}\.manifest$/.test(n))) {
    const m = JSON.parse(fs.readFileSync(path.join(vdir, f), "utf8")) as { fragments: { path: string; deletion?: { path: string } }[] };
    for (const fr of m.fragments) {
      out.add(fr.path);
      if (fr.deletion) out.add(fr.deletion.path);
    }
  }
  return out;
}

function dataFiles(tableDir: string): string[] {
  return fs.readdirSync(path.join(tableDir, "data")).map((n) => `data/${n}`).sort();
}

const DAY = 24 * 3600 * 1000;

function backdate(file: string, ms: number): void {
  const t = new Date(Date.now() - ms);
  fs.utimesSync(file, t, t);
}

describe("local: files no version names", () => {
  test("a file written for a commit still in flight survives optimize({ cleanupOlderThan: now })", async () => {
    const dir = localDb();
    const db = await lancedb.connect(dir);
    const t = await db.createTable("t", [row(1), row(2)]);
    await t.add([row(3)]);
    await t.delete("id = 2");
    const tdir = path.join(dir, "t.stowage");
    const committed = [...namedFiles(tdir)];
    // what a writer in another process has written and not committed yet: a data file a minute old
    const inflight = `data/${randomUUID()}.parquet`;
    fs.copyFileSync(path.join(tdir, committed.find((f) => f.startsWith("data/"))!), path.join(tdir, inflight));
    backdate(path.join(tdir, inflight), 60_000);
    await new Promise((r) => setTimeout(r, 20));
    await t.optimize({ cleanupOlderThan: new Date() });
    expect(dataFiles(tdir)).toContain(inflight);
    // the rest of cleanup still happened: one version left, and every other file is one it names
    expect((await t.listVersions()).length).toBe(1);
    const named = namedFiles(tdir);
    expect(dataFiles(tdir).filter((f) => f !== inflight && !named.has(f))).toEqual([]);
    expect(fs.readdirSync(path.join(tdir, "_deletions")).filter((f) => !named.has(`_deletions/${f}`))).toEqual([]);
    expect(await idsOf(t)).toEqual([1, 3]);
    // a week and a day later nobody will commit it
    backdate(path.join(tdir, inflight), 8 * DAY);
    await t.optimize({ cleanupOlderThan: new Date() });
    expect(dataFiles(tdir)).not.toContain(inflight);
    expect(await idsOf(await (await lancedb.connect(dir)).openTable("t"))).toEqual([1, 3]);
  });

  test("a SIGKILLed writer's temporary file (data/<uuid>.parquet#N) is kept for 7 days, or removed with deleteUnverified", async () => {
    const dir = localDb();
    const tdir = path.join(dir, "big.stowage");
    const isTemp = (n: string) => /^[0-9a-f-]{36}\.parquet#\d+$/.test(n);
    let temp: string | undefined;
    for (let trial = 0; trial < 3 && !temp; trial++) {
      fs.rmSync(tdir, { recursive: true, force: true });
      const w = run(CLEANER, ["bigadd", dir, "{}", "big", "0", "256"]);
      expect(await w.waitFor((l) => l === "writing")).toBe("writing");
      // strike while the 20 MB file is being written, before it is renamed into place
      const until = Date.now() + 30_000;
      while (!temp && Date.now() < until && w.child.exitCode === null) {
        temp = fs.readdirSync(path.join(tdir, "data")).find(isTemp);
        if (!temp) await new Promise((r) => setTimeout(r, 2));
      }
      w.child.kill("SIGKILL");
      await w.done;
      if (temp && !fs.existsSync(path.join(tdir, "data", temp))) temp = undefined;
    }
    expect(temp).toBeDefined();
    const tempRel = `data/${temp}`;
    const db = await lancedb.connect(dir);
    const t = await db.openTable("big");
    expect({ version: await t.version(), rows: await t.countRows() }).toEqual({ version: 1, rows: 1 });

    // fresh: an unverified file, kept
    await t.optimize({ cleanupOlderThan: new Date() });
    expect(dataFiles(tdir)).toContain(tempRel);
    // older than 7 days: removed without deleteUnverified, a temp file as well as a whole one
    const oldTemp = `data/${randomUUID()}.parquet#3`;
    const oldWhole = `data/${randomUUID()}.parquet`;
    for (const f of [oldTemp, oldWhole]) {
      fs.copyFileSync(path.join(tdir, tempRel), path.join(tdir, f));
      backdate(path.join(tdir, f), 8 * DAY);
    }
    await t.optimize({ cleanupOlderThan: new Date() });
    expect(dataFiles(tdir).filter((f) => f === oldTemp || f === oldWhole || f === tempRel)).toEqual([tempRel]);
    // deleteUnverified: the caller knows no writer is active
    await t.optimize({ cleanupOlderThan: new Date(), deleteUnverified: true });
    const named = namedFiles(tdir);
    expect({ files: dataFiles(tdir), rows: await t.countRows() }).toEqual({ files: [...named].filter((f) => f.startsWith("data/")).sort(), rows: 1 });
    expect(await (await (await lancedb.connect(dir)).openTable("big")).countRows()).toBe(1);
  }, 120_000);
});

// ---- listVersions on many versions; the local latest-version hint ----------------------------------

describe("local: many versions, and finding the latest one in _versions/", () => {
  test("listVersions() on 3,000 versions returns each once, in order, with its operation", async () => {
    const dir = localDb();
    const db = await lancedb.connect(dir);
    // long column names make every schema longer than the 2 KiB listVersions reads of a manifest
    const cols = Array.from({ length: 24 }, (_, i) => `a_rather_long_column_name_so_the_schema_is_wide_${i}`);
    const mk = (id: number) => Object.fromEntries([["id", id], ...cols.map((c) => [c, id])]);
    const t = await db.createTable("t", [mk(0)]);
    const want: string[] = ["create"];
    let next = 1;
    // overwrites keep every manifest short (at most 10 fragments)
    while (want.length < 3000) {
      const v = want.length + 1;
      if (v % 10 === 0) {
        await t.add([mk(next++)], { mode: "overwrite" });
        want.push("overwrite");
      } else if (v % 10 === 7) {
        await t.delete(`id = ${next - 1}`);
        want.push("delete");
      } else if (v % 10 === 8) {
        await t.update({ where: `id = ${next - 2}`, values: { [cols[0]]: -1 } });
        want.push("update");
      } else if (v === 2500) {
        await t.restore(2000);
        want.push("restore");
      } else {
        await t.add([mk(next++)]);
        want.push("append");
      }
    }
    const versions = await (await (await lancedb.connect(dir)).openTable("t")).listVersions();
    expect(versions.map((v) => v.version)).toEqual(Array.from({ length: 3000 }, (_, i) => i + 1));
    expect(versions.map((v) => v.metadata.operation)).toEqual(want);
    const times = versions.map((v) => v.timestamp.getTime());
    expect(times.filter((x, i) => i > 0 && x < times[i - 1])).toEqual([]);
    expect(await t.version()).toBe(3000);
  }, 120_000);

  describe("openTable() and version() find the true latest version whatever else _versions/ holds", () => {
    // The name version 99 would have (u64::MAX - 99, 20 digits).
    const v99 = (18446744073709551615n - 99n).toString().padStart(20, "0");
    const cases: [string, (versions: string) => void][] = [
      ["nothing else", () => undefined],
      ["a staged write of a higher version (`<name>#1`, not yet linked into place)", (d) => fs.writeFileSync(path.join(d, `${v99}.manifest#1`), "{}")],
      ["a file with another suffix", (d) => fs.writeFileSync(path.join(d, `${v99}.json`), "{}")],
      ["a name that is not 20 digits", (d) => fs.writeFileSync(path.join(d, "99.manifest"), "{}")],
      ["a directory", (d) => fs.mkdirSync(path.join(d, "subdir"))],
      ["a stray _latest file from an earlier Stowage", (d) => fs.writeFileSync(path.join(d, "..", "_latest"), "3")],
    ];
    test.each(cases)("%s", async (_what, spoil) => {
      const dir = localDb();
      const db = await lancedb.connect(dir);
      const t = await db.createTable("t", [{ id: 1 }]);
      await new Promise((r) => setTimeout(r, 5));
      for (let i = 2; i <= 5; i++) await t.add([{ id: i }]);
      // a cutoff just after version 1, so only it goes ("a version cleanup removed"); the
      // compaction commits version 6
      const v1 = (await t.listVersions())[0].timestamp;
      await t.optimize({ cleanupOlderThan: new Date(v1.getTime() + 1) });
      expect((await t.listVersions()).map((v) => [v.version, v.metadata.operation])).toEqual([
        [2, "append"],
        [3, "append"],
        [4, "append"],
        [5, "append"],
        [6, "compact"],
      ]);
      spoil(path.join(dir, "t.stowage", "_versions"));
      const reader = await (await lancedb.connect(dir)).openTable("t");
      expect({ version: await reader.version(), rows: await reader.countRows() }).toEqual({ version: 6, rows: 5 });
      // a writer that took a wrong latest would try to commit a version that exists already
      const writer = await (await lancedb.connect(dir)).openTable("t");
      expect((await writer.add([{ id: 6 }])).version).toBe(7);
      const again = await (await lancedb.connect(dir, { readConsistencyInterval: 0 })).openTable("t");
      expect({ version: await again.version(), ids: await idsOf(again) }).toEqual({ version: 7, ids: [1, 2, 3, 4, 5, 6] });
      expect((await again.listVersions()).map((v) => v.version)).toEqual([2, 3, 4, 5, 6, 7]);
    });
  });
});
