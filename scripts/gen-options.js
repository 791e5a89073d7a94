#!/usr/bin/env node
// Generates the storage-option docs and TypeScript type from the Rust
// registry (the single source of truth):
//   docs/storage-options.md, lib/options.generated.ts
// `node scripts/gen-options.js --check` fails when they are stale.
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const { ROOT } = require("./common");

function camel(snake) {
  return snake.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase());
}

function render() {
  const rows = require(path.join(ROOT, "index.js")).storageOptionRegistry();
  const md = [
    "# Storage options",
    "",
    "Generated from the registry in `src/storage/registry.rs` by `scripts/gen-options.js`; do not edit.",
    "",
    "Every key may be written in snake_case, camelCase or UPPER_CASE, with or without its `aws_`/`google_`/`azure_` prefix.",
    "Precedence: table option > connection option > environment variable > default.",
    "",
    "| key | other spellings | environment | backends | value | default | doc |",
    "|---|---|---|---|---|---|---|",
  ];
  for (const r of rows) {
    const others = r.spellings.filter((s) => s !== r.name).map((s) => `\`${s}\``).join(", ");
    const env = r.env.map((e) => `\`${e}\``).join(", ");
    const value = r.secret ? `${r.kind} (secret)` : r.kind;
    md.push(
      `| \`${r.name}\` | ${others} | ${env} | ${r.backends.join(", ")} | ${value} | ${r.default ?? ""} | ${r.doc.replace(/\|/g, "\\|")} |`,
    );
  }
  const ts = [
    "// Generated from the registry in src/storage/registry.rs by scripts/gen-options.js; do not edit.",
    "",
    "/** Storage options Stowage knows; any spelling (camelCase, snake_case, UPPER_CASE) is accepted at run time. */",
    "export interface KnownStorageOptions {",
  ];
  // A spelling shared by two backends (`endpoint`, `token`) is one property.
  const seen = new Set();
  for (const r of rows) {
    const type =
      r.kind === "bool"
        ? "string | boolean"
        : /^(integer|size)\b/.test(r.kind) || r.kind.startsWith("duration (")
          ? "string | number"
          : "string";
    const doc = `${r.doc}${r.default ? ` Default: ${r.default}.` : ""} Env: ${r.env.join(", ")}.`;
    const names = new Set();
    for (const s of r.spellings) {
      names.add(camel(s));
      names.add(s);
    }
    for (const n of names) {
      if (seen.has(n)) continue;
      seen.add(n);
      ts.push(`  /** ${doc.replace(/\*\//g, "* /")} */`);
      ts.push(`  ${n}?: ${type};`);
    }
  }
  ts.push("}", "");
  return { md: md.join("\n") + "\n", ts: ts.join("\n") };
}

const out = render();
const files = [
  [path.join(ROOT, "docs", "storage-options.md"), out.md],
  [path.join(ROOT, "lib", "options.generated.ts"), out.ts],
];
if (process.argv.includes("--check")) {
  const stale = files.filter(([f, text]) => !fs.existsSync(f) || fs.readFileSync(f, "utf8") !== text);
  if (stale.length) {
    console.error(`stale generated files: ${stale.map(([f]) => path.relative(ROOT, f)).join(", ")}; run node scripts/gen-options.js`);
    process.exit(1);
  }
} else {
  for (const [f, text] of files) fs.writeFileSync(f, text);
}
