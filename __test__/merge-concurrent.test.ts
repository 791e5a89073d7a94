// SPDX-License-Identifier: Apache-2.0
//
// Conditional merges (whenMatchedUpdateAll({ where })) from several
// processes at once on one local table: every acknowledged upsert is there
// with the highest version written, no key twice, the table readable.

import { spawn } from "node:child_process";
import * as path from "node:path";
import * as lancedb from "../lib";
import { tempDir } from "./helpers/tmp";

const MERGER = path.join(__dirname, "fixtures", "merger.js");

function run(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MERGER, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.on("close", (code) => resolve({ code, out }));
  });
}

test("conditional mergeInsert from 3 processes: every acknowledged upsert lands, the higher version wins", async () => {
  const { dir, cleanup } = tempDir();
  try {
    const db = await lancedb.connect(dir);
    await db.createTable("t", [{ id: -1, worker: -1, v: 0 }]);
    const workers = [1, 2, 3];
    const n = 4;
    const results = await Promise.all(workers.map((w) => run([dir, "t", String(w), String(n)])));
    for (const r of results) {
      expect(r.out).not.toMatch(/^error/m);
      expect(r.code).toBe(0);
    }
    const acked = results.flatMap((r) => r.out.split("\n").filter((l) => l.startsWith("ack ")));
    expect(acked.length).toBe(workers.length * n * 3);
    const t = await db.openTable("t");
    const rows = (await t.query().toArray()) as { id: number; v: number }[];
    const ids = rows.map((r) => Number(r.id));
    expect(new Set(ids).size).toBe(ids.length);
    expect(rows.length).toBe(1 + workers.length * n);
    // 1, then 3 (higher: updated), then 2 (lower: not updated).
    for (const r of rows.filter((x) => Number(x.id) >= 0)) expect(Number(r.v)).toBe(3);
  } finally {
    cleanup();
  }
});
