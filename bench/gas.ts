/**
 * Gas of segment verification and submission, measured from transaction receipts on an
 * in-process Hardhat network with real size-8 proofs (gas does not depend on the segment size:
 * every verifier has the same five public inputs, only its constants differ).
 */
import { parseEther } from "ethers";
import { LANE_FIRST } from "../chain/lane-order.ts";
import { toSubmissionInput } from "../chain/submission.ts";
import {
  baseFixture,
  batchOf,
  createJobAt,
  proveLane,
  registerWorker,
  T0,
  testWorkerKey,
} from "../test/helpers/escrow-fixture.ts";
import { closeProver } from "../test/helpers/segment-proof.ts";
import { BATCH_SIZES, batchVerifyFloor } from "./batch-verify.ts";
import type { BenchSection } from "./lib.ts";

/** snarkjs Groth16 verification: about 206k + 6.66k per public input (5 here), whole transaction. */
export const VERIFY_FLOOR = 206_000 + 6_660 * 5;

/** Gas of the same calls before lanes owned their spans and before batch verification, for comparison. */
export const GAS_BEFORE = { submitFirst: 348_333, submitNext: 297_417, batch4PerSegment: 249_910 };

/**
 * Production defaults (docs/segment-size.md, bench/RESULTS.md "Segment size"): 128 records of
 * 30 s per segment (one segment per 64 minutes), submitted in batches of 16. Gas does not
 * depend on the segment size.
 */
export const PRODUCTION = { segmentSize: 128, recordSeconds: 30, batch: 16 } as const;

export interface GasFigures {
  verifyProof: bigint;
  routerVerify: bigint;
  /** First segment of the worker's first lane, alone (submitSegment). */
  submitFirst: bigint;
  /** A lane's next segment, alone (submitSegment). */
  submitNext: bigint;
  /** submitSegments of n next segments of a lane: whole transaction. */
  batches: { n: number; gas: bigint }[];
  /** First segment of a lane of a worker that has lanes already, placed after its latest. */
  laneAppended: bigint;
  /** First segment of a lane placed before the worker's other lanes (submitted out of order). */
  laneInserted: bigint;
}

/** Segments per metered GPU-hour at N records of `recordSeconds` each. */
export function segmentsPerHour(segmentSize: number, recordSeconds: number): number {
  return 3600 / (segmentSize * recordSeconds);
}

/** Deploys, proves one long lane and two short ones, and measures each kind of call once (gas is deterministic). */
export async function measureGas(): Promise<GasFigures> {
  const f = await baseFixture();
  try {
    const key = await testWorkerKey("gas");
    await registerWorker(f, f.provider, key, "H100", "gas");
    const expiry = T0 + 7200;
    const job = (at: number) =>
      createJobAt(f, { at, provider: f.provider.address, budget: parseEther("300"), expiry });
    const jobId = await job(T0);
    const [earlierJob, laterJob] = [await job(T0 + 1), await job(T0 + 2)];
    const laneOf = (id: bigint, startS: number, records: number) =>
      proveLane(f, {
        jobId: id,
        provider: f.provider.address,
        key,
        startMs: (T0 + startS) * 1000,
        records,
        expiry,
      });
    // Two single submissions, then one batch of each size, all from one lane (8 records a segment).
    const segments = 2 + BATCH_SIZES.reduce((a, n) => a + n, 0);
    const lane = await laneOf(jobId, 300, segments * 8);
    const laneEndS = 300 + segments * 8 * 5;
    // One lane of the same worker before the measured one, one after it.
    const earlier = await laneOf(earlierJob, 1, 8);
    const later = await laneOf(laterJob, laneEndS + 20, 8);
    await f.chain.mineAt(T0 + laneEndS + 200);
    const gasOf = async (tx: Promise<{ wait(): Promise<{ gasUsed: bigint } | null> }>) =>
      (await (await tx).wait())!.gasUsed;
    const seg = (i: number) => lane.segments[i]!;

    const { proof: p } = seg(0).submission;
    const verifier = f.d.verifiers.get(8)!;
    const direct = await verifier.verifyProof.populateTransaction(
      [p[0]!, p[1]!],
      [
        [p[2]!, p[3]!],
        [p[4]!, p[5]!],
      ],
      [p[6]!, p[7]!],
      seg(0).publicSignals,
    );
    const routed = await f.d.router.verifySegment.populateTransaction(8, p, seg(0).publicSignals);
    const figures: GasFigures = {
      verifyProof: await gasOf(f.admin.sendTransaction(direct)),
      routerVerify: await gasOf(f.admin.sendTransaction(routed)),
      // First segment of a lane, first ever billed for the worker, provider balance zero: fresh storage slots.
      submitFirst: await gasOf(f.d.escrow.submitSegment(jobId, toSubmissionInput(seg(0).submission))),
      submitNext: await gasOf(f.d.escrow.submitSegment(jobId, toSubmissionInput(seg(1).submission))),
      batches: [],
      laneAppended: 0n,
      laneInserted: 0n,
    };
    let next = 2;
    for (const n of BATCH_SIZES) {
      const batch = lane.segments.slice(next, next + n).map((s) => s.submission);
      figures.batches.push({ n, gas: await gasOf(f.d.escrow.submitSegments(batchOf(jobId, batch))) });
      next += n;
    }
    figures.laneAppended = await gasOf(
      f.d.escrow.submitSegment(laterJob, toSubmissionInput(later.segments[0]!.submission)),
    );
    figures.laneInserted = await gasOf(
      f.d.escrow.submitSegment(
        earlierJob,
        toSubmissionInput({ ...earlier.segments[0]!.submission, laneAfter: LANE_FIRST }),
      ),
    );
    return figures;
  } finally {
    await closeProver();
    await f.connection.close();
  }
}

let gasOnce: Promise<GasFigures> | undefined;

/**
 * measureGas, run at most once per process: the gas and segment-size bench sections share one
 * measurement (it takes minutes). A failed measurement is forgotten, so a later call tries again.
 */
export function measureGasOnce(): Promise<GasFigures> {
  gasOnce ??= measureGas().catch((err: unknown) => {
    gasOnce = undefined;
    throw err;
  });
  return gasOnce;
}

export async function benchGas(): Promise<BenchSection> {
  const g = await measureGasOnce();
  const k = (v: bigint | number) => `${Math.round(Number(v)).toLocaleString("en-US")} gas`;
  const perSegment = (n: number) => Number(g.batches.find((b) => b.n === n)!.gas) / n;
  const within = Math.abs(Number(g.verifyProof) - VERIFY_FLOOR) / VERIFY_FLOOR;
  const hourly = segmentsPerHour(PRODUCTION.segmentSize, PRODUCTION.recordSeconds);
  const oldHourly = segmentsPerHour(64, 10);
  return {
    title: "Contracts: gas",
    rows: [
      {
        metric: "verifyProof (generated verifier, whole tx)",
        value: k(g.verifyProof),
        note: `target 206k + 6.66k·5 = ${k(VERIFY_FLOOR)} ± 5%: off by ${(within * 100).toFixed(1)}%`,
      },
      {
        metric: "SegmentVerifierRouter.verifySegment (whole tx)",
        value: k(g.routerVerify),
        note: "adds the circuit id lookup and field checks",
      },
      {
        metric: "submitSegment, next segment of a lane",
        value: k(g.submitNext),
        note: `${k(GAS_BEFORE.submitNext)} before the UsageVerifier and lane spans`,
      },
      {
        metric: "submitSegment, first segment of a lane",
        value: k(g.submitFirst),
        note: `worker's first lane: fresh head, span, worker and provider balance slots; ${k(GAS_BEFORE.submitFirst)} before`,
      },
      {
        metric: "submitSegment, first segment of a later lane",
        value: k(g.laneAppended),
        note: "the worker has lanes: placed after its latest (laneAfter = 0)",
      },
      {
        metric: "submitSegment, first segment of an earlier lane",
        value: k(g.laneInserted),
        note: "submitted after a later job's lane: placed before it (laneAfter = LANE_FIRST)",
      },
      ...g.batches.map(({ n, gas }) => ({
        metric: `submitSegments, batch of ${n}: per segment`,
        value: k(Number(gas) / n),
        note:
          `whole tx ${k(gas)}; its pairing and scalar-multiplication floor ${k(batchVerifyFloor(n))} ` +
          `(${k(batchVerifyFloor(n) / n)} per segment)` +
          (n === 4 ? `; ${k(GAS_BEFORE.batch4PerSegment)} per segment before` : "") +
          (n === 16 ? "; target ≤ 110,000 per segment" : ""),
      })),
      {
        metric: "gas per metered GPU-hour, before (N=64 × 10 s, batches of 4)",
        value: k(GAS_BEFORE.batch4PerSegment * oldHourly),
        note: `${oldHourly} segments per hour at ${k(GAS_BEFORE.batch4PerSegment)} each`,
      },
      {
        metric: `gas per metered GPU-hour, production defaults (N=${PRODUCTION.segmentSize} × ${PRODUCTION.recordSeconds} s, batches of ${PRODUCTION.batch})`,
        value: k(perSegment(PRODUCTION.batch) * hourly),
        note: `${hourly.toFixed(3)} segments per hour at ${k(perSegment(PRODUCTION.batch))} each; target ≤ 250,000`,
      },
      {
        metric: "gas per metered GPU-hour, N=64 × 10 s in batches of 16",
        value: k(perSegment(16) * oldHourly),
        note: "the previous segment size with batching",
      },
    ],
    notes: [
      "Measured from receipts (gasUsed) on the in-process Hardhat network, solc 0.8.28 with the optimizer (viaIR, 10,000 runs), real N=8 proofs.",
      "Verification gas does not depend on N: every MeteredSegment verifier has the same five public inputs, so the per-segment figures hold for the production size.",
      "Batches are a lane's next segments (the lane already started); a batch may mix jobs and workers of the escrow, one circuit id per transaction.",
    ],
  };
}
