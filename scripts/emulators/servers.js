#!/usr/bin/env node
/*
 * Starts the storage emulators on free 127.0.0.1 ports (installing them first via install.js if needed).
 *
 *   const emu = await require('./scripts/emulators/servers').start(['s3', 'gcs', 'azure']);
 *   emu.s3.endpoint  // http://127.0.0.1:PORT     moto (S3 + DynamoDB + KMS + IAM on one port)
 *   emu.gcs.endpoint // http://127.0.0.1:PORT     gcs-shim in front of fake-gcs-server (emu.gcs.upstream)
 *   emu.azure.endpoint // http://127.0.0.1:PORT/devstoreaccount1   azurite blob
 *   await emu.stop();
 *
 * Available servers: 's3' (default), 'gcs' (default), 'azure' (default), 's3auth' (opt-in).
 *
 * moto and signature checking
 *   moto checks nothing by default: settings.INITIAL_NO_AUTH_ACTION_COUNT = inf (env
 *   INITIAL_NO_AUTH_ACTION_COUNT), so any or no credentials are accepted. The switch is process-global
 *   (moto/core/authorization.py): once `POST /moto-api/reset-auth` with body "0" is sent, EVERY request
 *   to that moto process (S3, DynamoDB, KMS, IAM) must carry a valid SigV4 signature from an access key
 *   that exists in moto's IAM, and the key's IAM policies must allow the action.
 *   Because the switch is global, we run two moto processes:
 *     s3      OPEN:     any credentials (the JSON says accessKeyId/secretAccessKey "test"), unsigned OK.
 *     s3auth  ENFORCED: after start we create IAM user `stowage-test` (policy: Allow * on *) and an
 *             access key through moto's IAM API (while still open), then POST /moto-api/reset-auth "0".
 *             The JSON carries that accessKeyId/secretAccessKey; wrong keys/signatures get 403.
 *   Both use path-style addressing: moto takes the bucket from the Host header unless the host is an
 *   IP address or localhost, and we always use 127.0.0.1. Region: us-east-1.
 *
 * GCS: object_store's GCS client needs a service-account JSON with `gcs_base_url` (the shim) and
 *   `disable_oauth: true` (then private_key is never parsed and requests carry "Bearer "); written to
 *   emu.gcs.serviceAccountPath. The Rust side must also set `allow_http: true` (ClientOptions).
 *
 * Endpoints are written as JSON to env STOWAGE_EMULATORS_FILE (default
 * ${os.tmpdir()}/stowage-emulators-<pid>.json) so Jest workers can read them. Server logs go to
 * emu.logDir (removed by stop() unless STOWAGE_EMULATORS_KEEP_LOGS is set; kept when start fails).
 * Children run under watchdog.js: they die with this process even on SIGKILL. Each entry's `pid` is
 * its watchdog, which leads the process group of that server (kill -- -pid stops it).
 *
 * CLI:
 *   node scripts/emulators/servers.js start [--only s3,gcs,azure,s3auth] [--file PATH]
 *        runs in the foreground, prints the endpoints JSON, stops everything on SIGINT/SIGTERM (stdin is
 *        not watched, so it can be backgrounded with `&`; its children die with it).
 *   node scripts/emulators/servers.js stop [--file PATH]   kills the process groups listed in the file.
 */
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const net = require('net');
const http = require('http');
const { spawn } = require('child_process');
const { ensureInstalled } = require('./install');

const AZURITE_ACCOUNT = 'devstoreaccount1';
const AZURITE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';
const S3_REGION = 'us-east-1';
const ALL = ['s3', 's3auth', 'gcs', 'azure'];

function defaultEndpointsFile() {
  return process.env.STOWAGE_EMULATORS_FILE || path.join(os.tmpdir(), `stowage-emulators-${process.pid}.json`);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function httpRequest(url, { method = 'GET', headers = {}, body, timeout = 2000 } = {}) {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const h = { ...headers };
    if (body != null) h['content-length'] = Buffer.byteLength(body);
    const req = http.request({ host: u.hostname, port: u.port, path: u.pathname + u.search, method, headers: h, timeout, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

const children = []; // module-level so pipes/handles stay referenced until stop

function spawnSupervised(name, cmd, args, logDir, env, cwd = logDir) {
  const logFile = path.join(logDir, `${name}.log`);
  const fd = fs.openSync(logFile, 'a');
  const child = spawn(process.execPath, [path.join(__dirname, 'watchdog.js'), String(process.pid), cmd, ...args], {
    detached: true, // own process group (pgid = child.pid) so stop() can kill the whole group
    stdio: ['pipe', fd, fd],
    cwd,
    env: { ...process.env, ...env },
  });
  fs.closeSync(fd);
  child.unref();
  child.stdin.unref && child.stdin.unref();
  child.stdin.on('error', () => {});
  let exited = null;
  child.on('exit', (code, signal) => { exited = { code, signal }; });
  const rec = { name, child, logFile, exited: () => exited };
  children.push(rec);
  return rec;
}

function tail(file, n = 40) {
  try { return fs.readFileSync(file, 'utf8').split('\n').slice(-n).join('\n'); } catch { return ''; }
}

async function waitReady(rec, url, { timeoutMs = 60000, accept = () => true } = {}) {
  const deadline = Date.now() + timeoutMs;
  let lastErr = '';
  while (Date.now() < deadline) {
    if (rec.exited()) throw new Error(`${rec.name} exited early (${JSON.stringify(rec.exited())}); log ${rec.logFile}:\n${tail(rec.logFile)}`);
    try {
      const r = await httpRequest(url);
      if (accept(r)) return;
      lastErr = `status ${r.status}`;
    } catch (e) { lastErr = e.message; }
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`${rec.name} did not answer on ${url} within ${timeoutMs} ms (${lastErr}); log ${rec.logFile}:\n${tail(rec.logFile)}`);
}

function killGroup(pid, signal) {
  try { process.kill(-pid, signal); return true; } catch { try { process.kill(pid, signal); return true; } catch { return false; } }
}
function alive(pid) { try { process.kill(pid, 0); return true; } catch { return false; } }

async function stopRecs(recs) {
  for (const r of recs) killGroup(r.child.pid, 'SIGTERM');
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline && recs.some((r) => !r.exited() && alive(r.child.pid))) await new Promise((r) => setTimeout(r, 50));
  for (const r of recs) if (!r.exited()) killGroup(r.child.pid, 'SIGKILL');
  for (const r of recs) { try { r.child.stdin.destroy(); } catch { /* ignore */ } const i = children.indexOf(r); if (i >= 0) children.splice(i, 1); }
}

// --- moto --------------------------------------------------------------------------------------
// Requests to moto's IAM API while auth is still off. The fake Authorization header only tells moto's
// dispatcher which service is meant (it parses the SigV4 credential scope); nothing is verified yet.
// moto loads its IAM backend (with the AWS managed policies) on the first IAM call: about 2 s on this
// 2-core machine while the other emulators start, so these get far more than the 2 s default.
const BOOTSTRAP_TIMEOUT_MS = 30000;

async function iamCall(endpoint, params) {
  const body = new URLSearchParams({ Version: '2010-05-08', ...params }).toString();
  const r = await httpRequest(`${endpoint}/`, {
    method: 'POST', body, timeout: BOOTSTRAP_TIMEOUT_MS,
    headers: {
      'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
      authorization: `AWS4-HMAC-SHA256 Credential=bootstrap/20250101/${S3_REGION}/iam/aws4_request, SignedHeaders=host, Signature=0`,
    },
  });
  if (r.status !== 200) throw new Error(`moto IAM ${params.Action} failed: ${r.status} ${r.body}`);
  return r.body;
}

async function enableMotoAuth(endpoint, userName = 'stowage-test') {
  await iamCall(endpoint, { Action: 'CreateUser', UserName: userName });
  await iamCall(endpoint, {
    Action: 'PutUserPolicy', UserName: userName, PolicyName: 'allow-all',
    PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] }),
  });
  const xml = await iamCall(endpoint, { Action: 'CreateAccessKey', UserName: userName });
  const accessKeyId = /<AccessKeyId>([^<]+)<\/AccessKeyId>/.exec(xml)[1];
  const secretAccessKey = /<SecretAccessKey>([^<]+)<\/SecretAccessKey>/.exec(xml)[1];
  const r = await httpRequest(`${endpoint}/moto-api/reset-auth`, {
    method: 'POST', body: '0', timeout: BOOTSTRAP_TIMEOUT_MS, headers: { 'content-type': 'text/plain' },
  });
  if (r.status !== 200) throw new Error(`moto reset-auth failed: ${r.status} ${r.body}`);
  return { accessKeyId, secretAccessKey, userName };
}

async function startMoto(name, p, logDir, { auth }) {
  const port = await freePort();
  const rec = spawnSupervised(name, p.motoServer, ['-H', '127.0.0.1', '-p', String(port)], logDir, {
    AWS_DEFAULT_REGION: S3_REGION,
  });
  const endpoint = `http://127.0.0.1:${port}`;
  await waitReady(rec, `${endpoint}/moto-api/data.json`, { accept: (r) => r.status === 200 });
  const info = { endpoint, port, pid: rec.child.pid, region: S3_REGION, auth: !!auth, accessKeyId: 'test', secretAccessKey: 'test' };
  if (auth) Object.assign(info, await enableMotoAuth(endpoint));
  return { rec: [rec], info };
}

// --- fake-gcs-server + shim ----------------------------------------------------------------------
function gcsServiceAccountJson(endpoint) {
  return {
    type: 'service_account',
    // disable_oauth: object_store then uses an empty static bearer token and never parses private_key.
    private_key: 'unused (disable_oauth is true)',
    private_key_id: 'stowage-emulator',
    client_email: 'stowage-emulator@localhost.invalid',
    gcs_base_url: endpoint,
    disable_oauth: true,
  };
}
function writeGcsServiceAccount(file, endpoint) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(gcsServiceAccountJson(endpoint), null, 2));
  return file;
}

async function startGcs(p, logDir) {
  const upPort = await freePort();
  const upEndpoint = `http://127.0.0.1:${upPort}`;
  const up = spawnSupervised('fake-gcs-server', p.fakeGcsServer, [
    '-scheme', 'http', '-backend', 'memory', '-host', '127.0.0.1', '-port', String(upPort),
    '-public-host', `127.0.0.1:${upPort}`, '-external-url', upEndpoint, '-log-level', 'warn',
  ], logDir);
  await waitReady(up, `${upEndpoint}/storage/v1/b`, { accept: (r) => r.status === 200 });
  const shim = await startShim(upEndpoint, logDir, 'gcs-shim');
  return {
    rec: [up, shim.rec],
    info: { ...shim.info, upstream: { endpoint: upEndpoint, port: upPort, pid: up.child.pid } },
  };
}

async function startShim(upEndpoint, logDir, name) {
  const port = await freePort();
  const rec = spawnSupervised(name, process.execPath, [path.join(__dirname, 'gcs-shim.js'), '--upstream', upEndpoint, '--port', String(port)], logDir);
  const endpoint = `http://127.0.0.1:${port}`;
  await waitReady(rec, `${endpoint}/_shim/health`, { accept: (r) => r.status === 200 });
  const serviceAccountPath = writeGcsServiceAccount(path.join(logDir, `${name}-service-account.json`), endpoint);
  return { rec, info: { endpoint, port, pid: rec.child.pid, serviceAccountPath } };
}

/**
 * One more gcs-shim process in front of an already running fake-gcs-server (`upstream` is
 * emu.gcs.upstream.endpoint). Shims share no state, so writers spread over several of them race at
 * fake-gcs-server itself. Returns { endpoint, port, pid, serviceAccountPath, stop() }.
 */
async function startGcsShim(upstream) {
  const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'stowage-gcs-shim-'));
  let shim;
  try {
    shim = await startShim(upstream, logDir, 'gcs-shim');
  } catch (e) {
    await stopRecs(children.filter((r) => r.logFile.startsWith(logDir)));
    throw e;
  }
  return {
    ...shim.info,
    stop: async () => {
      await stopRecs([shim.rec]);
      if (!process.env.STOWAGE_EMULATORS_KEEP_LOGS) fs.rmSync(logDir, { recursive: true, force: true });
    },
  };
}

// --- azurite -------------------------------------------------------------------------------------
async function startAzure(p, logDir) {
  const port = await freePort();
  const workspace = path.join(logDir, 'azurite-workspace');
  fs.mkdirSync(workspace, { recursive: true });
  const rec = spawnSupervised('azurite', process.execPath, [
    p.azuriteBlob, '--blobHost', '127.0.0.1', '--blobPort', String(port), '--disableTelemetry',
    '--skipApiVersionCheck', '--loose', '--inMemoryPersistence', '--disableProductStyleUrl',
  ], logDir, {}, workspace); // --location cannot be combined with --inMemoryPersistence; cwd instead
  const endpoint = `http://127.0.0.1:${port}/${AZURITE_ACCOUNT}`;
  await waitReady(rec, `${endpoint}?comp=list`, { accept: (r) => r.status > 0 });
  return {
    rec: [rec],
    info: {
      endpoint, blobEndpoint: endpoint, port, pid: rec.child.pid, account: AZURITE_ACCOUNT, key: AZURITE_KEY,
      // object_store with use_emulator=true takes the URL only from env AZURITE_BLOB_STORAGE_URL (no account
      // path); alternatively use endpoint + account + key + allow_http without use_emulator.
      emulatorUrl: `http://127.0.0.1:${port}`,
      connectionString: `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};BlobEndpoint=${endpoint};`,
    },
  };
}

/**
 * Start the requested emulators. Returns { s3?, s3auth?, gcs?, azure?, file, logDir, stop() }.
 * Options: { file, install: true, quiet: false, extra: {fields merged into the JSON file} }
 */
async function start(which = ['s3', 'gcs', 'azure'], opts = {}) {
  const list = typeof which === 'string' ? which.split(',').map((s) => s.trim()).filter(Boolean) : which;
  for (const w of list) if (!ALL.includes(w)) throw new Error(`unknown emulator '${w}' (known: ${ALL.join(', ')})`);
  const log = opts.quiet ? () => {} : (m) => process.stderr.write(`[emulators] ${m}\n`);
  const p = opts.install === false ? require('./install').paths() : ensureInstalled({ quiet: opts.quiet });
  const logDir = fs.mkdtempSync(path.join(os.tmpdir(), `stowage-emulators-${process.pid}-`));
  const file = opts.file || defaultEndpointsFile();
  const t0 = Date.now();
  const recs = [];
  const result = { file, logDir };
  const starters = {
    s3: () => startMoto('moto', p, logDir, { auth: false }),
    s3auth: () => startMoto('moto-auth', p, logDir, { auth: true }),
    gcs: () => startGcs(p, logDir),
    azure: () => startAzure(p, logDir),
  };
  const settled = await Promise.allSettled(list.map(async (w) => {
    const r = await starters[w]();
    recs.push(...r.rec);
    result[w] = r.info;
    log(`${w} ready at ${r.info.endpoint}`);
  }));
  const failed = settled.filter((s) => s.status === 'rejected');
  if (failed.length) {
    await stopRecs(children.filter((c) => c.logFile.startsWith(logDir)));
    throw new Error(`emulator start failed:\n${failed.map((f) => f.reason && f.reason.message).join('\n')}`);
  }
  const { stop: _s, ...serialisable } = result;
  fs.writeFileSync(file, JSON.stringify({ ...serialisable, ...(opts.extra || {}), ownerPid: process.pid, pgids: recs.map((r) => r.child.pid), startedAt: new Date().toISOString() }, null, 2));
  log(`started ${list.join(', ')} in ${Date.now() - t0} ms; endpoints in ${file}; logs in ${logDir}`);
  let stopped = false;
  result.stop = async () => {
    if (stopped) return;
    stopped = true;
    await stopRecs(recs);
    if (!process.env.STOWAGE_EMULATORS_KEEP_LOGS) fs.rmSync(logDir, { recursive: true, force: true });
    try {
      const cur = JSON.parse(fs.readFileSync(file, 'utf8'));
      if (cur.ownerPid === process.pid) fs.rmSync(file, { force: true });
    } catch { /* ignore */ }
  };
  return result;
}

/** Read the endpoints JSON written by start() (env STOWAGE_EMULATORS_FILE unless a path is given). */
function readEndpoints(file = process.env.STOWAGE_EMULATORS_FILE) {
  if (!file) throw new Error('STOWAGE_EMULATORS_FILE is not set');
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

/** Kill the process groups listed in an endpoints file (for a `servers.js start &` run elsewhere). */
function stopFromFile(file = defaultEndpointsFile()) {
  const j = readEndpoints(file);
  if (j.cliPid) { try { process.kill(j.cliPid, 'SIGTERM'); } catch { /* gone */ } } // `servers.js start` owner
  for (const pgid of j.pgids || []) killGroup(pgid, 'SIGTERM');
  fs.rmSync(file, { force: true });
  return j.pgids || [];
}

module.exports = {
  start, startGcsShim, readEndpoints, stopFromFile, enableMotoAuth, gcsServiceAccountJson, writeGcsServiceAccount,
  defaultEndpointsFile, AZURITE_ACCOUNT, AZURITE_KEY, S3_REGION,
};

if (require.main === module) {
  const args = process.argv.slice(2);
  const opt = (name) => { const i = args.indexOf(`--${name}`); return i >= 0 ? args[i + 1] : undefined; };
  const cmd = args[0] || 'start';
  if (cmd === 'stop') {
    const pg = stopFromFile(opt('file'));
    process.stderr.write(`[emulators] sent SIGTERM to process groups ${pg.join(', ')}\n`);
  } else if (cmd === 'start') {
    start(opt('only') || ['s3', 'gcs', 'azure'], { file: opt('file'), extra: { cliPid: process.pid } }).then((emu) => {
      const { stop, ...rest } = emu;
      process.stdout.write(JSON.stringify(rest, null, 2) + '\n');
      const shutdown = (sig) => { process.stderr.write(`[emulators] ${sig}: stopping\n`); stop().then(() => process.exit(0)); };
      process.on('SIGINT', () => shutdown('SIGINT'));
      process.on('SIGTERM', () => shutdown('SIGTERM'));
      setInterval(() => {}, 1 << 30); // stay in the foreground
    }).catch((e) => { process.stderr.write(`[emulators] ${e.message}\n`); process.exit(1); });
  } else {
    process.stderr.write('usage: servers.js start [--only s3,gcs,azure,s3auth] [--file PATH] | stop [--file PATH]\n');
    process.exit(2);
  }
}
