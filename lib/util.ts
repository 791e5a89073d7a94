// SPDX-License-Identifier: Apache-2.0
// Small helpers exported as in @lancedb/lancedb 0.31.0 (util.ts there).

import { StowageError } from "./errors";

/** A JS value that has a SQL literal: for update({ values }) and filters built in code. */
export type IntoSql = string | number | boolean | null | Date | ArrayBufferLike | Buffer | IntoSql[];

/**
 * A JS value as a SQL literal, as @lancedb/lancedb writes it: strings quoted
 * (`'` doubled), a Date as its ISO text, lists as `[a, b]`, bytes as `X'hex'`.
 */
export function toSQL(value: IntoSql): string {
  if (typeof value === "string") return `'${value.replace(/'/g, "''")}'`;
  if (typeof value === "number") return value.toString();
  if (typeof value === "boolean") return value ? "TRUE" : "FALSE";
  if (value === null) return "NULL";
  if (value instanceof Date) return `'${value.toISOString()}'`;
  if (Array.isArray(value)) return `[${value.map(toSQL).join(", ")}]`;
  if (Buffer.isBuffer(value)) return `X'${value.toString("hex")}'`;
  if (value instanceof ArrayBuffer) return `X'${Buffer.from(value).toString("hex")}'`;
  if (ArrayBuffer.isView(value)) {
    const v = value as ArrayBufferView;
    return `X'${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("hex")}'`;
  }
  throw new StowageError("INVALID_ARGUMENT", `no SQL literal for a ${typeof value} value`);
}

/**
 * Packs 0/1 values into bytes, least significant bit first (eight values per
 * byte), for binary (hamming) vectors; the same result as @lancedb/lancedb's.
 */
export function packBits(data: Array<number>): Array<number> {
  const packed: number[] = Array(data.length >> 3).fill(0);
  for (let i = 0; i < data.length; i++) {
    const byte = i >> 3;
    const bit = i & 7;
    packed[byte] = (packed[byte] ?? 0) | (data[i] << bit);
  }
  return packed;
}
