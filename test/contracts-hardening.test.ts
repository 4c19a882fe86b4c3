/**
 * The attacks of the hardening review, each shown failing against real proofs on an
 * in-process chain: out-of-order billing across jobs, a pause that outlasts the grace period,
 * a rate-card change after work was done, a job id taken with other terms, and a batch that
 * a stranger front-ran. (Key possession and squatted GPUs: contracts-registry.test.ts; keys
 * of mixed order: trace-subgroup.test.ts and the circuit tests.)
 */
import { encodeBytes32String, parseEther } from "ethers";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { eventsIn } from "../chain/events.ts";
import { LANE_FIRST, laneAfterFor } from "../chain/lane-order.ts";
import { toSubmissionInput, type Submission } from "../chain/submission.ts";
import { computeJobTag, type WorkerKey } from "../trace/index.ts";
import {
  baseFixture,
  batchOf,
  createJobAt,
  GRACE_S,
  jobTerms,
  payoutOf,
  PRICE,
  proveLane,
  registerWorker,
  T0,
  testWorkerKey,
  type BaseFixture,
  type ProvenLane,
} from "./helpers/escrow-fixture.ts";
import { expectCustomError } from "./helpers/expect-custom-error.ts";
import { closeProver } from "./helpers/segment-proof.ts";

const EXPIRY = T0 + 3600;
const AFTER_WORK = T0 + 600;
const OPEN_END = (1n << 64n) - 1n;
const H100 = encodeBytes32String("H100");

let f: BaseFixture;
let w: WorkerKey;
/** Lanes of one worker: A (job 1) from T0+1 s, B (job 2) from T0+100 s, 16 records of 5 s each. */
let laneA: ProvenLane, laneB: ProvenLane;
/** Job 3: from T0+50 s, inside A's billed time. Job 4: from T0+85 s, running into B's start. */
let laneC: ProvenLane, laneD: ProvenLane;
/** Job 5: three segments from T0+200 s. Job 6: proven for terms that the job on chain does not have. */
let laneE: ProvenLane, laneF: ProvenLane;
let snapshot: string;

const sub = (lane: ProvenLane, i: number): Submission => lane.segments[i]!.submission;
const payout = (lane: ProvenLane, i: number, weight = 10_000n) => payoutOf(lane.segments[i]!, weight);

async function submit(jobId: bigint, s: Submission, laneAfter = 0n, from = f.provider) {
  const tx = await f.d.escrow.connect(from).submitSegment(jobId, toSubmissionInput({ ...s, laneAfter }));
  return tx.wait();
}
const trySubmit = (jobId: bigint, s: Submission, laneAfter = 0n) =>
  f.d.escrow.submitSegment(jobId, toSubmissionInput({ ...s, laneAfter }));
/** A job's tag: lanes are named by it in the UsageVerifier (laneAfter, errors). */
const tag = async (jobId: bigint) => (await f.d.escrow.jobOf(jobId)).jobTag;
/** What the CLI sends for a lane's first segment: laneAfter from chain state. */
const laneAfterOf = (jobId: bigint, s: Submission) =>
  laneAfterFor({
    provider: f.connection.ethers.provider,
    escrow: f.escrowAddress,
    jobId,
    workerKeyHash: s.workerKeyHash,
    tFirst: s.meter & OPEN_END,
  });

beforeAll(async () => {
  f = await baseFixture();
  w = await testWorkerKey("hardening");
  await registerWorker(f, f.provider, w, "H100", "hardening");
  const p = f.provider.address;
  const lane = { provider: p, key: w, expiry: EXPIRY };
  const at = (s: number) => (T0 + s) * 1000;
  laneA = await proveLane(f, { ...lane, jobId: 1n, startMs: at(1), records: 16 });
  laneB = await proveLane(f, { ...lane, jobId: 2n, startMs: at(100), records: 16 });
  laneC = await proveLane(f, { ...lane, jobId: 3n, startMs: at(50), records: 8 });
  laneD = await proveLane(f, { ...lane, jobId: 4n, startMs: at(85), records: 8 });
  laneE = await proveLane(f, { ...lane, jobId: 5n, startMs: at(200), records: 24 });
  laneF = await proveLane(f, { ...lane, jobId: 6n, startMs: at(330), records: 8 });
  for (let i = 0; i < 5; i++) {
    const jobId = await createJobAt(f, {
      at: T0 - 10 + i,
      provider: p,
      budget: parseEther("10"),
      expiry: EXPIRY,
    });
    expect(jobId).toBe(BigInt(i + 1));
  }
  // Job 6 got the id the worker bound its trace to, but at twice the price.
  await f.chain.setNextTimestamp(T0 - 5);
  await (
    await f.d.escrow.connect(f.client).createJob(p, f.creditAddress, parseEther("10"), PRICE * 2n, EXPIRY)
  ).wait();
  snapshot = await f.chain.snapshot();
});
beforeEach(async () => {
  await f.chain.revert(snapshot);
  snapshot = await f.chain.snapshot();
});
afterAll(async () => {
  await closeProver();
  await f?.connection.close();
});

describe("billing order across jobs", () => {
  it("pays disjoint work in any order: a stranger submits job B's later segments before job A's", async () => {
    await f.chain.mineAt(AFTER_WORK);
    // The stranger front-runs with B (later in time) first.
    await submit(2n, sub(laneB, 0), 0n, f.stranger);
    await submit(2n, sub(laneB, 1), 0n, f.stranger);
    // A starts before every lane of the worker: its first segment names no lane before it.
    expect(await laneAfterOf(1n, sub(laneA, 0))).toBe(LANE_FIRST);
    const started = await submit(1n, sub(laneA, 0), LANE_FIRST);
    expect(eventsIn(started, "LaneStarted")[0]).toMatchObject({
      jobTag: await tag(1n),
      workerKeyHash: w.keyHash,
      market: f.escrowAddress,
      jobId: 1n,
      start: BigInt(laneA.segments[0]!.segment.tFirst),
      nextStart: BigInt(laneB.segments[0]!.segment.tFirst),
      laneData: 10_000n,
    });
    await submit(1n, sub(laneA, 1));

    for (const [jobId, lane] of [
      [1n, laneA],
      [2n, laneB],
    ] as const) {
      const job = await f.d.escrow.jobOf(jobId);
      expect(job.paid, `job ${jobId}`).toBe(payout(lane, 0) + payout(lane, 1));
    }
    expect(await f.d.escrow.balanceOf(f.provider.address, f.creditAddress)).toBe(
      payout(laneA, 0) + payout(laneA, 1) + payout(laneB, 0) + payout(laneB, 1),
    );
    expect(await f.d.usageVerifier.workerLanes(w.keyHash)).toEqual([
      BigInt(laneA.segments[0]!.segment.tFirst),
      await tag(2n),
    ]);
    expect((await f.d.escrow.laneOf(2n, w.keyHash)).nextStart).toBe(OPEN_END);
  });

  it("refuses a third lane that overlaps either, each with its own error", async () => {
    await f.chain.mineAt(AFTER_WORK);
    await submit(2n, sub(laneB, 0));
    await submit(1n, sub(laneA, 0), LANE_FIRST);
    await submit(1n, sub(laneA, 1));
    // C starts inside A's billed time.
    const c = laneC.segments[0]!.segment;
    const tagA = await tag(1n);
    expect(await laneAfterOf(3n, sub(laneC, 0))).toBe(tagA);
    await expectCustomError(trySubmit(3n, sub(laneC, 0), tagA), "UsageVerifier__TimeAlreadyBilled", [
      w.keyHash,
      BigInt(c.tFirst),
      BigInt(laneA.segments[1]!.segment.tLast),
    ]);
    // D starts after A's last billed end but runs into B's start: that time is B's lane's.
    const d = laneD.segments[0]!.segment;
    expect(BigInt(d.tFirst)).toBeGreaterThanOrEqual(BigInt(laneA.segments[1]!.segment.tLast));
    await expectCustomError(trySubmit(4n, sub(laneD, 0), tagA), "UsageVerifier__LaneOverlap", [
      w.keyHash,
      BigInt(d.tLast),
      BigInt(laneB.segments[0]!.segment.tFirst),
    ]);
    // A lane placed anywhere else is refused as misplaced: after B (which starts later), after
    // a job with no lane, or (laneAfter = 0) after the latest lane, B again.
    const tagB = await tag(2n);
    await expectCustomError(trySubmit(4n, sub(laneD, 0), tagB), "UsageVerifier__WrongLaneAfter", [
      w.keyHash,
      tagB,
    ]);
    await expectCustomError(trySubmit(4n, sub(laneD, 0), 9n), "UsageVerifier__WrongLaneAfter", [
      w.keyHash,
      9n,
    ]);
    await expectCustomError(trySubmit(4n, sub(laneD, 0)), "UsageVerifier__WrongLaneAfter", [w.keyHash, 0n]);
    await expectCustomError(trySubmit(4n, sub(laneD, 0), LANE_FIRST), "UsageVerifier__WrongLaneAfter");
  });

  it("refuses the out-of-order lane when it is not placed (laneAfter = 0 takes the latest lane)", async () => {
    await f.chain.mineAt(AFTER_WORK);
    await submit(2n, sub(laneB, 0));
    await expectCustomError(trySubmit(1n, sub(laneA, 0)), "UsageVerifier__WrongLaneAfter", [w.keyHash, 0n]);
    // Placed by the helper the CLI uses, it is paid.
    await submit(1n, sub(laneA, 0), await laneAfterOf(1n, sub(laneA, 0)));
  });
});

describe("pause and grace", () => {
  it("extends the client's close time by the time spent paused, so work done is still paid", async () => {
    const { escrow } = f.d;
    await f.chain.mineAt(AFTER_WORK);
    await submit(1n, sub(laneA, 0));
    expect(await escrow.closableAt(1n)).toBe(BigInt(EXPIRY + GRACE_S));

    // Paused 100 s before the grace period ends, for longer than the grace period.
    const pausedAt = EXPIRY + GRACE_S - 100;
    await f.chain.setNextTimestamp(pausedAt);
    await (await escrow.pause()).wait();
    const during = EXPIRY + GRACE_S + 5000;
    await f.chain.mineAt(during);
    expect(await escrow.pausedSeconds()).toBe(BigInt(during - pausedAt));
    expect(await escrow.closableAt(1n)).toBe(BigInt(EXPIRY + GRACE_S + (during - pausedAt)));
    // Without the extension the client could close now and take back the price of segment 1.
    await expectCustomError(escrow.connect(f.client).closeJob(1n), "ComputeEscrow__CloseNotAllowed");
    await expectCustomError(trySubmit(1n, sub(laneA, 1)), "EnforcedPause", []);

    const unpausedAt = during + 100;
    await f.chain.setNextTimestamp(unpausedAt);
    const r = await (await escrow.unpause()).wait();
    const paused = BigInt(unpausedAt - pausedAt);
    expect(eventsIn(r, "PauseTimeRecorded")[0]).toMatchObject({
      paused: false,
      pausedSeconds: BigInt(unpausedAt - pausedAt),
    });
    expect(await escrow.pausedSeconds()).toBe(paused);
    const closable = BigInt(EXPIRY + GRACE_S) + paused;
    expect(await escrow.closableAt(1n)).toBe(closable);

    // The provider submits the rest in the time the pause took from it.
    await f.chain.setNextTimestamp(Number(closable) - 10);
    await submit(1n, sub(laneA, 1));
    await expectCustomError(escrow.connect(f.client).closeJob(1n), "ComputeEscrow__CloseNotAllowed");
    await f.chain.setNextTimestamp(Number(closable));
    const rc = await (await escrow.connect(f.client).closeJob(1n)).wait();
    expect(eventsIn(rc, "JobClosed")[0]?.refund).toBe(parseEther("10") - payout(laneA, 0) - payout(laneA, 1));

    // A job created after the pause is not extended by it.
    const later = Number(closable) + 100;
    const jobId = await createJobAt(f, {
      at: later,
      provider: f.provider.address,
      budget: 1n,
      expiry: later + 60,
    });
    expect(await escrow.closableAt(jobId)).toBe(BigInt(later + 60 + GRACE_S));
  });

  it("lets the client close at once when the pause began after the job was closable", async () => {
    const { escrow } = f.d;
    await f.chain.setNextTimestamp(EXPIRY + GRACE_S + 10);
    await (await escrow.pause()).wait();
    await f.chain.mineAt(EXPIRY + GRACE_S + 500);
    await (await escrow.connect(f.client).closeJob(1n)).wait();
    expect((await escrow.jobOf(1n)).closed).toBe(true);
  });
});

describe("rate card", () => {
  it("fixes a lane's weight when it starts: a later change reprices only new lanes", async () => {
    const { escrow } = f.d;
    await f.chain.mineAt(AFTER_WORK);
    await submit(1n, sub(laneA, 0));
    await (await escrow.setDeviceWeight(H100, 20_000)).wait();
    const r1 = await submit(1n, sub(laneA, 1));
    expect(eventsIn(r1, "SegmentAccepted")[0]).toMatchObject({
      weightBps: 10_000n,
      payout: payout(laneA, 1),
    });
    const rb = await submit(2n, sub(laneB, 0));
    expect(eventsIn(rb, "SegmentAccepted")[0]).toMatchObject({
      weightBps: 20_000n,
      payout: payout(laneB, 0, 20_000n),
    });
    // Unrating the class stops new lanes, not lanes already started.
    await (await escrow.setDeviceWeight(H100, 0)).wait();
    await submit(2n, sub(laneB, 1));
    await expectCustomError(trySubmit(5n, sub(laneE, 0)), "ComputeEscrow__DeviceClassNotRated", [H100]);
  });

  it("caps weights at ten H100-equivalents", async () => {
    const { escrow } = f.d;
    expect(await escrow.MAX_WEIGHT_BPS()).toBe(100_000n);
    await expectCustomError(escrow.setDeviceWeight(H100, 100_001), "ComputeEscrow__WeightTooHigh", [
      100_001n,
      100_000n,
    ]);
    await (await escrow.setDeviceWeight(H100, 100_000)).wait();
    expect(await escrow.deviceWeight(H100)).toBe(100_000n);
  });
});

describe("job terms", () => {
  it("refuses a trace bound to the same job id with other terms (a reorg, a job not mined yet)", async () => {
    await f.chain.mineAt(AFTER_WORK);
    const onChain = await f.d.escrow.jobOf(6n);
    const traced = laneF.trace.header.jobTag;
    expect(traced).toBe(
      computeJobTag({
        chainId: f.chainId,
        escrow: f.escrowAddress,
        jobId: 6n,
        provider: f.provider.address,
        terms: jobTerms(f, { expiry: EXPIRY }),
      }),
    );
    expect(onChain.jobTag).not.toBe(traced);
    expect(onChain.jobTag).toBe(
      computeJobTag({
        chainId: f.chainId,
        escrow: f.escrowAddress,
        jobId: 6n,
        provider: f.provider.address,
        terms: jobTerms(f, { expiry: EXPIRY, price: PRICE * 2n }),
      }),
    );
    await expectCustomError(trySubmit(6n, sub(laneF, 0)), "UsageVerifier__InvalidProof", [
      await tag(6n),
      w.keyHash,
    ]);
  });
});

describe("batches", () => {
  it("settle several jobs of a provider in one transaction, with one pairing check", async () => {
    const { escrow } = f.d;
    await f.chain.mineAt(AFTER_WORK);
    const entries = [
      ...batchOf(1n, [sub(laneA, 0), sub(laneA, 1)]),
      ...batchOf(2n, [sub(laneB, 0), sub(laneB, 1)]),
      ...batchOf(5n, [sub(laneE, 0)]),
    ];
    const r = await (await escrow.submitSegments(entries)).wait();
    expect(eventsIn(r, "SegmentAccepted").map((e) => e.jobId)).toEqual([1n, 1n, 2n, 2n, 5n]);
    expect(eventsIn(r, "LaneStarted").map((e) => e.jobId)).toEqual([1n, 2n, 5n]);
    expect((await escrow.jobOf(1n)).paid).toBe(payout(laneA, 0) + payout(laneA, 1));
    expect((await escrow.jobOf(2n)).paid).toBe(payout(laneB, 0) + payout(laneB, 1));
    expect((await escrow.jobOf(5n)).paid).toBe(payout(laneE, 0));
  });

  it("refuse a batch with one bad proof as a whole, and a batch that mixes circuit ids", async () => {
    const { escrow } = f.d;
    await f.chain.mineAt(AFTER_WORK);
    const bad = { ...sub(laneA, 1), proof: [...sub(laneA, 1).proof] };
    bad.proof[6] = bad.proof[6]! ^ 1n;
    await expectCustomError(
      escrow.submitSegments(batchOf(1n, [sub(laneA, 0), bad])),
      "UsageVerifier__InvalidBatch",
      [8n, 2n],
    );
    await expectCustomError(
      escrow.submitSegments(batchOf(1n, [sub(laneA, 0), { ...sub(laneA, 1), circuitId: 16 }])),
      "UsageVerifier__MixedCircuits",
      [8n, 16n],
    );
    expect(await escrow.laneHead(1n, w.keyHash)).toBe(0n);
  });

  it("skip segments a stranger submitted first instead of reverting", async () => {
    const { escrow } = f.d;
    await f.chain.mineAt(AFTER_WORK);
    await submit(5n, sub(laneE, 0), 0n, f.stranger);
    await submit(5n, sub(laneE, 1), 0n, f.stranger);
    const batch = batchOf(
      5n,
      [0, 1, 2].map((i) => sub(laneE, i)),
    );
    const r = await (await escrow.connect(f.provider).submitSegments(batch)).wait();
    expect(eventsIn(r, "SegmentSkipped").map((e) => e.newHead)).toEqual([
      sub(laneE, 0).newHead,
      sub(laneE, 1).newHead,
    ]);
    expect(eventsIn(r, "SegmentAccepted").map((e) => e.newHead)).toEqual([sub(laneE, 2).newHead]);
    expect((await escrow.jobOf(5n)).paid).toBe(payout(laneE, 0) + payout(laneE, 1) + payout(laneE, 2));
    // A batch of only accepted segments changes nothing and pays nothing.
    const again = await (await escrow.submitSegments(batch)).wait();
    expect(eventsIn(again, "SegmentSkipped")).toHaveLength(3);
    expect((await escrow.jobOf(5n)).paid).toBe(payout(laneE, 0) + payout(laneE, 1) + payout(laneE, 2));
    // Any other refusal still reverts the whole batch.
    await expectCustomError(
      escrow.submitSegments(batchOf(1n, [{ ...sub(laneA, 0), laneAfter: LANE_FIRST }, sub(laneB, 0)])),
      "UsageVerifier__StalePrevHead",
    );
    expect(await escrow.laneHead(1n, w.keyHash)).toBe(0n);
  });
});
