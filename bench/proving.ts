import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { circuitArtifacts } from "../circuits/index.ts";
import { loadProvingCircuit } from "../prover/load-circuit.ts";
import { SegmentProver } from "../prover/segment-prover.ts";
import { segmentWitnessInput } from "../prover/witness-input.ts";
import { runSetup } from "../setup/index.ts";
import { checkTrace, usageToGpuHours } from "../trace/index.ts";
import { syntheticTrace } from "../test/fixtures/traces.ts";
import { fmt, median, RUNS, timeRuns, type BenchSection, type BenchRow } from "./lib.ts";

const SNARKJS_CLI = new URL("../node_modules/snarkjs/build/cli.cjs", import.meta.url).pathname;

/**
 * Proving one full segment at N=8 and N=64: the meterproof prover warm (keys loaded once,
 * curve reused) against the `snarkjs groth16 fullprove` command line on the same files,
 * plus two proofs at once over two worker threads, and CPU-seconds per metered GPU-hour.
 */
export async function benchProving(sizes: readonly number[] = [8, 64]): Promise<BenchSection> {
  const rows: BenchRow[] = [];
  const notes: string[] = [];
  const dir = mkdtempSync(join(tmpdir(), "meterproof-bench-prove-"));
  try {
    for (const size of sizes) {
      await runSetup({ size });
      const circuit = await loadProvingCircuit(size);
      // A full segment at the default 10 s interval and full utilization.
      const { lines } = await syntheticTrace({
        records: size,
        segmentSize: size,
        sample: () => ({ utilBps: 10000, memMiB: 70_000, powerMw: 650_000, energyMj: 6_500_000 }),
      });
      const trace = await checkTrace(lines);
      const segment = trace.segments[0]!;
      const input = segmentWitnessInput({ trace, segment, size });

      const prover = new SegmentProver({ wasm: circuit.wasm, zkey: circuit.zkey, jobs: 1 });
      await prover.prove(input); // warm-up: builds the curve and the witness calculator
      const cpu0 = process.cpuUsage();
      const warm = await timeRuns(RUNS, () => prover.prove(input));
      const cpu = process.cpuUsage(cpu0);
      await prover.close();
      const cpuSecondsPerProof = (cpu.user + cpu.system) / 1e6 / RUNS;

      const pool = new SegmentProver({ wasm: circuit.wasm, zkey: circuit.zkey, jobs: 2 });
      await Promise.all([pool.prove(input), pool.prove(input)]);
      const pair = await timeRuns(RUNS, () => Promise.all([pool.prove(input), pool.prove(input)]));
      await pool.close();

      const paths = circuitArtifacts(size);
      const inputPath = join(dir, `input_${size}.json`);
      writeFileSync(inputPath, JSON.stringify(input));
      const cli = await timeRuns(RUNS, () => {
        const r = spawnSync(
          process.execPath,
          [
            SNARKJS_CLI,
            "groth16",
            "fullprove",
            inputPath,
            paths.wasm,
            paths.zkey,
            join(dir, "proof.json"),
            join(dir, "public.json"),
          ],
          { encoding: "utf8" },
        );
        if (r.status !== 0) throw new Error(`snarkjs fullprove failed: ${r.stderr}`);
      });

      const warmMs = median(warm);
      const cliMs = median(cli);
      const gpuHours = usageToGpuHours(segment.usage);
      rows.push(
        {
          metric: `N=${size}: one proof, meterproof prover (warm)`,
          value: fmt(warmMs / 1000, "s"),
          note: "witness + Groth16, in process",
        },
        {
          metric: `N=${size}: one proof, snarkjs groth16 fullprove CLI`,
          value: fmt(cliMs / 1000, "s"),
          note: "same wasm, zkey and input",
        },
        { metric: `N=${size}: speed-up over the CLI`, value: fmt(cliMs / warmMs, "×") },
        {
          metric: `N=${size}: two proofs at once (--jobs 2)`,
          value: fmt(median(pair) / 1000, "s"),
          note: `${fmt((2 * warmMs) / median(pair), "×")} the throughput of one job`,
        },
        {
          metric: `N=${size}: CPU-seconds of proving per metered GPU-hour`,
          value: fmt(cpuSecondsPerProof / gpuHours, "CPU-s"),
          note: `one segment = ${size} records × 10 s at 100% = ${gpuHours.toFixed(4)} GPU-h; ${fmt(cpuSecondsPerProof, "CPU-s")} per proof`,
        },
      );
    }
    notes.push(
      "The CLI figure includes starting Node and loading the keys for every proof, which is what a per-proof command line costs.",
    );
    return { title: "Proving", rows, notes };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
