/**
 * Batched submission: the agent's bundles are planned against the lanes' heads on chain
 * (chain/submit-plan.ts: accepted segments skipped, a gap stops a lane), and sent in one
 * submitSegments call once K segments are ready or the oldest has waited T seconds. Segments go
 * in time order, so a worker's lanes are billed in the order its jobs ran.
 */
import type { Provider } from "ethers";
import { decodeContractError } from "../chain/errors.ts";
import { eventsIn } from "../chain/events.ts";
import { laneAfterFor } from "../chain/lane-order.ts";
import { groupIntoLanes, scheduleLane, type BundleEntry } from "../chain/submit-plan.ts";
import { submissionFromBundle, toSubmissionInput } from "../chain/submission.ts";
import { attachContract, type BatchEntryInput } from "../contracts/index.ts";
import { failpoint } from "./failpoint.ts";
import type { ProviderMetrics } from "./metrics.ts";
import type { TraceLane } from "./trace-lane.ts";
import type { TxOutcome, TxSender } from "./tx-sender.ts";

export interface SubmitContext {
  provider: Provider;
  escrow: string;
  deploymentBlock?: number;
  sender: TxSender;
  batch: { segments: number; maxWaitSeconds: number; maxPerTx: number };
  metrics?: ProviderMetrics;
  log: (event: string, fields: Record<string, unknown>) => void;
}

const laneKey = (jobId: bigint, wkh: bigint) => `${jobId}:${wkh}`;

/** Reads each lane's head, updates its accepted count and returns the segments ready to submit. */
export async function planPending(ctx: SubmitContext, lanes: readonly TraceLane[]): Promise<BundleEntry[]> {
  const escrow = attachContract("ComputeEscrow", ctx.escrow, ctx.provider);
  const byKey = new Map<string, TraceLane>();
  for (const l of lanes) if (l.trace) byKey.set(laneKey(l.jobId!, l.workerKeyHash!), l);
  const pending: BundleEntry[] = [];
  for (const plan of groupIntoLanes(lanes.flatMap((l) => [...l.bundles.values()]))) {
    const lane = byKey.get(laneKey(plan.jobId, plan.workerKeyHash))!;
    const schedule = scheduleLane(plan, await escrow.laneHead(plan.jobId, plan.workerKeyHash));
    lane.accepted = Math.max(lane.accepted, schedule.accepted.length);
    if (!lane.refused) pending.push(...schedule.pending);
  }
  return pending.sort((a, b) => a.bundle.segment.tFirst - b.bundle.segment.tFirst);
}

/** Whether the batch rule says send now: K ready, or the oldest ready one sealed T seconds ago. */
export function batchDue(
  pending: readonly BundleEntry[],
  batch: SubmitContext["batch"],
  now: number,
): boolean {
  if (pending.length === 0) return false;
  if (pending.length >= batch.segments) return true;
  const oldest = Math.min(...pending.map((p) => p.bundle.segment.tLast));
  return now - oldest >= batch.maxWaitSeconds * 1000;
}

/** Sends one batch (at most maxPerTx segments); a segment the escrow refuses stops its lane with the reason. */
export async function submitBatch(
  ctx: SubmitContext,
  lanes: readonly TraceLane[],
  pending: readonly BundleEntry[],
): Promise<void> {
  const batch = pending.slice(0, ctx.batch.maxPerTx);
  const entries: BatchEntryInput[] = [];
  for (const s of batch) {
    const { jobId, submission } = submissionFromBundle(s.bundle);
    if (submission.prevHead === 0n)
      submission.laneAfter = await laneAfterFor({
        provider: ctx.provider,
        escrow: ctx.escrow,
        jobId,
        workerKeyHash: submission.workerKeyHash,
        tFirst: BigInt(s.bundle.segment.tFirst),
        ...(ctx.deploymentBlock !== undefined ? { fromBlock: ctx.deploymentBlock } : {}),
      });
    entries.push({ jobId, submission: toSubmissionInput(submission) });
  }
  const escrow = attachContract("ComputeEscrow", ctx.escrow, ctx.provider);
  const laneOf = (s: BundleEntry) =>
    lanes.find((l) => l.jobId === s.bundle.job.jobId && l.workerKeyHash === s.bundle.job.workerKeyHash)!;
  for (const s of batch) laneOf(s).inFlight.add(s.bundle.segment.index);
  let outcome: TxOutcome;
  try {
    outcome = await ctx.sender.send(`submit ${batch.length} segments`, {
      to: ctx.escrow,
      data: escrow.interface.encodeFunctionData("submitSegments", [entries]),
    });
  } catch (err) {
    const decoded = decodeContractError(err);
    if (!decoded) throw err; // RPC trouble: the caller backs off and plans again
    await refuseLanes(ctx, batch, entries, laneOf);
    return;
  } finally {
    for (const s of batch) laneOf(s).inFlight.delete(s.bundle.segment.index);
  }
  recordOutcome(ctx, lanes, outcome);
}

/** Credits accepted segments to their lanes (payout, latency, gas) from a mined transaction. */
export function recordOutcome(ctx: SubmitContext, lanes: readonly TraceLane[], outcome: TxOutcome): void {
  if (outcome.outcome !== "mined") return; // replaced: the next plan reads the heads again
  const { receipt } = outcome;
  if (receipt.status !== 1) {
    ctx.log("transaction reverted", { hash: outcome.hash, label: outcome.label });
    return;
  }
  const accepted = eventsIn(receipt, "SegmentAccepted");
  const skipped = eventsIn(receipt, "SegmentSkipped");
  const now = Date.now();
  for (const ev of accepted) {
    const lane = lanes.find((l) => l.jobId === ev.jobId && l.workerKeyHash === ev.workerKeyHash);
    if (!lane) continue;
    lane.paid += ev.payout;
    lane.accepted += 1;
    ctx.metrics?.sealToPaidSeconds.observe((now - Number(ev.tLast)) / 1000);
  }
  if (accepted.length > 0) {
    ctx.metrics?.segmentsAccepted.inc(accepted.length);
    ctx.metrics?.submitGas.inc(Number(receipt.gasUsed));
    ctx.metrics?.gasPerSegment.observe(Number(receipt.gasUsed) / accepted.length);
  }
  ctx.log("segments accepted", {
    hash: outcome.hash,
    accepted: accepted.length,
    skipped: skipped.length,
    gasUsed: receipt.gasUsed.toString(),
    payout: accepted.reduce((a, e) => a + e.payout, 0n).toString(),
  });
  failpoint("after-accept");
}

/**
 * The batch would revert: estimate each lane's part alone and mark the lanes whose part reverts
 * as refused with the escrow's reason (not retried until an operator looks); the others are
 * planned again on the next round.
 */
async function refuseLanes(
  ctx: SubmitContext,
  batch: readonly BundleEntry[],
  entries: readonly BatchEntryInput[],
  laneOf: (s: BundleEntry) => TraceLane,
): Promise<void> {
  const escrow = attachContract("ComputeEscrow", ctx.escrow, ctx.provider);
  const groups = new Map<TraceLane, { first: number; part: BatchEntryInput[] }>();
  batch.forEach((s, i) => {
    const g = groups.get(laneOf(s)) ?? { first: s.bundle.segment.index, part: [] };
    g.part.push(entries[i]!);
    groups.set(laneOf(s), g);
  });
  for (const [lane, { first, part }] of groups) {
    try {
      await ctx.provider.estimateGas({
        from: ctx.sender.address,
        to: ctx.escrow,
        data: escrow.interface.encodeFunctionData("submitSegments", [part]),
      });
    } catch (err) {
      const decoded = decodeContractError(err);
      if (!decoded) throw err;
      lane.refused = `segment ${first} refused by the escrow: ${decoded.text}`;
      ctx.log("segment refused", { trace: lane.tracePath, segment: first, reason: decoded.text });
    }
  }
}
