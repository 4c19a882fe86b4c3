import { fileURLToPath } from "node:url";
import { Worker } from "bullmq";
import { PROOF_QUEUE, redisConnection, type ProofJobData } from "./queue.ts";
import type { SegmentProof } from "../prover/segment-prover.ts";

export interface ProverServeOptions {
  url: string;
  /** Proofs at once on this host, each in its own sandboxed child process. */
  concurrency: number;
  /** How long a job's lock lasts without renewal; a host that died loses its jobs after this. */
  lockMs?: number;
  /** How often stalled jobs (lock expired) are looked for and moved back to the queue. */
  stalledCheckMs?: number;
  log: (event: string, fields: Record<string, unknown>) => void;
}

// The processor file beside this one: .ts in a checkout, .js in the built package.
const PROCESSOR = fileURLToPath(
  new URL(
    import.meta.url.endsWith(".ts") ? "./sandbox-processor.ts" : "./sandbox-processor.js",
    import.meta.url,
  ),
);

/**
 * A BullMQ worker that proves segment jobs in sandboxed child processes. Stalled-job recovery is
 * BullMQ's: every worker checks for jobs whose lock expired (their host died) and puts them back.
 */
export function startProverServe(opts: ProverServeOptions): Worker<ProofJobData, SegmentProof> {
  const lockDuration = opts.lockMs ?? 30_000;
  const worker = new Worker<ProofJobData, SegmentProof>(PROOF_QUEUE, PROCESSOR, {
    connection: redisConnection(opts.url),
    concurrency: opts.concurrency,
    lockDuration,
    stalledInterval: opts.stalledCheckMs ?? Math.max(1000, Math.floor(lockDuration / 2)),
    maxStalledCount: 3,
  });
  const started = new Map<string, number>();
  worker.on("active", (job) => {
    started.set(job.id!, performance.now());
    opts.log("proving", { task: job.id, attempt: job.attemptsMade + 1, circuitSize: job.data.circuitSize });
  });
  worker.on("completed", (job) => {
    const t0 = started.get(job.id!);
    started.delete(job.id!);
    opts.log("proven", {
      task: job.id,
      seconds: t0 === undefined ? undefined : (performance.now() - t0) / 1000,
    });
  });
  worker.on("failed", (job, err) => opts.log("proof failed", { task: job?.id, error: err.message }));
  worker.on("stalled", (id) => opts.log("stalled job recovered", { task: id }));
  worker.on("error", (err) => opts.log("queue error", { error: err.message }));
  return worker;
}
