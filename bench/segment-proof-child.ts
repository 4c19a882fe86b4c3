/**
 * Child process of the segment-size bench (bench/segment-size.ts): proves one witness input of
 * MeteredSegment(N) from the setup under a given root with the long-lived prover, so that the
 * process's peak resident memory is that of one prover and nothing else.
 *
 *   node bench/segment-proof-child.ts <size> <root> <input.json> <runs>
 *
 * Prints one JSON line: the wall-clock and CPU milliseconds of each timed proof (after one
 * warm-up proof) and the peak resident set size in bytes (VmHWM at the end).
 */
import { readFileSync } from "node:fs";
import { loadProvingCircuit } from "../prover/load-circuit.ts";
import { SegmentProver } from "../prover/segment-prover.ts";

export interface SegmentProofRun {
  size: number;
  wallMs: number[];
  cpuMs: number[];
  peakRssBytes: number;
}

/** Peak resident set size of this process: VmHWM from /proc, else the kernel's maxRSS. */
function peakRssBytes(): number {
  try {
    const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync("/proc/self/status", "utf8"));
    if (m) return Number(m[1]) * 1024;
  } catch {
    // Not Linux: fall through.
  }
  return process.resourceUsage().maxRSS * 1024;
}

const [size, root, inputPath, runs] = [
  Number(process.argv[2]),
  process.argv[3],
  process.argv[4],
  Number(process.argv[5] ?? 3),
];
if (!Number.isInteger(size) || !root || !inputPath || !Number.isInteger(runs) || runs < 1) {
  console.error("usage: node bench/segment-proof-child.ts <size> <root> <input.json> <runs>");
  process.exit(2);
}

const circuit = await loadProvingCircuit(size, root);
const input = JSON.parse(readFileSync(inputPath, "utf8")) as Record<string, unknown>;

const prover = new SegmentProver({ wasm: circuit.wasm, zkey: circuit.zkey, jobs: 1 });
await prover.prove(input); // warm-up: builds the curve and the witness calculator
const result: SegmentProofRun = { size, wallMs: [], cpuMs: [], peakRssBytes: 0 };
for (let i = 0; i < runs; i++) {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await prover.prove(input);
  result.wallMs.push(performance.now() - t0);
  const cpu = process.cpuUsage(cpu0);
  result.cpuMs.push((cpu.user + cpu.system) / 1000);
}
result.peakRssBytes = peakRssBytes();
await prover.close();
console.log(JSON.stringify(result));
