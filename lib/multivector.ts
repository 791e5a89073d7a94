// SPDX-License-Identifier: Apache-2.0
// Multivector search, as in @lancedb/lancedb: a column of lists of vectors
// (List<FixedSizeList<Float>>), searched with several query vectors (a
// MultiVector, or addQueryVector()). Late interaction: each query vector
// takes its best match among the row's vectors, and the row's distance is
// 1 - the sum of those best similarities (similarity 1 - squared L2 for
// "l2", the cosine for "cosine", the dot product for "dot"). Exact: every
// row is compared, then only the rows returned are read whole.

import { DataType, Field, List, Schema, Table as ArrowTable } from "apache-arrow";
import { fromIpc } from "./arrow";
import { StowageError } from "./errors";
import type { NativeTable } from "./native";

export interface MultivectorRequest {
  queries: number[][];
  column?: string;
  distanceType?: string;
  /** Rows to rank (limit + offset). */
  k: number;
  filter?: string;
  postfilter: boolean;
  /** Milliseconds left of the query's timeoutMs, for its native reads. */
  timeLeft?: () => number | undefined;
}

/** Whether `v` is several vectors (an array of arrays or typed arrays). */
export function isMultiVectorInput(v: unknown): v is unknown[] {
  return Array.isArray(v) && v.length > 0 && (Array.isArray(v[0]) || ArrayBuffer.isView(v[0]));
}

function isMultivectorField(f: Field): boolean {
  return DataType.isList(f.type) && DataType.isFixedSizeList((f.type as List).valueType);
}

/** The list-of-vectors column to search: the one named, or the only one. */
export function multivectorColumn(schema: Schema, column: string | undefined, queries: number[][]): string {
  if (column !== undefined) {
    const f = schema.fields.find((x) => x.name === column);
    if (f === undefined) throw new StowageError("INVALID_ARGUMENT", `Column '${column}' does not exist`);
    if (!isMultivectorField(f)) {
      throw new StowageError(
        "NOT_SUPPORTED",
        `several query vectors need a column of lists of vectors (List<FixedSizeList>); '${column}' is ${f.type}: search one vector at a time`,
      );
    }
    return column;
  }
  const candidates = schema.fields.filter(isMultivectorField);
  if (candidates.length !== 1) {
    throw new StowageError(
      "INVALID_ARGUMENT",
      candidates.length === 0
        ? "several query vectors need a column of lists of vectors (List<FixedSizeList>); the table has none"
        : `several columns of lists of vectors (${candidates.map((c) => c.name).join(", ")}); name one with column()`,
    );
  }
  const dim = new Set(queries.map((q) => q.length));
  if (dim.size !== 1) throw new StowageError("INVALID_ARGUMENT", "the query vectors must all have the same length");
  return candidates[0].name;
}

function similarity(kind: string, q: number[], d: ArrayLike<number>): number {
  let dot = 0;
  let qq = 0;
  let dd = 0;
  let l2 = 0;
  for (let i = 0; i < q.length; i++) {
    const x = q[i];
    const y = d[i];
    dot += x * y;
    qq += x * x;
    dd += y * y;
    l2 += (x - y) * (x - y);
  }
  if (kind === "cosine") return qq === 0 || dd === 0 ? 0 : dot / Math.sqrt(qq * dd);
  if (kind === "dot") return dot;
  return 1 - l2;
}

/**
 * Ranks the table's rows for `req`: row ids and distances, best first
 * (ties in stored order).
 */
export async function rankMultivector(inner: NativeTable, req: MultivectorRequest): Promise<{ ids: bigint[]; distances: number[] }> {
  const schema = fromIpc(await inner.schema()).schema;
  const column = multivectorColumn(schema, req.column, req.queries);
  const kind = (req.distanceType ?? "l2").toLowerCase();
  const itemDim = ((schema.fields.find((f) => f.name === column)?.type as List).valueType as unknown as { listSize: number }).listSize;
  if (req.queries.some((q) => q.length !== itemDim)) {
    throw new StowageError("INVALID_ARGUMENT", `the query vectors have ${req.queries[0].length} dimensions but column '${column}' holds vectors of ${itemDim}`);
  }
  const prefilter = req.filter !== undefined && !req.postfilter;
  const rows: ArrowTable = fromIpc(await inner.scan({ columns: [column], filter: prefilter ? req.filter : undefined, withRowId: true, timeoutMs: req.timeLeft?.() }));
  const ids = rows.getChild("_rowid");
  const lists = rows.getChild(column);
  const scored: { id: bigint; d: number; at: number }[] = [];
  for (let r = 0; r < rows.numRows; r++) {
    const list = lists?.get(r) as { length: number; get(i: number): { toArray(): ArrayLike<number> } | null } | null;
    if (list === null || list === undefined || list.length === 0) continue;
    const docs: ArrayLike<number>[] = [];
    for (let i = 0; i < list.length; i++) {
      const v = list.get(i);
      if (v !== null) docs.push(v.toArray());
    }
    if (docs.length === 0) continue;
    let total = 0;
    for (const q of req.queries) {
      let best = -Infinity;
      for (const d of docs) best = Math.max(best, similarity(kind, q, d));
      total += best;
    }
    scored.push({ id: BigInt(ids?.get(r) as bigint), d: Math.fround(1 - total), at: r });
  }
  scored.sort((a, b) => a.d - b.d || a.at - b.at);
  let ranked = scored;
  if (req.filter !== undefined && req.postfilter) {
    const pass = fromIpc(await inner.scan({ columns: [column], filter: req.filter, withRowId: true, timeoutMs: req.timeLeft?.() })).getChild("_rowid");
    const keep = new Set<bigint>();
    for (let i = 0; i < (pass?.length ?? 0); i++) keep.add(BigInt(pass?.get(i) as bigint));
    ranked = scored.slice(0, req.k).filter((s) => keep.has(s.id));
  }
  const top = ranked.slice(0, req.k);
  return { ids: top.map((s) => s.id), distances: top.map((s) => s.d) };
}
