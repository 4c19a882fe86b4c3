import { spawn } from "node:child_process";
import { join } from "node:path";
import { REPO_ROOT, type CliResult } from "./cli.ts";

const BIN = join(REPO_ROOT, "bin/meterproof.js");

/**
 * Runs `meterproof …` runs side by side (read-only ones: they do not depend on each other),
 * each in a child process with the Node that runs the tests; most of a run is start-up.
 */
export function runCliAll(
  runs: readonly (readonly string[])[],
  opts: { cwd: string; env: NodeJS.ProcessEnv },
): Promise<CliResult[]> {
  return Promise.all(
    runs.map(
      (args) =>
        new Promise<CliResult>((resolve, reject) => {
          const child = spawn(process.execPath, [BIN, ...args], { cwd: opts.cwd, env: opts.env });
          let stdout = "";
          let stderr = "";
          child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
          child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
          child.once("error", reject);
          child.once("close", (status, signal) => resolve({ status, signal, stdout, stderr }));
        }),
    ),
  );
}
