// SPDX-License-Identifier: Apache-2.0
//
// Issue 11, "done means": reference code (the @lancedb/lancedb README and
// LanceDB's documentation examples in examples/compat/) runs unchanged on
// both packages with the same results.

import * as ref from "@lancedb/lancedb";
import * as ours from "../lib";
import { memoryUri } from "./helpers/tmp";

import * as arrow from "../examples/compat/arrow";
import * as basic from "../examples/compat/basic";
import * as embeddings from "../examples/compat/embeddings";
import * as queries from "../examples/compat/queries";
import * as writes from "../examples/compat/writes";

/** Arrow values as plain, comparable values (floats to 5 decimals). */
function plain(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v === "bigint") return `${v}n`;
  if (typeof v === "number") return Math.round(v * 1e5) / 1e5;
  if (typeof v !== "object") return v;
  if (v instanceof Map) return plain(Object.fromEntries(v));
  if (ArrayBuffer.isView(v)) return Array.from(v as unknown as ArrayLike<number>).map(plain);
  if (Array.isArray(v)) return v.map(plain);
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const o = v as any;
  if (typeof o.toArray === "function" && typeof o.length === "number") return [...(v as Iterable<unknown>)].map(plain);
  if (typeof o.toJSON === "function") return plain(o.toJSON());
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
}

const EXAMPLES: [string, { run: (lancedb: unknown, uri: string) => Promise<unknown> }][] = [
  ["README basic example", basic],
  ["embeddings", embeddings],
  ["arrow", arrow],
  ["queries", queries],
  ["writes", writes],
];

describe("reference code runs unchanged on both packages", () => {
  test.each(EXAMPLES)("%s", async (_name, example) => {
    const expected = plain(await example.run(ref, "memory://"));
    const actual = plain(await example.run(ours, memoryUri()));
    expect(actual).toEqual(expected);
  });
});
