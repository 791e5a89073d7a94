// The @lancedb/lancedb README's "Basic Example", unchanged but for the import.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type LanceDb = any;

export async function run(lancedb: LanceDb, uri: string): Promise<unknown> {
  const db = await lancedb.connect(uri);
  const table = await db.createTable("my_table", [
    { id: 1, vector: [0.1, 1.0], item: "foo", price: 10.0 },
    { id: 2, vector: [3.9, 0.5], item: "bar", price: 20.0 },
  ]);
  const results = await table.vectorSearch([0.1, 0.3]).limit(20).toArray();
  return results;
}
