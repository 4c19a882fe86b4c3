/**
 * What each page shows, computed from a chain snapshot and the trace folder. Pure functions:
 * the server (dashboard/server.ts) adds the calls that need the chain (balances, audit).
 */
import { recordUsage } from "../trace/index.ts";
import type { AcceptedSegmentRow, ChainSnapshot, JobState, WorkerState } from "./chain-index.ts";
import { DashboardError } from "./errors.ts";
import type { TraceFile, TraceScan } from "./trace-library.ts";
import { amount, deviceHours, h100Hours, isCpuClass, type Amount, type DeviceHours } from "./units.ts";

export type JobStatus = "open" | "spent" | "expired" | "closed";

export interface JobRow {
  id: string;
  client: string;
  provider: string;
  token: string;
  budget: Amount;
  paid: Amount;
  remaining: Amount;
  refunded: Amount;
  /** Unix seconds. */
  expiry: number;
  status: JobStatus;
  segments: number;
}

export function jobStatus(job: JobState, blockTime: number): JobStatus {
  if (job.closed) return "closed";
  if (blockTime > job.expiry) return "expired";
  if (job.deposited - job.paid - job.refunded === 0n) return "spent";
  return "open";
}

function jobRow(snap: ChainSnapshot, job: JobState): JobRow {
  const token = snap.tokens.get(job.token);
  const a = (v: bigint) => amount(v, token, job.token);
  return {
    id: job.id.toString(),
    client: job.client,
    provider: job.provider,
    token: job.token,
    budget: a(job.deposited),
    paid: a(job.paid),
    remaining: a(job.deposited - job.paid - job.refunded),
    refunded: a(job.refunded),
    expiry: job.expiry,
    status: jobStatus(job, snap.blockTime),
    segments: job.segments,
  };
}

export function jobsList(snap: ChainSnapshot): JobRow[] {
  return [...snap.jobs.values()].map((j) => jobRow(snap, j));
}

function classOf(snap: ChainSnapshot, keyHash: bigint): string {
  return snap.workers.get(keyHash)?.deviceClass ?? "unregistered";
}

export function overview(snap: ChainSnapshot) {
  const hours = { gpu: 0, cpu: 0, h100Equivalent: 0 };
  // Each segment's share of its transaction's gas, by the kind of device it metered.
  const gas = { gpu: 0n, cpu: 0n };
  const paid = new Map<string, bigint>();
  for (const s of snap.accepted) {
    const cls = classOf(snap, s.workerKeyHash);
    const h = deviceHours(s.usage, cls);
    const kind = h.unit === "CPU-hours" ? "cpu" : "gpu";
    hours[kind] += h.hours;
    gas[kind] += s.gas;
    hours.h100Equivalent += h100Hours(s.usage, s.weightBps);
    const token = snap.jobs.get(s.jobId)!.token;
    paid.set(token, (paid.get(token) ?? 0n) + s.payout);
  }
  const statuses = jobsList(snap).map((j) => j.status);
  const count = (st: JobStatus) => statuses.filter((x) => x === st).length;
  const perHour = (g: bigint, h: number) => (h > 0 ? Math.round(Number(g) / h).toString() : null);
  const segments = snap.accepted.length;
  const workers = new Map<
    string,
    { deviceClass: string; weightBps: number | null; total: number; active: number; approved: number }
  >();
  for (const w of snap.workers.values()) {
    const row = workers.get(w.deviceClass) ?? {
      deviceClass: w.deviceClass,
      weightBps: snap.weights.get(w.deviceClass) ?? null,
      total: 0,
      active: 0,
      approved: 0,
    };
    row.total++;
    if (w.active) row.active++;
    if (w.approved) row.approved++;
    workers.set(w.deviceClass, row);
  }
  return {
    block: snap.block,
    blockTime: snap.blockTime,
    hours,
    paid: [...paid].map(([token, v]) => amount(v, snap.tokens.get(token), token)),
    jobs: {
      total: statuses.length,
      open: count("open") + count("spent"),
      expired: count("expired"),
      closed: count("closed"),
    },
    segments,
    gas: {
      total: snap.segmentGas.toString(),
      perSegment: segments > 0 ? (snap.segmentGas / BigInt(segments)).toString() : null,
      perGpuHour: perHour(gas.gpu, hours.gpu),
      perCpuHour: perHour(gas.cpu, hours.cpu),
    },
    workers: [...workers.values()].map((w) => ({ ...w, kind: isCpuClass(w.deviceClass) ? "CPU" : "GPU" })),
    attestationRequired: snap.attestationRequired,
    rateCard: [...snap.weights]
      .filter(([, w]) => w > 0)
      .map(([deviceClass, weightBps]) => ({ deviceClass, weightBps })),
  };
}

/** One segment row of a job page: accepted on chain, or sealed in a trace and not accepted yet. */
export interface SegmentRow {
  lane: string;
  /** Segment index in the trace; null when the trace is not in the traces folder. */
  index: number | null;
  records: number | null;
  tFirst: number;
  tLast: number;
  usage: string;
  hours: DeviceHours;
  status: "accepted" | "sealed";
  weightBps: number | null;
  payout: Amount | null;
  txHash: string | null;
  block: number | null;
  gas: string | null;
  bundle: string | null;
}

/** The lanes of a job (one per worker key): its segments and, where the trace is here, its timeline. */
export function jobView(
  snap: ChainSnapshot,
  scan: TraceScan,
  idText: string,
  bundleUrl: (rel: string) => string,
) {
  const id = parseJobId(idText);
  const job = snap.jobs.get(id);
  if (!job)
    throw new DashboardError(
      404,
      `job ${id} does not exist on this escrow` +
        (snap.jobs.size > 0 ? ` (it has jobs 1 to ${snap.jobs.size})` : " (it has no jobs yet)"),
    );
  const token = snap.tokens.get(job.token);
  const accepted = snap.accepted.filter((s) => s.jobId === id);
  const traces = scan.traces.filter((t) => t.header.jobId === id);
  const bundles = scan.bundles.filter((b) => b.jobId === id);
  const laneKeys = [
    ...new Set([...accepted.map((s) => s.workerKeyHash), ...traces.map((t) => t.header.workerKeyHash)]),
  ];

  const lanes = laneKeys.map((key) => {
    const cls = classOf(snap, key);
    const trace = traces.find((t) => t.header.workerKeyHash === key);
    const onChain = accepted.filter((s) => s.workerKeyHash === key);
    const bundleOf = (newHead: bigint) => {
      const b = bundles.find((x) => x.workerKeyHash === key && x.newHead === newHead);
      return b ? bundleUrl(b.rel) : null;
    };
    const segments = laneSegments({
      key,
      cls,
      trace,
      onChain,
      bundleOf,
      a: (v) => amount(v, token, job.token),
    });
    const usage = onChain.reduce((s, x) => s + x.usage, 0n);
    return {
      workerKeyHash: key.toString(),
      deviceClass: cls,
      // The weight that applied is the one each accepted segment carries (fixed when the lane started).
      weightBps: onChain[0]?.weightBps ?? null,
      currentWeightBps: snap.weights.get(cls) ?? null,
      provenUsage: usage.toString(),
      provenHours: deviceHours(usage, cls),
      paid: amount(
        onChain.reduce((s, x) => s + x.payout, 0n),
        token,
        job.token,
      ),
      trace: trace
        ? {
            rel: trace.rel,
            sampler: trace.header.sampler,
            device: trace.header.device.name,
            problem: trace.problem ?? null,
          }
        : null,
      segments,
      timeline: trace ? timeline(trace, segments) : null,
    };
  });
  return {
    job: {
      ...jobRow(snap, job),
      price: amount(job.price, token, job.token),
      createdAt: job.createdAt,
      jobTag: job.jobTag.toString(),
    },
    blockTime: snap.blockTime,
    lanes,
    bundles: bundles.map((b) => ({
      lane: b.workerKeyHash.toString(),
      segment: b.segment,
      name: b.rel,
      url: bundleUrl(b.rel),
    })),
  };
}

export function parseJobId(text: string): bigint {
  if (!/^[1-9][0-9]{0,77}$/.test(text))
    throw new DashboardError(400, `job id must be a positive whole number, got ${JSON.stringify(text)}`);
  return BigInt(text);
}

function laneSegments(args: {
  key: bigint;
  cls: string;
  trace: TraceFile | undefined;
  onChain: AcceptedSegmentRow[];
  bundleOf: (newHead: bigint) => string | null;
  a: (v: bigint) => SegmentRow["payout"] & object;
}): SegmentRow[] {
  const { key, cls, trace, onChain } = args;
  const rows: SegmentRow[] = [];
  const seals = trace?.seals ?? [];
  for (const s of onChain) {
    const seal = seals.find((x) => x.newHead === s.newHead);
    rows.push({
      lane: key.toString(),
      index: seal?.segment ?? null,
      records: seal ? seal.lastSeq - seal.firstSeq + 1 : null,
      tFirst: s.tFirst,
      tLast: s.tLast,
      usage: s.usage.toString(),
      hours: deviceHours(s.usage, cls),
      status: "accepted",
      weightBps: s.weightBps,
      payout: args.a(s.payout),
      txHash: s.txHash,
      block: s.block,
      gas: s.gas.toString(),
      bundle: args.bundleOf(s.newHead),
    });
  }
  const acceptedHeads = new Set(onChain.map((s) => s.newHead));
  for (const seal of seals) {
    if (acceptedHeads.has(seal.newHead)) continue;
    rows.push({
      lane: key.toString(),
      index: seal.segment,
      records: seal.lastSeq - seal.firstSeq + 1,
      tFirst: seal.tFirst,
      tLast: seal.tLast,
      usage: seal.usage.toString(),
      hours: deviceHours(seal.usage, cls),
      status: "sealed",
      weightBps: null,
      payout: null,
      txHash: null,
      block: null,
      gas: null,
      bundle: args.bundleOf(seal.newHead),
    });
  }
  return rows.sort((x, y) => x.tFirst - y.tFirst);
}

/** One point per record (at the record's midpoint), and each segment's span with its status. */
function timeline(trace: TraceFile, segments: SegmentRow[]) {
  const r = trace.records;
  const sealedUpTo = Math.max(-1, ...trace.seals.map((s) => s.lastSeq));
  const unsealed = r.filter((x) => x.seq > sealedUpTo);
  return {
    t: r.map((x) => (x.tStart + x.tEnd) / 2000),
    utilPct: r.map((x) => x.utilBps / 100),
    powerW: r.map((x) => x.powerMw / 1000),
    memMiB: r.map((x) => x.memMiB),
    usage: r.reduce((s, x) => s + recordUsage(x), 0n).toString(),
    bands: [
      ...segments.map((s) => ({
        index: s.index,
        from: s.tFirst / 1000,
        to: s.tLast / 1000,
        status: s.status as string,
      })),
      ...(unsealed.length > 0
        ? [
            {
              index: null,
              from: unsealed[0]!.tStart / 1000,
              to: unsealed.at(-1)!.tEnd / 1000,
              status: "unsealed",
            },
          ]
        : []),
    ],
  };
}

/** The provider page, without the balances (the server reads those from the escrow). */
export function providerView(snap: ChainSnapshot, scan: TraceScan, address: string) {
  const lower = address.toLowerCase();
  const workers: WorkerState[] = [...snap.workers.values()].filter((w) => w.provider.toLowerCase() === lower);
  const jobs = [...snap.jobs.values()].filter((j) => j.provider.toLowerCase() === lower);
  if (workers.length === 0 && jobs.length === 0)
    throw new DashboardError(404, `no worker or job on this escrow belongs to provider ${address}`);
  const jobIds = new Set(jobs.map((j) => j.id));
  const acceptedHeads = new Set(
    snap.accepted.filter((s) => jobIds.has(s.jobId)).map((s) => `${s.jobId}:${s.workerKeyHash}:${s.newHead}`),
  );
  const backlog = scan.traces
    .filter((t) => jobIds.has(t.header.jobId))
    .flatMap((t) =>
      t.seals
        .filter((s) => !acceptedHeads.has(`${t.header.jobId}:${t.header.workerKeyHash}:${s.newHead}`))
        .map((s) => {
          const cls = classOf(snap, t.header.workerKeyHash);
          return {
            jobId: t.header.jobId.toString(),
            lane: t.header.workerKeyHash.toString(),
            trace: t.rel,
            index: s.segment,
            tFirst: s.tFirst,
            tLast: s.tLast,
            usage: s.usage.toString(),
            hours: deviceHours(s.usage, cls),
          };
        }),
    );
  const earned = new Map<string, bigint>();
  for (const s of snap.accepted) {
    if (!jobIds.has(s.jobId)) continue;
    const token = snap.jobs.get(s.jobId)!.token;
    earned.set(token, (earned.get(token) ?? 0n) + s.payout);
  }
  const withdrawn = new Map<string, bigint>();
  for (const w of snap.withdrawn) {
    if (w.provider.toLowerCase() !== lower) continue;
    withdrawn.set(w.token, (withdrawn.get(w.token) ?? 0n) + w.amount);
  }
  const tokens = [...new Set([...jobs.map((j) => j.token), ...withdrawn.keys()])];
  return {
    address,
    workers: workers.map((w) => ({
      workerKeyHash: w.keyHash.toString(),
      deviceClass: w.deviceClass,
      kind: isCpuClass(w.deviceClass) ? "CPU" : "GPU",
      weightBps: snap.weights.get(w.deviceClass) ?? null,
      active: w.active,
      approved: w.approved,
      released: w.released,
      registeredBlock: w.registeredBlock,
    })),
    jobs: jobs.map((j) => jobRow(snap, j)),
    attestationRequired: snap.attestationRequired,
    tokens: tokens.map((token) => ({
      token,
      symbol: snap.tokens.get(token)?.symbol ?? null,
      earned: amount(earned.get(token) ?? 0n, snap.tokens.get(token), token),
      withdrawn: amount(withdrawn.get(token) ?? 0n, snap.tokens.get(token), token),
    })),
    backlog,
  };
}
