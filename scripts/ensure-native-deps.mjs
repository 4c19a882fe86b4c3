#!/usr/bin/env node
// Hardhat 3 runs on Node >= 22 and loads EDR, a native binding shipped as an optional
// dependency. npm skips optional dependencies whose `engines` do not match the Node that
// runs npm itself, so `npm install` under an older system Node silently drops the binding.
// This postinstall hook runs with node_modules/.bin first on PATH (where the `node@22`
// devDependency puts its binary) and, when the binding is missing, re-runs the install
// under that Node so the lock file's optional binding is restored.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, sep } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const bin = join(root, "node_modules", ".bin");

if (process.env.METERPROOF_NATIVE_REINSTALL === "1") process.exit(0);
// Installed as another project's dependency: Hardhat is a devDependency, so there is nothing to restore.
if (root.split(sep).includes("node_modules")) process.exit(0);

const edrDir = join(root, "node_modules", "@nomicfoundation", "edr");
if (!existsSync(edrDir)) process.exit(0); // production install without Hardhat

// npm itself ran on an older Node (its user agent says which; this script runs on the Node 22 in
// node_modules/.bin): its EBADENGINE warnings are about packages that only ever run on Node 22.
const npmNode = /\bnode\/v(\d+)/.exec(process.env.npm_config_user_agent ?? "");
if (npmNode && Number(npmNode[1]) < 22) {
  console.log(
    `meterproof: npm ran on Node v${npmNode[1]}; its EBADENGINE warnings above are expected: ` +
      "meterproof runs on the Node 22 it installs (node_modules/.bin/node), not on this one",
  );
}

const libc = process.report?.getReport().header.glibcVersionRuntime ? "gnu" : "musl";
const suffix =
  process.platform === "linux"
    ? `${process.platform}-${process.arch}-${libc}`
    : `${process.platform}-${process.arch}`;
const { optionalDependencies = {} } = JSON.parse(readFileSync(join(edrDir, "package.json"), "utf8"));
const binding = Object.keys(optionalDependencies).find(
  (name) => name.endsWith(suffix) || name.endsWith(`${suffix}-msvc`),
);
if (!binding) {
  console.warn(`meterproof: no EDR binding is published for ${suffix}; Hardhat will not run here.`);
  process.exit(0);
}
if (existsSync(join(root, "node_modules", binding))) process.exit(0);

const node22 = join(bin, process.platform === "win32" ? "node.cmd" : "node");
if (!existsSync(node22)) {
  console.warn("meterproof: node_modules/.bin/node is missing; cannot restore the EDR binding.");
  process.exit(0);
}
const version = execFileSync(node22, ["--version"], { encoding: "utf8" }).trim();
console.log(`meterproof: npm skipped ${binding} (needs Node >= 22); reinstalling under Node ${version}`);
execFileSync("npm", ["install", "--no-audit", "--no-fund", "--ignore-scripts"], {
  cwd: root,
  stdio: "inherit",
  env: {
    ...process.env,
    METERPROOF_NATIVE_REINSTALL: "1",
    PATH: `${bin}${process.platform === "win32" ? ";" : ":"}${process.env.PATH ?? ""}`,
  },
});
if (!existsSync(join(root, "node_modules", binding))) {
  console.error(`meterproof: ${binding} is still missing after reinstall; Hardhat will fail to start.`);
  process.exit(1);
}
