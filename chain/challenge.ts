/**
 * The chain side of a plausibility challenge: which pending bucket holds a segment, the
 * segments to fold after it (PlausibilityChallenge checks them against the bucket's commitment),
 * and the transaction. The bucket's segments come from SegmentAccepted events: the escrow folds
 * every paid segment of a lane accepted in one epoch (block time / challenge window) into that
 * epoch's bucket, in log order.
 */
import { AbiCoder, ZeroHash, keccak256, toBeHex, zeroPadValue, type Provider } from "ethers";
import { meterproofInterface, type ComputeEscrow, type SegmentHeadsInput } from "../contracts/index.ts";
import { decodeEvents, type DecodedEvent } from "./events.ts";
import { getLogsInRange, mapConcurrent } from "./logs.ts";

/** A segment as the escrow commits to it. */
export interface SegmentHeads {
  prevHead: bigint;
  newHead: bigint;
}

/** Where a segment's pay waits, and what PlausibilityChallenge needs to find it. */
export interface PendingSegment {
  /** The bucket's commitment before the segment. */
  headsBefore: string;
  /** The segment, then every later segment of its bucket. */
  segments: SegmentHeads[];
  /** When the bucket leaves the challenge window (unix seconds). */
  releaseAt: bigint;
  /** Pay pending in the bucket. */
  amount: bigint;
}

/** Why a segment cannot be challenged, in one sentence. */
export class NotChallengeableError extends Error {
  override readonly name = "NotChallengeableError";
}

const coder = AbiCoder.defaultAbiCoder();

/** One step of a bucket's commitment, as ComputeEscrow._foldHeads. */
export function foldHeads(heads: string, s: SegmentHeads): string {
  return keccak256(coder.encode(["bytes32", "uint256", "uint256"], [heads, s.prevHead, s.newHead]));
}

/** A lane's paid segments and pending buckets, as read once from the chain. */
export interface LanePayouts {
  jobId: bigint;
  workerKeyHash: bigint;
  window: bigint;
  /** SegmentAccepted events with a payout, in chain order. */
  accepted: DecodedEvent[];
  /** Block time of each block in `accepted`. */
  times: Map<number, bigint>;
  buckets: { amount: bigint; releaseAt: bigint; heads: string }[];
  /** The latest block's time. */
  now: bigint;
}

/**
 * Reads lane (jobId, workerKeyHash)'s paid segments (SegmentAccepted from `fromBlock`), their
 * block times and its pending buckets. Throws NotChallengeableError when the escrow has no window.
 */
export async function readLanePayouts(args: {
  escrow: ComputeEscrow;
  provider: Provider;
  jobId: bigint;
  workerKeyHash: bigint;
  /** First block to scan (the deployment's block). */
  fromBlock: number;
}): Promise<LanePayouts> {
  const { escrow, provider } = args;
  const window = await escrow.challengeWindow();
  if (window === 0n)
    throw new NotChallengeableError("the escrow has no challenge window: its payouts are final at once");
  const latest = await provider.getBlockNumber();
  const accepted = decodeEvents(
    await getLogsInRange(
      provider,
      {
        address: await escrow.getAddress(),
        topics: [
          meterproofInterface().getEvent("SegmentAccepted")!.topicHash,
          zeroPadValue(toBeHex(args.jobId), 32),
          zeroPadValue(toBeHex(args.workerKeyHash), 32),
        ],
      },
      args.fromBlock,
      latest,
    ),
  ).filter((e) => (e.args.payout as bigint) > 0n);
  const [times, buckets, block] = await Promise.all([
    blockTimes(provider, accepted),
    escrow.pendingBucketsOf(args.jobId, args.workerKeyHash),
    provider.getBlock(latest),
  ]);
  return {
    jobId: args.jobId,
    workerKeyHash: args.workerKeyHash,
    window,
    accepted,
    times,
    buckets: buckets.map((b) => ({ amount: b.amount, releaseAt: b.releaseAt, heads: b.heads })),
    now: BigInt(block!.timestamp),
  };
}

/**
 * The pending bucket of the lane holding segment `newHead`, and the fold that proves it.
 * Throws NotChallengeableError when the segment was not accepted (or paid nothing), or its pay
 * has left the window.
 */
export function locatePendingSegment(lane: LanePayouts, newHead: bigint): PendingSegment {
  const { accepted, times, window } = lane;
  const name = toBeHex(newHead, 32);
  const target = accepted.find((e) => (e.args.newHead as bigint) === newHead);
  if (!target) {
    throw new NotChallengeableError(
      `segment ${name} was not accepted with a payout in job ${lane.jobId} for this worker key`,
    );
  }
  const epochOf = (e: DecodedEvent) => times.get(e.position.blockNumber)! / window;
  const epoch = epochOf(target);
  const bucket = accepted.filter((e) => epochOf(e) === epoch);
  const at = bucket.indexOf(target);
  const heads = (e: DecodedEvent): SegmentHeads => ({
    prevHead: e.args.prevHead as bigint,
    newHead: e.args.newHead as bigint,
  });
  const headsBefore = bucket.slice(0, at).map(heads).reduce(foldHeads, ZeroHash);
  const segments = bucket.slice(at).map(heads);
  const commitment = segments.reduce(foldHeads, headsBefore);
  const held = lane.buckets.find((b) => b.amount > 0n && b.heads === commitment);
  const iso = (t: bigint) => new Date(Number(t) * 1000).toISOString();
  if (!held) {
    throw new NotChallengeableError(
      `segment ${name}'s pay is no longer pending: it left the challenge window at ${iso((epoch + 2n) * window)} (or was settled)`,
    );
  }
  if (held.releaseAt <= lane.now) {
    throw new NotChallengeableError(`segment ${name}'s challenge window ended at ${iso(held.releaseAt)}`);
  }
  return { headsBefore, segments, releaseAt: held.releaseAt, amount: held.amount };
}

/** readLanePayouts and locatePendingSegment for one segment. */
export async function findPendingSegment(
  args: Parameters<typeof readLanePayouts>[0] & { newHead: bigint },
): Promise<PendingSegment> {
  return locatePendingSegment(await readLanePayouts(args), args.newHead);
}

async function blockTimes(provider: Provider, events: readonly DecodedEvent[]): Promise<Map<number, bigint>> {
  const blocks = [...new Set(events.map((e) => e.position.blockNumber))];
  const times = await mapConcurrent(blocks, 8, async (n) => {
    const block = await provider.getBlock(n);
    if (!block) throw new Error(`block ${n} is not available from this RPC endpoint`);
    return BigInt(block.timestamp);
  });
  return new Map(blocks.map((n, i) => [n, times[i]!]));
}

/** PlausibilityChallenge.challenge's arguments for a pending segment and a proof. */
export function challengeArgs(args: {
  jobId: bigint;
  workerKeyHash: bigint;
  pending: PendingSegment;
  proof: readonly bigint[];
}): [bigint, bigint, string, SegmentHeadsInput[], bigint[]] {
  if (args.proof.length !== 8) throw new RangeError(`proof must have 8 words, got ${args.proof.length}`);
  const segments: SegmentHeadsInput[] = args.pending.segments.map((s) => ({ ...s }));
  return [args.jobId, args.workerKeyHash, args.pending.headsBefore, segments, [...args.proof]];
}
