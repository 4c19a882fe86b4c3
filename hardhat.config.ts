import { createRequire } from "node:module";
import { defineConfig } from "hardhat/config";
import hardhatEthers from "@nomicfoundation/hardhat-ethers";
import hardhatIgnitionEthers from "@nomicfoundation/hardhat-ignition-ethers";

// Compile with the solc-js build shipped in the `solc` npm package, so a build never downloads a compiler.
const soljson = createRequire(import.meta.url).resolve("solc/soljson.js");

export default defineConfig({
  plugins: [hardhatEthers, hardhatIgnitionEthers],
  solidity: {
    version: "0.8.28",
    path: soljson,
    settings: {
      optimizer: { enabled: true, runs: 10_000 },
      evmVersion: "cancun",
      viaIR: true,
    },
  },
  networks: {
    // A local JSON-RPC node started with `npx hardhat node`, for `meterproof deploy` and the demo.
    localhost: { type: "http", url: "http://127.0.0.1:8545" },
  },
});
