/**
 * What a prover pool is asked to do: prove one sealed segment's witness input with the
 * circuit of a given size. A task is named by its segment (chain, escrow, job, worker key,
 * index and new head), so the same segment asked for twice is one task, wherever it is proven.
 */
import { z } from "zod";
import { sha256Hex } from "../trace/hashing.ts";
import type { SegmentWitnessInput } from "../prover/witness-input.ts";
import type { SegmentProof } from "../prover/segment-prover.ts";

export interface ProofTask {
  /** Idempotent id of the segment (proofTaskId). */
  id: string;
  /** N of MeteredSegment(N). */
  circuitSize: number;
  input: SegmentWitnessInput;
}

/** Where a segment sits: what its proof binds to, and so what names its task. */
export interface SegmentKey {
  chainId: bigint;
  escrow: string;
  jobId: bigint;
  workerKeyHash: bigint;
  index: number;
  newHead: bigint;
}

/** `seg-` and 32 hex digits of SHA-256 over the segment key (BullMQ ids may not hold `:`). */
export function proofTaskId(k: SegmentKey): string {
  const text = [k.chainId, k.escrow.toLowerCase(), k.jobId, k.workerKeyHash, k.index, k.newHead].join("/");
  return `seg-${sha256Hex(text).slice(2, 34)}`;
}

/** Proves tasks somewhere: in this process (LocalProverPool) or on `prover serve` hosts (QueueProverPool). */
export interface ProverPool {
  prove(task: ProofTask): Promise<SegmentProof>;
  /** Tasks asked for and not finished yet. */
  pending(): number;
  close(): Promise<void>;
}

const decimal = z.string().regex(/^[0-9]+$/, "must be a decimal integer string");
const g1 = z.array(decimal).length(3);

/** A proof as it comes back from another process: checked before anything uses it. */
export const segmentProofSchema = z.object({
  proof: z.object({
    pi_a: g1,
    pi_b: z.array(z.array(decimal).length(2)).length(3),
    pi_c: g1,
    protocol: z.literal("groth16"),
    curve: z.literal("bn128"),
  }),
  publicSignals: z.array(decimal).length(5),
});

/** Parses a proof from another process, naming the first bad field. */
export function parseSegmentProof(value: unknown, what: string): SegmentProof {
  const parsed = segmentProofSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`${what}: ${issue.path.join(".") || "result"} ${issue.message}`);
  }
  return parsed.data as SegmentProof;
}
