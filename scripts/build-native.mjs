#!/usr/bin/env node
// Builds meterproof's native addon (native/*.c: Poseidon and Baby Jubjub in C) with node-gyp.
// The addon makes trace checking and auditing several times faster; without it meterproof
// still works, on circomlibjs' WebAssembly Poseidon. So a failed build warns and leaves the
// install intact. Runs from `postinstall` and as `npm run build:native` (with --force).
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { dirname, join, sep } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const dir = join(root, "native");
const addon = join(dir, "build", "Release", "meterproof_native.node");
const force = process.argv.includes("--force");

if (process.env.METERPROOF_NATIVE === "0") {
  console.log("meterproof: METERPROOF_NATIVE=0, not building the native addon");
  process.exit(0);
}

// Installed as another project's dependency: a failed build is one line, not node-gyp's output.
const dependency = root.split(sep).includes("node_modules");
if (!existsSync(join(dir, "binding.gyp"))) process.exit(0);

const sources = readdirSync(dir).filter((f) => /\.(c|h|gyp)$/.test(f));
const newest = Math.max(...sources.map((f) => statSync(join(dir, f)).mtimeMs));
if (!force && existsSync(addon) && statSync(addon).mtimeMs >= newest) process.exit(0);

// npm gives lifecycle scripts the path of its own node-gyp; elsewhere use one on PATH.
const gyp = process.env.npm_config_node_gyp;
const [cmd, args] = gyp ? [process.execPath, [gyp, "rebuild"]] : ["node-gyp", ["rebuild"]];
console.log("meterproof: building the native addon (native/) with node-gyp");
const run = spawnSync(cmd, args, { cwd: dir, stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" });
if (run.status === 0 && existsSync(addon)) {
  console.log(`meterproof: built ${addon}`);
  process.exit(0);
}
if (dependency) {
  console.warn(
    "meterproof: the native addon did not build (it needs python3, make and a C compiler); Poseidon runs in WebAssembly.",
  );
  process.exit(0);
}
const output = `${run.stdout ?? ""}${run.stderr ?? ""}`.trim().split("\n").slice(-15).join("\n");
console.warn(
  [
    "meterproof: WARNING: the native addon did not build, so Poseidon runs in WebAssembly",
    "(trace checks and audits four to five times slower). It needs python3, make, a C compiler and",
    "Node's headers; see docs/native.md. Run `npm run build:native` to try again.",
    run.error ? `node-gyp could not start: ${run.error.message}` : output,
  ].join("\n"),
);
