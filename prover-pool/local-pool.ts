import { loadProvingCircuit } from "../prover/load-circuit.ts";
import { SegmentProver, type SegmentProof } from "../prover/segment-prover.ts";
import type { ProofTask, ProverPool } from "./proof-task.ts";

/**
 * The embedded pool: one long-lived SegmentProver per circuit size in this process (the
 * circuit is loaded and checked against its manifest once). A task already in flight is
 * joined, not proven again.
 */
export class LocalProverPool implements ProverPool {
  private readonly provers = new Map<number, Promise<SegmentProver>>();
  private readonly inFlight = new Map<string, Promise<SegmentProof>>();
  private readonly jobs: number;

  constructor(opts: { jobs?: number } = {}) {
    this.jobs = opts.jobs ?? 1;
  }

  prove(task: ProofTask): Promise<SegmentProof> {
    const running = this.inFlight.get(task.id);
    if (running) return running;
    const run = this.proverFor(task.circuitSize)
      .then((p) => p.prove(task.input))
      .finally(() => this.inFlight.delete(task.id));
    this.inFlight.set(task.id, run);
    return run;
  }

  pending(): number {
    return this.inFlight.size;
  }

  async close(): Promise<void> {
    const provers = await Promise.allSettled([...this.provers.values()]);
    for (const p of provers) if (p.status === "fulfilled") await p.value.close();
  }

  private proverFor(size: number): Promise<SegmentProver> {
    let p = this.provers.get(size);
    if (!p) {
      p = loadProvingCircuit(size).then(
        (c) => new SegmentProver({ wasm: c.wasm, zkey: c.zkey, jobs: this.jobs }),
      );
      this.provers.set(size, p);
    }
    return p;
  }
}
