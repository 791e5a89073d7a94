// LanceDB docs, "Managing Embeddings" (TypeScript): a custom text embedding
// function registered under a name, a schema declared with LanceSchema, rows
// added without vectors, and a search by text.
import { Int32 } from "apache-arrow";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type LanceDb = any;

/** Registers the docs' example function with this package's registry (once). */
function defineFunction(lancedb: LanceDb): string {
  const name = "docs-example-embedder";
  if (lancedb.embedding.getRegistry().get(name)) return name;
  class MyEmbedding extends lancedb.embedding.TextEmbeddingFunction {
    ndims(): number {
      return 3;
    }
    async generateEmbeddings(texts: string[]): Promise<number[][]> {
      // A toy model: word count, length, number of vowels.
      return texts.map((t) => [t.split(/\s+/).length, t.length, (t.match(/[aeiou]/g) ?? []).length]);
    }
  }
  lancedb.embedding.register(name)(MyEmbedding);
  return name;
}

export async function run(lancedb: LanceDb, uri: string): Promise<unknown> {
  const name = defineFunction(lancedb);
  const db = await lancedb.connect(uri);
  const func = lancedb.embedding.getRegistry().get(name).create();
  const schema = lancedb.embedding.LanceSchema({
    id: new Int32(),
    text: func.sourceField(),
    vector: func.vectorField(),
  });
  const table = await db.createTable(
    "words",
    [
      { id: 1, text: "hello world" },
      { id: 2, text: "goodbye world" },
      { id: 3, text: "a much longer sentence about vector databases" },
    ],
    { schema },
  );
  await table.add([{ id: 4, text: "hi" }]);
  const results = await table.search("greetings planet").limit(2).select(["id", "text"]).toArray();
  const stored = await table.query().select(["id", "vector"]).toArray();
  return { results, stored, metadata: (await table.schema()).metadata.get("embedding_functions") };
}
