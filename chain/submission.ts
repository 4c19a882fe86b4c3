import { bundleSchema, type ProofBundle, type ProofBundleJson } from "../trace/bundle.ts";
import { FIELD_MODULUS } from "../trace/constants.ts";
import { TraceError } from "../trace/errors.ts";
import { packMeter, unpackMeter, type Meter } from "../trace/segment.ts";
import type { SubmissionInput } from "../contracts/index.ts";

/** The arguments of `ComputeEscrow.submitSegment`, as bigints. */
export interface Submission {
  circuitId: number;
  workerKeyHash: bigint;
  prevHead: bigint;
  newHead: bigint;
  meter: bigint;
  /**
   * For a lane's first segment, the worker's lane it follows in time: 0n lets the escrow take
   * the worker's latest lane (right unless the lane starts before another of the worker's
   * lanes); chain/lane-order.ts `laneAfterFor` finds the value from chain state.
   */
  laneAfter: bigint;
  /** [a0, a1, b00, b01, b10, b11, c0, c1] */
  proof: bigint[];
}

/** Index of each public signal in the circuit's order (DESIGN.md). */
export const SIGNAL_INDEX = { jobTag: 0, workerKeyHash: 1, prevHead: 2, newHead: 3, meter: 4 } as const;

function toBig(field: string, v: bigint | string | number): bigint {
  try {
    const b = BigInt(v);
    if (b < 0n) throw new RangeError();
    return b;
  } catch {
    throw new TraceError(field, `must be a non-negative integer, got ${String(v)}`);
  }
}

/**
 * Builds a submission from a circuit id, the five public signals
 * [jobTag, workerKeyHash, prevHead, newHead, meter] and the eight proof words. The jobTag is
 * dropped: the escrow takes it from the job. Values are not range-checked against the field
 * here (the contract refuses them), so tests can submit tampered values.
 */
export function buildSubmission(args: {
  circuitId: number;
  publicSignals: readonly (bigint | string)[];
  proof: readonly (bigint | string)[];
}): Submission {
  if (!Number.isInteger(args.circuitId) || args.circuitId < 1 || args.circuitId >= 2 ** 32) {
    throw new TraceError("circuitId", `must be a uint32 above 0, got ${args.circuitId}`);
  }
  if (args.publicSignals.length !== 5) {
    throw new TraceError(
      "publicSignals",
      `must have 5 entries (jobTag, workerKeyHash, prevHead, newHead, meter), got ${args.publicSignals.length}`,
    );
  }
  if (args.proof.length !== 8) throw new TraceError("proof", `must have 8 entries, got ${args.proof.length}`);
  const s = args.publicSignals.map((v, i) => toBig(`publicSignals[${i}]`, v));
  return {
    circuitId: args.circuitId,
    workerKeyHash: s[SIGNAL_INDEX.workerKeyHash]!,
    prevHead: s[SIGNAL_INDEX.prevHead]!,
    newHead: s[SIGNAL_INDEX.newHead]!,
    meter: s[SIGNAL_INDEX.meter]!,
    laneAfter: 0n,
    proof: args.proof.map((v, i) => toBig(`proof[${i}]`, v)),
  };
}

/** The job id and submission a proof bundle carries (validated against the bundle schema; zod errors name the field). */
export function submissionFromBundle(bundle: ProofBundle | ProofBundleJson): {
  jobId: bigint;
  submission: Submission;
} {
  // A parsed bundle holds bigints: write them back as the decimal strings the schema reads.
  const b = bundleSchema.parse(JSON.parse(JSON.stringify(bundle, bigintReplacer)));
  return {
    jobId: b.calldata.jobId,
    submission: {
      circuitId: b.calldata.circuitId,
      workerKeyHash: b.calldata.workerKeyHash,
      prevHead: b.calldata.prevHead,
      newHead: b.calldata.newHead,
      meter: b.calldata.meter,
      laneAfter: 0n,
      proof: b.calldata.proof,
    },
  };
}

function bigintReplacer(_k: string, v: unknown): unknown {
  return typeof v === "bigint" ? v.toString() : v;
}

/** The five public signals the escrow builds for a submission to job `jobTag`. */
export function publicSignalsOf(jobTag: bigint, s: Submission): bigint[] {
  return [jobTag, s.workerKeyHash, s.prevHead, s.newHead, s.meter];
}

/** The submission as the typed binding takes it. */
export function toSubmissionInput(s: Submission): SubmissionInput {
  return { ...s, proof: [...s.proof] };
}

/**
 * Parses the string snarkjs `groth16.exportSolidityCallData` returns:
 * `[a0,a1],[[b00,b01],[b10,b11]],[c0,c1],[signals…]` with hex numbers.
 */
export function parseSolidityCallData(calldata: string): { proof: bigint[]; publicSignals: bigint[] } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(`[${calldata}]`);
  } catch (err) {
    throw new TraceError("calldata", `must be snarkjs Solidity call data (${(err as Error).message})`);
  }
  const [a, b, c, signals] = parsed as [string[], string[][], string[], string[]];
  if (!Array.isArray(a) || !Array.isArray(b) || !Array.isArray(c) || !Array.isArray(signals)) {
    throw new TraceError("calldata", "must hold four arrays: a, b, c and the public signals");
  }
  const proof = [...a, ...b.flat(), ...c].map((v) => BigInt(v));
  if (proof.length !== 8) throw new TraceError("calldata", `must hold 8 proof words, got ${proof.length}`);
  return { proof, publicSignals: signals.map((v) => BigInt(v)) };
}

/** A copy of a submission with its meter rebuilt from changed window/usage parts (for tests and tools). */
export function withMeter(s: Submission, change: Partial<Meter>): Submission {
  return { ...s, meter: packMeter({ ...unpackMeter(s.meter), ...change }) };
}

/** Whether every value of the submission is a field element (what the verifier router requires). */
export function inField(s: Submission): boolean {
  return [s.workerKeyHash, s.prevHead, s.newHead, s.meter].every((v) => v < FIELD_MODULUS);
}
