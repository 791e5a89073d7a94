// Writers killed with SIGKILL at random moments of their commits: afterwards the table opens at a
// consistent version (versions 1..N without a gap, countRows = the rows read), every acknowledged
// append is there exactly once, nothing is there twice, and a fresh writer can append.
// Writers are fixtures/appender.js processes (2 x 30 appends; 2 x 15 in CI); one or both are killed after a seeded
// random number of acks plus a random fraction of an append's duration. The seed is printed;
// SEED=<n> replays a run. STRESS=1 runs 20 trials per backend, CI 3.
//
// s3+ddb also gets a deterministic test of the recovery path: a writer that died between claiming a
// version in DynamoDB and publishing its manifest, whose commit the next reader (or writer) finishes.
import { randomUUID } from "crypto";
import * as lancedb from "../lib";
import { azureOptions, gcsOptions, s3Options, uniq } from "./helpers/cloud";
import { ddbCreateTable, ddbGetItem, ddbItems, ddbPutItem, manifestName } from "./helpers/ddb";
import { azureCreateContainer, gcsCreateBucket, s3CreateBucket, s3ListObjects, s3Request, useEmulators } from "./helpers/emulators";
import type { Endpoints, S3Endpoint } from "./helpers/emulators";
import { mulberry32, randInt, seedFromEnv } from "./helpers/prng";
import type { Rng } from "./helpers/prng";
import { tempDir } from "./helpers/tmp";
import { checkTable, startWriter, writerId } from "./helpers/writers";
import type { Writer } from "./helpers/writers";

const STRESS = process.env.STRESS === "1";
const TRIALS = STRESS ? 20 : 3;
const WRITERS = 2;
const APPENDS = STRESS ? 30 : 15;
const FRESH_WORKER = 7;
const FRESH_APPENDS = 2;
const SEED = seedFromEnv();

let emu: Endpoints;
let stopEmu: () => Promise<void> = async () => undefined;
const cleanups: (() => void)[] = [];
beforeAll(async () => {
  const e = await useEmulators(["s3", "gcs", "azure"]);
  emu = e.endpoints;
  stopEmu = e.stop;
  // eslint-disable-next-line no-console
  console.log(`crash suite: SEED=${SEED} (replay with SEED=${SEED}), ${TRIALS} trials per backend, ${WRITERS} writers x ${APPENDS} appends`);
}, 120000);
afterAll(async () => {
  for (const c of cleanups) c();
  await stopEmu();
});

interface Backend {
  name: string;
  /** typical time of one append with two writers contending, before the first acks tell us */
  appendMs: number;
  /** ddbTable: the DynamoDB commit table (s3+ddb), bucket: for its base_uri */
  setup: () => Promise<{ uri: string; options: Record<string, unknown>; ddbTable?: string; bucket?: string }>;
}

const backends: Backend[] = [
  {
    name: "local",
    appendMs: 10,
    setup: async () => {
      const t = tempDir("stowage-crash-");
      cleanups.push(t.cleanup);
      return { uri: t.dir, options: {} };
    },
  },
  {
    name: "s3",
    appendMs: 40,
    setup: async () => {
      const b = uniq("crash").toLowerCase();
      await s3CreateBucket(emu.s3!, b);
      return { uri: `s3://${b}/db`, options: s3Options(emu.s3!) };
    },
  },
  {
    name: "s3+ddb",
    appendMs: 60,
    setup: async () => {
      const b = uniq("crashd").toLowerCase();
      const t = uniq("commits");
      await s3CreateBucket(emu.s3!, b);
      await ddbCreateTable(emu.s3!, t);
      return { uri: `s3+ddb://${b}/db?ddbTableName=${t}`, options: s3Options(emu.s3!), ddbTable: t, bucket: b };
    },
  },
  {
    name: "gcs",
    appendMs: 40,
    setup: async () => {
      const b = uniq("crashg").toLowerCase();
      await gcsCreateBucket(emu.gcs!, b);
      return { uri: `gs://${b}/db`, options: gcsOptions(emu.gcs!) };
    },
  },
  {
    name: "azure",
    appendMs: 40,
    setup: async () => {
      const c = uniq("crasha").toLowerCase();
      await azureCreateContainer(emu.azure!, c);
      return { uri: `az://${c}/db`, options: azureOptions(emu.azure!) };
    },
  },
];

function hash(s: string): number {
  let h = 2166136261;
  for (const ch of s) h = Math.imul(h ^ ch.charCodeAt(0), 16777619);
  return h >>> 0;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface KillPlan {
  worker: number;
  /** kill once this many of the victim's appends were acknowledged (0: count from the spawn) */
  afterAcks: number;
  /** then wait this fraction of an append's duration (or of the start-up, for afterAcks 0) */
  frac: number;
}

function planTrial(rng: Rng): { mode: "one" | "all"; kills: KillPlan[] } {
  const mode = rng() < 0.5 ? "one" : "all";
  const victims = mode === "one" ? [randInt(rng, 0, WRITERS - 1)] : Array.from({ length: WRITERS }, (_, w) => w);
  return { mode, kills: victims.map((worker) => ({ worker, afterAcks: randInt(rng, 0, APPENDS - 1), frac: rng() })) };
}

async function executeKill(w: Writer, k: KillPlan, appendMs: number): Promise<void> {
  if (k.afterAcks === 0) {
    // somewhere in start-up, opening the table or the first commit
    await sleep(k.frac * 600);
  } else {
    await w.acks(k.afterAcks);
    const a = w.ackAt;
    const interval = a.length >= 2 ? (a[a.length - 1] - a[0]) / (a.length - 1) : appendMs;
    await sleep(k.frac * 1.5 * interval);
  }
  w.kill();
}

const possible = (id: number) => {
  const worker = Math.floor(id / 100000);
  const i = id % 100000;
  return (worker < WRITERS && i < APPENDS) || (worker === FRESH_WORKER && i < FRESH_APPENDS);
};

describe.each(backends)("$name: writers killed with SIGKILL mid-commit", (b) => {
  test(
    `${TRIALS} trials of ${WRITERS} writers x ${APPENDS} appends, one or all killed at random`,
    async () => {
      const seed = (SEED ^ hash(b.name)) >>> 0;
      const rng = mulberry32(seed);
      const { uri, options, ddbTable, bucket } = await b.setup();
      const started = Date.now();
      const summary: string[] = [];
      let totalAcked = 0;
      let halfDone = 0;
      for (let trial = 1; trial <= TRIALS; trial++) {
        const plan = planTrial(rng);
        const db = await lancedb.connect(uri, { storageOptions: options as never });
        const name = `t${trial}`;
        await db.createTable(name, [{ id: -1, worker: -1 }]);
        const writers = Array.from({ length: WRITERS }, (_, w) => startWriter(uri, options, name, w, APPENDS));
        await Promise.all(plan.kills.map((k) => executeKill(writers[k.worker], k, b.appendMs)));
        const exits = await Promise.all(writers.map((w) => w.done));
        const acked = writers.flatMap((w) => w.acked);
        const what = `trial ${trial} (seed ${seed}): ${plan.mode} killed, ${JSON.stringify(
          plan.kills.map((k, i) => ({ ...k, frac: Number(k.frac.toFixed(2)), killedAtMs: writers[plan.kills[i].worker].killedAt })),
        )}, acked ${writers.map((w) => w.acked.length).join("+")}`;
        // Writers that were not killed (or that finished before their kill) completed every append.
        for (const [i, w] of writers.entries()) {
          const killed = exits[i].signal === "SIGKILL";
          expect({ what, worker: w.worker, errors: w.errors, stderr: killed ? "" : w.stderr.trim() }).toEqual({
            what,
            worker: w.worker,
            errors: [],
            stderr: "",
          });
          if (!killed) expect({ what, worker: w.worker, acked: w.acked.length, exit: exits[i].code }).toEqual({ what, worker: w.worker, acked: APPENDS, exit: 0 });
        }

        // s3+ddb: did a kill land between claiming a version and publishing it? (the reader below
        // must then finish that commit)
        let incomplete: number[] = [];
        if (ddbTable) {
          incomplete = (await ddbItems(emu.s3!, ddbTable, `s3://${bucket}/db/${name}.stowage`)).filter((i) => !i.complete).map((i) => i.version);
          halfDone += incomplete.length;
        }

        // A fresh connection reads a consistent table with every acked row once.
        const reader = await lancedb.connect(uri, { storageOptions: options as never });
        let check;
        try {
          check = await checkTable(reader, name, acked, possible);
        } catch (e) {
          (e as Error).message = `${what}\n${(e as Error).message}`;
          throw e;
        }
        if (ddbTable) {
          const items = await ddbItems(emu.s3!, ddbTable, `s3://${bucket}/db/${name}.stowage`);
          expect({ what, versions: items.map((i) => i.version), incomplete: items.filter((i) => !i.complete).map((i) => i.version) }).toEqual({
            what,
            versions: check.versions,
            incomplete: [],
          });
        }
        // ...and a fresh writer can append after the crash.
        const fresh = await reader.openTable(name);
        for (let i = 0; i < FRESH_APPENDS; i++) await fresh.add([{ id: writerId(FRESH_WORKER, i), worker: FRESH_WORKER }]);
        const freshIds = Array.from({ length: FRESH_APPENDS }, (_, i) => writerId(FRESH_WORKER, i));
        const after = await checkTable(await lancedb.connect(uri, { storageOptions: options as never }), name, [...acked, ...freshIds], possible);
        expect(after.version).toBe(check.version + FRESH_APPENDS);
        totalAcked += acked.length;
        summary.push(`${what}, unacked present ${check.ids.length - acked.length}, v${check.version}${ddbTable ? `, claimed-unpublished versions finished by the reader: [${incomplete.join(",")}]` : ""}`);
      }
      // eslint-disable-next-line no-console
      console.log(
        `${b.name}: ${TRIALS} crash trials, ${totalAcked} acked appends, ${Date.now() - started} ms` +
          `${ddbTable ? `, ${halfDone} half-done DynamoDB commits finished by readers` : ""}\n  ${summary.join("\n  ")}`,
      );
    },
    STRESS ? 900_000 : 120_000,
  );
});

// ---- s3+ddb: a commit left half done by a dead writer is finished by whoever comes next -------------

describe("s3+ddb: a version claimed in DynamoDB but never published", () => {
  async function halfDone(s3: S3Endpoint): Promise<{
    uri: string;
    bucket: string;
    ddbTable: string;
    tableDir: string;
    baseUri: string;
    stagedKey: string;
    finalKey: string;
    options: Record<string, unknown>;
    earlier: lancedb.Table;
  }> {
    const bucket = uniq("half").toLowerCase();
    const ddbTable = uniq("commits");
    await s3CreateBucket(s3, bucket);
    await ddbCreateTable(s3, ddbTable);
    const uri = `s3+ddb://${bucket}/db?ddbTableName=${ddbTable}`;
    const options = s3Options(s3);
    const db = await lancedb.connect(uri, { storageOptions: options as never });
    const t = await db.createTable("t", [{ id: -1, worker: -1 }]);
    await t.add([{ id: 1, worker: 0 }]);
    await t.add([{ id: 2, worker: 0 }]);
    expect(await t.version()).toBe(3);
    const tableDir = "db/t.stowage";
    const baseUri = `s3://${bucket}/${tableDir}`;
    expect((await ddbItems(s3, ddbTable, baseUri)).map((i) => [i.version, i.complete])).toEqual([
      [1, true],
      [2, true],
      [3, true],
    ]);

    // What the dead writer had done: its data file (a copy of version 3's last one, the row id 2),
    // its staged manifest of version 4 (version 3's plus that file), and its claim in DynamoDB.
    const m3 = await s3Request(s3, "GET", bucket, `${tableDir}/_versions/${manifestName(3)}`);
    expect(m3.status).toBe(200);
    const manifest = JSON.parse(m3.text());
    expect(manifest.version).toBe(3);
    const last = manifest.fragments[manifest.fragments.length - 1];
    const data = await s3Request(s3, "GET", bucket, `${tableDir}/${last.path}`);
    expect(data.status).toBe(200);
    const newPath = `data/${randomUUID()}.parquet`;
    expect((await s3Request(s3, "PUT", bucket, `${tableDir}/${newPath}`, { body: data.body })).status).toBe(200);
    const m4 = {
      ...manifest,
      version: 4,
      timestamp_ms: Date.now(),
      operation: { type: "append", rows: last.rows },
      fragments: [...manifest.fragments, { id: manifest.next_fragment_id, path: newPath, rows: last.rows, size_bytes: last.size_bytes }],
      next_fragment_id: manifest.next_fragment_id + 1,
    };
    const stagedKey = `${tableDir}/_versions/_staging/${"4".padStart(20, "0")}-${randomUUID()}.manifest`;
    expect((await s3Request(s3, "PUT", bucket, stagedKey, { body: JSON.stringify(m4) })).status).toBe(200);
    await ddbPutItem(s3, ddbTable, baseUri, { version: 4, staged: stagedKey, complete: false });
    const finalKey = `${tableDir}/_versions/${manifestName(4)}`;
    expect(finalKey).toBe(`${tableDir}/_versions/18446744073709551611.manifest`);
    expect((await s3Request(s3, "HEAD", bucket, finalKey)).status).toBe(404);
    return { uri, bucket, ddbTable, tableDir, baseUri, stagedKey, finalKey, options, earlier: t };
  }

  test("the next reader publishes it: version 4 opens, its manifest is in place, the item is complete", async () => {
    const s3 = emu.s3!;
    const h = await halfDone(s3);
    const db = await lancedb.connect(h.uri, { storageOptions: h.options as never });
    const t = await db.openTable("t");
    expect(await t.version()).toBe(4);
    expect(await t.countRows()).toBe(4);
    expect((await t.query().select(["id"]).toArray()).map((r) => Number(r.id))).toEqual([-1, 1, 2, 2]);
    expect((await t.listVersions()).map((v) => v.version)).toEqual([1, 2, 3, 4]);

    const published = await s3Request(s3, "GET", h.bucket, h.finalKey);
    expect(published.status).toBe(200);
    expect(JSON.parse(published.text())).toMatchObject({ version: 4, operation: { type: "append" } });
    expect(await ddbGetItem(s3, h.ddbTable, h.baseUri, 4)).toEqual({ version: 4, staged: h.stagedKey, complete: true });
    // step 4 also removes the staged object
    const keys = await s3ListObjects(s3, h.bucket, `${h.tableDir}/_versions/`);
    expect(keys.filter((k) => k.includes("/_staging/"))).toEqual([]);
    expect(keys.filter((k) => /\/\d{20}\.manifest$/.test(k))).toHaveLength(4);

    // and the table goes on from there
    await t.add([{ id: 3, worker: 0 }]);
    expect(await t.version()).toBe(5);
    expect(await t.countRows()).toBe(5);
  });

  test("a writer that opened the table before the crash finishes it too, and commits after it", async () => {
    const s3 = emu.s3!;
    const h = await halfDone(s3);
    // h.earlier has version 3 checked out from before the claim; its append must land on 5, not
    // overwrite or skip the claimed 4.
    await h.earlier.add([{ id: 3, worker: 0 }]);
    expect(await h.earlier.version()).toBe(5);
    expect((await s3Request(s3, "HEAD", h.bucket, h.finalKey)).status).toBe(200);
    expect(await ddbGetItem(s3, h.ddbTable, h.baseUri, 4)).toEqual({ version: 4, staged: h.stagedKey, complete: true });
    const db = await lancedb.connect(h.uri, { storageOptions: h.options as never });
    const t = await db.openTable("t");
    expect((await t.listVersions()).map((v) => v.version)).toEqual([1, 2, 3, 4, 5]);
    expect((await t.query().select(["id"]).toArray()).map((r) => Number(r.id))).toEqual([-1, 1, 2, 2, 3]);
    expect((await ddbItems(s3, h.ddbTable, h.baseUri)).map((i) => [i.version, i.complete])).toEqual([
      [1, true],
      [2, true],
      [3, true],
      [4, true],
      [5, true],
    ]);
  });
});
