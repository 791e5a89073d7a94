// Network faults between stowage and S3 (moto), injected by a loopback proxy (helpers/faultproxy.ts):
//
// 1. Random faults: writer processes (fixtures/appender.js) use the proxy as their S3 endpoint (and so
//    as their DynamoDB endpoint on s3+ddb); the proxy answers a seeded ~5% of requests with a 500 or
//    503, resets the connection, or stalls 2 s before forwarding. Each writer must either finish or
//    fail with a coded error (STORAGE_* or COMMIT_CONFLICT) that leaks no secret; afterwards, read
//    straight from moto, every acknowledged row is there exactly once and versions are contiguous.
//    The seed is printed; SEED=<n> replays the proxy's decisions (the interleaving of the writers is
//    up to the scheduler). STRESS=1: 4 writers x 40 appends, CI: 3 x 15.
// 2. Retries honour clientMaxRetries: a proxy answering 503 to everything sees exactly 1 + retries
//    attempts, and the error is STORAGE_SERVER_ERROR.
// 3. Ambiguous failures, deterministic: the server applied a commit request but the client never got
//    the answer (or got an error for a later step). The writer cannot know whether it committed;
//    whatever it reports, the table must stay readable, hold the row at most once, and hold it exactly
//    once if the append was acknowledged.
//
// Regressions: bugs this suite found, all fixed in src/ (see docs/FORMAT.md, commit protocol):
// * s3, lost answer (FIN) to the manifest's create-only PUT: object_store retries the PUT (hyper's
//   IncompleteMessage counts as "request not sent"), the retry gets 412, src/commit/mod.rs
//   ConditionalPutStore::commit reports Conflict, and src/table/mod.rs commit_loop rebases the append
//   onto its own version: the fragment was listed twice. Now a 412 on our own bytes is our commit.
// * s3, lost answer (RST): not retried (non-idempotent), CommitError::Failed, and Table::add
//   (src/table/mod.rs) deleted the data file that the committed manifest names. Now the outcome is
//   checked, and data files are kept unless the commit is known not to have happened.
// * s3+ddb, lost answer to PutItem: the SDK retries, gets ConditionalCheckFailed, src/commit/dynamodb.rs
//   commit() reports Conflict and deletes its staged manifest; the item (complete=false) now points at
//   nothing. Now the item is read back: our own staged key means our claim succeeded.
// * s3+ddb, publishing fails after the claim: commit() returns Failed, Table::add deletes the data
//   file. Now a successful claim is a successful commit; readers publish it.
// * s3+ddb, 503 from DynamoDB: src/commit/dynamodb.rs ddb_error() picks STORAGE_CONNECTION because the
//   error text (DisplayErrorContext) contains "aws_smithy_http_client::client::connect::ConnectPathInner";
//   5xx was never STORAGE_SERVER_ERROR there. Now SDK errors are classified by type and status.
import * as lancedb from "../lib";
import { expectNoSecrets, failure, s3Options, uniq } from "./helpers/cloud";
import { ddbCreateTable, ddbItems, manifestName } from "./helpers/ddb";
import { s3CreateBucket, s3ListObjects, s3Request, useEmulators } from "./helpers/emulators";
import type { Endpoints, S3Endpoint } from "./helpers/emulators";
import { faultProxy } from "./helpers/faultproxy";
import type { FaultKind, FaultProxy, ProxiedRequest } from "./helpers/faultproxy";
import { seedFromEnv } from "./helpers/prng";
import { checkTable, startWriter } from "./helpers/writers";

const STRESS = process.env.STRESS === "1";
const WRITERS = STRESS ? 4 : 3;
const APPENDS = STRESS ? 40 : 15;
const RATE = 0.05;
const SEED = seedFromEnv();
/** The writers' secret key (moto's "s3" server checks none): it must never appear in an error. */
const SECRET = "FaultSuiteSecretKeyThatMustNeverLeak";

let emu: Endpoints;
let s3: S3Endpoint;
let stopEmu: () => Promise<void> = async () => undefined;
beforeAll(async () => {
  const e = await useEmulators(["s3"]);
  emu = e.endpoints;
  s3 = emu.s3!;
  stopEmu = e.stop;
  // eslint-disable-next-line no-console
  console.log(`faults suite: SEED=${SEED} (replay with SEED=${SEED}), ${WRITERS} writers x ${APPENDS} appends, fault rate ${RATE}`);
}, 120000);
afterAll(async () => stopEmu());

let proxies: FaultProxy[] = [];
afterEach(async () => {
  await Promise.all(proxies.map((p) => p.close()));
  proxies = [];
});
async function proxy(opts: Parameters<typeof faultProxy>[0]): Promise<FaultProxy> {
  const p = await faultProxy(opts);
  proxies.push(p);
  return p;
}

interface Target {
  uri: string;
  bucket: string;
  ddbTable?: string;
  /** the DynamoDB base_uri of table "t" */
  baseUri: string;
}

async function target(kind: "s3" | "s3+ddb"): Promise<Target> {
  const bucket = uniq("faults").toLowerCase();
  await s3CreateBucket(s3, bucket);
  if (kind === "s3") return { uri: `s3://${bucket}/db`, bucket, baseUri: `s3://${bucket}/db/t.stowage` };
  const ddbTable = uniq("commits");
  await ddbCreateTable(s3, ddbTable);
  return { uri: `s3+ddb://${bucket}/db?ddbTableName=${ddbTable}`, bucket, ddbTable, baseUri: `s3://${bucket}/db/t.stowage` };
}

/** Straight to moto, no proxy. */
function direct(t: Target): Promise<lancedb.Connection> {
  return lancedb.connect(t.uri, { storageOptions: s3Options(s3) as never });
}

/** Through the proxy, with the suite's secret and the given retry settings. */
function viaProxyOptions(p: FaultProxy, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return s3Options(s3, { endpoint: p.url, awsSecretAccessKey: SECRET, ...extra });
}

function hash(s: string): number {
  let h = 2166136261;
  for (const ch of s) h = Math.imul(h ^ ch.charCodeAt(0), 16777619);
  return h >>> 0;
}

const CODED = /^(STORAGE_[A-Z_]+|COMMIT_CONFLICT)$/;

// ---- 1. random faults ------------------------------------------------------------------------------

describe.each(["s3", "s3+ddb"] as const)("%s: writers through a proxy injecting ~5%% faults", (kind) => {
  test(
    `${WRITERS} writer processes x ${APPENDS} appends: each finishes or fails with a code; acked rows all there once`,
    async () => {
      const seed = (SEED ^ hash(kind)) >>> 0;
      const t = await target(kind);
      const db = await direct(t);
      await db.createTable("t", [{ id: -1, worker: -1 }]);
      const p = await proxy({ target: s3.endpoint, rate: RATE, seed, stallMs: 2000 });
      const options = viaProxyOptions(p, { clientMaxRetries: 5, clientRetryTimeout: "20s", timeout: "5s" });
      const started = Date.now();
      const writers = Array.from({ length: WRITERS }, (_, w) => startWriter(t.uri, options, "t", w, APPENDS, 300_000));
      const exits = await Promise.all(writers.map((w) => w.done));
      const ms = Date.now() - started;
      const acked = writers.flatMap((w) => w.acked);

      const outcome = writers.map((w, i) => ({
        worker: w.worker,
        acked: w.acked.length,
        exit: exits[i].code,
        error: w.errors[0] ? `${w.errors[0].code}: ${w.errors[0].message}` : undefined,
      }));
      // eslint-disable-next-line no-console
      console.log(
        `${kind}: seed ${seed}, ${p.requests.length} requests, injected ${p.injected.length} ${JSON.stringify(p.counts())}, ` +
          `acked ${acked.length}/${WRITERS * APPENDS} in ${ms} ms\n  ${outcome.map((o) => JSON.stringify(o)).join("\n  ")}\n  faults: ${p.injected
            .map((f) => `#${f.n} ${f.fault} ${f.ddbOp || f.method} ${f.ddbOp ? "" : f.url.split("?")[0].replace(/^\/[^/]+\/db\/t\.stowage\//, "")}`)
            .join(", ")}`,
      );

      // The proxy did its job.
      expect(p.injected.length).toBeGreaterThan(0);
      // Each writer either completed or stopped at a coded error with no secret in it.
      for (const [i, w] of writers.entries()) {
        expectNoSecrets(w.stderr + JSON.stringify(w.errors) + w.other.join("\n"), [SECRET]);
        expect({ worker: w.worker, other: w.other, signal: exits[i].signal }).toEqual({ worker: w.worker, other: [], signal: null });
        if (w.errors.length === 0) {
          expect({ worker: w.worker, acked: w.acked.length, exit: exits[i].code }).toEqual({ worker: w.worker, acked: APPENDS, exit: 0 });
        } else {
          expect({ worker: w.worker, errors: w.errors.length, code: w.errors[0].code, exit: exits[i].code }).toEqual({
            worker: w.worker,
            errors: 1,
            code: expect.stringMatching(CODED),
            exit: 1,
          });
          expect(w.errors[0].message.length).toBeGreaterThan(10);
        }
      }
      // Read straight from moto: every acked row once, nothing twice, versions contiguous.
      const check = await checkTable(await direct(t), "t", acked, (id) => Math.floor(id / 100000) < WRITERS && id % 100000 < APPENDS);
      if (t.ddbTable) {
        const items = await ddbItems(s3, t.ddbTable, t.baseUri);
        expect(items.map((it) => it.version)).toEqual(check.versions);
        expect(items.filter((it) => !it.complete).map((it) => it.version)).toEqual([]);
      }
    },
    STRESS ? 900_000 : 120_000,
  );
});

// ---- 2. retries honour the settings ----------------------------------------------------------------

describe("a proxy answering 503 to every request", () => {
  test.each([
    [2, 3],
    [0, 1],
  ])("s3: clientMaxRetries %d gives exactly %d attempts of one request, then STORAGE_SERVER_ERROR", async (retries, attempts) => {
    const t = await target("s3");
    const p = await proxy({ target: s3.endpoint, decide: () => "503" });
    const db = await lancedb.connect(t.uri, { storageOptions: viaProxyOptions(p, { clientMaxRetries: retries, clientRetryTimeout: "20s" }) as never });
    const before = p.requests.length;
    const err = await failure(() => db.tableNames());
    const sent = p.requests.slice(before);
    expect(sent.map((r) => `${r.method} ${r.url}`)).toEqual(Array(attempts).fill(`${sent[0].method} ${sent[0].url}`));
    expect(err.code).toBe("STORAGE_SERVER_ERROR");
    expect(err.message).toMatch(/503/);
    expectNoSecrets(err.message + (err.stack ?? ""), [SECRET]);
  });

  test.each([
    [2, 3],
    [0, 1],
  ])("s3+ddb: clientMaxRetries %d gives exactly %d DynamoDB attempts, then STORAGE_SERVER_ERROR", async (retries, attempts) => {
    const t = await target("s3+ddb");
    const p = await proxy({ target: s3.endpoint, decide: () => "503" });
    const err = await failure(() =>
      lancedb.connect(t.uri, { storageOptions: viaProxyOptions(p, { clientMaxRetries: retries, clientRetryTimeout: "20s" }) as never }),
    );
    expect(p.requests.map((r) => r.ddbOp)).toEqual(Array(attempts).fill("DescribeTable"));
    expectNoSecrets(err.message + (err.stack ?? ""), [SECRET]);
    expect({ code: err.code, message: err.message }).toEqual({ code: "STORAGE_SERVER_ERROR", message: expect.stringMatching(/503|Service ?Unavailable|SlowDown/i) });
  });
});

// ---- 3. ambiguous failures -------------------------------------------------------------------------

/**
 * Creates table "t" (straight on moto), then appends one row (id 1) through a proxy that injects
 * `fault` into the requests `match` picks (the first one only, unless `every`). Returns what the
 * append reported and what the table holds afterwards, read straight from moto.
 */
async function appendThrough(
  kind: "s3" | "s3+ddb",
  fault: FaultKind,
  match: (r: ProxiedRequest) => boolean,
  every = false,
): Promise<{ t: Target; p: FaultProxy; acked: boolean; error?: { code?: string; message: string } }> {
  const t = await target(kind);
  await (await direct(t)).createTable("t", [{ id: -1, worker: -1 }]);
  let hits = 0;
  const p = await proxy({
    target: s3.endpoint,
    decide: (r) => (match(r) && (every || hits++ === 0) ? fault : null),
  });
  const db = await lancedb.connect(t.uri, { storageOptions: viaProxyOptions(p, { clientMaxRetries: 2, clientRetryTimeout: "10s", timeout: "5s" }) as never });
  const table = await db.openTable("t");
  try {
    await table.add([{ id: 1, worker: 0 }]);
    return { t, p, acked: true };
  } catch (e) {
    const err = e as Error & { code?: string };
    expectNoSecrets(err.message, [SECRET]);
    return { t, p, acked: false, error: { code: err.code, message: err.message } };
  }
}

/**
 * What the bucket (and the DynamoDB items) of table "t" refer to that is not there: data files named by
 * a published manifest, and claimed-but-unpublished versions whose staged manifest is gone (which no
 * reader can ever finish).
 */
async function danglingReferences(t: Target): Promise<{ missingDataFiles: string[]; unfinishableVersions: number[] }> {
  const dir = "db/t.stowage/";
  const keys = new Set(await s3ListObjects(s3, t.bucket, dir));
  const missingDataFiles: string[] = [];
  const checkManifest = async (key: string, what: string) => {
    const m = JSON.parse((await s3Request(s3, "GET", t.bucket, key)).text()) as { version: number; fragments: { path: string }[] };
    for (const f of m.fragments) if (!keys.has(dir + f.path)) missingDataFiles.push(`${what} v${m.version}: ${f.path}`);
  };
  for (const k of [...keys].filter((x) => /^db\/t\.stowage\/_versions\/\d{20}\.manifest$/.test(x))) await checkManifest(k, "published");
  const unfinishableVersions: number[] = [];
  if (t.ddbTable) {
    for (const it of await ddbItems(s3, t.ddbTable, t.baseUri)) {
      if (it.complete || keys.has(`${dir}_versions/${manifestName(it.version)}`)) continue;
      // claimed, not yet published: the next reader will publish the staged manifest, if it is there
      if (keys.has(it.staged ?? "")) await checkManifest(it.staged!, "claimed");
      else unfinishableVersions.push(it.version);
    }
  }
  return { missingDataFiles, unfinishableVersions };
}

const isManifestCreate = (r: ProxiedRequest) =>
  r.method === "PUT" && r.headers["if-none-match"] === "*" && /\/_versions\/\d{20}\.manifest$/.test(r.url.split("?")[0]);

describe("ambiguous failures: the server applied the commit, the writer saw an error", () => {
  test.each([
    ["lostResponse", "the connection closes before the answer (FIN)"],
    ["rstResponse", "the connection is reset before the answer (RST)"],
  ] as const)("s3: the manifest's create-only PUT succeeded but %s (%s): the row is there at most once, and the table reads", async (fault, _how) => {
    const r = await appendThrough("s3", fault, isManifestCreate);
    expect(r.p.injected.map((f) => f.fault)).toEqual([fault]);
    // eslint-disable-next-line no-console
    console.log(`s3 ${fault} on the manifest PUT: append ${r.acked ? "acknowledged" : `failed ${r.error?.code}: ${r.error?.message}`}; requests: ${r.p.requests.map((q) => q.method + (isManifestCreate(q) ? "(manifest)" : "")).join(" ")}`);
    if (!r.acked) expect(r.error?.code).toMatch(CODED);
    const keys = await s3ListObjects(s3, r.t.bucket, "db/t.stowage/");
    expect(await danglingReferences(r.t)).toEqual({ missingDataFiles: [], unfinishableVersions: [] });
    const check = await checkTable(await direct(r.t), "t", r.acked ? [1] : [], (id) => id === 1);
    // eslint-disable-next-line no-console
    console.log(`  afterwards: versions ${check.versions.join(",")}, ids ${check.ids.join(",")}; objects ${keys.map((k) => k.slice("db/t.stowage/".length)).join(" ")}`);
  });

  test("s3+ddb: PutItem (the claim) succeeded but its answer was lost: the table still opens, the row is there at most once", async () => {
    const r = await appendThrough("s3+ddb", "lostResponse", (q) => q.ddbOp === "PutItem");
    expect(r.p.injected.map((f) => f.ddbOp)).toEqual(["PutItem"]);
    const items = await ddbItems(s3, r.t.ddbTable!, r.t.baseUri);
    // eslint-disable-next-line no-console
    console.log(
      `s3+ddb lost PutItem answer: append ${r.acked ? "acknowledged" : `failed ${r.error?.code}: ${r.error?.message}`}; ` +
        `ops: ${r.p.requests.map((q) => q.ddbOp || q.method).join(" ")}; items: ${JSON.stringify(items)}`,
    );
    if (!r.acked) expect(r.error?.code).toMatch(CODED);
    expect(await danglingReferences(r.t)).toEqual({ missingDataFiles: [], unfinishableVersions: [] });
    await checkTable(await direct(r.t), "t", r.acked ? [1] : [], (id) => id === 1);
  });

  test("s3+ddb: the claim succeeded but publishing (CopyObject) kept failing: the table still reads, the row is there at most once", async () => {
    const r = await appendThrough("s3+ddb", "503", (q) => q.method === "PUT" && q.headers["x-amz-copy-source"] !== undefined, true);
    expect(r.p.injected.length).toBeGreaterThan(0);
    const items = await ddbItems(s3, r.t.ddbTable!, r.t.baseUri);
    // eslint-disable-next-line no-console
    console.log(`s3+ddb publish failing: append ${r.acked ? "acknowledged" : `failed ${r.error?.code}: ${r.error?.message}`}; items: ${JSON.stringify(items)}`);
    // Either outcome is fine (the version is decided once claimed, so reporting success is too)...
    if (!r.acked) expect(r.error?.code).toMatch(CODED);
    // ...but version 2 is claimed, so the next reader publishes it: its data file must still be there.
    expect(await danglingReferences(r.t)).toEqual({ missingDataFiles: [], unfinishableVersions: [] });
    await checkTable(await direct(r.t), "t", r.acked ? [1] : [], (id) => id === 1);
  });
});
