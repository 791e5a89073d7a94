// The Arrow hand-offs between JavaScript and the native side: createTable
// sends the IPC stream as the writer's pieces (views of the table's own
// buffers, joined natively), and a scan comes back as one buffer per IPC
// message. Both must carry every value exactly, whatever the batches look
// like (several batches, sliced arrays with offsets, nulls, dictionaries),
// and agree with @lancedb/lancedb 0.31.0 on the same data.
import * as reference from "@lancedb/lancedb";
import { Dictionary, Field, FixedSizeList, Float32, Int32, makeData, makeVector, RecordBatch, Schema, Struct, Table, Utf8, vectorFromArray } from "apache-arrow";
import * as stowage from "../lib";
import { tempDir } from "./helpers/tmp";

const DIM = 4;

function batch(start: number, n: number): RecordBatch {
  const ids = new Int32Array(n).map((_, i) => start + i);
  const names = Array.from({ length: n }, (_, i) => ((start + i) % 5 === 0 ? null : `n${start + i}`));
  const values = new Float32Array(n * DIM).map((_, i) => start + i / 8);
  const vecType = new FixedSizeList(DIM, new Field("item", new Float32(), true));
  const vec = makeData({ type: vecType, length: n, nullCount: 0, child: makeData({ type: new Float32(), length: n * DIM, data: values }) });
  const schema = new Schema([new Field("id", new Int32(), true), new Field("name", new Utf8(), true), new Field("vector", vecType, true)]);
  const struct = makeData({
    type: new Struct(schema.fields),
    length: n,
    nullCount: 0,
    children: [makeVector(ids).data[0], vectorFromArray(names, new Utf8()).data[0], vec],
  });
  return new RecordBatch(schema, struct);
}

const plain = (rows: Record<string, unknown>[]) =>
  rows.map((r) => ({ id: Number(r.id), name: r.name ?? null, vector: Array.from(r.vector as Float32Array) }));

let cleanup: () => void;
let dir: string;
beforeAll(() => {
  const t = tempDir();
  cleanup = t.cleanup;
  dir = t.dir;
});
afterAll(() => cleanup?.());

test("createTable from several batches, one of them sliced, stores every value", async () => {
  // A slice starts at an offset inside its buffers: the pieces sent are views.
  const whole = batch(1000, 300);
  const table = new Table([batch(0, 250), whole.slice(17, 217), batch(5000, 1)]);
  const want = plain(table.toArray().map((r) => r.toJSON()));
  const ours = await (await stowage.connect(`${dir}/ours`)).createTable("t", table);
  const ref = await (await reference.connect(`${dir}/ref`)).createTable("t", table);
  expect(await ours.countRows()).toBe(451);
  const got = plain(await ours.query().toArray());
  expect(got).toEqual(want);
  expect(got).toEqual(plain(await ref.query().toArray()));
  // The same values through the one-buffer path (add) and after reopening.
  await ours.add(new Table([batch(9000, 3)]));
  const again = await (await stowage.connect(`${dir}/ours`)).openTable("t");
  expect(plain(await again.query().where("id >= 9000").toArray())).toEqual(plain(new Table([batch(9000, 3)]).toArray().map((r) => r.toJSON())));
});

test("a scan handed over message by message: empty, many files, dictionary columns", async () => {
  const db = await stowage.connect(`${dir}/scan`);
  const t = await db.createTable("t", new Table([batch(0, 10)]));
  for (let i = 1; i < 6; i++) await t.add(new Table([batch(i * 10, 10)]));
  const all = await t.query().toArrow();
  expect(all.numRows).toBe(60);
  expect(Array.from(all.getChild("id")!.toArray() as Int32Array)).toEqual(Array.from({ length: 60 }, (_, i) => i));
  const none = await t.query().where("id < 0").toArrow();
  expect(none.numRows).toBe(0);
  expect(none.schema.fields.map((f) => f.name)).toEqual(["id", "name", "vector"]);
  // A dictionary column is handed over as one stream (its dictionaries
  // are tracked from batch to batch).
  const dictType = new Dictionary(new Utf8(), new Int32());
  const labels = vectorFromArray(["a", "b", null, "a"], dictType);
  const ds = new Schema([new Field("label", dictType, true), new Field("k", new Int32(), true)]);
  const dt = new Table(
    ds,
    new RecordBatch(ds, makeData({ type: new Struct(ds.fields), length: 4, nullCount: 0, children: [labels.data[0], makeVector(new Int32Array([1, 2, 3, 4])).data[0]] })),
  );
  const d = await db.createTable("d", dt);
  await d.add(dt);
  const rows = (await d.query().toArray()).map((r) => [r.label ?? null, Number(r.k)]);
  expect(rows).toEqual([["a", 1], ["b", 2], [null, 3], ["a", 4], ["a", 1], ["b", 2], [null, 3], ["a", 4]]);
});
