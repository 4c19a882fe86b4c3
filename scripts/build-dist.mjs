#!/usr/bin/env node
// Builds what `npm pack` ships (run by `prepack` and `npm run build`): the library's JavaScript
// and .d.ts files in dist/, compiled by tsc from the TypeScript sources (tsconfig.build.json).
// (dist/index.d.ts refers to prover/snarkjs.d.ts, which the package ships as it is: snarkjs has
// no types of its own.) Then checks that the contract artifacts the chain bindings load at run
// time have been built, since the package ships them (package.json `files`) and Hardhat is not
// a dependency of its users.
import { spawnSync } from "node:child_process";
import { existsSync, rmSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const dist = join(root, "dist");
const tsc = join(root, "node_modules", "typescript", "bin", "tsc");

rmSync(dist, { recursive: true, force: true });
const run = spawnSync(process.execPath, [tsc, "-p", join(root, "tsconfig.build.json")], {
  cwd: root,
  stdio: "inherit",
});
if (run.status !== 0) {
  console.error("meterproof: tsc -p tsconfig.build.json failed; dist/ is incomplete");
  process.exit(1);
}

// The contracts the bindings attach to and deploy (the test tokens are not shipped).
const { BOUND_CONTRACTS, artifactPath } = await import(
  pathToFileURL(join(dist, "contracts", "index.js")).href
);
const missing = [];
for (const [name, source] of Object.entries(BOUND_CONTRACTS)) {
  if (source.startsWith("contracts/test/")) continue;
  const path = artifactPath(name, root);
  if (!existsSync(path)) missing.push(relative(root, path));
  else if (statSync(path).mtimeMs < statSync(join(root, source)).mtimeMs) {
    console.warn(`meterproof: ${relative(root, path)} is older than ${source}: run \`npx hardhat build\``);
  }
}
if (missing.length > 0) {
  console.error(
    `meterproof: the package ships the contract artifacts, but ${missing.join(", ")} ${missing.length === 1 ? "is" : "are"} missing: run \`npx hardhat build\` first`,
  );
  process.exit(1);
}
