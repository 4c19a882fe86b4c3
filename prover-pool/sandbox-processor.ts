// BullMQ's sandboxed processor for `meterproof prover serve`: it runs in a child process, so a
// proof never holds up the parent's lock renewals. The child lives across jobs and keeps one
// Groth16Engine per circuit size (wasm and zkey loaded and checked once).
import type { SandboxedJob } from "bullmq";
import { segmentSpec } from "../circuits/index.ts";
import { Groth16Engine } from "../prover/groth16.ts";
import { loadCircuit } from "../prover/load-circuit.ts";
import type { SegmentProof } from "../prover/segment-prover.ts";
import type { ProofJobData } from "./queue.ts";

const engines = new Map<number, Promise<Groth16Engine>>();

// The parent died (kill -9): its jobs will be recovered as stalled elsewhere, so stop proving for nobody.
process.on("disconnect", () => process.exit(1));

function engineFor(size: number): Promise<Groth16Engine> {
  let e = engines.get(size);
  if (!e) {
    e = loadCircuit(segmentSpec(size)).then(
      (c) => new Groth16Engine({ wasm: c.wasm, zkey: c.zkey, singleThread: false }),
    );
    engines.set(size, e);
  }
  return e;
}

export default async function proveSegmentJob(job: SandboxedJob<ProofJobData>): Promise<SegmentProof> {
  const engine = await engineFor(job.data.circuitSize);
  return engine.prove(job.data.input);
}
