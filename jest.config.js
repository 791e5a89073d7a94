// Nothing in the suite may reach real cloud hosts or instance metadata.
process.env.AWS_EC2_METADATA_DISABLED = "true";

/** @type {import('jest').Config} */
module.exports = {
  preset: "ts-jest",
  testEnvironment: "node",
  roots: ["<rootDir>/__test__"],
  testMatch: ["**/*.test.ts"],
  testTimeout: 60000,
  // The emulators (moto, fake-gcs-server + shim, azurite) start once per run
  // on 127.0.0.1 and stop at the end; STOWAGE_EMULATORS=none skips them.
  globalSetup: "<rootDir>/scripts/emulators/jest-global-setup.js",
  globalTeardown: "<rootDir>/scripts/emulators/jest-global-teardown.js",
  transform: {
    "^.+\\.ts$": ["ts-jest", { diagnostics: { warnOnly: false }, tsconfig: "tsconfig.json" }],
  },
};
