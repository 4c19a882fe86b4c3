/**
 * The witness and Groth16 proof of ImplausibleRecord(N) for one record of a sealed segment:
 * what a challenger hands PlausibilityChallenge. The records enter exactly as the segment's
 * proof took them (prover/witness-input.ts), plus a one-hot choice of the broken record, the
 * network's rule and the challenger's address.
 */
import { getAddress, isAddress } from "ethers";
import { REPO_ROOT, challengeSpec } from "../circuits/index.ts";
import { proveOnce } from "../prover/prove-once.ts";
import { segmentWitnessInput, type SegmentWitnessInput } from "../prover/witness-input.ts";
import { TraceError, type CheckedTrace } from "../trace/index.ts";
import { checkEnergyRule, energyViolation, type EnergyRule, type EnergyViolation } from "./energy-rule.ts";

/** The records' inputs, exactly as MeteredSegment(N) takes them. */
type RecordInputs = Pick<
  SegmentWitnessInput,
  "enabled" | "firstSeq" | "tStart" | "tEnd" | "utilBps" | "memMiB" | "powerMw" | "energyMj" | "digest"
>;

/** The input signals of ImplausibleRecord(N): decimal strings, as snarkjs takes them. */
export interface ChallengeWitnessInput extends RecordInputs {
  jobTag: string;
  prevHead: string;
  newHead: string;
  loBps: string;
  hiBps: string;
  slackMicroJ: string;
  reporter: string;
  /** One-hot: the chosen record's slot. */
  sel: string[];
  [signal: string]: string | string[];
}

/** What to prove: record `seq` of sealed segment `segment` breaks `rule`; `reporter` is the challenger. */
export interface ChallengeTarget {
  trace: CheckedTrace;
  segment: number;
  seq: number;
  /** The challenge circuit's size N: the segment must have at most N records. */
  size: number;
  rule: EnergyRule;
  reporter: string;
}

/**
 * The witness input for a challenge, after checking that the record is in the segment and
 * breaks the rule (a plausible record has no proof: the circuit would refuse its witness).
 */
export function challengeWitnessInput(t: ChallengeTarget): {
  input: ChallengeWitnessInput;
  violation: EnergyViolation;
} {
  const seal = t.trace.seals[t.segment];
  if (!seal)
    throw new TraceError(
      "segment",
      `must be one of the trace's ${t.trace.seals.length} sealed segments, got ${t.segment}`,
    );
  if (!Number.isInteger(t.seq) || t.seq < seal.firstSeq || t.seq > seal.lastSeq)
    throw new TraceError(
      "seq",
      `must be a record of segment ${t.segment} (seq ${seal.firstSeq}..${seal.lastSeq}), got ${t.seq}`,
    );
  if (!isAddress(t.reporter)) throw new TraceError("reporter", `must be an address, got ${t.reporter}`);
  const rule = checkEnergyRule(t.rule);
  const violation = energyViolation(t.trace.records[t.seq]!, rule);
  if (!violation)
    throw new TraceError(
      "seq",
      `must name a record that breaks the energy rule; record ${t.seq} is plausible`,
    );
  const segment = segmentWitnessInput({ trace: t.trace, segment: t.segment, size: t.size });
  return { violation, input: challengeInputFromSegment(segment, t.seq - seal.firstSeq, rule, t.reporter) };
}

/**
 * ImplausibleRecord's input from MeteredSegment's input of the same segment: the records and
 * heads as they are, slot `slot` chosen, the rule and the reporter. No check: a plausible slot
 * gives an input the circuit refuses (tests use that).
 */
export function challengeInputFromSegment(
  segment: SegmentWitnessInput,
  slot: number,
  rule: EnergyRule,
  reporter: string,
): ChallengeWitnessInput {
  return {
    jobTag: segment.jobTag,
    prevHead: segment.prevHead,
    newHead: segment.newHead,
    loBps: String(rule.loBps),
    hiBps: String(rule.hiBps),
    slackMicroJ: String(rule.slackMicroJ),
    reporter: BigInt(getAddress(reporter)).toString(),
    enabled: segment.enabled,
    firstSeq: segment.firstSeq,
    tStart: segment.tStart,
    tEnd: segment.tEnd,
    utilBps: segment.utilBps,
    memMiB: segment.memMiB,
    powerMw: segment.powerMw,
    energyMj: segment.energyMj,
    digest: segment.digest,
    sel: segment.enabled.map((_, i) => (i === slot ? "1" : "0")),
  };
}

/** A challenge proof as PlausibilityChallenge takes it. */
export interface ChallengeProof {
  /** The 8 proof words in the Solidity verifier's order. */
  proof: bigint[];
  /** [jobTag, prevHead, newHead, loBps, hiBps, slackMicroJ, reporter] */
  publicSignals: bigint[];
  violation: EnergyViolation;
}

/** Proves a challenge with the set-up circuit ImplausibleRecord(size) (about two seconds at N = 8, loading the circuit included). */
export async function proveChallenge(t: ChallengeTarget & { root?: string }): Promise<ChallengeProof> {
  const { input, violation } = challengeWitnessInput(t);
  return { ...(await proveOnce(challengeSpec(t.size), input, t.root ?? REPO_ROOT)), violation };
}
