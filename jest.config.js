/** @type {import('jest').Config} */
module.exports = {
  preset: "ts-jest",
  testEnvironment: "node",
  roots: ["<rootDir>/__test__"],
  testMatch: ["**/*.test.ts"],
  testTimeout: 60000,
  transform: {
    "^.+\\.ts$": ["ts-jest", { diagnostics: { warnOnly: false }, tsconfig: "tsconfig.json" }],
  },
};
