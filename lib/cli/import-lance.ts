// `stowage import-lance <lance-db-uri> <stowage-uri> [--table NAME ...] [--option key=value ...] [--overwrite]`
//
// Copies the latest version of LanceDB tables into Stowage: schema (with its
// metadata, where LanceDB keeps the embedding configuration), rows, and the
// index definitions Stowage can re-create. LanceDB's format is not ours, so
// the rows are read through an installed @lancedb/lancedb (an optional peer
// dependency, loaded only here) and streamed: record batches are buffered up
// to --batch-rows rows, appended, and dropped, so a table is never held whole.
import { parseArgs } from "node:util";
import type { Schema } from "apache-arrow";
import { connect, Connection, Index, StowageError, Table } from "../index";
import { native } from "../native";

const USAGE = `usage: stowage import-lance <lance-db-uri> <stowage-uri> [--table NAME ...] [--option key=value ...] [--overwrite]

Copies each table's latest version from a LanceDB database into a Stowage database.

  --table NAME         copy only this table (repeatable; default: every table)
  --option key=value   a storage option for both sides (repeatable), any spelling Stowage knows
                       (docs/storage-options.md); the environment is read as usual
  --overwrite          replace target tables that exist (without it an existing target table is an error)
  --batch-rows N       rows buffered per append (default 65536)

Needs @lancedb/lancedb installed next to stowage (npm install @lancedb/lancedb).`;

/** The part of @lancedb/lancedb this command uses. */
interface LanceTable {
  countRows(): Promise<number>;
  schema(): Promise<Schema>;
  listIndices(): Promise<{ name: string; indexType: string; columns: string[] }[]>;
  query(): AsyncIterable<{ numRows: number; schema: unknown }>;
  close(): void;
}
interface LanceConnection {
  tableNames(options?: { startAfter?: string; limit?: number }): Promise<string[]>;
  openTable(name: string): Promise<LanceTable>;
  close(): void;
}
interface LanceModule {
  connect(uri: string, options?: { storageOptions?: Record<string, string> }): Promise<LanceConnection>;
}

export function loadLancedb(): LanceModule {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require("@lancedb/lancedb");
  } catch (e) {
    const err = e as { code?: string; message?: string };
    if (err.code === "MODULE_NOT_FOUND" && /@lancedb\/lancedb/.test(err.message ?? "")) {
      throw new StowageError(
        "NOT_SUPPORTED",
        "import-lance reads LanceDB tables through the package @lancedb/lancedb, which is not installed; " +
          "install it next to stowage (`npm install @lancedb/lancedb`) and run the command again",
      );
    }
    throw e;
  }
}

/** `--option` values keyed by the registry's canonical name, so both sides read the same keys. */
function storageOptions(pairs: string[]): Record<string, string> {
  // A spelling two backends share (`endpoint`) has no single canonical name:
  // it stays as given, which both sides read for the backend of their URI.
  const canonical = new Map<string, string | null>();
  for (const row of native.storageOptionRegistry()) {
    for (const s of new Set([row.name, ...row.spellings].map((x) => x.toLowerCase()))) {
      canonical.set(s, canonical.has(s) && canonical.get(s) !== row.name ? null : row.name);
    }
  }
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new StowageError("INVALID_ARGUMENT", `--option expects key=value, got "${pair}"`);
    const key = pair.slice(0, eq);
    const snake = key.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toLowerCase();
    // Unknown keys are kept as given: Stowage's connect rejects them with a did-you-mean.
    out[canonical.get(snake) ?? snake] = pair.slice(eq + 1);
  }
  return out;
}

async function exists(db: Connection, name: string): Promise<boolean> {
  try {
    (await db.openTable(name)).close();
    return true;
  } catch (e) {
    if ((e as { code?: string }).code === "TABLE_NOT_FOUND") return false;
    throw e;
  }
}

async function allTables(db: LanceConnection): Promise<string[]> {
  const names: string[] = [];
  for (;;) {
    const page = await db.tableNames({ startAfter: names[names.length - 1], limit: 1000 });
    names.push(...page);
    if (page.length < 1000) return names;
  }
}

interface Copied {
  name: string;
  rows: number;
  recreated: string[];
  notRecreated: string[];
}

async function copyTable(
  src: LanceConnection,
  dst: Connection,
  name: string,
  opts: { overwrite: boolean; batchRows: number; log: (line: string) => void },
): Promise<Copied> {
  const source = await src.openTable(name);
  try {
    const total = await source.countRows();
    const schema = await source.schema();
    const indices = await source.listIndices();
    const target: Table = await dst.createEmptyTable(name, schema, { mode: opts.overwrite ? "overwrite" : "create" });
    try {
      let pending: { numRows: number; schema: unknown }[] = [];
      let pendingRows = 0;
      let copied = 0;
      const flush = async () => {
        if (pendingRows === 0) return;
        // A duck-typed Arrow table: the batches come from LanceDB's copy of apache-arrow.
        await target.add({ schema: pending[0].schema, batches: pending } as never);
        copied += pendingRows;
        pending = [];
        pendingRows = 0;
        opts.log(`${name}: ${copied} / ${total} rows`);
      };
      opts.log(`${name}: 0 / ${total} rows`);
      for await (const batch of source.query()) {
        if (batch.numRows === 0) continue;
        pending.push(batch);
        pendingRows += batch.numRows;
        if (pendingRows >= opts.batchRows) await flush();
      }
      await flush();

      const landed = await target.countRows();
      if (landed !== total) {
        throw new StowageError(
          "INTERNAL",
          `table ${name}: the source has ${total} rows but ${landed} arrived; run again with --overwrite`,
        );
      }
      // Index definitions: Stowage re-creates the kinds it has (same name,
      // same kind, Stowage's default parameters: LanceDB does not list the
      // parameters it built with); the rest are reported.
      const recreated: string[] = [];
      const notRecreated: string[] = [];
      for (const ix of indices) {
        const def = `${ix.indexType} index "${ix.name}" on ${ix.columns.join(", ")}`;
        const config = indexConfigOf(ix.indexType);
        if (!config || ix.columns.length !== 1) {
          notRecreated.push(`${def} (Stowage has no index of this kind; searches and filters on it stay exact)`);
          continue;
        }
        try {
          await target.createIndex(ix.columns[0], { config: config(), name: ix.name });
          recreated.push(def);
          opts.log(`${name}: re-created ${def}`);
        } catch (e) {
          notRecreated.push(`${def} (${(e as Error).message})`);
        }
      }
      return { name, rows: landed, recreated, notRecreated };
    } finally {
      target.close();
    }
  } finally {
    source.close();
  }
}

/** The Stowage index of the kind @lancedb/lancedb's listIndices() names (`IvfPq`, `BTree`, ...). */
function indexConfigOf(kind: string): (() => Index) | undefined {
  const kinds: Record<string, () => Index> = {
    ivfpq: () => Index.ivfPq(),
    ivfflat: () => Index.ivfFlat(),
    ivfhnswsq: () => Index.hnswSq(),
    ivfhnswpq: () => Index.hnswPq(),
    btree: () => Index.btree(),
    bitmap: () => Index.bitmap(),
    labellist: () => Index.labelList(),
    fts: () => Index.fts(),
    inverted: () => Index.fts(),
  };
  return kinds[kind.toLowerCase().replace(/[^a-z]/g, "")];
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      table: { type: "string", multiple: true },
      option: { type: "string", multiple: true },
      overwrite: { type: "boolean", default: false },
      "batch-rows": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (positionals.length !== 2) {
    console.error(USAGE);
    return 2;
  }
  const [from, to] = positionals;
  const batchRows = values["batch-rows"] === undefined ? 65_536 : Number(values["batch-rows"]);
  if (!Number.isInteger(batchRows) || batchRows < 1) {
    throw new StowageError("INVALID_ARGUMENT", `--batch-rows must be a positive integer, got "${values["batch-rows"]}"`);
  }
  const options = storageOptions(values.option ?? []);
  const log = (line: string) => console.error(line);

  // Stowage first: it validates the options (unknown keys, bad values) before any I/O.
  const dst = await connect(to, { storageOptions: options });
  const lancedb = loadLancedb();
  const src = await lancedb.connect(from, { storageOptions: options });
  try {
    const names = values.table?.length ? values.table : await allTables(src);
    // Checked up front, so a re-run without --overwrite changes nothing.
    if (!values.overwrite) {
      const taken = [];
      for (const n of names) if (await exists(dst, n)) taken.push(n);
      if (taken.length) {
        throw new StowageError(
          "TABLE_EXISTS",
          `${to} already has table${taken.length > 1 ? "s" : ""} ${taken.join(", ")}; pass --overwrite to replace ${taken.length > 1 ? "them" : "it"}`,
        );
      }
    }
    const results: Copied[] = [];
    for (const name of names) results.push(await copyTable(src, dst, name, { overwrite: values.overwrite, batchRows, log }));

    for (const r of results) {
      console.log(`${r.name}: ${r.rows} rows copied, row count verified`);
      for (const d of r.recreated) console.log(`${r.name}: index re-created: ${d}`);
      for (const d of r.notRecreated) console.log(`${r.name}: index not re-created: ${d}`);
    }
    return 0;
  } finally {
    src.close();
    dst.close();
  }
}
