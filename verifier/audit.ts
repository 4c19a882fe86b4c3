import { DEFAULT_ENERGY_RULE, energyViolation } from "../challenge/energy-rule.ts";
import { checkPayable, compareDevice } from "./audit-state.ts";
import {
  EMPTY_OUTPUT_SHA256,
  H100_WEIGHT_BPS,
  TraceChecker,
  TraceError,
  readLines,
  recordSchema,
  segmentPayout,
  usageToGpuHours,
  type TraceHeader,
  type TraceRecord,
  type Segment,
} from "../trace/index.ts";

export type Status = "pass" | "warn" | "fail";

/** One result of one check, tied to the record or segment it concerns. */
export interface Finding {
  check: string;
  status: Status;
  message: string;
  line?: number;
  seq?: number;
  segment?: number;
}

/** A segment the escrow accepted (from its SegmentAccepted events, in chain order). */
export interface AcceptedSegment {
  jobId: bigint;
  workerKeyHash: bigint;
  circuitId: number;
  prevHead: bigint;
  newHead: bigint;
  tFirst: number;
  tLast: number;
  usage: bigint;
  payout: bigint;
  /** The job's unpaid budget just before this segment (deposits minus earlier payouts). */
  remainingBefore: bigint;
  /** The weight the escrow applied (H100-equivalent bps): its lane's, fixed when the lane started. */
  weightBps: bigint;
  /**
   * The rate card's weight, when the lane started, of the class the registry holds for the worker
   * (DeviceWeightSet history): what `weightBps` must be. Undefined when not read.
   */
  expectedWeightBps?: bigint;
  /** Timestamp (unix seconds) of the block that accepted it. */
  blockTimestamp: number;
  txHash: string;
}

/** What the chain says about the trace's job. */
export interface ChainView {
  jobTag: bigint;
  pricePerH100Hour: bigint;
  /** Every segment the escrow accepted for this job, all lanes, in chain order. */
  accepted: AcceptedSegment[];
  /** Allowed clock skew between worker and chain, in ms. */
  maxClockSkewMs: number;
  /**
   * The chain's current state for the trace's job, worker and lanes (chain/audit-view.ts reads
   * it). With it the audit compares the trace's device with the registry and says why a
   * segment not on chain can no longer be paid; without it such a segment is only "not on
   * chain yet".
   */
  state?: ChainState;
}

/** The chain now, as far as it decides whether the trace's segments can still be paid. */
export interface ChainState {
  /** Time of the latest block (unix seconds). */
  blockTimestamp: number;
  paused: boolean;
  job: {
    closed: boolean;
    /** Budget not yet paid out (token base units). */
    remaining: bigint;
    /** Unix seconds. */
    createdAt: number;
    expiry: number;
    /** From when the client may close it (unix seconds). */
    closableAt: number;
    provider: string;
  };
  /** The registry's record of the trace's worker key. */
  worker: {
    /** Zero address when the key is not registered. */
    provider: string;
    /** The class the key was registered with, as text. */
    deviceClass: string;
    /** 0x hex; zero after the GPU was released (the key is then off for good). */
    gpuUuidHash: string;
    active: boolean;
    /** Approved, or approval not required. */
    approved: boolean;
    /** The rate card's weight of its class now (H100-equivalent bps). */
    weightBps: bigint;
  };
  /** This job's lane of the worker (head 0: not started). */
  lane: { head: bigint; start: number; end: number; nextStart: number; weightBps: bigint };
  /** The worker's other started lanes, in any marketplace on this UsageVerifier. */
  otherLanes: { jobTag: bigint; jobId: bigint; market: string; start: number; end: number }[];
}

/** What the report is about: the file, and the chain, escrow and job its header binds it to. */
export interface AuditSubject {
  file: string;
  chainId: string;
  escrow: string;
  jobId: string;
  workerKeyHash: string;
  deviceClass: string;
}

export interface AuditReport {
  ok: boolean;
  /** Undefined when the header could not be read. */
  subject?: AuditSubject;
  /** Checks not run, each with why (e.g. no chain to compare with). */
  skipped: string[];
  counts: Record<Status, number>;
  findings: Finding[];
  summary: {
    records: number;
    segments: number;
    usage: string;
    /** Hours of one fully busy device of the trace's class (`deviceClass`-hours; GPU-hours for a GPU). */
    gpuHours: number;
    /** The header's device class: the unit of `gpuHours`. */
    deviceClass?: string;
    onChainSegments?: number;
    paid?: string;
    /** The weight the escrow applied to this worker's segments (H100-equivalent bps), when on chain. */
    weightBps?: string;
    /** The segments on chain in H100-equivalent hours (usage × weight), when on chain. */
    h100EquivalentHours?: number;
  };
}

/** Thresholds of the plausibility checks; documented in docs/auditor.md. */
export const PLAUSIBILITY = {
  /**
   * Energy outside this rule is impossible for the reported power: the rule a plausibility
   * challenge proves on chain (challenge/energy-rule.ts; the network's own rule is on its
   * PlausibilityChallenge contract).
   */
  energyRule: DEFAULT_ENERGY_RULE,
  /** energy / (power × time) outside this band is suspicious. */
  energyWarn: [0.8, 1.25] as const,
  /** A busy GPU (≥ 50% utilization) drawing less than this is suspicious (mW). */
  busyMinPowerMw: 20_000,
  /** The output hash of an interval without output: repeated legitimately by quiet jobs. */
  emptyOutput: EMPTY_OUTPUT_SHA256,
};

/**
 * Replays a trace: recomputes every hash, head, seal, signature and usage, runs the
 * plausibility checks, and (with a chain view) compares each accepted segment, its payout
 * and its block time with the trace. Returns every finding; `ok` is false on any failure.
 */
export async function auditTrace(
  tracePath: string,
  chain?: ChainView,
  options: { noChainReason?: string } = {},
): Promise<AuditReport> {
  const findings: Finding[] = [];
  const add = (f: Finding) => findings.push(f);
  const checker = new TraceChecker();
  let header: TraceHeader | undefined;
  const records: TraceRecord[] = [];
  let segments: Segment[] = [];
  let integrityBroken = false;
  // The first broken line ends the integrity check; records after it still get plausibility checks.
  const brokenAt = (err: TraceError) => {
    add({ check: "integrity", status: "fail", message: err.message, ...pick(err.location) });
    integrityBroken = true;
    records.push(...checker.takeUnverified());
  };

  for await (const { line, text, torn } of readLines(tracePath)) {
    if (torn) {
      add({
        check: "integrity",
        status: "fail",
        line,
        message: "the last line is torn (the file ends mid-line)",
      });
      integrityBroken = true;
      break;
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      add({ check: "integrity", status: "fail", line, message: "line is not JSON" });
      integrityBroken = true;
      break;
    }
    if (integrityBroken) {
      // After the chain breaks nothing later can be trusted, but records still get the plausibility checks.
      const r = recordSchema.safeParse(value);
      if (r.success) records.push(r.data);
      continue;
    }
    try {
      await checker.push(value, line);
    } catch (err) {
      if (!(err instanceof TraceError)) throw err;
      brokenAt(err);
      const r = recordSchema.safeParse(value);
      if (r.success) records.push(r.data);
      continue;
    }
  }
  if (!integrityBroken) {
    try {
      await checker.flush();
    } catch (err) {
      if (!(err instanceof TraceError)) throw err;
      brokenAt(err);
    }
  }
  try {
    const checked = await checker.result();
    header = checked.header;
    records.unshift(...checked.records);
    segments = checked.segments;
    if (!integrityBroken) {
      add({
        check: "integrity",
        status: "pass",
        message: `${checked.records.length} records and ${checked.seals.length} seals: every hash, head, seal, signature and usage recomputed`,
      });
    }
    if (checked.unsealedRecords > 0) {
      add({
        check: "integrity",
        status: "warn",
        message: `${checked.unsealedRecords} records after the last seal are not covered by any proof`,
      });
    }
  } catch (err) {
    if (!(err instanceof TraceError)) throw err;
    if (!integrityBroken) add({ check: "integrity", status: "fail", message: err.message, line: 1 });
  }

  if (header) plausibility(header, records, add);
  if (header && chain) compareWithChain(header, segments, chain, add);

  const counts = { pass: 0, warn: 0, fail: 0 };
  for (const f of findings) counts[f.status]++;
  const usage = records.reduce((s, r) => s + BigInt(r.tEnd - r.tStart) * BigInt(r.utilBps), 0n);
  const mine = chain?.accepted.filter((a) => header && a.workerKeyHash === header.workerKeyHash);
  const weights = [...new Set(mine?.map((a) => a.weightBps))];
  const weighted = mine?.reduce((s, a) => s + a.usage * a.weightBps, 0n) ?? 0n;
  const skipped: string[] = [];
  if (!chain) skipped.push(`chain: ${options.noChainReason ?? "no chain view given"}`);
  else {
    if (!chain.state)
      skipped.push("device, payable: the chain view holds no current state of the job and worker");
    if (mine?.some((a) => a.expectedWeightBps === undefined))
      skipped.push("weight: the rate card's history for the worker's class is not in the blocks read");
  }
  return {
    ok: counts.fail === 0,
    ...(header ? { subject: subjectOf(tracePath, header) } : {}),
    skipped,
    counts,
    findings,
    summary: {
      records: records.length,
      segments: segments.length,
      usage: usage.toString(),
      gpuHours: usageToGpuHours(usage),
      ...(header ? { deviceClass: header.device.class } : {}),
      ...(mine
        ? {
            onChainSegments: mine.length,
            paid: mine.reduce((s, a) => s + a.payout, 0n).toString(),
            ...(weights.length === 1 ? { weightBps: weights[0]!.toString() } : {}),
            h100EquivalentHours: usageToGpuHours(weighted / H100_WEIGHT_BPS),
          }
        : {}),
    },
  };
}

function subjectOf(file: string, header: TraceHeader): AuditSubject {
  return {
    file,
    chainId: header.chainId.toString(),
    escrow: header.escrow,
    jobId: header.jobId.toString(),
    workerKeyHash: header.workerKeyHash.toString(),
    deviceClass: header.device.class,
  };
}

function pick(loc: {
  line?: number;
  seq?: number;
  segment?: number;
}): Pick<Finding, "line" | "seq" | "segment"> {
  return {
    ...(loc.line !== undefined ? { line: loc.line } : {}),
    ...(loc.seq !== undefined ? { seq: loc.seq } : {}),
    ...(loc.segment !== undefined ? { segment: loc.segment } : {}),
  };
}

function plausibility(header: TraceHeader, records: readonly TraceRecord[], add: (f: Finding) => void): void {
  const before = { energy: 0, busy: 0, gaps: 0, repeats: 0, long: 0 };
  const count = (k: keyof typeof before, f: Finding) => {
    before[k]++;
    add(f);
  };
  const seenOutput = new Map<string, number>();
  let prev: TraceRecord | undefined;
  for (const r of records) {
    const dt = r.tEnd - r.tStart;
    // Only NVML reads an energy counter; other samplers derive energy from power.
    const broken = header.sampler === "nvml" ? energyViolation(r, PLAUSIBILITY.energyRule) : undefined;
    if (broken) {
      count("energy", {
        check: "energy",
        status: "fail",
        seq: r.seq,
        message: `${broken.message}: impossible for the device (provable on chain while the segment's pay is pending: \`meterproof challenge\`)`,
      });
    } else if (header.sampler === "nvml" && r.powerMw > 0) {
      const ratio = r.energyMj / ((r.powerMw * dt) / 1000);
      const [warnLo, warnHi] = PLAUSIBILITY.energyWarn;
      if (ratio < warnLo || ratio > warnHi) {
        count("energy", {
          check: "energy",
          status: "warn",
          seq: r.seq,
          message: `energy ${r.energyMj} mJ is ${(ratio * 100).toFixed(0)}% of power × time`,
        });
      }
    }
    if (header.sampler === "nvml" && r.utilBps >= 5000 && r.powerMw < PLAUSIBILITY.busyMinPowerMw) {
      count("busy", {
        check: "idle-power",
        status: "warn",
        seq: r.seq,
        message: `utilization ${r.utilBps / 100}% at ${r.powerMw / 1000} W: a busy GPU draws more`,
      });
    }
    if (prev && r.tStart - prev.tEnd > header.intervalMs) {
      count("gaps", {
        check: "gaps",
        status: "warn",
        seq: r.seq,
        message: `${r.tStart - prev.tEnd} ms without records before this one (interval ${header.intervalMs} ms)`,
      });
    }
    if (dt > header.intervalMs + 1000) {
      count("long", {
        check: "interval",
        status: "warn",
        seq: r.seq,
        message: `covers ${dt} ms, longer than the header's interval ${header.intervalMs} ms`,
      });
    }
    if (r.outputSha256 !== PLAUSIBILITY.emptyOutput) {
      const first = seenOutput.get(r.outputSha256);
      if (first !== undefined) {
        count("repeats", {
          check: "repeated-digest",
          status: "warn",
          seq: r.seq,
          message: `the same output as record ${first} (a replayed interval?)`,
        });
      } else seenOutput.set(r.outputSha256, r.seq);
    }
    prev = r;
  }
  const names: Record<keyof typeof before, string> = {
    energy: "energy",
    busy: "idle-power",
    gaps: "gaps",
    repeats: "repeated-digest",
    long: "interval",
  };
  for (const [k, n] of Object.entries(before) as [keyof typeof before, number][]) {
    if (n === 0) add({ check: names[k], status: "pass", message: `${records.length} records checked` });
  }
}

function compareWithChain(
  header: TraceHeader,
  segments: readonly Segment[],
  chain: ChainView,
  add: (f: Finding) => void,
): void {
  if (chain.jobTag !== header.jobTag) {
    add({
      check: "chain",
      status: "fail",
      message: `the trace's jobTag ${header.jobTag} is not the on-chain job's ${chain.jobTag}`,
    });
    return;
  }
  const byPrevHead = new Map(segments.map((s) => [s.prevHead, s]));
  let matched = 0;
  const proven = new Set<number>();
  for (const a of chain.accepted) {
    if (a.workerKeyHash !== header.workerKeyHash) continue; // another worker's lane of the same job
    const s = byPrevHead.get(a.prevHead);
    if (!s) {
      add({
        check: "chain",
        status: "fail",
        message: `segment proven on chain in ${a.txHash} (prevHead ${a.prevHead}) is missing from the trace`,
      });
      continue;
    }
    proven.add(s.index);
    const diffs: string[] = [];
    if (a.newHead !== s.newHead) diffs.push(`newHead ${a.newHead} on chain, ${s.newHead} in the trace`);
    if (a.tFirst !== s.tFirst) diffs.push(`tFirst ${a.tFirst} on chain, ${s.tFirst} in the trace`);
    if (a.tLast !== s.tLast) diffs.push(`tLast ${a.tLast} on chain, ${s.tLast} in the trace`);
    if (a.usage !== s.usage) diffs.push(`usage ${a.usage} on chain, ${s.usage} in the trace`);
    if (diffs.length > 0) {
      add({
        check: "chain",
        status: "fail",
        segment: s.index,
        message: `the on-chain event differs from the seal: ${diffs.join("; ")}`,
      });
      continue;
    }
    const expectedPayout = segmentPayout({
      usage: a.usage,
      weightBps: a.weightBps,
      price: chain.pricePerH100Hour,
      remainingBudget: a.remainingBefore,
    });
    if (a.expectedWeightBps !== undefined && a.weightBps !== a.expectedWeightBps) {
      add({
        check: "weight",
        status: "fail",
        segment: s.index,
        message:
          `paid at weight ${a.weightBps} bps, but the rate card gave the worker's registered class ` +
          `${a.expectedWeightBps} bps when its lane started`,
      });
      continue;
    }
    if (a.payout !== expectedPayout) {
      add({
        check: "payout",
        status: "fail",
        segment: s.index,
        message: `paid ${a.payout}, but the rate card gives ${expectedPayout} for usage ${a.usage}`,
      });
      continue;
    }
    if (s.tLast > a.blockTimestamp * 1000 + chain.maxClockSkewMs) {
      add({
        check: "block-time",
        status: "fail",
        segment: s.index,
        message: `ends at ${s.tLast}, after the block that accepted it (${a.blockTimestamp * 1000})`,
      });
      continue;
    }
    matched++;
  }
  add({
    check: "chain",
    status: "pass",
    message: `${matched} on-chain segments match the trace's seals, payouts and block times`,
  });
  const unproven = segments.filter((s) => !proven.has(s.index));
  if (chain.state) {
    const mine = chain.accepted.filter((a) => a.workerKeyHash === header.workerKeyHash);
    compareDevice(header, chain.state, mine, add);
    checkPayable({
      header,
      segments,
      unproven,
      state: chain.state,
      maxClockSkewMs: chain.maxClockSkewMs,
      add,
    });
  } else if (unproven.length > 0) {
    add({
      check: "chain",
      status: "warn",
      message: `${unproven.length} sealed segments are not on chain yet (first: segment ${unproven[0]!.index})`,
    });
  }
}
