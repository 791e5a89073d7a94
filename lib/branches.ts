// Branches (issue 13): `table.branches()`, as in @lancedb/lancedb 0.31.0.
// The format is in docs/FORMAT.md (*Branches*), the behaviour in
// docs/evolution.md.
import { StowageError } from "./errors";
import { call, NativeTable } from "./native";
import type { Table } from "./table";

/** What a branch forked from (a class, as in @lancedb/lancedb). */
export class BranchContents {
  /** The branch it forked from; absent when it forked from `main`. */
  parentBranch?: string;
  parentVersion: number;
  /** Size in bytes of the manifest it forked from. */
  manifestSize: number;

  constructor(parentBranch: string | undefined, parentVersion: number, manifestSize: number) {
    // `null` for main at run time, as @lancedb/lancedb returns it (its
    // declaration says optional string).
    this.parentBranch = parentBranch ?? (null as unknown as undefined);
    this.parentVersion = parentVersion;
    this.manifestSize = manifestSize;
  }
}

function checkName(what: string, name: unknown): string {
  if (typeof name !== "string") {
    throw new StowageError("INVALID_ARGUMENT", `${what}: the branch name must be a string, got ${name === null ? "null" : typeof name}`);
  }
  return name;
}

function optString(what: string, v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") throw new StowageError("INVALID_ARGUMENT", `${what} must be a string (a branch, 'main' or a tag), got ${typeof v}`);
  return v;
}

/**
 * Branch manager of a table: `create` and `checkout` return a new Table
 * scoped to the branch; writes on it do not affect `main`.
 */
export class Branches {
  readonly #inner: NativeTable;
  readonly #wrap: (t: NativeTable) => Table;

  /** @hidden Internal: obtain one with `table.branches()`. */
  constructor(inner: NativeTable, wrap: (t: NativeTable) => Table) {
    this.#inner = inner;
    this.#wrap = wrap;
  }

  /** Every branch of the table, by name. */
  async list(): Promise<Record<string, BranchContents>> {
    const out: Record<string, BranchContents> = {};
    for (const b of await call(() => this.#inner.listBranches())) {
      out[b.name] = new BranchContents(b.parentBranch ?? undefined, b.parentVersion, b.manifestSize);
    }
    return out;
  }

  /**
   * Creates a branch and returns a handle on it.
   * @param fromRef the line to fork from: `main` (the default), a branch, or a tag (a version of main).
   * @param fromVersion a version of `fromRef`; defaults to its latest.
   */
  async create(name: string, fromRef?: string, fromVersion?: number): Promise<Table> {
    const n = checkName("branches().create", name);
    const from = optString("branches().create: fromRef", fromRef);
    return this.#wrap(await call(() => this.#inner.createBranch(n, from, fromVersion)));
  }

  /**
   * A handle on an existing branch (`main` for the main line): following its
   * latest version (writable), or pinned at `version` (reads only).
   */
  async checkout(name: string, version?: number): Promise<Table> {
    const n = checkName("branches().checkout", name);
    return this.#wrap(await call(() => this.#inner.checkoutBranch(n, version)));
  }

  /** Deletes a branch and its versions (not one that other branches forked from). */
  async delete(name: string): Promise<void> {
    const n = checkName("branches().delete", name);
    await call(() => this.#inner.deleteBranch(n));
  }
}

/** `openTable(name, { branch, version })`: `table` is a fresh handle on main. */
export async function atBranch(table: Table, branch: unknown, version: number | undefined | null): Promise<Table> {
  if (branch === undefined || branch === null) {
    if (version !== undefined && version !== null) await table.checkout(version);
    return table;
  }
  const name = checkName("openTable: branch", branch);
  const v = version ?? undefined;
  // The main handle only served to reach the branch.
  return (await table.branches()).checkout(name, v);
}
