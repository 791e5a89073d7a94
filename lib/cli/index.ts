// SPDX-License-Identifier: Apache-2.0
// The `stowage` command: a table of subcommands, each in lib/cli/<name>.ts
// exporting `run(argv): Promise<number>` (the exit code).
import * as config from "./config";
import * as doctor from "./doctor";

interface Subcommand {
  run(argv: string[]): Promise<number>;
  /** One line for `stowage --help`; the name alone when absent. */
  usage?: string;
}

export const subcommands: Record<string, Subcommand> = {
  doctor,
  config,
};

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const sub = name === undefined ? undefined : subcommands[name];
  if (!sub) {
    const help = name === undefined || name === "--help" || name === "-h" || name === "help";
    const out = help ? process.stdout : process.stderr;
    out.write(`${help ? "" : `unknown command '${name}'\n`}usage:\n${Object.entries(subcommands).map(([n, s]) => `  ${s.usage ?? `stowage ${n}`}`).join("\n")}\n`);
    return help ? 0 : 2;
  }
  return sub.run(rest);
}
