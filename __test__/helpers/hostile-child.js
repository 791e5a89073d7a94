#!/usr/bin/env node
/*
 * Child process for hostile-filters.test.ts: throws hostile filters and option maps at the public API
 * (the compiled dist/, as a user would), so that a crash (SIGSEGV from a stack overflow, an abort)
 * kills this process, not Jest. Node builtins + ../../dist only.
 *
 *   node hostile-child.js '<json spec>'     spec = { seed, filters, optionMaps, dir }
 *
 * Prints one JSON line: { shapes: {name: result}, random: {calls, errors, codes}, bad: [...], ms }.
 * `bad` lists every error without a `code` or with a message of 2,000 characters or more.
 */
'use strict';

const fs = require('fs');
const path = require('path');
const stowage = require('../../dist');

const spec = JSON.parse(process.argv[2]);
const t0 = Date.now();
const MAX_MESSAGE = 2000;
const bad = [];
const codes = {};
let calls = 0;
let errors = 0;

// mulberry32, as helpers/prng.ts: the parent prints the seed and SEED=<n> replays it.
let a = spec.seed >>> 0;
function rnd() {
  a = (a + 0x6d2b79f5) >>> 0;
  let t = a;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const int = (lo, hi) => lo + Math.floor(rnd() * (hi - lo + 1));
const pick = (xs) => xs[Math.floor(rnd() * xs.length)];

function record(what, input, e) {
  errors += 1;
  const code = e && e.code;
  const message = e && typeof e.message === 'string' ? e.message : String(e);
  codes[code] = (codes[code] || 0) + 1;
  if (typeof code !== 'string' || code === '' || message.length >= MAX_MESSAGE) {
    bad.push({ what, input: String(input).slice(0, 300), inputLength: String(input).length, code, message: message.slice(0, 3000), length: message.length });
  }
}

/** Runs `fn`, returning its value or { code, length, head } of its error (which is also checked). */
async function attempt(what, input, fn) {
  calls += 1;
  try {
    return await fn();
  } catch (e) {
    record(what, input, e);
    return { code: e && e.code, length: e && e.message ? e.message.length : 0, head: String(e && e.message).slice(0, 300) };
  }
}

const ROWS = 200;
const DIM = 4;
function rows() {
  return Array.from({ length: ROWS }, (_, i) => ({
    id: i,
    name: `n${i}`,
    price: i / 4,
    flag: i % 3 === 0,
    score: 0,
    vector: Array.from({ length: DIM }, (_, d) => ((i * (d + 1)) % 17) / 17),
  }));
}

const chain = (n, term, sep) => Array.from({ length: n }, (_, i) => term(i)).join(sep);

async function shapes(db) {
  const out = {};
  const t = await db.createTable('shapes', rows());
  const even3000 = chain(3000, (i) => `id = ${2 * i}`, ' OR ');
  out.parens = await attempt('countRows', 'parens', () => t.countRows(`${'('.repeat(2000)}id = 1${')'.repeat(2000)}`));
  out.parensQuery = await attempt('query', 'parens', () => t.query().where(`${'('.repeat(2000)}id = 1${')'.repeat(2000)}`).toArray());
  out.or3000 = await attempt('countRows', 'or3000', () => t.countRows(even3000));
  out.or50000 = await attempt('countRows', 'or50000', () => t.countRows(chain(50000, (i) => `id = ${i * 3}`, ' OR ')));
  out.nots = await attempt('countRows', 'nots', () => t.countRows(`${'NOT '.repeat(5000)}id = 1`));
  out.plus = await attempt('countRows', 'plus', () => t.countRows(`id${' + 1'.repeat(5000)} = 5001`));
  out.minus = await attempt('countRows', 'minus', () => t.countRows(`${'-'.repeat(10000)}id = 5`));
  out.queryOr = await attempt('query', 'or3000', async () => (await t.query().where(even3000).select(['id']).toArray()).length);
  out.vectorOr = await attempt('vectorSearch', 'or3000', async () =>
    (await t.vectorSearch([0, 0, 0, 0]).where(even3000).limit(500).toArray()).every((r) => r.id % 2 === 0),
  );
  out.vectorParens = await attempt('vectorSearch', 'parens', () =>
    t.vectorSearch([0, 0, 0, 0]).where(`${'('.repeat(2000)}id = 1${')'.repeat(2000)}`).toArray(),
  );
  out.update = await attempt('update', 'plus', async () => {
    await t.update({ where: `${'NOT '.repeat(5000)}id = 7`, valuesSql: { score: `id${' + 1'.repeat(5000)}` } });
    const r = await t.query().where('id = 7').select(['score']).toArray();
    return r[0].score;
  });
  out.updateParens = await attempt('update', 'parens', () =>
    t.update({ where: 'id = 7', valuesSql: { score: `${'('.repeat(2000)}1${')'.repeat(2000)}` } }),
  );
  out.delete = await attempt('delete', 'or3000', async () => {
    await t.delete(even3000);
    return t.countRows();
  });
  out.deleteParens = await attempt('delete', 'parens', () => t.delete(`${'('.repeat(2000)}id = 1${')'.repeat(2000)}`));
  return out;
}

const TOKENS = [
  'id', 'name', 'price', 'flag', 'score', 'nope', '`name`', 'name.x', 'vector', 'AND', 'OR', 'NOT', 'IS', 'NULL', 'IN',
  'BETWEEN', 'LIKE', 'TRUE', 'FALSE', 'DATE', 'TIMESTAMP', "'2024-01-02'", "'a'", "'%'", "''", '0', '1', '-1', '2.5',
  '1e400', '9223372036854775807', '(', ')', ',', '=', '!=', '<>', '<', '<=', '>', '>=', '+', '-', '*', '/', '%', '.',
  "'", '`', 'é', '\u0000',
];

function randomFilter() {
  switch (int(0, 7)) {
    case 0:
      return chain(int(0, 40), () => pick(TOKENS), ' ');
    case 1: {
      const n = int(1, 4000);
      return `${'('.repeat(n)}id = 1${')'.repeat(int(0, n + 1))}`;
    }
    case 2:
      return chain(int(1, 6000), () => `${pick(['id', 'price', 'name'])} ${pick(['=', '!=', '<'])} ${pick(['1', "'n1'", '2.5', 'NULL'])}`, pick([' OR ', ' AND ']));
    case 3:
      return `${pick(['NOT ', '-', '- ', 'NOT -'])}`.repeat(int(1, 12000)) + pick(['id', 'flag', 'id = 1', '(id)', 'name']);
    case 4:
      return pick(['id', 'price', '1']) + chain(int(1, 6000), () => ` ${pick(['+', '-', '*', '/', '%'])} ${pick(['1', '2', 'id', '0'])}`, '');
    case 5:
      return `id IN (${chain(int(1, 3000), () => pick(['1', "'2'", 'NULL', '2.5', 'id']), ', ')})`;
    case 6:
      return Array.from({ length: int(0, 300) }, () => String.fromCharCode(int(1, 0x2fff))).join('');
    default:
      return `name = '${'x'.repeat(int(0, 100000))}'` + pick(['', " OR id = 'x'", ' AND']);
  }
}

async function randomFilters(db) {
  const t = await db.createTable('random', rows());
  for (let i = 0; i < spec.filters; i++) {
    const f = randomFilter();
    switch (i % 6) {
      case 0:
        await attempt('countRows', f, () => t.countRows(f));
        break;
      case 1:
        await attempt('query', f, () => t.query().where(f).limit(5).toArray());
        break;
      case 2:
        await attempt('vectorSearch', f, () => t.vectorSearch([0.5, 0.5, 0.5, 0.5]).where(f).limit(3).toArray());
        break;
      case 3:
        await attempt('update', f, () => t.update({ where: 'id = 1', valuesSql: { score: f } }));
        break;
      case 4:
        await attempt('select', f, () => t.query().select({ v: f }).limit(2).toArray());
        break;
      default:
        // A filter that matches nothing real keeps the table's rows for the next cases.
        await attempt('delete', f, () => t.delete(`(${f}) AND id < 0`));
    }
  }
}

// Keys that could start a process, read credentials or choose where traffic goes are left out: the
// option maps must not do anything but be validated.
const UNSAFE_KEY = /process|command|credential|identity|token|imds|metadata|sso|profile|service_account|file|endpoint|url|proxy|host|emulator|ddb|dynamo|key|secret|password|sas/i;
const KNOWN = [...fs.readFileSync(path.join(__dirname, '..', '..', 'lib', 'options.generated.ts'), 'utf8').matchAll(/^\s+(\w+)\?:/gm)]
  .map((m) => m[1])
  .filter((k) => !UNSAFE_KEY.test(k));

function randomValue() {
  switch (int(0, 9)) {
    case 0:
      return rnd() < 0.5;
    case 1:
      return int(-1e9, 1e9);
    case 2:
      return pick([NaN, Infinity, -0, 1e308, 0.5]);
    case 3:
      return pick(['true', 'false', '5s', '10 MiB', '-1', 'forever', '', ' ', 'null', 'disabled', 'etag']);
    case 4:
      return 'v'.repeat(int(0, 20000));
    case 5:
      return { nested: int(0, 3) };
    case 6:
      return [1, 'a'];
    case 7:
      return null;
    case 8:
      return Array.from({ length: int(0, 50) }, () => String.fromCharCode(int(1, 0x2fff))).join('');
    default:
      return String(int(0, 100000));
  }
}

function randomKey() {
  if (rnd() < 0.7 && KNOWN.length > 0) return pick(KNOWN);
  return pick(['', 'x', 'regoin', 'timeoutt', 'k'.repeat(int(1, 5000)), '__proto__', 'constructor', 'ALLOW_HTTP', 'aws-region']);
}

async function randomOptionMaps() {
  for (let i = 0; i < spec.optionMaps; i++) {
    const opts = {};
    for (let k = int(0, 6); k > 0; k--) opts[randomKey()] = randomValue();
    if (i % 2 === 0) {
      await attempt('connect memory', JSON.stringify(opts), async () => {
        const db = await stowage.connect(`memory://hostile-${i}`, { storageOptions: opts });
        db.close();
      });
    } else {
      const s3 = { ...opts, endpoint: 'http://127.0.0.1:9', allowHttp: true, accessKeyId: 'k', secretAccessKey: 's', region: 'us-east-1' };
      await attempt('connect s3', JSON.stringify(opts), async () => {
        const db = await stowage.connect('s3://b/p', { storageOptions: s3 });
        db.close();
      });
    }
  }
}

(async () => {
  const db = await stowage.connect(`memory://hostile-${process.pid}`);
  const result = { shapes: await shapes(db) };
  await randomFilters(db);
  await randomOptionMaps();
  result.random = { calls, errors, codes };
  result.bad = bad.slice(0, 20);
  result.badCount = bad.length;
  result.ms = Date.now() - t0;
  process.stdout.write(JSON.stringify(result) + '\n');
})().catch((e) => {
  process.stdout.write(JSON.stringify({ fatal: String(e && e.stack) }) + '\n');
  process.exit(3);
});
