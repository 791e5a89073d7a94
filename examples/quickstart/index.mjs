// Quick start: a table of records with vectors in a local directory.
//   npm run demo
import * as lancedb from "stowage";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const dir = process.env.STOWAGE_DEMO_DIR ?? mkdtempSync(join(tmpdir(), "stowage-demo-"));
const db = await lancedb.connect(dir);

const items = [
  { id: 1, name: "apple", vector: [0.1, 0.2, 0.3] },
  { id: 2, name: "banana", vector: [0.4, 0.5, 0.6] },
  { id: 3, name: "cherry", vector: [0.7, 0.8, 0.9] },
];
const table = await db.createTable("items", items, { mode: "overwrite" });
await table.add([{ id: 4, name: "date", vector: [1.0, 1.1, 1.2] }]);

console.log(`database:   ${dir}`);
console.log(`tables:     ${(await db.tableNames()).join(", ")}`);
console.log(`rows:       ${await table.countRows()}`);
console.log(`schema:     ${(await table.schema()).fields.map((f) => `${f.name}: ${f.type}`).join(", ")}`);
for (const row of await table.query().toArray()) {
  console.log(`  ${row.id}  ${row.name.padEnd(8)} [${Array.from(row.vector, (v) => v.toFixed(1)).join(", ")}]`);
}
