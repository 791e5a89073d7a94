// LanceDB docs: creating tables from Arrow data — makeArrowTable with
// vectorColumns, a table from an Arrow table, createEmptyTable with a schema.
import { Field, FixedSizeList, Float32, Int32, Schema, Utf8 } from "apache-arrow";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type LanceDb = any;

export async function run(lancedb: LanceDb, uri: string): Promise<unknown> {
  const db = await lancedb.connect(uri);
  const data = lancedb.makeArrowTable(
    [
      { id: 1, vector: [0.1, 0.2], vec16: [1, 2, 3], text: "a" },
      { id: 2, vector: [1.1, 1.2], vec16: [4, 5, 6], text: "b" },
    ],
    { vectorColumns: { vector: new lancedb.VectorColumnOptions(), vec16: new lancedb.VectorColumnOptions({ type: new Float32() }) } },
  );
  const t1 = await db.createTable("from_arrow", data);
  const schema = new Schema([
    new Field("id", new Int32(), true),
    new Field("vector", new FixedSizeList(2, new Field("item", new Float32(), true)), true),
    new Field("text", new Utf8(), true),
  ]);
  const t2 = await db.createEmptyTable("empty", schema);
  await t2.add([{ id: 7, vector: [1, 2], text: "x" }]);
  return {
    madeSchema: String(data.schema),
    storedSchema: String(await t1.schema()),
    rows: await t1.query().toArray(),
    empty: [String(await t2.schema()), await t2.countRows()],
  };
}
