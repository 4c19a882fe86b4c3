/**
 * What a challenger can challenge in a trace: each record that breaks the energy rule, in a
 * sealed segment that the escrow accepted and still holds in its challenge window. Records in
 * other segments are listed with the reason they cannot be challenged (not on chain, window
 * passed, too many records for the network's circuit).
 */
import type { Provider } from "ethers";
import {
  locatePendingSegment,
  NotChallengeableError,
  readLanePayouts,
  type LanePayouts,
  type PendingSegment,
} from "../chain/challenge.ts";
import type { ComputeEscrow } from "../contracts/index.ts";
import type { CheckedTrace } from "../trace/index.ts";
import { implausibleRecords, type EnergyRule, type EnergyViolation } from "./energy-rule.ts";

/** One implausible record and whether it can be challenged now. */
export interface ChallengeCandidate {
  segment: number;
  violation: EnergyViolation;
  /** Where its segment's pay waits, when it can be challenged. */
  pending?: PendingSegment;
  /** Why it cannot be challenged, when it cannot. */
  reason?: string;
}

/**
 * The implausible records of the trace's sealed segments (only `segment`, or only record
 * `seq`, when given), each with its segment's pending bucket or the reason it has none.
 */
export async function findChallenges(args: {
  trace: CheckedTrace;
  escrow: ComputeEscrow;
  provider: Provider;
  rule: EnergyRule;
  /** The network's challenge circuit size. */
  maxRecords: number;
  fromBlock: number;
  segment?: number;
  seq?: number;
}): Promise<ChallengeCandidate[]> {
  const { trace } = args;
  const out: ChallengeCandidate[] = [];
  // The lane's payouts are read once, when a segment first needs them.
  let lane: Promise<LanePayouts> | undefined;
  const laneOnce = () =>
    (lane ??= readLanePayouts({
      escrow: args.escrow,
      provider: args.provider,
      jobId: trace.header.jobId,
      workerKeyHash: trace.header.workerKeyHash,
      fromBlock: args.fromBlock,
    }));
  for (const [index, seal] of trace.seals.entries()) {
    if (args.segment !== undefined && index !== args.segment) continue;
    const records = trace.records
      .slice(seal.firstSeq, seal.lastSeq + 1)
      .filter((r) => args.seq === undefined || r.seq === args.seq);
    const broken = implausibleRecords(records, args.rule);
    if (broken.length === 0) continue;
    const count = seal.lastSeq - seal.firstSeq + 1;
    let pending: PendingSegment | undefined;
    let reason: string | undefined;
    if (count > args.maxRecords) {
      reason = `segment ${index} has ${count} records, more than the network's challenge circuit takes (${args.maxRecords})`;
    } else {
      try {
        pending = locatePendingSegment(await laneOnce(), seal.newHead);
      } catch (err) {
        if (!(err instanceof NotChallengeableError)) throw err;
        reason = err.message;
      }
    }
    for (const violation of broken) {
      out.push({ segment: index, violation, ...(pending ? { pending } : {}), ...(reason ? { reason } : {}) });
    }
  }
  return out;
}
