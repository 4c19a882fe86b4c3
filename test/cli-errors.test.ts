/**
 * Every path a user can get wrong ends in one line that names the file or option and the rule,
 * with the documented exit code, and never in a stack trace.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli, type CliResult } from "./helpers/cli.ts";
import { cleanEnv } from "./helpers/hardhat-node.ts";
import { tempDir } from "./worker-helpers.ts";

const dir = tempDir("cli-errors");
const folder = join(dir, "a-folder");
mkdirSync(folder, { recursive: true });
const keyFile = join(dir, "worker.key");

const ADDRESS = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
const TERMS = `${ADDRESS},${ADDRESS},1,2000000000`;
const workerArgs = (out: string) => [
  "worker",
  "run",
  "--key",
  keyFile,
  "--job",
  "1",
  "--escrow",
  ADDRESS,
  "--chain-id",
  "31337",
  "--provider",
  ADDRESS,
  "--terms",
  TERMS,
  "--sampler",
  "proc",
  "--segment",
  "8",
  "--out",
  out,
  "--",
  "touch",
  join(dir, "started"),
];

function oneLine(r: CliResult, status: number, message: string | RegExp): void {
  expect(r.stderr).not.toMatch(/^\s+at /m);
  expect(r.stderr).not.toContain("Usage:");
  const lines = r.stderr.trim().split("\n");
  expect(lines[0]).toMatch(message);
  // A commander usage error adds the pointer to --help as its second line, and nothing more.
  expect(
    lines.slice(1).every((l) => l === "(run the command with --help for its options)"),
    r.stderr,
  ).toBe(true);
  expect(r.status, r.stderr).toBe(status);
}

describe("one-line errors, no stack traces", () => {
  const run = (args: string[]) => runCli(args, { cwd: dir, env: cleanEnv() });

  it("names the path: a missing folder, a folder for a file, a file for a folder", () => {
    expect(run(["keygen", "--out", keyFile]).status).toBe(0);
    oneLine(
      run(workerArgs(join(dir, "missing", "job.trace"))),
      2,
      `meterproof: --out ${join(dir, "missing", "job.trace")}: the folder ${join(dir, "missing")} does not exist; create it first`,
    );
    oneLine(run(workerArgs(folder)), 2, `meterproof: --out ${folder}: is a folder; give a file name`);
    oneLine(run(["trace", "inspect", folder]), 2, `meterproof: FILE ${folder}: is a folder; give a file`);
    oneLine(
      run(["prove", folder, "--out", join(dir, "b")]),
      2,
      `meterproof: TRACE ${folder}: is a folder; give a file`,
    );
    oneLine(run(["verify", folder]), 2, `meterproof: BUNDLE ${folder}: is a folder; give a file`);
    oneLine(run(["audit", folder]), 2, new RegExp(`meterproof: .*${folder}.*folder`));
    const aFile = join(dir, "a-file.txt");
    writeFileSync(aFile, "x");
    oneLine(
      run(["prove", aFile, "--out", aFile]),
      2,
      `meterproof: --out ${aFile}: is a file; give the folder the bundles go to`,
    );
  });

  it("refuses a demo folder that holds an earlier demo's trace", () => {
    const demoDir = join(dir, "demo");
    mkdirSync(demoDir, { recursive: true });
    writeFileSync(join(demoDir, "job.trace"), "");
    oneLine(
      run(["demo", "--dir", demoDir]),
      2,
      `meterproof: --dir ${demoDir} holds an earlier demo's job.trace: a trace is never overwritten; give a new or empty folder`,
    );
  });

  it("prints one line for an option of the wrong type, then points to --help", () => {
    oneLine(
      run(["worker", "run", "--interval-ms", "abc"]),
      2,
      "error: option '--interval-ms <ms>' argument 'abc' is invalid. must be a positive integer",
    );
    oneLine(run(["prove", "--out", "b"]), 2, "error: missing required argument 'trace'");
    oneLine(run(["keygen", "--out", "k.key", "--bogus"]), 2, "error: unknown option '--bogus'");
  });
});
