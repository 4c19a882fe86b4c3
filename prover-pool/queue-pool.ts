import { Job, Queue } from "bullmq";
import type { SegmentProof } from "../prover/segment-prover.ts";
import { parseSegmentProof, type ProofTask, type ProverPool } from "./proof-task.ts";
import { PROOF_QUEUE, proofJobOptions, redisConnection, type ProofJobData } from "./queue.ts";

/**
 * Proving spread over `meterproof prover serve` hosts through BullMQ. A task is added under
 * its segment's id (adding it again while it exists is a no-op) and its job is polled until it
 * completes; polling, not queue events, so that a Redis restart only delays the answer. A job
 * that vanished (Redis lost its data) is added again; a job that failed all its attempts is
 * reported, and retried afresh when the segment is asked for again.
 */
export class QueueProverPool implements ProverPool {
  private readonly queue: Queue<ProofJobData>;
  private readonly inFlight = new Map<string, Promise<SegmentProof>>();
  private readonly pollMs: number;
  private closed = false;

  constructor(opts: { url: string; pollMs?: number; onError?: (err: Error) => void }) {
    this.queue = new Queue<ProofJobData>(PROOF_QUEUE, { connection: redisConnection(opts.url) });
    // Connection errors while Redis is away: commands wait for the reconnect; say so, do not crash.
    this.queue.on("error", (err) => opts.onError?.(err));
    this.pollMs = opts.pollMs ?? 250;
  }

  prove(task: ProofTask): Promise<SegmentProof> {
    const running = this.inFlight.get(task.id);
    if (running) return running;
    const run = this.run(task).finally(() => this.inFlight.delete(task.id));
    this.inFlight.set(task.id, run);
    return run;
  }

  pending(): number {
    return this.inFlight.size;
  }

  /** Jobs waiting, running or delayed for a retry, across every agent using this Redis. */
  async depth(): Promise<number> {
    const c = await this.queue.getJobCounts("waiting", "active", "delayed", "prioritized");
    return Object.values(c).reduce((a, b) => a + b, 0);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.queue.close();
  }

  private async run(task: ProofTask): Promise<SegmentProof> {
    const existing = await Job.fromId<ProofJobData>(this.queue, task.id);
    if (existing && (await existing.getState()) === "failed") await existing.retry("failed");
    for (;;) {
      await this.queue.add(
        "prove",
        { circuitSize: task.circuitSize, input: task.input },
        proofJobOptions(task.id),
      );
      for (;;) {
        if (this.closed) throw new Error(`proof task ${task.id}: the pool was closed`);
        // The state first, then the job: read the other way round, a job finishing in between
        // would look completed without its result.
        const state = await this.queue.getJobState(task.id);
        if (state === "unknown") break; // lost with Redis' data: add it again
        if (state === "completed" || state === "failed") {
          const job = await Job.fromId<ProofJobData>(this.queue, task.id);
          if (!job) break;
          if (state === "completed") return parseSegmentProof(job.returnvalue, `proof task ${task.id}`);
          throw new Error(
            `proof task ${task.id} failed after ${job.attemptsMade} attempts: ${job.failedReason}`,
          );
        }
        await new Promise((r) => setTimeout(r, this.pollMs));
      }
    }
  }
}
