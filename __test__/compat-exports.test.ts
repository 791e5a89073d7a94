// SPDX-License-Identifier: Apache-2.0
//
// Issue 11: every name the reference's main entry exports exists in ours
// (runtime values and TypeScript types); the LanceDB Cloud client's names
// fail with NOT_SUPPORTED; placeholders of other issues' features say which
// feature they arrive with.

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as ts from "typescript";

import * as ref from "@lancedb/lancedb";
import * as ours from "../lib";
import { expectCode, memoryUri } from "./helpers/tmp";

const REF_DIST = path.dirname(require.resolve("@lancedb/lancedb"));

/** The names an `export { a, b as c } from "..."` list in a .d.ts declares. */
function declaredNames(file: string): string[] {
  const text = fs.readFileSync(file, "utf8");
  const names = new Set<string>();
  for (const m of text.matchAll(/export\s*\{([^}]*)\}\s*from/g)) {
    for (const part of m[1].split(",")) {
      const p = part.trim();
      if (!p) continue;
      const as = p.split(/\s+as\s+/);
      names.add((as[1] ?? as[0]).trim());
    }
  }
  for (const m of text.matchAll(/export\s+\*\s+as\s+(\w+)/g)) names.add(m[1]);
  for (const m of text.matchAll(/export\s+declare\s+(?:function|class|enum|const)\s+(\w+)/g)) names.add(m[1]);
  for (const m of text.matchAll(/export\s+(?:interface|type)\s+(\w+)/g)) names.add(m[1]);
  return [...names].sort();
}

describe("export parity with @lancedb/lancedb 0.31.0", () => {
  test("every runtime export of the reference's main entry exists in ours, of the same kind", () => {
    const missing = Object.keys(ref).filter((k) => !(k in ours));
    expect(missing).toEqual([]);
    for (const k of Object.keys(ref)) {
      expect([k, typeof (ours as Record<string, unknown>)[k]]).toEqual([k, typeof (ref as Record<string, unknown>)[k]]);
    }
    // Namespaces hold the same names.
    expect(Object.keys(ref.embedding).filter((k) => !(k in ours.embedding))).toEqual([]);
    expect(Object.keys(ref.rerankers).filter((k) => !(k in ours.rerankers))).toEqual([]);
    // Enum values are the same.
    expect({ ...ours.OAuthFlowType }).toEqual({ ...ref.OAuthFlowType });
    expect({ ...ours.Occur }).toEqual({ ...ref.Occur });
    expect({ ...ours.Operator }).toEqual({ ...ref.Operator });
    expect({ ...ours.FullTextQueryType }).toEqual({ ...ref.FullTextQueryType });
  });

  test("every name (types included) of the reference's index.d.ts and embedding/index.d.ts compiles against ours", () => {
    const main = declaredNames(path.join(REF_DIST, "index.d.ts"));
    const emb = declaredNames(path.join(REF_DIST, "embedding", "index.d.ts"));
    // The list is read from the reference, so it can only grow with it.
    expect(main).toEqual(expect.arrayContaining(["SchemaLike", "FieldLike", "TableLike", "RecordBatchLike", "DataLike", "IntoVector", "MultiVector", "IntoSql", "WriteProgress", "QueryExecutionOptions"]));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stowage-types-"));
    const lib = path.resolve(__dirname, "../lib/index").replace(/\\/g, "/");
    const file = path.join(dir, "check.ts");
    fs.writeFileSync(
      file,
      `import type { ${main.join(", ")} } from ${JSON.stringify(lib)};\n` +
        `import type { ${emb.join(", ")} } from ${JSON.stringify(lib.replace(/index$/, "embedding/index"))};\n` +
        // Used as types, so an unused import is not what fails.
        `export type All = [${[...main, ...emb].map((n) => `typeof ${n} extends never ? 0 : 1`).join(", ")}];\n`,
    );
    const program = ts.createProgram([file], {
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      esModuleInterop: true,
      module: ts.ModuleKind.CommonJS,
      moduleResolution: ts.ModuleResolutionKind.Node10,
      target: ts.ScriptTarget.ES2022,
      types: ["node"],
    });
    const diags = ts
      .getPreEmitDiagnostics(program)
      .filter((d) => d.file?.fileName === file || d.file === undefined)
      .map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"))
      // `typeof X` of a type-only name is not an error we test; "has no exported member" is.
      .filter((m) => /has no exported member|Cannot find module/.test(m));
    fs.rmSync(dir, { recursive: true, force: true });
    expect(diags).toEqual([]);
  });
});

describe("subpath exports, as the reference's package.json has them", () => {
  test("stowage/embedding, stowage/embedding/openai, stowage/embedding/transformers load (CommonJS and ESM) and share one registry", () => {
    const { execFileSync } = require("node:child_process") as typeof import("node:child_process");
    const script = `
      const main = require("stowage");
      require("stowage/embedding/openai");
      require("stowage/embedding/transformers");
      const emb = require("stowage/embedding");
      console.log(JSON.stringify({
        same: emb.getRegistry() === main.embedding.getRegistry(),
        openai: !!emb.getRegistry().get("openai"),
        huggingface: !!emb.getRegistry().get("huggingface"),
      }));
      import("stowage/embedding/openai").then((m) => console.log(JSON.stringify({ esm: typeof m.OpenAIEmbeddingFunction })));`;
    // The package resolves itself by name (package.json "exports"), from the built dist/.
    const out = execFileSync(process.execPath, ["-e", script], { cwd: path.resolve(__dirname, ".."), encoding: "utf8" });
    const [a, b] = out.trim().split("\n").map((l) => JSON.parse(l));
    expect(a).toEqual({ same: true, openai: true, huggingface: true });
    expect(b).toEqual({ esm: "function" });
    const pkg = JSON.parse(fs.readFileSync(path.resolve(__dirname, "../package.json"), "utf8"));
    const refPkg = JSON.parse(fs.readFileSync(path.join(REF_DIST, "..", "package.json"), "utf8"));
    expect(Object.keys(pkg.exports)).toEqual(expect.arrayContaining(Object.keys(refPkg.exports)));
    expect(pkg.peerDependenciesMeta).toEqual({ openai: { optional: true }, "@huggingface/transformers": { optional: true }, "@lancedb/lancedb": { optional: true } });
  });
});

describe("LanceDB Cloud client: present, refused with NOT_SUPPORTED", () => {
  test("db:// URIs, apiKey and other cloud options", async () => {
    await expectCode(ours.connect("db://my-project", { apiKey: "sk-x" }), "NOT_SUPPORTED", /LanceDB Cloud.*local directory, memory:\/\//);
    await expectCode(ours.connect(memoryUri(), { apiKey: "sk-secret-value" }), "NOT_SUPPORTED", /'apiKey'/);
    await expectCode(ours.connect({ uri: memoryUri(), region: "us-east-1" }), "NOT_SUPPORTED", /'region'/);
    await expectCode(ours.connect({ uri: memoryUri(), hostOverride: "http://x" }), "NOT_SUPPORTED", /'hostOverride'/);
    await expectCode(ours.connect(memoryUri(), {}, undefined, new ours.StaticHeaderProvider({ a: "b" })), "NOT_SUPPORTED", /header provider/);
    // The secret never appears in the message.
    const err = await expectCode(ours.connect(memoryUri(), { apiKey: "sk-secret-value" }), "NOT_SUPPORTED");
    expect(err.message).not.toContain("sk-secret-value");
  });

  test("Session, OAuthHeaderProvider and the native header provider", async () => {
    await expectCode(() => ours.Session.default(), "NOT_SUPPORTED", /Session/);
    await expectCode(() => new ours.OAuthHeaderProvider(() => ({ accessToken: "t" })), "NOT_SUPPORTED", /OAuthHeaderProvider/);
    await expectCode(() => new ours.NativeJsHeaderProvider(), "NOT_SUPPORTED");
    // A static provider is a value holder, as in the reference.
    expect(new ours.StaticHeaderProvider({ "X-Key": "v" }).getHeaders()).toEqual(new ref.StaticHeaderProvider({ "X-Key": "v" }).getHeaders());
  });
});

describe("small helpers", () => {
  test("packBits gives the reference's bytes", () => {
    for (const bits of [[1, 0, 1, 1, 0, 0, 0, 1], [1, 1, 1, 1, 1, 1, 1, 1, 0, 1], [], [0, 0, 0, 1, 1, 0, 1, 0, 1, 1, 1, 0, 0, 0, 0, 1]]) {
      expect(ours.packBits(bits)).toEqual(ref.packBits(bits));
    }
  });

  test("display() has the reference's shape: a class name and the URI", async () => {
    const uri = memoryUri();
    const db = await ours.connect(uri);
    const t = await db.createTable("t", [{ id: 1 }]);
    const rdb = await ref.connect("memory://");
    const rt = await rdb.createTable("t", [{ id: 1 }]);
    const shape = (s: string): string => s.replace(/\(.*\)$/, "(...)");
    expect(shape(rt.display())).toMatch(/^\w+\(\.\.\.\)$/);
    expect(shape(t.display())).toMatch(/^\w+\(\.\.\.\)$/);
    expect(t.display()).toContain("t");
    expect(db.display()).toContain(uri);
  });
});
