/**
 * The audit's checks against the chain's current state (verifier/audit.ts calls them when the
 * chain view holds a `state`): does the registry hold the device the trace says it metered,
 * and can each segment that is not on chain still be paid? A segment that never can is a
 * failure with the escrow's reason, not "not on chain yet".
 */
import type { Segment, TraceHeader } from "../trace/index.ts";
import type { AcceptedSegment, ChainState, Finding } from "./audit.ts";

const ZERO_HASH = `0x${"0".repeat(64)}`;
const ZERO_ADDRESS = `0x${"0".repeat(40)}`;

/** Compares the trace header's device class and GPU hash with what the registry holds for its key. */
export function compareDevice(
  header: TraceHeader,
  state: ChainState,
  accepted: readonly AcceptedSegment[],
  add: (f: Finding) => void,
): void {
  const w = state.worker;
  const key = `worker key ${header.workerKeyHash}`;
  if (w.provider.toLowerCase() === ZERO_ADDRESS) {
    add({
      check: "device",
      status: "fail",
      message: `the registry holds no ${key}: nothing to compare the trace's device with`,
    });
    return;
  }
  const applied = [...new Set(accepted.map((a) => a.weightBps))];
  const paidAt =
    applied.length > 0
      ? `its ${accepted.length} segments on chain were paid at ${w.deviceClass}'s weight ${applied.join(", ")} bps`
      : `its segments are paid at ${w.deviceClass}'s weight (${w.weightBps} bps now)`;
  let ok = true;
  if (header.device.class !== w.deviceClass) {
    ok = false;
    add({
      check: "device",
      status: "fail",
      message: `the trace's header says device class ${header.device.class}, but the registry holds ${w.deviceClass} for ${key}: ${paidAt}`,
    });
  }
  if (w.gpuUuidHash.toLowerCase() === ZERO_HASH) {
    ok = false;
    add({
      check: "device",
      status: "fail",
      message: `the registry released the GPU of ${key} (an attestor or the admin found it claimed wrongly): the key is off for good`,
    });
  } else if (header.device.uuidHash.toLowerCase() !== w.gpuUuidHash.toLowerCase()) {
    ok = false;
    add({
      check: "device",
      status: "fail",
      message: `the trace's device hash ${header.device.uuidHash} is not the GPU hash ${w.gpuUuidHash} the registry holds for ${key}`,
    });
  }
  if (ok) {
    add({
      check: "device",
      status: "pass",
      message: `device class ${w.deviceClass} and GPU hash match the registry; ${paidAt}`,
    });
  }
}

/** One reason a segment cannot be paid; `lasting` reasons also stop every later segment of the lane. */
interface Refusal {
  status: "fail" | "warn";
  reason: string;
  lasting: boolean;
}

/**
 * Says, for the sealed segments not on chain, which can still be paid (a warning: submit them)
 * and which can no longer be (a failure naming the reason, in the order the escrow checks).
 */
export function checkPayable(args: {
  header: TraceHeader;
  segments: readonly Segment[];
  unproven: readonly Segment[];
  state: ChainState;
  maxClockSkewMs: number;
  add: (f: Finding) => void;
}): void {
  const { header, segments, unproven, state, maxClockSkewMs: skew, add } = args;
  if (unproven.length === 0) return;
  const { job, worker, lane } = state;
  const others = [...state.otherLanes].sort((a, b) => a.start - b.start);
  const laneName = (l: (typeof others)[number]) => `the worker's lane in job ${l.jobId} of ${l.market}`;

  // The lane's head on chain must be one of the trace's seals for the trace to continue it.
  const headSeg = lane.head === 0n ? undefined : segments.find((s) => s.newHead === lane.head);
  // Where this job's lane starts and the worker's next lane after it (a lane bills only up to that).
  const laneStart = lane.head !== 0n ? lane.start : (segments[0]?.tFirst ?? 0);
  const next =
    lane.head !== 0n
      ? others.find((l) => l.start === lane.nextStart)
      : others.find((l) => l.start >= laneStart);
  const nextStart = lane.head !== 0n ? lane.nextStart : next?.start;
  const before = lane.head === 0n ? others.filter((l) => l.start <= laneStart).at(-1) : undefined;

  const lastingRefusal = (): Refusal | undefined => {
    const lasting = (reason: string): Refusal => ({ status: "fail", reason, lasting: true });
    if (job.closed)
      return lasting(`job ${header.jobId} is closed: the escrow accepts no more of its segments`);
    if (worker.provider.toLowerCase() === ZERO_ADDRESS) return lasting("the worker key is not registered");
    if (worker.provider.toLowerCase() !== job.provider.toLowerCase()) {
      return lasting(
        `the worker key belongs to provider ${worker.provider}, not to the job's provider ${job.provider}`,
      );
    }
    if (worker.gpuUuidHash.toLowerCase() === ZERO_HASH) {
      return lasting(
        "the worker key is no longer billable: the registry released its GPU, so it is off for good",
      );
    }
    if (!worker.active) {
      return lasting("the worker key is no longer billable: its provider switched it off in the registry");
    }
    if (!worker.approved) {
      return lasting(
        "the worker key is not billable: the registry requires an attestor's approval, and it has none",
      );
    }
    if (lane.head !== 0n && !headSeg) {
      return lasting(`the job's lane on chain (head ${lane.head}) continues no seal of this trace`);
    }
    if (before && before.end > laneStart) {
      return lasting(`its time is already billed: ${laneName(before)} billed up to ${before.end}`);
    }
    if (lane.head === 0n && worker.weightBps === 0n) {
      return lasting(
        `device class ${worker.deviceClass} has no weight in the rate card, so the lane cannot start`,
      );
    }
    return undefined;
  };

  const refusalOf = (s: Segment): Refusal | undefined => {
    if (headSeg && s.index <= headSeg.index) {
      return {
        status: "fail",
        reason: `its time is already billed in this lane, which has accepted up to segment ${headSeg.index}`,
        lasting: false,
      };
    }
    if (s.tFirst + skew < job.createdAt * 1000) {
      return {
        status: "fail",
        reason: `it starts before the job was created (${job.createdAt * 1000})`,
        lasting: true,
      };
    }
    if (s.tLast > job.expiry * 1000 + skew) {
      return {
        status: "fail",
        reason: `the job expired: it ends at ${s.tLast}, after the job's expiry ${job.expiry * 1000} (plus ${skew} ms of clock skew)`,
        lasting: true,
      };
    }
    if (nextStart !== undefined && s.tLast > nextStart) {
      const whose = next ? laneName(next) : "the worker's next lane";
      return {
        status: "fail",
        reason: `its time is another lane's: it ends at ${s.tLast}, after ${whose} starts (${nextStart})`,
        lasting: true,
      };
    }
    if (job.remaining === 0n) {
      return {
        status: "fail",
        reason: "the job's budget is spent: the escrow would accept it with a payout of 0",
        lasting: false,
      };
    }
    if (state.paused) {
      return {
        status: "warn",
        reason: "the escrow is paused: it accepts no segment until it is unpaused",
        lasting: false,
      };
    }
    return undefined;
  };

  const groups: { first: number; last: number; refusal: Refusal | undefined }[] = [];
  const push = (s: Segment, refusal: Refusal | undefined) => {
    const g = groups.at(-1);
    if (
      g &&
      g.last === s.index - 1 &&
      g.refusal?.reason === refusal?.reason &&
      g.refusal?.status === refusal?.status
    )
      g.last = s.index;
    else groups.push({ first: s.index, last: s.index, refusal });
  };
  const common = lastingRefusal();
  let blockedBy: number | undefined;
  for (const s of unproven) {
    if (common) {
      push(s, common);
      continue;
    }
    if (blockedBy !== undefined) {
      push(s, {
        status: "fail",
        reason: `it comes after segment ${blockedBy} of its lane, which can no longer be paid`,
        lasting: true,
      });
      continue;
    }
    const refusal = refusalOf(s);
    if (refusal?.lasting) blockedBy = s.index;
    push(s, refusal);
  }

  const closable = !job.closed && state.blockTimestamp >= job.closableAt;
  for (const g of groups) {
    const which = g.first === g.last ? `segment ${g.first}` : `segments ${g.first}–${g.last}`;
    if (g.refusal) {
      add({
        check: "payable",
        status: g.refusal.status,
        segment: g.first,
        message: `${which} ${g.refusal.status === "fail" ? "can no longer be paid" : "cannot be paid now"}: ${g.refusal.reason}`,
      });
    } else {
      add({
        check: "payable",
        status: "warn",
        segment: g.first,
        message:
          `${which} not on chain yet, and payable: submit ${g.first === g.last ? "it" : "them"}` +
          (closable ? ` before the client closes the job (it may since ${job.closableAt})` : ""),
      });
    }
  }
}
