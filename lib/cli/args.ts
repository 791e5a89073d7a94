// SPDX-License-Identifier: Apache-2.0
// Argument parsing shared by the subcommands: `<uri> [--option key=value ...] [--json]`.

export interface CommonArgs {
  uri?: string;
  options: Record<string, string>;
  json: boolean;
  help: boolean;
  errors: string[];
}

export function parseCommon(argv: string[]): CommonArgs {
  const out: CommonArgs = { options: {}, json: false, help: false, errors: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--json") out.json = true;
    else if (a === "--help" || a === "-h") out.help = true;
    else if (a === "--option" || a === "-o" || a.startsWith("--option=")) {
      const kv = a.startsWith("--option=") ? a.slice("--option=".length) : argv[++i];
      const eq = kv === undefined ? -1 : kv.indexOf("=");
      if (kv === undefined || eq <= 0) out.errors.push(`--option needs key=value, got ${kv === undefined ? "nothing" : `'${kv.split("=")[0]}'`}`);
      else out.options[kv.slice(0, eq)] = kv.slice(eq + 1);
    } else if (a.startsWith("-")) out.errors.push(`unknown flag ${a}`);
    else if (out.uri === undefined) out.uri = a;
    else out.errors.push(`unexpected argument '${a}'`);
  }
  return out;
}

/**
 * parseCommon with the handling every subcommand shares: `--help` prints
 * `usage` (exit code 0); bad or missing arguments print what is wrong and
 * the usage (exit code 2). Returns the arguments, or the exit code.
 */
export function parseOrUsage(argv: string[], usage: string): (CommonArgs & { uri: string }) | number {
  const a = parseCommon(argv);
  if (a.help) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  if (a.errors.length || !a.uri) {
    process.stderr.write(`${[...a.errors, ...(a.uri ? [] : ["missing <uri>"])].join("\n")}\nusage: ${usage}\n`);
    return 2;
  }
  return { ...a, uri: a.uri };
}
