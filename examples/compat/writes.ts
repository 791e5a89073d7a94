// LanceDB docs: updating data — add, update, delete, merge insert (upsert),
// versions.

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type LanceDb = any;

export async function run(lancedb: LanceDb, uri: string): Promise<unknown> {
  const db = await lancedb.connect(uri);
  const table = await db.createTable("people", [
    { id: 1, name: "Alice", age: 30 },
    { id: 2, name: "Bob", age: 25 },
  ]);
  await table.add([{ id: 3, name: "Carol", age: 41 }]);
  const updated = await table.update({ where: "id = 2", values: { age: 26 } });
  await table.update({ where: "age > 40", valuesSql: { age: "age + 1" } });
  const deleted = await table.delete("name = 'Alice'");
  const merged = await table
    .mergeInsert("id")
    .whenMatchedUpdateAll()
    .whenNotMatchedInsertAll()
    .execute([
      { id: 2, name: "Bobby", age: 27 },
      { id: 4, name: "Dan", age: 19 },
    ]);
  const rows = (await table.query().toArray()).sort((a: { id: number }, b: { id: number }) => a.id - b.id);
  const versions = (await table.listVersions()).length;
  return {
    updated: updated.rowsUpdated,
    deleted: deleted.numDeletedRows,
    merged: [merged.numInsertedRows, merged.numUpdatedRows, merged.numDeletedRows],
    rows,
    count: await table.countRows("age < 30"),
    versions,
  };
}
