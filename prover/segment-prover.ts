import { Worker } from "node:worker_threads";
import type { Groth16Proof } from "snarkjs";
import { releaseCurve } from "../setup/snarkjs-api.ts";
import { Groth16Engine } from "./groth16.ts";
import type { ProofRequest, ProofResponse, ProofWorkerData } from "./proof-worker.ts";

export interface SegmentProof {
  proof: Groth16Proof;
  publicSignals: string[];
}

/**
 * A long-lived Groth16 prover for one circuit that loads the wasm and zkey once. With one
 * job it proves in this thread on snarkjs' multi-threaded curve (all cores on one proof);
 * with K jobs it runs K worker threads, each proving on its own single-threaded curve, and
 * hands each proof to the first idle one. Call `close()` so the process can exit.
 */
export class SegmentProver {
  private readonly local: Groth16Engine | undefined;
  private readonly workers: Worker[] = [];
  private readonly idle: Worker[] = [];
  private readonly queue: {
    input: Record<string, unknown>;
    resolve: (p: SegmentProof) => void;
    reject: (e: Error) => void;
  }[] = [];
  private readonly pending = new Map<
    number,
    { worker: Worker; resolve: (p: SegmentProof) => void; reject: (e: Error) => void }
  >();
  private nextId = 0;
  private closed = false;

  constructor(args: { wasm: Uint8Array; zkey: Uint8Array; jobs?: number }) {
    const jobs = args.jobs ?? 1;
    if (!Number.isInteger(jobs) || jobs < 1)
      throw new RangeError(`--jobs must be a positive integer, got ${jobs}`);
    this.local =
      jobs === 1 ? new Groth16Engine({ wasm: args.wasm, zkey: args.zkey, singleThread: false }) : undefined;
    for (let i = 0; jobs > 1 && i < jobs; i++) {
      // proof-worker.ts beside the sources, proof-worker.js beside the built package (dist/).
      const script = import.meta.url.endsWith(".ts") ? "./proof-worker.ts" : "./proof-worker.js";
      const worker = new Worker(new URL(script, import.meta.url), {
        // `mod` is read by the web-worker shim that ffjavascript loads in every thread: an empty
        // script keeps it from trying to load a module of its own.
        workerData: {
          wasm: args.wasm,
          zkey: args.zkey,
          mod: "data:text/javascript,",
        } satisfies ProofWorkerData,
      });
      worker.on("message", (msg: ProofResponse) => this.settle(worker, msg));
      worker.on("error", (err) => this.fail(worker, err));
      this.workers.push(worker);
      this.idle.push(worker);
    }
  }

  /** Proves one witness input; resolves with the proof and its public signals. */
  prove(input: Record<string, unknown>): Promise<SegmentProof> {
    if (this.closed) return Promise.reject(new Error("prover is closed"));
    if (this.local)
      return this.local
        .prove(input)
        .catch((err: Error) => Promise.reject(new Error(`witness or proof failed: ${err.message}`)));
    return new Promise((resolve, reject) => {
      this.queue.push({ input, resolve, reject });
      this.dispatch();
    });
  }

  /** Ends the worker threads after the proofs in flight; safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const q of this.queue.splice(0)) q.reject(new Error("prover closed before this proof started"));
    if (this.local) await releaseCurve();
    await Promise.all(
      this.workers.map(
        (w) =>
          new Promise<void>((resolve) => {
            w.once("exit", () => resolve());
            w.postMessage({ id: -1, close: true } satisfies ProofRequest);
          }),
      ),
    );
  }

  private dispatch(): void {
    while (this.idle.length > 0 && this.queue.length > 0) {
      const worker = this.idle.pop()!;
      const job = this.queue.shift()!;
      const id = this.nextId++;
      this.pending.set(id, { worker, resolve: job.resolve, reject: job.reject });
      worker.postMessage({ id, input: job.input } satisfies ProofRequest);
    }
  }

  private settle(worker: Worker, msg: ProofResponse): void {
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    this.idle.push(worker);
    if (msg.ok) p.resolve({ proof: msg.proof, publicSignals: msg.publicSignals });
    else p.reject(new Error(`witness or proof failed: ${msg.error}`));
    this.dispatch();
  }

  private fail(worker: Worker, err: Error): void {
    for (const [id, p] of this.pending) {
      if (p.worker !== worker) continue;
      this.pending.delete(id);
      p.reject(err);
    }
  }
}
