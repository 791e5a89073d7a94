// Hostile filters (issue 9.1): deeply nested or merely long filters used to kill the process with
// SIGSEGV (a stack overflow). They run here in a child process through the public API — countRows,
// query().where, delete, update({ valuesSql }), select({ alias: sql }), a vector search's where —
// followed by a few thousand random filters and random storageOptions maps (connect to memory://
// and to an s3:// endpoint on 127.0.0.1 that is never contacted). The child must exit normally,
// every call must give a correct result or a StowageError with a code and a short message.
// The seed is printed; SEED=<n> replays a run.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { seedFromEnv } from "./helpers/prng";

const SEED = seedFromEnv();
const CHILD = join(__dirname, "helpers", "hostile-child.js");

interface Failure {
  code?: string;
  length: number;
  head: string;
}

interface ChildResult {
  shapes: Record<string, unknown>;
  random: { calls: number; errors: number; codes: Record<string, number> };
  bad: unknown[];
  badCount: number;
  ms: number;
}

let result: ChildResult;

beforeAll(() => {
  // eslint-disable-next-line no-console
  console.log(`hostile-filters: SEED=${SEED} (replay with SEED=${SEED})`);
  const spec = { seed: SEED, filters: 3000, optionMaps: 2000 };
  const child = spawnSync(process.execPath, [CHILD, JSON.stringify(spec)], {
    encoding: "utf8",
    timeout: 90_000,
    maxBuffer: 64 << 20,
    env: { ...process.env, AWS_EC2_METADATA_DISABLED: "true" },
  });
  // The point of the suite: no signal (SIGSEGV, SIGABRT), no timeout, a normal exit.
  expect({ signal: child.signal, status: child.status, error: child.error?.message }).toEqual({
    signal: null,
    status: 0,
    error: undefined,
  });
  const lines = child.stdout.trim().split("\n");
  result = JSON.parse(lines[lines.length - 1]) as ChildResult;
}, 120_000);

function failure(v: unknown): Failure {
  expect(v).toMatchObject({ code: expect.any(String) });
  return v as Failure;
}

test("2,000 nested parentheses are INVALID_FILTER naming the nesting limit, on every entry point", () => {
  for (const k of ["parens", "parensQuery", "vectorParens", "updateParens", "deleteParens"]) {
    const f = failure(result.shapes[k]);
    expect({ k, code: f.code }).toEqual({ k, code: "INVALID_FILTER" });
    expect(f.head).toMatch(/nesting limit is 256/);
    expect(f.length).toBeLessThan(2000);
  }
});

test("long OR chains, NOT runs, + chains and unary minus runs give the right rows", () => {
  const s = result.shapes;
  // 200 rows, ids 0..199: the even ones among 0, 2, ..., 5998.
  expect(s.or3000).toBe(100);
  // ids 0, 3, ..., 198 among 50,000 multiples of 3.
  expect(s.or50000).toBe(67);
  expect(s.nots).toBe(1);
  expect(s.plus).toBe(1);
  expect(s.minus).toBe(1);
  expect(s.queryOr).toBe(100);
  expect(s.vectorOr).toBe(true);
  // update({ where: 5000 NOTs, valuesSql: a 5000-term sum }) on id 7.
  expect(s.update).toBe(5007);
  // delete of the 100 even ids.
  expect(s.delete).toBe(100);
});

test("random filters and option maps: the child never died and every error had a code and a short message", () => {
  // eslint-disable-next-line no-console
  console.log(`hostile-filters: ${result.random.calls} calls, ${result.random.errors} errors in ${result.ms} ms`, result.random.codes);
  expect(result.bad).toEqual([]);
  expect(result.badCount).toBe(0);
  expect(result.random.calls).toBeGreaterThan(5000);
  expect(result.random.codes.undefined).toBeUndefined();
});
