// LanceDB docs: querying — filters, projections, limit/offset, take by
// offset and row id, iterating the batches of a query.

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type LanceDb = any;

export async function run(lancedb: LanceDb, uri: string): Promise<unknown> {
  const db = await lancedb.connect(uri);
  const table = await db.createTable(
    "items",
    Array.from({ length: 50 }, (_, i) => ({ id: i, category: i % 2 === 0 ? "even" : "odd", vector: [i, 50 - i] })),
  );
  const filtered = await table.query().where("category = 'odd' AND id > 30").select(["id"]).limit(5).toArray();
  const paged = await table.query().select(["id"]).offset(10).limit(3).toArray();
  const computed = await table.query().select({ id: "id", double: "id * 2" }).limit(2).toArray();
  const nearest = await table.search([10, 40]).distanceType("l2").limit(3).select(["id"]).toArray();
  const taken = await table.takeOffsets([0, 49, 7]).select(["id"]).toArray();
  const byRowId = await table.takeRowIds([3, 5]).select(["id"]).toArray();
  let rows = 0;
  for await (const batch of table.query().where("id < 20")) rows += batch.numRows;
  return { filtered, paged, computed, nearest, taken, byRowId, rows };
}
