// Quick start: 50,000 articles with 64-d embeddings in a local directory, a filtered vector search,
// an append, a read of the previous version (time travel) and the storage configuration in effect.
//   npm run demo
// The same against S3 when STOWAGE_DEMO_S3_URI is set (the bucket must exist), with the usual
// variables, e.g. AWS_ENDPOINT_URL=http://127.0.0.1:9000 AWS_ALLOW_HTTP=true AWS_REGION=us-east-1
// AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=... STOWAGE_DEMO_S3_URI=s3://my-bucket/demo npm run demo
import * as lancedb from "stowage";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const DIM = 64, RANK = 8, ROWS = 50_000;
const TOPICS = ["sports", "science", "music", "travel", "food", "finance", "health", "games"];
let seed = 7; // a seeded generator: the same data on every run
const rand = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32;
const normal = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
// Like real embeddings: clustered by topic, in a low-rank subspace, plus a little noise, unit length.
const basis = Array.from({ length: RANK }, () => Array.from({ length: DIM }, normal));
const centroids = TOPICS.map(() => Array.from({ length: RANK }, normal));
function embed(topic) {
  const z = centroids[topic].map((c) => c + 0.4 * normal());
  const v = basis[0].map((_, d) => z.reduce((s, zi, i) => s + zi * basis[i][d], 0) + 0.05 * normal());
  const norm = Math.hypot(...v);
  return v.map((x) => x / norm);
}
function articles(firstId, n) {
  return Array.from({ length: n }, (_, i) => {
    const topic = Math.floor(rand() * TOPICS.length);
    return { id: firstId + i, topic: TOPICS[topic], year: 2000 + Math.floor(rand() * 26), vector: embed(topic) };
  });
}

async function demo(uri) {
  const started = performance.now();
  const db = await lancedb.connect(uri);
  const table = await db.createTable("articles", articles(0, ROWS), { mode: "overwrite" });
  const first = await table.version();
  console.log(`\n${uri}\n  created "articles": ${await table.countRows()} rows, version ${first}`);

  const hits = await table.search(embed(1)).where("year >= 2020").select(["id", "topic", "year"]).limit(5).toArray();
  console.log("  nearest to a science-like vector, year >= 2020:");
  for (const h of hits) console.log(`    #${h.id}  ${h.topic.padEnd(8)} ${h.year}  distance ${h._distance.toFixed(3)}`);

  await table.add(articles(ROWS, 1_000));
  console.log(`  appended 1000: ${await table.countRows()} rows, version ${await table.version()}`);
  await table.checkout(first);
  console.log(`  time travel to version ${first}: ${await table.countRows()} rows`);
  await table.checkoutLatest();

  console.log("  storage configuration in effect (secrets redacted):");
  for (const o of db.effectiveStorageOptions()) console.log(`    ${o.key} = ${o.value}  (${o.source})`);
  console.log(`  done in ${((performance.now() - started) / 1000).toFixed(1)}s`);
}

await demo(process.env.STOWAGE_DEMO_DIR ?? mkdtempSync(join(tmpdir(), "stowage-demo-")));
if (process.env.STOWAGE_DEMO_S3_URI) await demo(process.env.STOWAGE_DEMO_S3_URI);
