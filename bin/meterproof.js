#!/usr/bin/env node
// Entry point of the `meterproof` command. The sources are TypeScript run by Node's
// built-in type stripping (Node >= 22.18); `npx meterproof` and npm scripts run the Node 22
// that the `node` devDependency installs in node_modules/.bin.
import { existsSync } from "node:fs";

if (!existsSync(new URL("../cli/main.ts", import.meta.url))) {
  // An installed package: it ships the library (dist/), not the command's sources.
  console.error(
    "meterproof: the `meterproof` command runs from a checkout of the meterproof repository; " +
      'this installed package is the library (import { auditTrace, verifyBundles } from "meterproof").',
  );
  process.exit(2);
}
const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  console.error(
    `meterproof needs Node >= 22.18 (this is ${process.version}). Run it through npx or npm scripts, ` +
      "which use the Node 22 in node_modules/.bin, or put that folder first on PATH.",
  );
  process.exit(2);
}
await import("../cli/main.ts");
