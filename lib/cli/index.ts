// The `stowage` command (bin/stowage.js): one subcommand per file in this
// directory, each exporting `run(argv): Promise<number>` (the exit code).
// Subcommands load lazily, so one command's optional dependencies (e.g.
// @lancedb/lancedb for import-lance) are never loaded by another.

interface Command {
  summary: string;
  /** The module; its `usage` line, when it exports one, heads its help entry. */
  load: () => { run(argv: string[]): Promise<number>; usage?: string };
}

/* eslint-disable @typescript-eslint/no-require-imports */
const COMMANDS: Record<string, Command> = {
  doctor: { summary: "live checks of every permission and capability a table needs", load: () => require("./doctor") },
  config: { summary: "the effective storage configuration, secrets masked", load: () => require("./config") },
  "import-lance": { summary: "copy tables from a LanceDB database into Stowage", load: () => require("./import-lance") },
};
/* eslint-enable @typescript-eslint/no-require-imports */

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((n) => n.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) => {
    const line = c.load().usage;
    return line ? `  ${line}\n  ${" ".repeat(width)}  ${c.summary}` : `  ${name.padEnd(width)}  ${c.summary}`;
  });
  return `usage: stowage <command> [args]\n\ncommands:\n${lines.join("\n")}\n\n\`stowage <command> --help\` describes one.`;
}

/** Runs a subcommand and sets the process exit code; returns it too (for tests). */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  let code: number;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    console.log(usage());
    code = name ? 0 : 2;
  } else if (!Object.prototype.hasOwnProperty.call(COMMANDS, name)) {
    console.error(`stowage: unknown command "${name}"\n\n${usage()}`);
    code = 2;
  } else {
    try {
      code = await COMMANDS[name].load().run(rest);
    } catch (e) {
      const err = e as { code?: string; message?: string };
      console.error(`stowage ${name}: ${err.code ? `${err.code}: ` : ""}${err.message ?? String(e)}`);
      code = 1;
    }
  }
  process.exitCode = code;
  return code;
}
