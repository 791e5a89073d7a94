// SPDX-License-Identifier: Apache-2.0
// permutationBuilder, as in @lancedb/lancedb 0.31.0: a table of
// (row_id, split_id) that orders and splits another table's rows for
// training loops. Sequential and calculated splits give the reference's
// rows exactly; random and hash splits give the same split sizes with
// Stowage's own (seeded, deterministic) choice of rows.

import { Field, Float64, Schema, Uint64 } from "apache-arrow";
import { makeArrowTable } from "./arrow";
import { Connection } from "./connection";
import { StowageError } from "./errors";
import type { Table } from "./table";
import type {
  ShuffleOptions,
  SplitCalculatedOptions,
  SplitHashOptions,
  SplitRandomOptions,
  SplitSequentialOptions,
} from "./types";

type Split =
  | { kind: "none" }
  | { kind: "random"; o: SplitRandomOptions }
  | { kind: "sequential"; o: SplitSequentialOptions }
  | { kind: "hash"; o: SplitHashOptions }
  | { kind: "calculated"; o: SplitCalculatedOptions };

function invalid(msg: string): StowageError {
  return new StowageError("INVALID_ARGUMENT", msg);
}

/** A small seeded generator (mulberry32): the same seed, the same permutation. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffleInPlace<T>(xs: T[], next: () => number): void {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [xs[i], xs[j]] = [xs[j], xs[i]];
  }
}

/** Split sizes for n rows, as the reference computes them. */
function splitSizes(n: number, o: { ratios?: number[]; counts?: number[]; fixed?: number }): number[] {
  const given = [o.ratios, o.counts, o.fixed].filter((x) => x !== undefined).length;
  if (given !== 1) throw invalid("a split needs exactly one of ratios, counts or fixed");
  if (o.counts !== undefined) {
    if (!Array.isArray(o.counts) || o.counts.some((c) => !Number.isInteger(c) || c < 0)) throw invalid("counts must be non-negative integers");
    if (o.counts.reduce((a, b) => a + b, 0) > n) throw invalid(`the counts add up to more than the ${n} rows`);
    return o.counts;
  }
  if (o.fixed !== undefined) {
    if (!Number.isInteger(o.fixed) || o.fixed <= 0) throw invalid("fixed must be a positive integer (the number of equal splits)");
    return new Array(o.fixed).fill(Math.floor(n / o.fixed));
  }
  const ratios = o.ratios as number[];
  if (!Array.isArray(ratios) || ratios.length === 0 || ratios.some((r) => typeof r !== "number" || !(r > 0) || r > 1)) {
    throw invalid("ratios must be numbers in (0, 1]");
  }
  const sum = ratios.reduce((a, b) => a + b, 0);
  if (sum > 1 + 1e-6) throw invalid(`the ratios add up to ${sum}, more than 1`);
  // Ratios are single-precision in the reference; a full set gives the last split the rest.
  const sizes = ratios.map((r) => Math.round(Math.fround(r) * n));
  if (Math.abs(sum - 1) < 1e-6) sizes[sizes.length - 1] = n - sizes.slice(0, -1).reduce((a, b) => a + b, 0);
  return sizes;
}

function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

export class PermutationBuilder {
  #table: Table;
  #split: Split = { kind: "none" };
  #shuffle?: ShuffleOptions;
  #filter?: string;
  #persist?: { connection: Connection; name: string };

  /** @internal */
  constructor(table: Table) {
    this.#table = table;
  }

  /** Writes the permutation as table `tableName` of `connection` (default: an in-memory table). */
  persist(connection: Connection, tableName: string): PermutationBuilder {
    this.#persist = { connection, name: tableName };
    return this;
  }

  splitRandom(options: SplitRandomOptions): PermutationBuilder {
    this.#split = { kind: "random", o: options };
    return this;
  }

  splitHash(options: SplitHashOptions): PermutationBuilder {
    this.#split = { kind: "hash", o: options };
    return this;
  }

  splitSequential(options: SplitSequentialOptions): PermutationBuilder {
    this.#split = { kind: "sequential", o: options };
    return this;
  }

  /** split_id is the value of a SQL expression over the row. */
  splitCalculated(options: SplitCalculatedOptions): PermutationBuilder {
    this.#split = { kind: "calculated", o: options };
    return this;
  }

  shuffle(options: ShuffleOptions): PermutationBuilder {
    this.#shuffle = options ?? {};
    return this;
  }

  /** Only rows this SQL predicate keeps. */
  filter(filter: string): PermutationBuilder {
    if (typeof filter !== "string") throw invalid("filter() takes a SQL predicate string");
    this.#filter = filter;
    return this;
  }

  async execute(): Promise<Table> {
    const split = this.#split;
    let q = this.#table.query().withRowId();
    if (this.#filter !== undefined) q = q.where(this.#filter);
    if (split.kind === "calculated") q = q.select({ split_id: split.o.calculation });
    else if (split.kind === "hash") q = q.select(split.o.columns);
    else q = q.select({ one: "1" });
    const arrow = await q.toArrow();
    const ids = arrow.getChild("_rowid");
    const n = arrow.numRows;
    let rows: { row_id: bigint; split_id: number | bigint }[] = [];
    const rowId = (i: number): bigint => BigInt(ids?.get(i) as bigint);
    switch (split.kind) {
      case "none":
        for (let i = 0; i < n; i++) rows.push({ row_id: rowId(i), split_id: 0n });
        break;
      case "sequential":
      case "random": {
        const sizes = splitSizes(n, split.o);
        const order = Array.from({ length: n }, (_, i) => i);
        if (split.kind === "random") shuffleInPlace(order, rng((split.o as SplitRandomOptions).seed ?? Date.now()));
        let at = 0;
        sizes.forEach((size, s) => {
          const part = order.slice(at, at + size);
          if (split.kind === "random") part.sort((a, b) => a - b);
          for (const i of part) rows.push({ row_id: rowId(i), split_id: BigInt(s) });
          at += size;
        });
        break;
      }
      case "hash": {
        const w = split.o.splitWeights;
        if (!Array.isArray(w) || w.length === 0 || w.some((x) => !Number.isInteger(x) || x < 0)) throw invalid("splitWeights must be non-negative integers");
        const discard = split.o.discardWeight ?? 0;
        const total = w.reduce((a, b) => a + b, 0) + discard;
        const cols = split.o.columns.map((c) => arrow.getChild(c));
        for (let i = 0; i < n; i++) {
          let bucket = fnv1a(JSON.stringify(cols.map((c) => String(c?.get(i))))) % total;
          let s = 0;
          while (s < w.length && bucket >= w[s]) bucket -= w[s++];
          if (s < w.length) rows.push({ row_id: rowId(i), split_id: BigInt(s) });
        }
        break;
      }
      case "calculated": {
        const values = arrow.getChild("split_id");
        for (let i = 0; i < n; i++) rows.push({ row_id: rowId(i), split_id: values?.get(i) as number });
        break;
      }
    }
    if (this.#shuffle !== undefined) {
      // Shuffled within each split, splits kept in order.
      const next = rng(this.#shuffle.seed ?? Date.now());
      const bySplit = new Map<string, typeof rows>();
      for (const r of rows) {
        const k = String(r.split_id);
        bySplit.set(k, [...(bySplit.get(k) ?? []), r]);
      }
      rows = [];
      for (const part of bySplit.values()) {
        shuffleInPlace(part, next);
        rows.push(...part);
      }
    }
    const schema =
      split.kind === "calculated"
        ? new Schema([new Field("split_id", new Float64(), true), new Field("row_id", new Uint64(), true)])
        : new Schema([new Field("row_id", new Uint64(), true), new Field("split_id", new Uint64(), false)]);
    const data =
      split.kind === "calculated"
        ? rows.map((r) => ({ split_id: Number(r.split_id), row_id: r.row_id }))
        : rows;
    const table = makeArrowTable(data, { schema });
    const target = this.#persist;
    if (target !== undefined) return target.connection.createTable(target.name, table);
    const { connect } = await import("./index");
    const db = await connect("memory://");
    return db.createTable("permutation", table);
  }
}

/** A builder for a permutation (order and splits) of `table`'s rows. */
export function permutationBuilder(table: Table): PermutationBuilder {
  return new PermutationBuilder(table);
}
