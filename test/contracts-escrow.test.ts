import { encodeBytes32String, id, parseEther, ZeroHash, type Signer } from "ethers";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { eventsIn } from "../chain/events.ts";
import { submissionFromBundle, toSubmissionInput, withMeter, type Submission } from "../chain/submission.ts";
import { deployContract, type ReentrantToken } from "../contracts/index.ts";
import {
  computeJobTag,
  FIELD_MODULUS,
  solidityProof,
  type ProofBundleJson,
  type WorkerKey,
} from "../trace/index.ts";
import {
  baseFixture,
  batchOf,
  createJobAt,
  jobTerms,
  deployReentrantToken,
  GRACE_S,
  payoutOf,
  PRICE,
  proveLane,
  registerWorker,
  SKEW_MS,
  T0,
  testWorkerKey,
  type BaseFixture,
  type ProvenLane,
} from "./helpers/escrow-fixture.ts";
import { expectCustomError } from "./helpers/expect-custom-error.ts";
import { closeProver, type ProvenSegment } from "./helpers/segment-proof.ts";

/** Base field modulus of BN254: negating a G1/G2 y coordinate gives another valid Groth16 proof. */
const Q = 21888242871839275222246405745257275088696311157297823662689037894645226208583n;
const EXPIRY = T0 + 3600;
const JOB1_BUDGET = parseEther("10");
/** By T0 + 600 every test window has ended, even without the clock skew allowance. */
const AFTER_WORK = T0 + 600;

let f: BaseFixture;
let w1: WorkerKey, w2: WorkerKey, w3: WorkerKey, w4: WorkerKey;
/** job 1: worker w1 for the provider, three segments. */
let lane1: ProvenLane;
/** job 2: w1 again, over the same time as lane 1 (small budget). */
let lane2: ProvenLane;
/** job 3: w1, paid in a token that re-enters the escrow. */
let lane3: ProvenLane;
let evil: ReentrantToken;
let snapshot: string;

const seg = (lane: ProvenLane, i: number): ProvenSegment => {
  const s = lane.segments[i];
  if (!s) throw new Error(`lane of job ${lane.jobId} has no segment ${i}`);
  return s;
};
const sub = (lane: ProvenLane, i: number): Submission => seg(lane, i).submission;

async function submit(jobId: bigint, s: Submission, from?: Signer) {
  const escrow = from ? f.d.escrow.connect(from) : f.d.escrow;
  return (await escrow.submitSegment(jobId, toSubmissionInput(s))).wait();
}
const trySubmit = (jobId: bigint, s: Submission) => f.d.escrow.submitSegment(jobId, toSubmissionInput(s));
/** A job's tag, as the UsageVerifier computes it (its errors name lanes by tag). */
const tag = async (jobId: bigint) => (await f.d.escrow.jobOf(jobId)).jobTag;

beforeAll(async () => {
  f = await baseFixture();
  [w1, w2, w3, w4] = (await Promise.all(["w1", "w2", "w3", "w4"].map(testWorkerKey))) as [
    WorkerKey,
    WorkerKey,
    WorkerKey,
    WorkerKey,
  ];
  await registerWorker(f, f.provider, w1, "H100", "w1");
  await registerWorker(f, f.provider, w2, "A100", "w2");
  await registerWorker(f, f.provider2, w4, "H100", "w4");
  evil = await deployReentrantToken(f);

  const p = f.provider.address;
  const lane = { provider: p, key: w1, expiry: EXPIRY };
  lane1 = await proveLane(f, { ...lane, jobId: 1n, startMs: T0 * 1000 + 1000, records: 24 });
  lane2 = await proveLane(f, { ...lane, jobId: 2n, startMs: T0 * 1000 + 1000, records: 24 });
  lane3 = await proveLane(f, {
    ...lane,
    jobId: 3n,
    startMs: (T0 + 200) * 1000,
    records: 8,
    terms: jobTerms(f, { expiry: EXPIRY, token: await evil.getAddress() }),
  });

  expect(await createJobAt(f, { at: T0, provider: p, budget: JOB1_BUDGET, expiry: EXPIRY })).toBe(1n);
  const budget2 = payoutOf(seg(lane2, 0)) + payoutOf(seg(lane2, 1)) / 2n;
  expect(await createJobAt(f, { at: T0 + 1, provider: p, budget: budget2, expiry: EXPIRY })).toBe(2n);
  const evilAddress = await evil.getAddress();
  expect(
    await createJobAt(f, {
      at: T0 + 2,
      provider: p,
      budget: parseEther("10"),
      expiry: EXPIRY,
      token: evilAddress,
    }),
  ).toBe(3n);
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

describe("ComputeEscrow full flow with real proofs", () => {
  it("pays segments in order, lets the provider withdraw and refunds the client the rest", async () => {
    const { escrow, credit } = f.d;
    const clientStart = await credit.balanceOf(f.client.address);
    await f.chain.mineAt(AFTER_WORK);

    // Anyone may submit; the payout goes to the job's provider.
    const r0 = await submit(1n, sub(lane1, 0), f.stranger);
    const [e0] = eventsIn(r0, "SegmentAccepted");
    const s0 = seg(lane1, 0).segment;
    expect(e0).toMatchObject({
      jobId: 1n,
      workerKeyHash: w1.keyHash,
      circuitId: 8n,
      prevHead: 0n,
      newHead: s0.newHead,
      tFirst: BigInt(s0.tFirst),
      tLast: BigInt(s0.tLast),
      usage: s0.usage,
      weightBps: 10_000n,
      payout: payoutOf(seg(lane1, 0)),
      submitter: f.stranger.address,
    });
    expect(await escrow.laneHead(1n, w1.keyHash)).toBe(s0.newHead);
    const lane = await escrow.laneOf(1n, w1.keyHash);
    expect([lane.head, lane.start, lane.end, lane.nextStart, lane.laneData]).toEqual([
      s0.newHead,
      BigInt(s0.tFirst),
      BigInt(s0.tLast),
      (1n << 64n) - 1n,
      10_000n,
    ]);

    const rf = await (await escrow.connect(f.client).fundJob(1n, parseEther("1"))).wait();
    expect(eventsIn(rf, "JobFunded")[0]).toMatchObject({ jobId: 1n, amount: parseEther("1") });

    const rb = await (await escrow.submitSegments(batchOf(1n, [sub(lane1, 1), sub(lane1, 2)]))).wait();
    const batch = eventsIn(rb, "SegmentAccepted");
    expect(batch.map((e) => e.newHead)).toEqual([
      seg(lane1, 1).segment.newHead,
      seg(lane1, 2).segment.newHead,
    ]);
    expect(batch.map((e) => e.prevHead)).toEqual([s0.newHead, seg(lane1, 1).segment.newHead]);

    const paid = [0, 1, 2].reduce((sum, i) => sum + payoutOf(seg(lane1, i)), 0n);
    expect(paid).toBeGreaterThan(0n);
    expect(await escrow.balanceOf(f.provider.address, f.creditAddress)).toBe(paid);

    const rw = await (await escrow.connect(f.provider).withdraw(f.creditAddress)).wait();
    expect(eventsIn(rw, "Withdrawn")[0]).toMatchObject({ provider: f.provider.address, amount: paid });
    expect(await credit.balanceOf(f.provider.address)).toBe(paid);
    expect(await escrow.balanceOf(f.provider.address, f.creditAddress)).toBe(0n);

    // The client may close only after expiry plus the grace period while budget remains.
    await expectCustomError(escrow.connect(f.client).closeJob(1n), "ComputeEscrow__CloseNotAllowed", [
      1n,
      f.client.address,
      BigInt(EXPIRY + GRACE_S),
    ]);
    await f.chain.mineAt(EXPIRY + GRACE_S);
    const rc = await (await escrow.connect(f.client).closeJob(1n)).wait();
    const deposited = JOB1_BUDGET + parseEther("1");
    expect(eventsIn(rc, "JobClosed")[0]).toMatchObject({
      jobId: 1n,
      closedBy: f.client.address,
      refund: deposited - paid,
    });

    const job = await escrow.jobOf(1n);
    expect(job.closed).toBe(true);
    expect(job.deposited).toBe(deposited);
    expect(job.paid + job.refunded + job.remaining).toBe(job.deposited);
    expect(job.remaining).toBe(0n);
    // Balances add up: the client spent exactly what the provider earned.
    expect(await credit.balanceOf(f.client.address)).toBe(clientStart - parseEther("1") + (deposited - paid));
    expect((await credit.balanceOf(f.client.address)) + (await credit.balanceOf(f.provider.address))).toBe(
      clientStart - parseEther("1") + deposited,
    );
    // What the escrow still holds in credits is job 2's untouched budget.
    expect(await credit.balanceOf(f.escrowAddress)).toBe((await escrow.jobOf(2n)).remaining);
    await expectCustomError(trySubmit(1n, sub(lane1, 0)), "ComputeEscrow__JobClosed", [1n]);
  });

  it("binds each job to its tag: keccak(chainid, escrow, jobId, provider, terms) mod r, as the trace model computes it", async () => {
    const job = await f.d.escrow.jobOf(1n);
    const expected = computeJobTag({
      chainId: f.chainId,
      escrow: f.escrowAddress,
      jobId: 1n,
      provider: f.provider.address,
      terms: jobTerms(f, { expiry: EXPIRY }),
    });
    expect(job.jobTag).toBe(expected);
    expect(lane1.trace.header.jobTag).toBe(expected);
    expect(job.createdAt).toBe(BigInt(T0));
    expect((await f.d.escrow.jobOf(99n)).provider).toBe("0x0000000000000000000000000000000000000000");
  });

  it("lets the provider close at any time and the client once the budget is spent", async () => {
    const { escrow } = f.d;
    await expectCustomError(escrow.connect(f.stranger).closeJob(1n), "ComputeEscrow__CloseNotAllowed");
    const rc = await (await escrow.connect(f.provider).closeJob(1n)).wait();
    expect(eventsIn(rc, "JobClosed")[0]).toMatchObject({ closedBy: f.provider.address, refund: JOB1_BUDGET });
    await expectCustomError(escrow.connect(f.client).closeJob(1n), "ComputeEscrow__JobClosed", [1n]);
  });
});

describe("proof bundles", () => {
  it("submits the call data of a proof bundle as the escrow takes it", async () => {
    const s = seg(lane1, 0);
    const h = lane1.trace.header;
    const str = (v: bigint | number) => v.toString();
    const bundle: ProofBundleJson = {
      kind: "meterproof-segment-bundle",
      version: 2,
      circuitId: 8,
      vkeySha256: "0x" + "0".repeat(64),
      job: {
        chainId: str(h.chainId),
        escrow: h.escrow,
        jobId: "1",
        provider: h.provider,
        terms: { ...h.terms, price: str(h.terms.price) },
        jobTag: str(h.jobTag),
        workerKeyHash: str(h.workerKeyHash),
        deviceClass: h.device.class,
      },
      segment: {
        ...s.segment,
        prevHead: str(s.segment.prevHead),
        newHead: str(s.segment.newHead),
        usage: str(s.segment.usage),
      },
      publicSignals: s.publicSignals.map(str),
      proof: { ...s.proof, protocol: "groth16", curve: "bn128" },
      calldata: {
        jobId: "1",
        circuitId: 8,
        workerKeyHash: str(h.workerKeyHash),
        prevHead: str(s.segment.prevHead),
        newHead: str(s.segment.newHead),
        meter: str(s.publicSignals[4]!),
        proof: solidityProof(s.proof),
      },
      trace: { headerSha256: lane1.trace.headerSha256 },
    };
    const { jobId, submission } = submissionFromBundle(bundle);
    expect(jobId).toBe(1n);
    expect(submission).toEqual(s.submission);
    await f.chain.mineAt(AFTER_WORK);
    const [accepted] = eventsIn(await submit(jobId, submission), "SegmentAccepted");
    expect(accepted?.newHead).toBe(s.segment.newHead);
    expect(() => submissionFromBundle({ ...bundle, calldata: { ...bundle.calldata, proof: ["1"] } })).toThrow(
      /8 entries/,
    );
  });
});

describe("ComputeEscrow budget", () => {
  it("pays exactly the remaining budget when it runs out, never more", async () => {
    const { escrow } = f.d;
    await f.chain.mineAt(AFTER_WORK);
    const budget = (await escrow.jobOf(2n)).deposited;
    const p0 = payoutOf(seg(lane2, 0));
    const p1 = payoutOf(seg(lane2, 1));
    expect(budget).toBeLessThan(p0 + p1);

    const e0 = eventsIn(await submit(2n, sub(lane2, 0)), "SegmentAccepted")[0]!;
    expect(e0.payout).toBe(p0);
    const e1 = eventsIn(await submit(2n, sub(lane2, 1)), "SegmentAccepted")[0]!;
    expect(e1.payout).toBe(budget - p0); // capped: less than p1
    expect(e1.payout).toBeLessThan(p1);
    const e2 = eventsIn(await submit(2n, sub(lane2, 2)), "SegmentAccepted")[0]!;
    expect(e2.payout).toBe(0n); // accepted (the lane moves on) but nothing is left to pay

    const job = await escrow.jobOf(2n);
    expect(job.paid).toBe(budget);
    expect(job.remaining).toBe(0n);
    expect(await escrow.balanceOf(f.provider.address, f.creditAddress)).toBe(budget);
    // A spent job is finished: the client may close it before expiry; the refund is zero.
    const rc = await (await escrow.connect(f.client).closeJob(2n)).wait();
    expect(eventsIn(rc, "JobClosed")[0]?.refund).toBe(0n);
  });
});

describe("ComputeEscrow refuses, each with its own custom error", () => {
  it("a tampered public signal", async () => {
    await f.chain.mineAt(AFTER_WORK);
    const s = sub(lane1, 0);
    // jobTag comes from the job: the proof of job 1 does not verify for job 2.
    await expectCustomError(trySubmit(2n, s), "UsageVerifier__InvalidProof", [await tag(2n), w1.keyHash]);
    // workerKeyHash: another registered, rated worker of the same provider.
    await expectCustomError(
      trySubmit(1n, { ...s, workerKeyHash: w2.keyHash }),
      "UsageVerifier__InvalidProof",
      [await tag(1n), w2.keyHash],
    );
    // prevHead must be the lane head before it reaches the verifier.
    await expectCustomError(
      trySubmit(1n, { ...s, prevHead: s.prevHead + 1n }),
      "UsageVerifier__StalePrevHead",
      [await tag(1n), w1.keyHash, 0n, 1n],
    );
    await expectCustomError(trySubmit(1n, { ...s, newHead: s.newHead + 1n }), "UsageVerifier__InvalidProof");
    const m = seg(lane1, 0).segment;
    await expectCustomError(
      trySubmit(1n, withMeter(s, { usage: m.usage + 1n })),
      "UsageVerifier__InvalidProof",
    );
    await expectCustomError(
      trySubmit(1n, withMeter(s, { tFirst: m.tFirst + 1 })),
      "UsageVerifier__InvalidProof",
    );
    await expectCustomError(
      trySubmit(1n, withMeter(s, { tLast: m.tLast - 1 })),
      "UsageVerifier__InvalidProof",
    );
    // A changed proof word.
    const proof = [...s.proof];
    proof[6] = (proof[6]! + 1n) % Q;
    await expectCustomError(trySubmit(1n, { ...s, proof }), "UsageVerifier__InvalidProof");
    // The untouched submission still goes through.
    await submit(1n, s);
  });

  it("a public signal plus the field modulus", async () => {
    await f.chain.mineAt(AFTER_WORK);
    const s = sub(lane1, 0);
    await expectCustomError(
      trySubmit(1n, { ...s, newHead: s.newHead + FIELD_MODULUS }),
      "SegmentVerifierRouter__SignalNotInField",
      [3n],
    );
    await expectCustomError(
      trySubmit(1n, { ...s, workerKeyHash: s.workerKeyHash + FIELD_MODULUS }),
      "ComputeEscrow__WorkerNotRegistered",
    );
    await expectCustomError(
      trySubmit(1n, { ...s, prevHead: s.prevHead + FIELD_MODULUS }),
      "UsageVerifier__StalePrevHead",
    );
  });

  it("the same segment twice, even with a different (malleated) proof, and a stale prevHead", async () => {
    await f.chain.mineAt(AFTER_WORK);
    const s0 = sub(lane1, 0);
    await submit(1n, s0);
    const head0 = seg(lane1, 0).segment.newHead;
    await expectCustomError(trySubmit(1n, s0), "UsageVerifier__SegmentAlreadyAccepted", [
      await tag(1n),
      w1.keyHash,
      head0,
    ]);

    // (-A, -B, C) is another valid proof of the same statement: replay protection is keyed on the head.
    const p = s0.proof;
    const mauled = [p[0]!, Q - p[1]!, p[2]!, p[3]!, Q - p[4]!, Q - p[5]!, p[6]!, p[7]!];
    const signals = seg(lane1, 0).publicSignals;
    expect(await f.d.router.verifySegment(8, mauled, signals)).toBe(true);
    await expectCustomError(trySubmit(1n, { ...s0, proof: mauled }), "UsageVerifier__SegmentAlreadyAccepted");

    await submit(1n, sub(lane1, 1));
    const head1 = seg(lane1, 1).segment.newHead;
    await expectCustomError(trySubmit(1n, s0), "UsageVerifier__StalePrevHead", [
      await tag(1n),
      w1.keyHash,
      head1,
      0n,
    ]);
    // Skipping a segment is stale too: segment 2 continues from head 1, not from head 0.
    await f.chain.revert(snapshot);
    snapshot = await f.chain.snapshot();
    await f.chain.mineAt(AFTER_WORK);
    await submit(1n, s0);
    await expectCustomError(trySubmit(1n, sub(lane1, 2)), "UsageVerifier__StalePrevHead", [
      await tag(1n),
      w1.keyHash,
      head0,
      head1,
    ]);
  });

  it("the same segment twice within one batch: the second is skipped, not paid twice", async () => {
    await f.chain.mineAt(AFTER_WORK);
    const s0 = sub(lane1, 0);
    const receipt = await (await f.d.escrow.submitSegments(batchOf(1n, [s0, s0]))).wait();
    expect(eventsIn(receipt, "SegmentAccepted")).toHaveLength(1);
    expect(eventsIn(receipt, "SegmentSkipped")[0]).toMatchObject({
      jobId: 1n,
      newHead: sub(lane1, 0).newHead,
    });
    expect((await f.d.escrow.jobOf(1n)).paid).toBe(payoutOf(seg(lane1, 0)));
    await expectCustomError(f.d.escrow.submitSegments([]), "ComputeEscrow__EmptyBatch", []);
  });

  it("the same worker billing overlapping time in two jobs", async () => {
    await f.chain.mineAt(AFTER_WORK);
    const first = seg(lane1, 0).segment;
    await submit(1n, sub(lane1, 0));
    const other = seg(lane2, 0).segment;
    expect(other.tFirst).toBeLessThan(first.tLast); // the two traces cover the same GPU time
    await expectCustomError(trySubmit(2n, sub(lane2, 0)), "UsageVerifier__TimeAlreadyBilled", [
      w1.keyHash,
      BigInt(other.tFirst),
      BigInt(first.tLast),
    ]);
    // The other way round as well.
    await f.chain.revert(snapshot);
    snapshot = await f.chain.snapshot();
    await f.chain.mineAt(AFTER_WORK);
    await submit(2n, sub(lane2, 0));
    await expectCustomError(trySubmit(1n, sub(lane1, 0)), "UsageVerifier__TimeAlreadyBilled");
  });

  it("a window before the job was created, after it expired, reversed, or in the future", async () => {
    const s = sub(lane1, 0);
    // In the future: the chain is still minutes after T0, the window would end at T0 + 3000 s.
    const future = (T0 + 3000) * 1000;
    await expectCustomError(trySubmit(1n, withMeter(s, { tLast: future })), "ComputeEscrow__WindowInFuture");
    const nowMs = (await f.chain.latestTimestamp()) * 1000;
    expect(nowMs + SKEW_MS).toBeLessThan(future);

    await f.chain.mineAt(EXPIRY + 100);
    const createdMs = T0 * 1000;
    const early = createdMs - SKEW_MS - 1;
    await expectCustomError(
      trySubmit(1n, withMeter(s, { tFirst: early })),
      "ComputeEscrow__WindowBeforeJob",
      [BigInt(early), BigInt(createdMs)],
    );
    // At the edge of the allowance the window check passes and the proof is what fails.
    await expectCustomError(
      trySubmit(1n, withMeter(s, { tFirst: early + 1 })),
      "UsageVerifier__InvalidProof",
    );

    const expiryMs = EXPIRY * 1000;
    const late = expiryMs + SKEW_MS + 1;
    await expectCustomError(
      trySubmit(1n, withMeter(s, { tLast: late })),
      "ComputeEscrow__WindowAfterExpiry",
      [BigInt(late), BigInt(expiryMs)],
    );
    await expectCustomError(trySubmit(1n, withMeter(s, { tLast: late - 1 })), "UsageVerifier__InvalidProof");

    const m = seg(lane1, 0).segment;
    await expectCustomError(
      trySubmit(1n, withMeter(s, { tLast: m.tFirst })),
      "UsageVerifier__InvalidWindow",
      [BigInt(m.tFirst), BigInt(m.tFirst)],
    );
    // Work done before expiry is still paid after it, until the job is closed.
    await submit(1n, s);
  });

  it("an unregistered, inactive, unapproved or other provider's worker, or an unrated device class", async () => {
    const { escrow, registry } = f.d;
    await f.chain.mineAt(AFTER_WORK);
    const s = sub(lane1, 0);
    await expectCustomError(
      trySubmit(1n, { ...s, workerKeyHash: w3.keyHash }),
      "ComputeEscrow__WorkerNotRegistered",
      [w3.keyHash],
    );
    await expectCustomError(
      trySubmit(1n, { ...s, workerKeyHash: w4.keyHash }),
      "ComputeEscrow__WorkerNotJobProvider",
      [w4.keyHash, f.provider2.address, f.provider.address],
    );

    await (await registry.connect(f.provider).setActive(w1.keyHash, false)).wait();
    await expectCustomError(trySubmit(1n, s), "ComputeEscrow__WorkerInactive", [w1.keyHash]);
    await (await registry.connect(f.provider).setActive(w1.keyHash, true)).wait();

    await (await registry.setRequireAttestation(true)).wait();
    await expectCustomError(trySubmit(1n, s), "ComputeEscrow__WorkerNotApproved", [w1.keyHash]);
    await (
      await registry.connect(f.attestor).approveWorker(w1.keyHash, 4_000_000_000n, id("evidence"), ZeroHash)
    ).wait();

    const h100 = encodeBytes32String("H100");
    await (await escrow.setDeviceWeight(h100, 0)).wait();
    await expectCustomError(trySubmit(1n, s), "ComputeEscrow__DeviceClassNotRated", [h100]);
    await (await escrow.setDeviceWeight(h100, 10_000)).wait();

    await submit(1n, s); // approved, active, rated: accepted
    await (await registry.connect(f.attestor).revokeWorker(w1.keyHash, id("key leaked"))).wait();
    await expectCustomError(trySubmit(1n, sub(lane1, 1)), "ComputeEscrow__WorkerNotApproved");
  });

  it("an unknown or closed job, and any submission or job creation while paused", async () => {
    const { escrow } = f.d;
    await f.chain.mineAt(AFTER_WORK);
    const s = sub(lane1, 0);
    await expectCustomError(trySubmit(7n, s), "ComputeEscrow__UnknownJob", [7n]);

    await (await escrow.pause()).wait();
    await expectCustomError(trySubmit(1n, s), "EnforcedPause", []);
    await expectCustomError(escrow.submitSegments(batchOf(1n, [s])), "EnforcedPause");
    await expectCustomError(
      escrow.connect(f.client).createJob(f.provider.address, f.creditAddress, 1n, PRICE, EXPIRY),
      "EnforcedPause",
    );
    await expectCustomError(escrow.connect(f.stranger).unpause(), "AccessControlUnauthorizedAccount");
    // Refunds stay open while paused: funds are never locked by a pause.
    await (await escrow.connect(f.provider).closeJob(2n)).wait();
    await (await escrow.unpause()).wait();
    await submit(1n, s);

    await (await escrow.connect(f.provider).closeJob(1n)).wait();
    await expectCustomError(trySubmit(1n, sub(lane1, 1)), "ComputeEscrow__JobClosed", [1n]);
  });

  it("a withdrawal re-entered by a malicious token", async () => {
    const { escrow } = f.d;
    await f.chain.mineAt(AFTER_WORK);
    await submit(3n, sub(lane3, 0));
    const evilAddress = await evil.getAddress();
    const owed = await escrow.balanceOf(f.provider.address, evilAddress);
    expect(owed).toBe(payoutOf(seg(lane3, 0)));

    await (
      await evil.arm(f.escrowAddress, escrow.interface.encodeFunctionData("withdraw", [evilAddress]))
    ).wait();
    await expectCustomError(
      escrow.connect(f.provider).withdraw(evilAddress),
      "ReentrancyGuardReentrantCall",
      [],
    );
    await (await evil.arm(f.escrowAddress, escrow.interface.encodeFunctionData("closeJob", [3n]))).wait();
    await expectCustomError(escrow.connect(f.provider).closeJob(3n), "ReentrancyGuardReentrantCall");
    expect(await escrow.balanceOf(f.provider.address, evilAddress)).toBe(owed);

    await (await evil.arm("0x0000000000000000000000000000000000000000", "0x")).wait();
    await (await escrow.connect(f.provider).withdraw(evilAddress)).wait();
    expect(await evil.balanceOf(f.provider.address)).toBe(owed);
    await expectCustomError(
      escrow.connect(f.provider).withdraw(evilAddress),
      "ComputeEscrow__NothingToWithdraw",
      [f.provider.address, evilAddress],
    );
  });
});

describe("ComputeEscrow job creation and funding", () => {
  it("refuses bad parameters, fee-on-transfer tokens and strangers", async () => {
    const escrow = f.d.escrow.connect(f.client);
    const p = f.provider.address;
    const c = f.creditAddress;
    const now = await f.chain.latestTimestamp();
    await expectCustomError(
      escrow.createJob("0x0000000000000000000000000000000000000000", c, 1n, PRICE, EXPIRY),
      "ComputeEscrow__InvalidProvider",
      [],
    );
    await expectCustomError(
      escrow.createJob(p, f.stranger.address, 1n, PRICE, EXPIRY),
      "ComputeEscrow__InvalidToken",
      [f.stranger.address],
    );
    await expectCustomError(escrow.createJob(p, c, 0n, PRICE, EXPIRY), "ComputeEscrow__InvalidAmount", [0n]);
    await expectCustomError(
      escrow.createJob(p, c, 1n << 128n, PRICE, EXPIRY),
      "ComputeEscrow__InvalidAmount",
      [1n << 128n],
    );
    await expectCustomError(escrow.createJob(p, c, 1n, 0n, EXPIRY), "ComputeEscrow__InvalidPrice", [0n]);
    await expectCustomError(escrow.createJob(p, c, 1n, 1n << 96n, EXPIRY), "ComputeEscrow__InvalidPrice", [
      1n << 96n,
    ]);
    await expectCustomError(escrow.createJob(p, c, 1n, PRICE, now), "ComputeEscrow__InvalidExpiry");
    await expectCustomError(
      escrow.createJob(p, c, parseEther("2000"), PRICE, EXPIRY),
      "ERC20InsufficientAllowance",
    );

    const fee = await deployContract("FeeOnTransferToken", [], f.admin);
    await (await fee.mint(f.client.address, 1000n)).wait();
    await (await fee.connect(f.client).approve(f.escrowAddress, 1000n)).wait();
    const feeAddress = await fee.getAddress();
    await expectCustomError(
      escrow.createJob(p, feeAddress, 1000n, PRICE, EXPIRY),
      "ComputeEscrow__UnsupportedToken",
      [feeAddress, 1000n, 990n],
    );

    await expectCustomError(f.d.escrow.connect(f.stranger).fundJob(1n, 1n), "ComputeEscrow__NotJobClient", [
      1n,
      f.stranger.address,
    ]);
    await expectCustomError(escrow.fundJob(1n, 0n), "ComputeEscrow__InvalidAmount", [0n]);
    await expectCustomError(escrow.fundJob(9n, 1n), "ComputeEscrow__UnknownJob", [9n]);
    await expectCustomError(
      f.d.escrow.connect(f.provider).withdraw(f.creditAddress),
      "ComputeEscrow__NothingToWithdraw",
    );
  });

  it("emits JobCreated with everything a trace header needs", async () => {
    const escrow = f.d.escrow.connect(f.client);
    const receipt = await (
      await escrow.createJob(f.provider2.address, f.creditAddress, 5n, PRICE, EXPIRY)
    ).wait();
    const e = eventsIn(receipt, "JobCreated")[0]!;
    expect(e).toMatchObject({
      jobId: 4n,
      client: f.client.address,
      provider: f.provider2.address,
      budget: 5n,
      price: PRICE,
      expiry: BigInt(EXPIRY),
    });
    expect(e.jobTag).toBe(
      computeJobTag({
        chainId: f.chainId,
        escrow: f.escrowAddress,
        jobId: 4n,
        provider: f.provider2.address,
        terms: jobTerms(f, { expiry: EXPIRY }),
      }),
    );
    expect(await f.d.escrow.jobCount()).toBe(4n);
  });

  it("keeps the rate card and pausing to their roles", async () => {
    const h100 = encodeBytes32String("H100");
    await expectCustomError(
      f.d.escrow.connect(f.stranger).setDeviceWeight(h100, 1),
      "AccessControlUnauthorizedAccount",
    );
    await expectCustomError(f.d.escrow.connect(f.stranger).pause(), "AccessControlUnauthorizedAccount");
    const receipt = await (await f.d.escrow.setDeviceWeight(h100, 12_000)).wait();
    expect(eventsIn(receipt, "DeviceWeightSet")[0]).toMatchObject({
      deviceClass: h100,
      previous: 10_000n,
      weightBps: 12_000n,
    });
    expect(await f.d.escrow.deviceWeight(h100)).toBe(12_000n);
  });
});

describe("SegmentVerifierRouter with real proofs", () => {
  it("accepts a valid proof, returns false for each tampered signal and refuses each signal plus r", async () => {
    const { router } = f.d;
    const { submission, publicSignals } = seg(lane1, 1);
    expect(await router.verifySegment(8, submission.proof, publicSignals)).toBe(true);
    for (let i = 0; i < 5; i++) {
      const tampered = publicSignals.map((v, j) => (j === i ? (v + 1n) % FIELD_MODULUS : v));
      expect(await router.verifySegment(8, submission.proof, tampered), `signal ${i} + 1`).toBe(false);
      const wrapped = publicSignals.map((v, j) => (j === i ? v + FIELD_MODULUS : v));
      await expectCustomError(
        router.verifySegment(8, submission.proof, wrapped),
        "SegmentVerifierRouter__SignalNotInField",
        [BigInt(i)],
      );
    }
    await expectCustomError(
      router.verifySegment(64, submission.proof, publicSignals),
      "SegmentVerifierRouter__UnknownCircuit",
      [64n],
    );
  });

  it("lets only the admin set and remove verifiers, with events", async () => {
    const { router } = f.d;
    const verifier8 = await router.verifierOf(8);
    const { submission, publicSignals } = seg(lane1, 0);
    await expectCustomError(
      router.connect(f.stranger).setVerifier(16, verifier8),
      "AccessControlUnauthorizedAccount",
    );
    await expectCustomError(router.setVerifier(0, verifier8), "SegmentVerifierRouter__ZeroCircuitId", []);
    await expectCustomError(
      router.setVerifier(16, f.stranger.address),
      "SegmentVerifierRouter__NotAContract",
      [f.stranger.address],
    );

    const set = await (await router.setVerifier(16, verifier8)).wait();
    expect(eventsIn(set, "VerifierSet")[0]).toMatchObject({
      circuitId: 16n,
      previous: "0x0000000000000000000000000000000000000000",
      verifier: verifier8,
    });
    expect(await router.verifySegment(16, submission.proof, publicSignals)).toBe(true);

    const removed = await (await router.removeVerifier(8)).wait();
    expect(eventsIn(removed, "VerifierSet")[0]).toMatchObject({ circuitId: 8n, previous: verifier8 });
    await expectCustomError(
      router.verifySegment(8, submission.proof, publicSignals),
      "SegmentVerifierRouter__UnknownCircuit",
      [8n],
    );
    await expectCustomError(router.removeVerifier(8), "SegmentVerifierRouter__UnknownCircuit", [8n]);
    // The escrow refuses proofs of a removed circuit with the router's error.
    await f.chain.mineAt(AFTER_WORK);
    await expectCustomError(trySubmit(1n, submission), "SegmentVerifierRouter__UnknownCircuit", [8n]);
  });
});
