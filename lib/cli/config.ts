// SPDX-License-Identifier: Apache-2.0
// `stowage config <uri> [--option key=value ...] [--json]`: the effective
// configuration (every key, secrets masked, where each value came from).
import { resolveConfiguration } from "../doctor";
import { StowageError } from "../errors";
import { parseOrUsage } from "./args";

export const usage = "stowage config <uri> [--option key=value ...] [--json]   the effective configuration, secrets masked";

export async function run(argv: string[]): Promise<number> {
  const a = parseOrUsage(argv, usage);
  if (typeof a === "number") return a;
  let rows;
  try {
    rows = resolveConfiguration(a.uri, { storageOptions: a.options });
  } catch (e) {
    const err = e as StowageError;
    process.stderr.write(`✘ ${err.code ? `${err.code}: ` : ""}${err.message ?? String(e)}\n`);
    return 1;
  }
  if (a.json) {
    process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    return 0;
  }
  const table = [["key", "value", "source", "given as"], ...rows.map((r) => [r.key, r.applies ? r.value : `${r.value} (not used by this backend)`, r.source, r.givenAs])];
  const widths = table[0].map((_, i) => Math.max(...table.map((row) => row[i].length)));
  const line = (row: string[]) => row.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd();
  process.stdout.write(`${[line(table[0]), line(widths.map((w) => "-".repeat(w))), ...table.slice(1).map(line)].join("\n")}\n`);
  return 0;
}
