/**
 * Which proof bundles to submit, and in what order: bundles are grouped into lanes (one job,
 * one worker key), ordered by segment index, and compared with the lane's head on chain so
 * that segments the escrow already accepted are skipped and a missing segment stops the lane
 * before a transaction would revert. Pure functions: the CLI reads the heads and sends.
 */
import { getAddress } from "ethers";
import type { ProofBundle } from "../trace/bundle.ts";

/** A bundle and the file it came from. */
export interface BundleEntry {
  path: string;
  bundle: ProofBundle;
}

/** The bundles of one lane, by segment index, without duplicates. */
export interface Lane {
  jobId: bigint;
  workerKeyHash: bigint;
  segments: BundleEntry[];
}

/** A rule about the set of bundles was broken; `path` names the bundle concerned. */
export class SubmitPlanError extends Error {
  override readonly name = "SubmitPlanError";
  readonly path: string;
  constructor(path: string, message: string) {
    super(`${path}: ${message}`);
    this.path = path;
  }
}

/** Refuses a bundle made for another chain or escrow than the one submitted to. */
export function checkBundleTarget(entry: BundleEntry, target: { chainId: bigint; escrow: string }): void {
  const { job } = entry.bundle;
  if (job.chainId !== target.chainId) {
    throw new SubmitPlanError(
      entry.path,
      `is for chain ${job.chainId}, but the RPC endpoint is chain ${target.chainId}`,
    );
  }
  if (getAddress(job.escrow) !== getAddress(target.escrow)) {
    throw new SubmitPlanError(
      entry.path,
      `is for escrow ${getAddress(job.escrow)}, not ${getAddress(target.escrow)}: ` +
        "its proof is bound to that escrow (through the jobTag) and would not verify here",
    );
  }
}

/**
 * Groups bundles into lanes ordered by job id and worker key hash, each lane's segments by
 * index. The same segment given twice (equal heads) counts once; two different bundles for
 * one segment index, or bundles of one job that disagree on its provider or jobTag, are refused.
 */
export function groupIntoLanes(entries: readonly BundleEntry[]): Lane[] {
  const lanes = new Map<string, Lane & { byIndex: Map<number, BundleEntry> }>();
  const jobs = new Map<bigint, BundleEntry>();
  for (const entry of entries) {
    const { job, segment } = entry.bundle;
    const first = jobs.get(job.jobId);
    if (!first) jobs.set(job.jobId, entry);
    else if (
      first.bundle.job.jobTag !== job.jobTag ||
      getAddress(first.bundle.job.provider) !== getAddress(job.provider)
    ) {
      throw new SubmitPlanError(
        entry.path,
        `disagrees with ${first.path} on job ${job.jobId}'s provider or jobTag: the two come from different jobs`,
      );
    }
    const key = `${job.jobId}:${job.workerKeyHash}`;
    let lane = lanes.get(key);
    if (!lane) {
      lane = { jobId: job.jobId, workerKeyHash: job.workerKeyHash, segments: [], byIndex: new Map() };
      lanes.set(key, lane);
    }
    const same = lane.byIndex.get(segment.index);
    if (!same) lane.byIndex.set(segment.index, entry);
    else if (
      same.bundle.segment.prevHead !== segment.prevHead ||
      same.bundle.segment.newHead !== segment.newHead
    ) {
      throw new SubmitPlanError(
        entry.path,
        `is segment ${segment.index} of job ${job.jobId} for worker ${job.workerKeyHash}, as is ${same.path}, but with other heads: bundles of two different traces`,
      );
    }
  }
  return [...lanes.values()]
    .map(({ byIndex, ...lane }) => ({
      ...lane,
      segments: [...byIndex.entries()].sort(([a], [b]) => a - b).map(([, e]) => e),
    }))
    .sort((a, b) =>
      a.jobId !== b.jobId ? (a.jobId < b.jobId ? -1 : 1) : a.workerKeyHash < b.workerKeyHash ? -1 : 1,
    );
}

/** What to do with a lane given its head on chain. */
export interface LaneSchedule {
  /** Segments the escrow has already accepted (at or before the lane head). */
  accepted: BundleEntry[];
  /** Segments that chain on from the lane head, in order: submit these. */
  pending: BundleEntry[];
  /** Set when a segment is missing: the index whose prevHead nothing given leads to. */
  gap?: { index: number; expectedPrevHead: bigint; blocked: BundleEntry[] };
}

/**
 * Splits a lane at its on-chain head. Segments up to the one whose newHead is the head were
 * accepted; from there, segments are pending while each one's prevHead is the previous one's
 * newHead. A head that no bundle leads to (another trace was submitted to this lane, or the
 * bundles before the head were not given and none starts at it) is refused.
 */
export function scheduleLane(lane: Lane, laneHead: bigint): LaneSchedule {
  const segs = lane.segments;
  let start: number;
  if (laneHead === 0n) {
    start = 0;
  } else {
    const at = segs.findIndex((s) => s.bundle.segment.newHead === laneHead);
    if (at >= 0) start = at + 1;
    else {
      start = segs.findIndex((s) => s.bundle.segment.prevHead === laneHead);
      if (start < 0) {
        throw new SubmitPlanError(
          segs[0]?.path ?? "bundles",
          `job ${lane.jobId}, worker ${lane.workerKeyHash}: the lane head on chain (${laneHead}) is neither ` +
            "the start nor the end of any given segment: the lane holds segments of another trace, or the " +
            "bundles right after its head are missing",
        );
      }
    }
  }
  const accepted = segs.slice(0, start);
  const pending: BundleEntry[] = [];
  let expected = laneHead;
  for (let i = start; i < segs.length; i++) {
    const s = segs[i]!;
    if (s.bundle.segment.prevHead !== expected) {
      return {
        accepted,
        pending,
        gap: { index: s.bundle.segment.index, expectedPrevHead: expected, blocked: segs.slice(i) },
      };
    }
    pending.push(s);
    expected = s.bundle.segment.newHead;
  }
  return { accepted, pending };
}

/** Splits a list into chunks of at most `size`. */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
