/**
 * The proving queue on BullMQ over Redis: its name, how a task becomes a BullMQ job, and the
 * Redis connection both sides use. Jobs are keyed by the task id (one per segment), retried
 * with exponential backoff, and kept a day after they finish so that a segment asked for
 * again is answered from the stored result instead of proven twice.
 */
import type { JobsOptions } from "bullmq";
import type { SegmentWitnessInput } from "../prover/witness-input.ts";

export const PROOF_QUEUE = "meterproof-proofs";

/** What a BullMQ job carries: the sandboxed processor needs nothing else. */
export interface ProofJobData {
  circuitSize: number;
  input: SegmentWitnessInput;
}

/** Attempts per task before it fails (a failed task is retried when the agent asks for it again). */
export const PROOF_ATTEMPTS = 5;

export function proofJobOptions(taskId: string): JobsOptions {
  return {
    jobId: taskId,
    attempts: PROOF_ATTEMPTS,
    backoff: { type: "exponential", delay: 2000 },
    removeOnComplete: { age: 24 * 3600 },
    removeOnFail: { age: 7 * 24 * 3600 },
  };
}

/** Checks a `--queue` URL: redis:// or rediss:// (TLS). */
export function checkQueueUrl(flag: string, url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new RangeError(`${flag} must be a redis:// or rediss:// URL, got ${JSON.stringify(url)}`);
  }
  if (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:")
    throw new RangeError(`${flag} must be a redis:// or rediss:// URL, got ${JSON.stringify(url)}`);
  return url;
}

/**
 * BullMQ connection options for a Redis URL. Commands wait through a Redis restart instead of
 * failing (`maxRetriesPerRequest: null`, which BullMQ workers require), reconnecting with a
 * capped backoff.
 */
export function redisConnection(url: string) {
  return {
    url,
    maxRetriesPerRequest: null,
    retryStrategy: (times: number) => Math.min(200 * times, 2000),
  };
}
