#!/usr/bin/env node
/*
 * Child process for the cloud-* suites: runs stowage (the compiled dist/, as a user would) in a process
 * whose environment the test controls completely, so configuration can come from environment variables
 * only. Node builtins + ../../dist only.
 *
 *   node cloud-child.js '<json spec>'
 *
 * spec = {
 *   uri: "s3://bucket/db",
 *   storageOptions?: {...},          // connection options (omit for env-only configuration)
 *   table: "name",
 *   ops: ["create", "add", "open", "count", "query", "names", "pause", "drop", "names"],
 *   loopback: "s3" | "gcs" | "azure" // refuse to do any I/O unless every endpoint is on 127.0.0.1
 * }
 *
 * Prints one JSON line per "pause" ({"paused": true, ...}; then waits for a line on stdin) and one final
 * JSON line: { ok, steps, effective, tableEffective, error?: {code, message}, ms }.
 */
'use strict';

const fs = require('fs');
const path = require('path');
const readline = require('readline');

const spec = JSON.parse(process.argv[2]);
const out = { ok: false, steps: {}, effective: null, tableEffective: null, error: null, ms: 0 };
const t0 = Date.now();
const records = [
  { id: 1, name: 'a', vector: [0.1, 0.2] },
  { id: 2, name: 'b', vector: [0.3, 0.4] },
];
const more = [{ id: 3, name: 'c', vector: [0.5, 0.6] }];

function isLoopback(u) {
  try {
    const h = new URL(u).hostname;
    return h === '127.0.0.1' || h === 'localhost' || h === '[::1]';
  } catch {
    return false;
  }
}

/** Throws unless the resolved configuration can only reach 127.0.0.1 (checked before any I/O). */
function checkLoopback(effective, backend) {
  const get = (k) => effective.find((e) => e.key === k);
  for (const k of ['aws_endpoint', 'azure_endpoint', 'proxy_url', 'dynamodb_endpoint']) {
    const e = get(k);
    if (e && !isLoopback(e.value)) throw new Error(`loopback guard: ${k}=${e.value}`);
  }
  if (backend === 's3' && !get('aws_endpoint')) throw new Error('loopback guard: no aws_endpoint resolved');
  if (backend === 'azure' && !get('azure_endpoint')) {
    const emu = get('azure_storage_use_emulator');
    if (!emu || emu.value !== 'true') throw new Error('loopback guard: no azure_endpoint and not use_emulator');
    const url = process.env.AZURITE_BLOB_STORAGE_URL;
    if (url && !isLoopback(url)) throw new Error(`loopback guard: AZURITE_BLOB_STORAGE_URL=${url}`);
  }
  if (backend === 'gcs') {
    const sa = get('google_service_account');
    if (!sa) throw new Error('loopback guard: no google_service_account path resolved');
    const j = JSON.parse(fs.readFileSync(sa.value, 'utf8'));
    if (!isLoopback(j.gcs_base_url)) throw new Error(`loopback guard: gcs_base_url=${j.gcs_base_url}`);
  }
}

function waitLine() {
  return new Promise((resolve) => {
    const rl = readline.createInterface({ input: process.stdin });
    rl.once('line', (l) => {
      rl.close();
      process.stdin.unref?.();
      resolve(l);
    });
  });
}

async function main() {
  const lancedb = require(path.join(__dirname, '..', '..', 'dist', 'index.js'));
  const db = spec.storageOptions
    ? await lancedb.connect(spec.uri, { storageOptions: spec.storageOptions })
    : await lancedb.connect(spec.uri);
  out.effective = db.effectiveStorageOptions();
  if (spec.loopback) checkLoopback(out.effective, spec.loopback);
  let table = null;
  const names = [];
  for (const op of spec.ops) {
    switch (op) {
      case 'create':
        table = await db.createTable(spec.table, records, spec.tableOptions ? { storageOptions: spec.tableOptions } : undefined);
        out.tableEffective = table.effectiveStorageOptions();
        out.steps.create = await table.countRows();
        break;
      case 'add':
        out.steps.add = (await table.add(more)).version;
        break;
      case 'open':
        table = await db.openTable(spec.table);
        out.steps.open = table.name;
        break;
      case 'count':
        out.steps.count = await table.countRows();
        break;
      case 'query':
        out.steps.query = (await table.query().toArray()).map((r) => JSON.parse(JSON.stringify(r.toJSON())));
        break;
      case 'names':
        names.push(await db.tableNames());
        out.steps.names = names;
        break;
      case 'pause':
        process.stdout.write(JSON.stringify({ paused: true, steps: out.steps }) + '\n');
        await waitLine();
        break;
      case 'drop':
        await db.dropTable(spec.table);
        out.steps.drop = true;
        break;
      default:
        throw new Error(`unknown op ${op}`);
    }
  }
  out.ok = true;
}

main()
  .catch((e) => {
    out.error = { code: e && e.code, message: String(e && e.message), name: e && e.name };
  })
  .finally(() => {
    out.ms = Date.now() - t0;
    // exit explicitly: a stdin pipe that was read from keeps the event loop alive
    process.stdout.write(JSON.stringify(out) + '\n', () => process.exit(0));
  });
