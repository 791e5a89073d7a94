// Optional Jest globalSetup: starts the emulators once for the whole run and exports
// STOWAGE_EMULATORS_FILE so every worker (spawned after globalSetup) reads the same endpoints.
// Enable in jest.config.js:
//   globalSetup: '<rootDir>/scripts/emulators/jest-global-setup.js',
//   globalTeardown: '<rootDir>/scripts/emulators/jest-global-teardown.js',
// Env: STOWAGE_EMULATORS=s3,gcs,azure[,s3auth] chooses servers (default s3,s3auth,gcs,azure);
//      STOWAGE_EMULATORS=none skips; an existing STOWAGE_EMULATORS_FILE is reused as is.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { start } = require('./servers');

module.exports = async function globalSetup() {
  const want = process.env.STOWAGE_EMULATORS || 's3,s3auth,gcs,azure';
  if (want === 'none') return;
  if (process.env.STOWAGE_EMULATORS_FILE && fs.existsSync(process.env.STOWAGE_EMULATORS_FILE)) return;
  const file = process.env.STOWAGE_EMULATORS_FILE || path.join(os.tmpdir(), `stowage-emulators-${process.pid}.json`);
  const emu = await start(want, { file });
  process.env.STOWAGE_EMULATORS_FILE = file;
  globalThis.__STOWAGE_EMULATORS__ = emu;
};
