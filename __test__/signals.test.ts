// Interrupted large writes to S3 leave no multipart upload behind: SIGINT and
// SIGTERM (Stowage's handlers abort in-flight uploads, then the process ends
// as it would have), and close() of the connection. Checked with
// ListMultipartUploads on moto. STRESS=1: 10 trials per signal; CI: 3.
import { spawn } from "node:child_process";
import { join } from "node:path";
import * as lancedb from "../lib";
import { s3Options, uniq } from "./helpers/cloud";
import { readEndpoints, s3CreateBucket, s3Request, useEmulators } from "./helpers/emulators";
import type { Endpoints } from "./helpers/emulators";

const TRIALS = process.env.STRESS === "1" ? 10 : 3;
const WRITER = join(__dirname, "fixtures", "bigwriter.js");
// 20,000 x 512-d float32 = 40 MB: eight 5 MiB parts.
const ROWS = 20000;
const DIM = 512;

let emu: Endpoints;
let stopEmu: () => Promise<void> = async () => undefined;
beforeAll(async () => {
  stopEmu = (await useEmulators(["s3"])).stop;
  emu = readEndpoints();
}, 120000);
afterAll(async () => stopEmu());

async function openUploads(bucket: string): Promise<number> {
  const r = await s3Request(emu.s3!, "GET", bucket, "", { query: { uploads: "" } });
  expect(r.status).toBe(200);
  return (r.body.toString().match(/<Upload>/g) ?? []).length;
}

function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32;
}

describe.each(["SIGINT", "SIGTERM"] as const)("%s during a large write to S3", (sig) => {
  test(`${TRIALS} trials: no multipart upload left, the process ends by the signal`, async () => {
    const seed = Date.now() % 100000;
    const rand = seeded(seed);
    const bucket = uniq("sig").toLowerCase();
    await s3CreateBucket(emu.s3!, bucket);
    const options = s3Options(emu.s3!, { uploadPartSize: "5MiB", uploadConcurrency: 2 });
    let interruptedMidUpload = 0;
    for (let trial = 0; trial < TRIALS; trial++) {
      const table = `t${trial}`;
      const child = spawn(process.execPath, [WRITER, `s3://${bucket}/db`, JSON.stringify(options), table, String(ROWS), String(DIM)], {
        stdio: ["ignore", "pipe", "inherit"],
      });
      let out = "";
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) =>
        child.on("exit", (code, signal) => res({ code, signal })),
      );
      await new Promise<void>((res) => child.stdout.on("data", (d) => ((out += d), out.includes("writing") && res())));
      // Wait for the multipart upload to start, then strike at a random moment of it.
      for (let i = 0; i < 300 && !out.includes("done") && (await openUploads(bucket)) === 0; i++) {
        await new Promise((res) => setTimeout(res, 10));
      }
      await new Promise((res) => setTimeout(res, rand() * 150));
      // Was an upload under way when the signal went out?
      if ((await openUploads(bucket)) > 0) interruptedMidUpload++;
      child.kill(sig);
      const { code, signal } = await exited;
      if (!out.includes("done")) expect({ trial, seed, signal, code }).toMatchObject({ signal: sig });
      expect({ trial, seed, uploads: await openUploads(bucket) }).toEqual({ trial, seed, uploads: 0 });
      // Never half a table: either it committed whole or it does not exist.
      const db = await lancedb.connect(`s3://${bucket}/db`, { storageOptions: options as never });
      const t = await db.openTable(table).catch((e) => e);
      if (t instanceof lancedb.Table) expect(await t.countRows()).toBe(ROWS);
      else expect(t.code).toBe("TABLE_NOT_FOUND");
    }
    // eslint-disable-next-line no-console
    console.log(`${sig}: ${TRIALS} trials (seed ${seed}), ${interruptedMidUpload} interrupted mid-upload`);
    expect(interruptedMidUpload).toBeGreaterThan(0);
  }, 180000);
});

test("closing the connection aborts its in-flight upload", async () => {
  const bucket = uniq("close").toLowerCase();
  await s3CreateBucket(emu.s3!, bucket);
  const options = s3Options(emu.s3!, { uploadPartSize: "5MiB", uploadConcurrency: 1 });
  const db = await lancedb.connect(`s3://${bucket}/db`, { storageOptions: options as never });
  const rows = Array.from({ length: 8000 }, (_, i) => ({ id: i, vector: Array.from({ length: DIM }, () => Math.random()) }));
  const pending = db.createTable("big", rows).then(
    () => "committed",
    (e) => e.code,
  );
  // Close once the upload is under way.
  for (let i = 0; i < 200 && (await openUploads(bucket)) === 0; i++) await new Promise((r) => setTimeout(r, 10));
  db.close();
  expect(await pending).toBe("CLOSED");
  expect(await openUploads(bucket)).toBe(0);
  const reopened = await lancedb.connect(`s3://${bucket}/db`, { storageOptions: options as never });
  await expect(reopened.openTable("big")).rejects.toMatchObject({ code: "TABLE_NOT_FOUND" });
}, 120000);

test("cleanupIncompleteUploads aborts the uploads a SIGKILLed writer left", async () => {
  const bucket = uniq("kill").toLowerCase();
  await s3CreateBucket(emu.s3!, bucket);
  const options = s3Options(emu.s3!, { uploadPartSize: "5MiB", uploadConcurrency: 1 });
  const child = spawn(process.execPath, [WRITER, `s3://${bucket}/db`, JSON.stringify(options), "t", String(ROWS), String(DIM)], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const exited = new Promise((res) => child.on("exit", res));
  let uploads = 0;
  for (let i = 0; i < 500 && uploads === 0; i++) {
    await new Promise((res) => setTimeout(res, 10));
    uploads = await openUploads(bucket);
  }
  child.kill("SIGKILL");
  await exited;
  expect(uploads).toBeGreaterThan(0);
  // A crash cannot abort: the upload stays until cleaned up.
  expect(await openUploads(bucket)).toBeGreaterThan(0);
  const db = await lancedb.connect(`s3://${bucket}/db`, { storageOptions: options as never });
  // moto reports every upload as initiated at 2010-11-10T20:48:33Z (a fixed value in its
  // responses), so the age filter is checked with a cutoff before that date: nothing is old enough.
  expect(await db.cleanupIncompleteUploads({ olderThan: new Date("2005-01-01T00:00:00Z") })).toMatchObject({ aborted: 0 });
  expect(await openUploads(bucket)).toBeGreaterThan(0);
  expect((await db.cleanupIncompleteUploads({ olderThan: 0 })).aborted).toBeGreaterThan(0);
  expect(await openUploads(bucket)).toBe(0);
  await expect(db.cleanupIncompleteUploads({ olderThan: -1 })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
}, 120000);
