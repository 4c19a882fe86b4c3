import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Builds (or reuses) the N=8 test circuit and its Solidity verifier before any test runs.
    globalSetup: ["test/global-setup.ts"],
    // Proving and Hardhat are CPU-heavy; two cores run two files at a time at most.
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 600_000,
  },
});
