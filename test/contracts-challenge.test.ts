import { getAddress, id, parseEther, ZeroAddress, ZeroHash, type Result } from "ethers";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  findPendingSegment,
  challengeArgs,
  NotChallengeableError,
  type PendingSegment,
} from "../chain/challenge.ts";
import { decodeEvents, eventsIn } from "../chain/events.ts";
import { toSubmissionInput } from "../chain/submission.ts";
import { DEFAULT_ENERGY_RULE, proveChallenge, type ChallengeProof } from "../challenge/index.ts";
import { deployChallengeVerifier, deployContract, type PlausibilityChallenge } from "../contracts/index.ts";
import { TraceError, type WorkerKey } from "../trace/index.ts";
import {
  baseFixture,
  batchOf,
  createJobAt,
  payoutOf,
  proveLane,
  registerWorker,
  T0,
  testWorkerKey,
  type BaseFixture,
  type ProvenLane,
} from "./helpers/escrow-fixture.ts";
import { expectCustomError } from "./helpers/expect-custom-error.ts";
import { closeProver } from "./helpers/segment-proof.ts";

/**
 * Plausibility challenges on the in-process chain with real proofs: a worker's segment holds a
 * record whose energy is twenty times its power over its interval; anyone proves it
 * (ImplausibleRecord(8)) while the segment's pay is pending, and the key is revoked for cause:
 * the pay goes back to the job, the bond is slashed and the challenger gets the reporter's share.
 */

const EXPIRY = T0 + 3600;
const AFTER_WORK = T0 + 600;
const WINDOW = 600;
const MIN_BOND = parseEther("10");
const SHARE_BPS = 2500n;
const TREASURY = getAddress("0x" + "7e".repeat(20));
/** The broken record: seq 3, in segment 0. */
const BAD_SEQ = 3;
const INTERVAL_MS = 5000;
/** power × time of the lane's records (buildLaneTrace's power), plausible, except BAD_SEQ. */
const energyMj = (seq: number) => (((350_000 + seq * 10) * INTERVAL_MS) / 1000) * (seq === BAD_SEQ ? 20 : 1);

let f: BaseFixture;
let w1: WorkerKey;
let lane: ProvenLane;
let challenge: PlausibilityChallenge;
/** The job created, no segment submitted yet: every test starts here. */
let snapshot: string;

const lanePay = (i: number) => payoutOf(lane.segments[i]!);
const balance = (who: string) => f.d.credit.balanceOf(who);
const newHead = (i: number) => lane.segments[i]!.submission.newHead;
const prove = (seq: number, reporter: string): Promise<ChallengeProof> =>
  proveChallenge({ trace: lane.trace, segment: 0, seq, size: 8, rule: DEFAULT_ENERGY_RULE, reporter });
const pendingOf = (i: number) =>
  findPendingSegment({
    escrow: f.d.escrow,
    provider: f.connection.ethers.provider,
    jobId: 1n,
    workerKeyHash: w1.keyHash,
    newHead: newHead(i),
    fromBlock: 0,
  });
/** Both segments in one batch after the work: one bucket holds their pay. */
async function submitBoth(): Promise<void> {
  await f.chain.mineAt(AFTER_WORK);
  await (
    await f.d.escrow.submitSegments(
      batchOf(
        1n,
        lane.segments.map((s) => s.submission),
      ),
    )
  ).wait();
}
const send = (from: BaseFixture["stranger"], pending: PendingSegment, proof: ChallengeProof) =>
  challenge
    .connect(from)
    .challenge(...challengeArgs({ jobId: 1n, workerKeyHash: w1.keyHash, pending, proof: proof.proof }));

beforeAll(async () => {
  f = await baseFixture({
    stake: {
      bondToken: "credit",
      minimumBond: MIN_BOND,
      challengeWindow: WINDOW,
      unbondDelay: 2 * WINDOW,
      reporterShareBps: Number(SHARE_BPS),
      treasury: TREASURY,
    },
  });
  expect(f.d.challenge?.maxRecords).toBe(8);
  challenge = f.d.challenge!.contract;
  w1 = await testWorkerKey("challenged");
  await registerWorker(f, f.provider, w1, "H100", "challenged");
  await (await f.d.credit.mint(f.provider.address, parseEther("100"))).wait();
  await (await f.d.credit.connect(f.provider).approve(f.d.addresses.registry, parseEther("100"))).wait();
  await (await f.d.registry.connect(f.provider).bond(w1.keyHash, MIN_BOND)).wait();
  lane = await proveLane(f, {
    jobId: 1n,
    provider: f.provider.address,
    key: w1,
    startMs: T0 * 1000 + 1000,
    records: 16,
    intervalMs: INTERVAL_MS,
    expiry: EXPIRY,
    energyMj,
  });
  expect(
    await createJobAt(f, { at: T0, provider: f.provider.address, budget: parseEther("10"), expiry: EXPIRY }),
  ).toBe(1n);
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

describe("plausibility challenges", () => {
  it("deploys with the escrow's window, the default rule and the registry's slasher role", async () => {
    expect(await challenge.escrow()).toBe(f.d.addresses.escrow);
    expect(await challenge.registry()).toBe(f.d.addresses.registry);
    expect(((await challenge.rule()) as unknown as Result).toObject()).toEqual({
      loBps: BigInt(DEFAULT_ENERGY_RULE.loBps),
      hiBps: BigInt(DEFAULT_ENERGY_RULE.hiBps),
      slackMicroJ: BigInt(DEFAULT_ENERGY_RULE.slackMicroJ),
    });
    expect(await f.d.registry.hasRole(await f.d.registry.SLASHER_ROLE(), f.d.addresses.challenge!)).toBe(
      true,
    );
    // The role lets a contract revoke for cause and nothing else an attestor may do.
    await expectCustomError(
      f.d.registry.connect(f.stranger).revokeForCause(w1.keyHash, id("evidence"), f.stranger.address),
      "AccessControlUnauthorizedAccount",
      [f.stranger.address, await f.d.registry.SLASHER_ROLE()],
    );
  });

  it("a proven implausible record inside the window returns the pending pay, slashes and pays the challenger", async () => {
    await submitBoth();
    const { escrow, registry } = f.d;
    const reporter = f.stranger.address;
    const pending = await pendingOf(0);
    expect(pending.headsBefore).toBe(ZeroHash);
    expect(pending.segments.map((s) => s.newHead)).toEqual([newHead(0), newHead(1)]);
    const total = lanePay(0) + lanePay(1);
    expect(pending.amount).toBe(total);
    const { remaining: before } = await escrow.jobOf(1n);

    const proof = await prove(BAD_SEQ, reporter);
    expect(proof.violation).toMatchObject({ seq: BAD_SEQ, kind: "too-much" });
    const reporterBefore = await balance(reporter);
    const receipt = await (await send(f.stranger, pending, proof)).wait();
    console.log(`[gas] PlausibilityChallenge.challenge (2 segments in the bucket): ${receipt!.gasUsed}`);

    const events = decodeEvents(receipt!.logs);
    const evidenceHash = await challenge.evidenceHashOf(1n, w1.keyHash, pending.segments[0]!);
    expect(events.find((e) => e.name === "ImplausibleRecordProven")?.args).toMatchObject({
      jobId: 1n,
      workerKeyHash: w1.keyHash,
      newHead: newHead(0),
      reporter,
      evidenceHash,
    });
    expect(events.find((e) => e.name === "WorkerSlashed")?.args).toMatchObject({
      workerKeyHash: w1.keyHash,
      attestor: f.d.addresses.challenge,
      reporter,
      evidenceHash,
      toReporter: parseEther("2.5"),
      toTreasury: parseEther("7.5"),
    });
    expect(eventsIn(receipt, "PendingReturned")[0]).toMatchObject({
      jobId: 1n,
      amount: total,
      toClient: false,
    });
    expect((await balance(reporter)) - reporterBefore).toBe(parseEther("2.5"));
    expect(await balance(TREASURY)).toBe(parseEther("7.5"));
    expect((await escrow.jobOf(1n)).remaining).toBe(before + total);
    expect(await escrow.pendingBalanceOf(f.provider.address, f.creditAddress)).toBe(0n);
    expect((await registry.billingOf(w1.keyHash)).active).toBe(false);

    // The key is done: a second challenge, of the other segment, finds it slashed.
    await expectCustomError(send(f.stranger, pending, proof), "PlausibilityChallenge__SegmentNotPending");
  });

  it("refuses a copied proof, a wrong bucket fold, a plausible record and a passed window", async () => {
    await submitBoth();
    const pending = await pendingOf(0);
    const proof = await prove(BAD_SEQ, f.stranger.address);
    // Someone copying the challenger's transaction: the proof names the challenger.
    await expectCustomError(send(f.provider2, pending, proof), "PlausibilityChallenge__InvalidProof", [
      1n,
      w1.keyHash,
      newHead(0),
    ]);
    // The bucket's later segment left out: not the bucket's commitment.
    await expectCustomError(
      send(f.stranger, { ...pending, segments: pending.segments.slice(0, 1) }, proof),
      "PlausibilityChallenge__SegmentNotPending",
      [1n, w1.keyHash, newHead(0)],
    );
    // Another segment's heads with this proof: the fold matches, the proof does not.
    const second = await pendingOf(1);
    await expectCustomError(send(f.stranger, second, proof), "PlausibilityChallenge__InvalidProof");
    // A plausible record has no proof.
    await expect(prove(BAD_SEQ + 1, f.stranger.address)).rejects.toThrow(TraceError);
    await expect(prove(BAD_SEQ + 1, f.stranger.address)).rejects.toThrow(/record 4 is plausible/);

    // Once the window has passed the pay is final.
    const releaseAt = pending.releaseAt;
    await f.chain.mineAt(releaseAt);
    await expectCustomError(send(f.stranger, pending, proof), "PlausibilityChallenge__WindowPassed", [
      1n,
      w1.keyHash,
      releaseAt,
    ]);
    await expect(pendingOf(0)).rejects.toThrow(NotChallengeableError);
    await (await f.d.escrow.settlePending([{ jobId: 1n, workerKeyHash: w1.keyHash }])).wait();
    await expectCustomError(send(f.stranger, pending, proof), "PlausibilityChallenge__SegmentNotPending");
    await expect(pendingOf(0)).rejects.toThrow(/no longer pending/);
  });

  it("refuses a deployment without a window or with a rule the circuit cannot prove", async () => {
    const verifier = await deployChallengeVerifier(8, f.admin);
    const rule = { ...DEFAULT_ENERGY_RULE };
    await expectCustomError(
      deployContract(
        "PlausibilityChallenge",
        [f.d.addresses.escrow, await verifier.getAddress(), 8, { ...rule, hiBps: 9_999 }],
        f.admin,
      ),
      "PlausibilityChallenge__InvalidRule",
      [rule.loBps, 9_999, rule.slackMicroJ],
    );
    await expectCustomError(
      deployContract("PlausibilityChallenge", [f.d.addresses.escrow, ZeroAddress, 8, rule], f.admin),
      "PlausibilityChallenge__NotAContract",
    );
    // An escrow without a challenge window pays at once: there is nothing to challenge.
    const registry0 = await deployContract(
      "WorkerRegistry",
      [
        f.admin.address,
        false,
        f.d.addresses.keyVerifier,
        {
          token: ZeroAddress,
          minimumBond: 0n,
          unbondDelay: 0n,
          challengeWindow: 0n,
          reporterShareBps: 0,
          treasury: ZeroAddress,
        },
      ],
      f.admin,
    );
    const escrow0 = await deployContract(
      "ComputeEscrow",
      [f.admin.address, await registry0.getAddress(), f.d.addresses.usageVerifier, 0, 0],
      f.admin,
    );
    await expectCustomError(
      deployContract(
        "PlausibilityChallenge",
        [await escrow0.getAddress(), await verifier.getAddress(), 8, rule],
        f.admin,
      ),
      "PlausibilityChallenge__NoChallengeWindow",
    );
  });

  it("a segment alone in its epoch's bucket; the next epoch's pay goes back too", async () => {
    const { escrow } = f.d;
    await f.chain.mineAt(AFTER_WORK);
    await (await escrow.submitSegment(1n, toSubmissionInput(lane.segments[0]!.submission))).wait();
    await f.chain.mineAt(AFTER_WORK + WINDOW);
    await (await escrow.submitSegment(1n, toSubmissionInput(lane.segments[1]!.submission))).wait();
    const [first, second] = [await pendingOf(0), await pendingOf(1)];
    expect(first.segments.map((s) => s.newHead)).toEqual([newHead(0)]);
    expect(second.segments.map((s) => s.newHead)).toEqual([newHead(1)]);
    expect([first.headsBefore, second.headsBefore]).toEqual([ZeroHash, ZeroHash]);
    expect(second.releaseAt - first.releaseAt).toBe(BigInt(WINDOW));

    const receipt = await (await send(f.stranger, first, await prove(BAD_SEQ, f.stranger.address))).wait();
    const returned = eventsIn(receipt, "PendingReturned");
    expect(returned.map((e) => e.amount)).toEqual([lanePay(0) + lanePay(1)]);
  });
});
