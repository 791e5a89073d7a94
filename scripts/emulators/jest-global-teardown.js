// Optional Jest globalTeardown paired with jest-global-setup.js: stops the emulators it started.
'use strict';

module.exports = async function globalTeardown() {
  const emu = globalThis.__STOWAGE_EMULATORS__;
  if (emu) {
    await emu.stop();
    delete globalThis.__STOWAGE_EMULATORS__;
  }
};
