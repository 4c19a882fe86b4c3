import type { Command } from "commander";
import { CliError, EXIT_FAILED } from "../output.ts";

export function registerProve(program: Command): void {
  program
    .command("prove")
    .description("prove every sealed segment of a trace that has no bundle yet; one bundle file per segment")
    .argument("<trace>", "trace file (JSON Lines)")
    .requiredOption("--out <dir>", "directory of proof bundles (segment-NNNNNN.json)")
    .option("--jobs <k>", "proofs computed at once, each in its own thread", "1")
    .option("--size <n>", "circuit size N (default: the trace's segmentSize)")
    .option("--json", "print the bundles written as JSON")
    .action(async (tracePath: string, opts: { out: string; jobs: string; size?: string; json?: boolean }) => {
      const jobs = Number(opts.jobs);
      if (!Number.isInteger(jobs) || jobs < 1 || jobs > 64)
        throw new CliError(`--jobs must be an integer from 1 to 64, got ${opts.jobs}`);
      const { readTrace, TraceError } = await import("../../trace/index.ts");
      const { proveTrace } = await import("../../prover/prove-trace.ts");
      const { loadProvingCircuit } = await import("../../prover/load-circuit.ts");
      const { CircuitError } = await import("../../circuits/index.ts");
      const { progressReporter } = await import("../progress.ts");
      const { requireFile } = await import("../paths.ts");
      requireFile("TRACE", tracePath);
      const { existsSync, statSync } = await import("node:fs");
      if (existsSync(opts.out) && !statSync(opts.out).isDirectory())
        throw new CliError(`--out ${opts.out}: is a file; give the folder the bundles go to`);
      // Bundles are written whole (rename): an interrupted run leaves only complete ones, and
      // says how many, so the next run proves the rest.
      let progress: ReturnType<typeof progressReporter> | undefined;
      const interrupted = (signal: NodeJS.Signals) => {
        progress?.stop();
        console.error(
          `meterproof: prove interrupted (${signal}): ${progress?.done() ?? 0} bundles written to ${opts.out} in this run; ` +
            "run the same command again to prove the rest",
        );
        process.exit(signal === "SIGINT" ? 130 : 143);
      };
      process.once("SIGINT", interrupted);
      process.once("SIGTERM", interrupted);
      try {
        const size =
          opts.size !== undefined
            ? Number(opts.size)
            : (await readTrace(tracePath, { verifySignatures: false })).header.segmentSize;
        const circuit = await loadProvingCircuit(size);
        progress = progressReporter("proving");
        const result = await proveTrace({
          tracePath,
          outDir: opts.out,
          circuit,
          jobs,
          onProgress: progress.update,
        }).finally(progress.stop);
        process.off("SIGINT", interrupted);
        process.off("SIGTERM", interrupted);
        if (opts.json) {
          console.log(JSON.stringify({ trace: tracePath, out: opts.out, ...result }, null, 2));
          return;
        }
        console.log(
          `${result.written.length} segments proven, ${result.alreadyProven} already had bundles (${result.segments} sealed segments) in ${opts.out}`,
        );
      } catch (err) {
        if (err instanceof TraceError) throw new CliError(`${tracePath}: ${err.message}`, EXIT_FAILED);
        if (err instanceof CircuitError) throw new CliError(err.message, EXIT_FAILED);
        if ((err as NodeJS.ErrnoException).code === "ENOENT")
          throw new CliError(`${(err as NodeJS.ErrnoException).path ?? tracePath}: no such file`);
        throw err;
      }
    });
}
