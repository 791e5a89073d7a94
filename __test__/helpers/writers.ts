/**
 * Writer processes (fixtures/appender.js) for the crash and faults suites, watched live: each
 * `ack <id>` line is an append the writer saw acknowledged; the suites kill writers (SIGKILL) at
 * chosen moments and check afterwards what the table holds.
 */
import { ChildProcess, spawn } from "child_process";
import * as path from "path";
import * as lancedb from "../../lib";
import { childEnv } from "./cloud";

export const APPENDER = path.join(__dirname, "..", "fixtures", "appender.js");

/** What each appended row holds (see fixtures/appender.js). */
export type RowShape = "worker" | "text" | "labels" | "vector";

export interface WriterExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface Writer {
  worker: number;
  child: ChildProcess;
  startedAt: number;
  acked: number[];
  /** when each ack arrived (ms since startedAt) */
  ackAt: number[];
  errors: { code?: string; message: string }[];
  /** lines that are neither acks nor errors (a torn last line of a killed writer, say) */
  other: string[];
  stderr: string;
  killedAt?: number;
  /** resolves when the process has exited and its output is read */
  done: Promise<WriterExit>;
  /** resolves once `n` acks have arrived (or the writer ended first) */
  acks: (n: number) => Promise<void>;
  kill: () => void;
}

/** The ids an appender with this worker number writes: worker * 100000 + i. */
export function writerId(worker: number, i: number): number {
  return worker * 100000 + i;
}

export function startWriter(
  uri: string,
  options: Record<string, unknown>,
  table: string,
  worker: number,
  n: number,
  timeoutMs = 120_000,
  shape: RowShape = "worker",
): Writer {
  const child = spawn(process.execPath, [APPENDER, uri, JSON.stringify(options), table, String(worker), String(n), shape], {
    env: childEnv({}),
    stdio: ["ignore", "pipe", "pipe"],
  });
  const startedAt = Date.now();
  let buf = "";
  const waiters: { n: number; resolve: () => void }[] = [];
  let ended = false;
  const w: Writer = {
    worker,
    child,
    startedAt,
    acked: [],
    ackAt: [],
    errors: [],
    other: [],
    stderr: "",
    done: undefined as unknown as Promise<WriterExit>,
    acks: (k: number) =>
      new Promise<void>((resolve) => {
        if (ended || w.acked.length >= k) resolve();
        else waiters.push({ n: k, resolve });
      }),
    kill: () => {
      if (w.killedAt === undefined && child.exitCode === null && child.signalCode === null) {
        w.killedAt = Date.now() - startedAt;
        child.kill("SIGKILL");
      }
    },
  };
  const wake = () => {
    for (let i = waiters.length - 1; i >= 0; i--) {
      if (ended || w.acked.length >= waiters[i].n) {
        waiters[i].resolve();
        waiters.splice(i, 1);
      }
    }
  };
  const line = (l: string) => {
    if (!l.trim()) return;
    if (/^ack -?\d+$/.test(l)) {
      w.acked.push(Number(l.slice(4)));
      w.ackAt.push(Date.now() - startedAt);
      wake();
    } else if (l.startsWith("error ")) {
      try {
        w.errors.push(JSON.parse(l.slice(6)));
      } catch {
        w.other.push(l);
      }
    } else {
      w.other.push(l);
    }
  };
  child.stdout!.on("data", (d: Buffer) => {
    buf += d.toString();
    let nl: number;
    while ((nl = buf.indexOf("\n")) >= 0) {
      line(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
    }
  });
  child.stderr!.on("data", (d: Buffer) => (w.stderr += d.toString()));
  const timer = setTimeout(() => {
    w.stderr += `\n[test] writer ${worker} did not finish within ${timeoutMs} ms; killed`;
    child.kill("SIGKILL");
  }, timeoutMs);
  w.done = new Promise<WriterExit>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      // A line without its newline is torn (the writer was killed while printing): not an ack.
      if (buf.trim()) w.other.push(buf);
      ended = true;
      wake();
      resolve({ code, signal });
    });
  });
  return w;
}

/**
 * Runs `count` writers (worker numbers `first`..`first + count - 1`), each appending `n` rows of
 * `shape`, to the end; returns every acknowledged id and every error a writer printed.
 */
export async function runWriters(
  uri: string,
  options: Record<string, unknown>,
  table: string,
  count: number,
  n: number,
  shape: RowShape = "worker",
  first = 1,
): Promise<{ acked: number[]; errors: { code?: string; message: string }[] }> {
  const writers = Array.from({ length: count }, (_, i) => startWriter(uri, options, table, first + i, n, 240_000, shape));
  await Promise.all(writers.map((w) => w.done));
  return { acked: writers.flatMap((w) => w.acked), errors: writers.flatMap((w) => [...w.errors, ...w.other.map((message) => ({ message }))]) };
}

export interface TableCheck {
  version: number;
  versions: number[];
  rows: number;
  /** ids read (the seed row -1 excluded) */
  ids: number[];
}

/**
 * What every crash and fault test asserts about a table after the fact: it opens at a consistent
 * version (versions 1..N with no gap, countRows = the rows actually read, one row per version after
 * the seed row since every append adds exactly one), every acknowledged id is there exactly once,
 * no id is there twice, and every id is one some writer could have written.
 */
export async function checkTable(db: lancedb.Connection, name: string, acked: number[], possible: (id: number) => boolean): Promise<TableCheck> {
  const t = await db.openTable(name);
  const version = await t.version();
  const versions = (await t.listVersions()).map((v) => v.version);
  const rows = await t.countRows();
  const all = (await t.query().select(["id"]).toArray()).map((r) => Number(r.id));
  const ids = all.filter((id) => id !== -1);
  expect({ version, versions }).toEqual({ version: versions.length, versions: Array.from({ length: versions.length }, (_, i) => i + 1) });
  expect(rows).toBe(all.length);
  expect(all.filter((id) => id === -1)).toHaveLength(1);
  const counts = new Map<number, number>();
  for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
  const twice = [...counts].filter(([, c]) => c > 1).map(([id, c]) => `${id} x${c}`);
  expect({ presentMoreThanOnce: twice }).toEqual({ presentMoreThanOnce: [] });
  const missing = acked.filter((id) => counts.get(id) !== 1);
  expect({ ackedButMissing: missing }).toEqual({ ackedButMissing: [] });
  expect({ unexpectedIds: ids.filter((id) => !possible(id)) }).toEqual({ unexpectedIds: [] });
  // create + one version per appended row
  expect(versions.length).toBe(1 + ids.length);
  return { version, versions, rows, ids };
}

/**
 * Three in-process workers appending one row each (`{ id, v }`), counting rows and running a
 * filtered query on one table until `ms` have passed; every error's message is collected. For the
 * credential-rotation suites: no request may fail while providers rotate keys underneath.
 */
export async function workload(table: lancedb.Table, ms: number): Promise<{ errors: string[]; acknowledged: number }> {
  const deadline = Date.now() + ms;
  const errors: string[] = [];
  let acknowledged = 0;
  const worker = async (w: number) => {
    let i = 0;
    while (Date.now() < deadline) {
      try {
        await table.add([{ id: w * 100_000 + ++i, v: "y" }]);
        acknowledged++;
        await table.countRows();
        await table.query().where("id > 0").limit(5).toArray();
      } catch (e) {
        errors.push(String((e as Error).message));
      }
    }
  };
  await Promise.all([1, 2, 3].map(worker));
  return { errors, acknowledged };
}
