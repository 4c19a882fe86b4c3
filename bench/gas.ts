/**
 * Gas of segment verification and submission, measured from transaction receipts on an
 * in-process Hardhat network with real size-8 proofs (gas does not depend on the segment size:
 * every verifier has the same five public inputs, only its constants differ).
 */
import { LANE_FIRST } from "../chain/lane-order.ts";
import { toSubmissionInput } from "../chain/submission.ts";
import { parseEther } from "ethers";
import {
  baseFixture,
  createJobAt,
  proveLane,
  registerWorker,
  T0,
  testWorkerKey,
} from "../test/helpers/escrow-fixture.ts";
import { closeProver } from "../test/helpers/segment-proof.ts";
import type { BenchSection } from "./lib.ts";

/** snarkjs Groth16 verification: about 206k + 6.66k per public input (5 here), whole transaction. */
export const VERIFY_FLOOR = 206_000 + 6_660 * 5;
/** Defaults of a production trace: N = 64 records of 10 s per segment. */
const SEGMENT_SECONDS = 64 * 10;

export interface GasFigures {
  verifyProof: bigint;
  routerVerify: bigint;
  submitFirst: bigint;
  submitNext: bigint;
  batch4: bigint;
  /** First segment of a lane of a worker that has lanes already, placed after its latest. */
  laneAppended: bigint;
  /** First segment of a lane placed before the worker's other lanes (submitted out of order). */
  laneInserted: bigint;
}

/** Gas of the same calls before the hardening change (one billed-time mark per worker), for comparison. */
export const GAS_BEFORE_HARDENING = { submitFirst: 348_333, submitNext: 297_417, batch4PerSegment: 249_910 };

/** Deploys, proves six segments of one lane and measures each kind of call once (gas is deterministic). */
export async function measureGas(): Promise<GasFigures> {
  const f = await baseFixture();
  try {
    const key = await testWorkerKey("gas");
    await registerWorker(f, f.provider, key, "H100", "gas");
    const job = (at: number) =>
      createJobAt(f, { at, provider: f.provider.address, budget: parseEther("100"), expiry: T0 + 3600 });
    const jobId = await job(T0);
    const [earlierJob, laterJob] = [await job(T0 + 1), await job(T0 + 2)];
    const laneOf = (id: bigint, startS: number, records: number) =>
      proveLane(f, {
        jobId: id,
        provider: f.provider.address,
        key,
        startMs: (T0 + startS) * 1000,
        records,
        expiry: T0 + 3600,
      });
    // The measured lane runs 300-540 s after T0; one lane of the same worker before it, one after.
    const lane = await laneOf(jobId, 300, 48);
    const earlier = await laneOf(earlierJob, 1, 8);
    const later = await laneOf(laterJob, 560, 8);
    await f.chain.mineAt(T0 + 700);
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
    return {
      verifyProof: await gasOf(f.admin.sendTransaction(direct)),
      routerVerify: await gasOf(f.admin.sendTransaction(routed)),
      // First segment of a lane, first ever billed for the worker, provider balance zero: fresh storage slots.
      submitFirst: await gasOf(f.d.escrow.submitSegment(jobId, toSubmissionInput(seg(0).submission))),
      submitNext: await gasOf(f.d.escrow.submitSegment(jobId, toSubmissionInput(seg(1).submission))),
      batch4: await gasOf(
        f.d.escrow.submitSegments(
          jobId,
          [2, 3, 4, 5].map((i) => toSubmissionInput(seg(i).submission)),
        ),
      ),
      laneAppended: await gasOf(
        f.d.escrow.submitSegment(laterJob, toSubmissionInput(later.segments[0]!.submission)),
      ),
      laneInserted: await gasOf(
        f.d.escrow.submitSegment(
          earlierJob,
          toSubmissionInput({ ...earlier.segments[0]!.submission, laneAfter: LANE_FIRST }),
        ),
      ),
    };
  } finally {
    await closeProver();
    await f.connection.close();
  }
}

export async function benchGas(): Promise<BenchSection> {
  const g = await measureGas();
  const k = (v: bigint | number) => `${Math.round(Number(v)).toLocaleString("en-US")} gas`;
  const perSegmentBatch = Number(g.batch4) / 4;
  const segmentsPerHour = 3600 / SEGMENT_SECONDS;
  const within = Math.abs(Number(g.verifyProof) - VERIFY_FLOOR) / VERIFY_FLOOR;
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
        note: `target < 300k; ${k(GAS_BEFORE_HARDENING.submitNext)} before lanes kept their own span`,
      },
      {
        metric: "submitSegment, first segment of a lane",
        value: k(g.submitFirst),
        note: `worker's first lane: fresh head, span, worker and provider balance slots; ${k(GAS_BEFORE_HARDENING.submitFirst)} before`,
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
      {
        metric: "submitSegments, batch of 4",
        value: k(g.batch4),
        note: `${k(perSegmentBatch)} per segment; ${k(GAS_BEFORE_HARDENING.batch4PerSegment)} per segment before`,
      },
      {
        metric: "gas per metered GPU-hour, single submits",
        value: k(Number(g.submitNext) * segmentsPerHour),
        note: `N=64 × 10 s: ${segmentsPerHour} segments per hour`,
      },
      {
        metric: "gas per metered GPU-hour, batches of 4",
        value: k(perSegmentBatch * segmentsPerHour),
        note: "one GPU metered for an hour of wall time",
      },
    ],
    notes: [
      "Measured from receipts (gasUsed) on the in-process Hardhat network, solc 0.8.28 with the optimizer (viaIR, 10,000 runs), real N=8 proofs.",
      "Verification gas does not depend on N: every MeteredSegment verifier has the same five public inputs.",
    ],
  };
}
