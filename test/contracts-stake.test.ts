import { encodeBytes32String, getAddress, id, parseEther, ZeroAddress, ZeroHash, type Result } from "ethers";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { readJobChainView } from "../chain/audit-view.ts";
import { decodeEvents, eventsIn } from "../chain/events.ts";
import { providerPending } from "../chain/pending.ts";
import { toSubmissionInput, type Submission } from "../chain/submission.ts";
import { deployContract, type StakeTermsInput, type WorkerRegistry } from "../contracts/index.ts";
import { proveKeyPossession } from "../prover/key-possession.ts";
import type { WorkerKey } from "../trace/index.ts";
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
import { closeProver, testGpuUuidHash } from "./helpers/segment-proof.ts";

/**
 * Attested keys, bonds and the challenge window on the in-process chain, with real proofs:
 * approve → bond → work → pending payout → window passes → settle → withdraw; a revocation
 * for cause inside the window returns the pending pay to the job and slashes the bond; a
 * lapsed approval bills no new time. The lane is the contract-escrow tests' lane 1 (same
 * terms and escrow address), so its proofs come from the cache.
 */

const EXPIRY = T0 + 3600;
const AFTER_WORK = T0 + 600;
const WINDOW = 600;
const UNBOND_DELAY = 1200;
const MIN_BOND = parseEther("10");
const SHARE_BPS = 2500n;
const TREASURY = getAddress("0x" + "7e".repeat(20));
const BURN = "0x000000000000000000000000000000000000dEaD";
const EVIDENCE = id("nras token of w1");
const DEVICE = id("gpu device id 1");
const FAR = BigInt(T0 + 100_000);

let f: BaseFixture;
let w1: WorkerKey, w2: WorkerKey;
let lane1: ProvenLane;
let registry: WorkerRegistry;
let snapshot: string;

const sub = (i: number): Submission => lane1.segments[i]!.submission;
const pay = (i: number) => payoutOf(lane1.segments[i]!);
const trySubmit = (i: number) => f.d.escrow.submitSegment(1n, toSubmissionInput(sub(i)));
async function submit(i: number) {
  return (await trySubmit(i)).wait();
}
const releaseAt = (t: number) => BigInt((Math.floor(t / WINDOW) + 2) * WINDOW);
async function blockTime(receipt: { blockNumber: number } | null): Promise<number> {
  const block = await f.connection.ethers.provider.getBlock(receipt!.blockNumber);
  return block!.timestamp;
}
const approve = (key: bigint, expiresAt = FAR, device = DEVICE) =>
  registry.connect(f.attestor).approveWorker(key, expiresAt, EVIDENCE, device);
async function bond(amount: bigint, key = w1.keyHash) {
  await (await registry.connect(f.provider).bond(key, amount)).wait();
}
/** A struct the contract returned, as a plain object (ethers returns a Result). */
const fields = (r: object) => (r as Result).toObject();
const balance = (who: string) => f.d.credit.balanceOf(who);

beforeAll(async () => {
  f = await baseFixture({
    requireAttestation: true,
    stake: {
      bondToken: "credit",
      minimumBond: MIN_BOND,
      challengeWindow: WINDOW,
      unbondDelay: UNBOND_DELAY,
      reporterShareBps: Number(SHARE_BPS),
      treasury: TREASURY,
    },
  });
  registry = f.d.registry;
  [w1, w2] = (await Promise.all(["w1", "w2"].map(testWorkerKey))) as [WorkerKey, WorkerKey];
  await registerWorker(f, f.provider, w1, "H100", "w1");
  await registerWorker(f, f.provider, w2, "A100", "w2");
  await (await f.d.credit.mint(f.provider.address, parseEther("100"))).wait();
  await (await f.d.credit.connect(f.provider).approve(f.d.addresses.registry, parseEther("100"))).wait();
  lane1 = await proveLane(f, {
    jobId: 1n,
    provider: f.provider.address,
    key: w1,
    startMs: T0 * 1000 + 1000,
    records: 24,
    expiry: EXPIRY,
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

describe("attested, bonded workers and the challenge window", () => {
  it("approve → bond → work → pending → window passes → withdraw", async () => {
    const { escrow } = f.d;
    expect(await escrow.challengeWindow()).toBe(BigInt(WINDOW));
    expect(fields(await registry.stakeTerms())).toMatchObject({
      token: f.creditAddress,
      minimumBond: MIN_BOND,
      unbondDelay: BigInt(UNBOND_DELAY),
      challengeWindow: BigInt(WINDOW),
      reporterShareBps: SHARE_BPS,
      treasury: TREASURY,
    });
    await f.chain.mineAt(AFTER_WORK);
    await expectCustomError(trySubmit(0), "ComputeEscrow__WorkerNotApproved", [w1.keyHash]);
    const approved = await (await approve(w1.keyHash)).wait();
    expect(decodeEvents(approved!.logs).find((e) => e.name === "WorkerApproved")?.args).toMatchObject({
      workerKeyHash: w1.keyHash,
      attestor: f.attestor.address,
      deviceIdHash: DEVICE,
      expiresAt: FAR,
      evidenceHash: EVIDENCE,
    });
    await expectCustomError(trySubmit(0), "ComputeEscrow__BondBelowMinimum", [w1.keyHash, 0n, MIN_BOND]);
    await bond(parseEther("4"));
    await expectCustomError(trySubmit(0), "ComputeEscrow__BondBelowMinimum", [
      w1.keyHash,
      parseEther("4"),
      MIN_BOND,
    ]);
    await bond(parseEther("6"));
    expect((await registry.stakeOf(w1.keyHash)).bonded).toBe(MIN_BOND);

    const r0 = await submit(0);
    const t0 = await blockTime(r0);
    expect(eventsIn(r0, "SegmentAccepted")[0]!.payout).toBe(pay(0));
    expect(await escrow.balanceOf(f.provider.address, f.creditAddress)).toBe(0n);
    expect(await escrow.pendingBalanceOf(f.provider.address, f.creditAddress)).toBe(pay(0));
    expect([...(await escrow.pendingOf(1n, w1.keyHash))]).toEqual([pay(0), 0n, 0n, releaseAt(t0)]);
    await expectCustomError(
      escrow.connect(f.provider).withdraw(f.creditAddress),
      "ComputeEscrow__NothingToWithdraw",
    );
    // The rest as a batch in the same epoch: one bucket holds it all.
    await (await escrow.submitSegments(batchOf(1n, [sub(1), sub(2)]))).wait();
    const total = pay(0) + pay(1) + pay(2);
    expect(await escrow.pendingBalanceOf(f.provider.address, f.creditAddress)).toBe(total);
    expect((await escrow.jobOf(1n)).paid).toBe(total);

    // Settling inside the window moves nothing.
    const early = await (
      await escrow.connect(f.stranger).settlePending([{ jobId: 1n, workerKeyHash: w1.keyHash }])
    ).wait();
    expect(eventsIn(early, "PendingReleased")).toHaveLength(0);
    await f.chain.mineAt(releaseAt(t0) - 2n);
    expect((await escrow.pendingOf(1n, w1.keyHash)).locked).toBe(total);

    await f.chain.mineAt(releaseAt(t0));
    expect([...(await escrow.pendingOf(1n, w1.keyHash))]).toEqual([0n, total, 0n, 0n]);
    // What `meterproof withdraw` settles: the provider's lanes, found from the escrow's events.
    const found = await providerPending({
      provider: f.connection.ethers.provider,
      escrow: f.escrowAddress,
      payee: f.provider.address,
    });
    expect(found).toEqual([
      {
        jobId: 1n,
        workerKeyHash: w1.keyHash,
        token: f.creditAddress,
        locked: 0n,
        releasable: total,
        returnable: 0n,
        nextReleaseAt: 0n,
      },
    ]);
    expect(
      await providerPending({
        provider: f.connection.ethers.provider,
        escrow: f.escrowAddress,
        payee: f.client.address,
      }),
    ).toEqual([]);
    const settled = await (
      await escrow.connect(f.stranger).settlePending([{ jobId: 1n, workerKeyHash: w1.keyHash }])
    ).wait();
    expect(eventsIn(settled, "PendingReleased")[0]).toMatchObject({
      jobId: 1n,
      workerKeyHash: w1.keyHash,
      provider: f.provider.address,
      amount: total,
    });
    expect(await escrow.pendingBalanceOf(f.provider.address, f.creditAddress)).toBe(0n);
    const before = await balance(f.provider.address);
    await (await escrow.connect(f.provider).withdraw(f.creditAddress)).wait();
    expect((await balance(f.provider.address)) - before).toBe(total);
    await expectCustomError(
      escrow.settlePending([{ jobId: 9n, workerKeyHash: w1.keyHash }]),
      "ComputeEscrow__UnknownJob",
      [9n],
    );
  });

  it("a later segment releases the lane's older bucket on its way in (O(1) per segment)", async () => {
    await (await approve(w1.keyHash)).wait();
    await bond(MIN_BOND);
    await f.chain.mineAt(AFTER_WORK);
    const t0 = await blockTime(await submit(0));
    await f.chain.mineAt(releaseAt(t0));
    const r1 = await submit(1);
    expect(eventsIn(r1, "PendingReleased")[0]?.amount).toBe(pay(0));
    expect(await f.d.escrow.balanceOf(f.provider.address, f.creditAddress)).toBe(pay(0));
    expect(await f.d.escrow.pendingBalanceOf(f.provider.address, f.creditAddress)).toBe(pay(1));
  });

  it("a revocation for cause inside the window returns pending pay to the job and slashes the bond", async () => {
    const { escrow } = f.d;
    await (await approve(w1.keyHash)).wait();
    await bond(MIN_BOND);
    await f.chain.mineAt(AFTER_WORK);
    // Segment 0 leaves the window before the revocation (it stays the provider's, though not
    // yet settled); segment 1, a window later, is still in its window.
    const t0 = await blockTime(await submit(0));
    await f.chain.mineAt(releaseAt(t0) - BigInt(WINDOW));
    await submit(1);
    await f.chain.mineAt(releaseAt(t0));
    await (await registry.connect(f.provider).requestUnbond(w1.keyHash, parseEther("3"))).wait();

    const reporter = f.stranger.address;
    const reporterBefore = await balance(reporter);
    const evidence = id("energy above power x time in segment 1");
    await expectCustomError(
      registry.connect(f.provider).revokeForCause(w1.keyHash, evidence, reporter),
      "AccessControlUnauthorizedAccount",
    );
    await expectCustomError(
      registry.connect(f.attestor).revokeForCause(w1.keyHash, ZeroHash, reporter),
      "WorkerRegistry__EmptyEvidenceHash",
    );
    await expectCustomError(
      registry.connect(f.attestor).revokeForCause(w1.keyHash, evidence, ZeroAddress),
      "WorkerRegistry__InvalidReporter",
    );
    const slash = await (
      await registry.connect(f.attestor).revokeForCause(w1.keyHash, evidence, reporter)
    ).wait();
    const slashedAt = await blockTime(slash);
    const events = decodeEvents(slash!.logs);
    // The whole stake, unbonding part included: 25% to the reporter, the rest to the treasury.
    expect(events.find((e) => e.name === "WorkerSlashed")?.args).toMatchObject({
      workerKeyHash: w1.keyHash,
      attestor: f.attestor.address,
      reporter,
      evidenceHash: evidence,
      toReporter: parseEther("2.5"),
      toTreasury: parseEther("7.5"),
    });
    expect(events.find((e) => e.name === "WorkerApprovalRevoked")?.args).toMatchObject({ reason: evidence });
    expect((await balance(reporter)) - reporterBefore).toBe(parseEther("2.5"));
    expect(await balance(TREASURY)).toBe(parseEther("7.5"));
    expect(await balance(f.d.addresses.registry)).toBe(0n);
    expect(fields(await registry.stakeOf(w1.keyHash))).toMatchObject({
      bonded: 0n,
      unbonding: 0n,
      slashedAt: BigInt(slashedAt),
    });
    expect(await registry.workerOfDevice(DEVICE)).toBe(0n);

    expect([...(await escrow.pendingOf(1n, w1.keyHash))]).toEqual([0n, pay(0), pay(1), 0n]);
    const settled = await (await escrow.settlePending([{ jobId: 1n, workerKeyHash: w1.keyHash }])).wait();
    expect(eventsIn(settled, "PendingReturned")[0]).toMatchObject({
      jobId: 1n,
      workerKeyHash: w1.keyHash,
      amount: pay(1),
      toClient: false,
    });
    expect(eventsIn(settled, "PendingReleased")[0]?.amount).toBe(pay(0));
    const job = await escrow.jobOf(1n);
    expect(job.paid).toBe(pay(0));
    expect(job.remaining).toBe(parseEther("10") - pay(0));
    expect(await escrow.balanceOf(f.provider.address, f.creditAddress)).toBe(pay(0));
    expect(await escrow.pendingBalanceOf(f.provider.address, f.creditAddress)).toBe(0n);

    // The key is done: no billing, approval, bond or switching on.
    await expectCustomError(trySubmit(2), "ComputeEscrow__WorkerInactive", [w1.keyHash]);
    await expectCustomError(approve(w1.keyHash), "WorkerRegistry__KeySlashed", [w1.keyHash, slashedAt]);
    await expectCustomError(registry.connect(f.provider).bond(w1.keyHash, 1n), "WorkerRegistry__KeySlashed");
    await expectCustomError(
      registry.connect(f.provider).setActive(w1.keyHash, true),
      "WorkerRegistry__KeySlashed",
    );
    await expectCustomError(
      registry.connect(f.attestor).revokeForCause(w1.keyHash, evidence, reporter),
      "WorkerRegistry__KeySlashed",
    );
    await expectCustomError(
      registry.connect(f.provider).withdrawUnbonded(w1.keyHash),
      "WorkerRegistry__NothingUnbonding",
      [w1.keyHash],
    );
  });

  it("the auditor's view of the job follows the budget a return refilled", async () => {
    const lane2 = await proveLane(f, {
      jobId: 1n,
      provider: f.provider.address,
      key: w2,
      startMs: T0 * 1000 + 1000,
      records: 8,
      expiry: EXPIRY,
      deviceClass: "A100",
    });
    for (const k of [w1, w2]) {
      await (await approve(k.keyHash, FAR, k === w1 ? DEVICE : ZeroHash)).wait();
      await bond(MIN_BOND, k.keyHash);
    }
    await f.chain.mineAt(AFTER_WORK);
    await submit(0);
    await (
      await registry.connect(f.attestor).revokeForCause(w1.keyHash, EVIDENCE, f.stranger.address)
    ).wait();
    await (await f.d.escrow.settlePending([{ jobId: 1n, workerKeyHash: w1.keyHash }])).wait();
    await (await f.d.escrow.submitSegment(1n, toSubmissionInput(lane2.segments[0]!.submission))).wait();
    const view = await readJobChainView({
      provider: f.connection.ethers.provider,
      escrow: f.escrowAddress,
      jobId: 1n,
    });
    expect(view.accepted.map((a) => a.remainingBefore)).toEqual([parseEther("10"), parseEther("10")]);
  });

  it("pay taken back from a closed job goes to its client", async () => {
    await (await approve(w1.keyHash)).wait();
    await bond(MIN_BOND);
    await f.chain.mineAt(AFTER_WORK);
    await submit(0);
    await (await f.d.escrow.connect(f.provider).closeJob(1n)).wait();
    await (
      await registry.connect(f.attestor).revokeForCause(w1.keyHash, EVIDENCE, f.stranger.address)
    ).wait();
    const before = await balance(f.client.address);
    const r = await (await f.d.escrow.settlePending([{ jobId: 1n, workerKeyHash: w1.keyHash }])).wait();
    expect(eventsIn(r, "PendingReturned")[0]).toMatchObject({ amount: pay(0), toClient: true });
    expect((await balance(f.client.address)) - before).toBe(pay(0));
    const job = await f.d.escrow.jobOf(1n);
    expect({ paid: job.paid, refunded: job.refunded, remaining: job.remaining }).toEqual({
      paid: 0n,
      refunded: parseEther("10"),
      remaining: 0n,
    });
  });

  it("a lapsed approval bills no new time; work before the expiry is still paid; revocation is immediate", async () => {
    const expiresAt = BigInt(T0 + 60); // segment 0 ends at T0 + 41 s, segment 1 at T0 + 81 s
    await (await approve(w1.keyHash, expiresAt)).wait();
    await bond(MIN_BOND);
    await f.chain.mineAt(AFTER_WORK);
    await submit(0);
    const tLast1 = (sub(1).meter >> 64n) & ((1n << 64n) - 1n);
    await expectCustomError(trySubmit(1), "ComputeEscrow__ApprovalLapsed", [
      w1.keyHash,
      tLast1,
      expiresAt * 1000n,
    ]);
    await expectCustomError(
      f.d.escrow.submitSegments(batchOf(1n, [sub(1), sub(2)])),
      "ComputeEscrow__ApprovalLapsed",
    );
    // A fresh approval on new evidence lets it bill again.
    await (await approve(w1.keyHash)).wait();
    await submit(1);
    await expectCustomError(
      registry.connect(f.attestor).revokeWorker(w1.keyHash, ZeroHash),
      "WorkerRegistry__EmptyReason",
    );
    const revoked = await (
      await registry.connect(f.attestor).revokeWorker(w1.keyHash, encodeBytes32String("report expired"))
    ).wait();
    expect(decodeEvents(revoked!.logs).find((e) => e.name === "WorkerApprovalRevoked")?.args).toMatchObject({
      workerKeyHash: w1.keyHash,
      attestor: f.attestor.address,
      reason: encodeBytes32String("report expired"),
    });
    await expectCustomError(trySubmit(2), "ComputeEscrow__WorkerNotApproved", [w1.keyHash]);
    await expectCustomError(
      registry.connect(f.attestor).revokeWorker(w1.keyHash, EVIDENCE),
      "WorkerRegistry__NotApproved",
      [w1.keyHash],
    );
  });
});

describe("WorkerRegistry approvals", () => {
  it("checks expiry and evidence, and keeps one current key per attested device", async () => {
    const now = await f.chain.latestTimestamp();
    await expectCustomError(
      registry.connect(f.provider).approveWorker(w1.keyHash, FAR, EVIDENCE, DEVICE),
      "AccessControlUnauthorizedAccount",
    );
    await expectCustomError(approve(7n), "WorkerRegistry__UnknownWorker", [7n]);
    await expectCustomError(
      registry.connect(f.attestor).approveWorker(w1.keyHash, BigInt(now), EVIDENCE, DEVICE),
      "WorkerRegistry__ApprovalExpiryNotInFuture",
    );
    await expectCustomError(
      registry.connect(f.attestor).approveWorker(w1.keyHash, FAR, ZeroHash, DEVICE),
      "WorkerRegistry__EmptyEvidenceHash",
    );
    const shortly = BigInt(now + 100);
    await (await approve(w1.keyHash, shortly)).wait();
    expect(fields(await registry.approvalOf(w1.keyHash))).toMatchObject({
      expiresAt: shortly,
      attestor: f.attestor.address,
      evidenceHash: EVIDENCE,
      deviceIdHash: DEVICE,
    });
    expect(await registry.workerOfDevice(DEVICE)).toBe(w1.keyHash);
    // Another key on the same attested device: refused while w1's approval is current ...
    await expectCustomError(approve(w2.keyHash), "WorkerRegistry__DeviceAlreadyApproved", [
      DEVICE,
      w1.keyHash,
    ]);
    // ... a key without a device identity in its evidence is not affected ...
    await (await approve(w2.keyHash, FAR, ZeroHash)).wait();
    // ... and once w1's approval lapses, the device goes to the key attested on it now.
    await f.chain.mineAt(shortly + 1n);
    await (await approve(w2.keyHash)).wait();
    expect(await registry.workerOfDevice(DEVICE)).toBe(w2.keyHash);
    // Re-approving w1 on another device is fine; revoking w2 frees the first device.
    await (await approve(w1.keyHash, FAR, id("gpu device id 2"))).wait();
    await (await registry.connect(f.attestor).revokeWorker(w2.keyHash, EVIDENCE)).wait();
    expect(await registry.workerOfDevice(DEVICE)).toBe(0n);
    await (await approve(w1.keyHash)).wait();
    expect(await registry.workerOfDevice(id("gpu device id 2"))).toBe(0n);
    expect(await registry.workerOfDevice(DEVICE)).toBe(w1.keyHash);
    // A released GPU's key cannot be approved.
    await (await registry.connect(f.attestor).releaseGpu(testGpuUuidHash("w2"), EVIDENCE)).wait();
    await expectCustomError(approve(w2.keyHash), "WorkerRegistry__GpuReleased", [w2.keyHash]);
  });
});

describe("WorkerRegistry bonds", () => {
  it("unbonds after the delay, stops counting at once, and refuses what breaks the rules", async () => {
    await expectCustomError(
      registry.connect(f.provider).bond(w1.keyHash, 0n),
      "WorkerRegistry__InvalidAmount",
      [0n],
    );
    await expectCustomError(
      registry.connect(f.stranger).bond(w1.keyHash, 1n),
      "WorkerRegistry__NotWorkerProvider",
    );
    await expectCustomError(registry.connect(f.provider).bond(5n, 1n), "WorkerRegistry__UnknownWorker", [5n]);
    await bond(parseEther("12"));
    await (await approve(w1.keyHash)).wait();
    await expectCustomError(
      registry.connect(f.provider).requestUnbond(w1.keyHash, parseEther("13")),
      "WorkerRegistry__UnbondExceedsBond",
      [w1.keyHash, parseEther("13"), parseEther("12")],
    );
    await expectCustomError(
      registry.connect(f.provider).requestUnbond(w1.keyHash, 0n),
      "WorkerRegistry__InvalidAmount",
    );
    await expectCustomError(
      registry.connect(f.stranger).requestUnbond(w1.keyHash, 1n),
      "WorkerRegistry__NotWorkerProvider",
    );
    await expectCustomError(
      registry.connect(f.provider).withdrawUnbonded(w1.keyHash),
      "WorkerRegistry__NothingUnbonding",
      [w1.keyHash],
    );
    await f.chain.mineAt(AFTER_WORK);
    const r = await (await registry.connect(f.provider).requestUnbond(w1.keyHash, parseEther("3"))).wait();
    const unbondableAt = BigInt((await blockTime(r)) + UNBOND_DELAY);
    expect(fields(await registry.stakeOf(w1.keyHash))).toMatchObject({
      bonded: parseEther("9"),
      unbonding: parseEther("3"),
      unbondableAt,
    });
    // The bond left counting is below the minimum: the worker earns no more.
    await expectCustomError(trySubmit(0), "ComputeEscrow__BondBelowMinimum", [
      w1.keyHash,
      parseEther("9"),
      MIN_BOND,
    ]);
    await expectCustomError(
      registry.connect(f.provider).withdrawUnbonded(w1.keyHash),
      "WorkerRegistry__UnbondNotReady",
      [w1.keyHash, unbondableAt],
    );
    await f.chain.mineAt(unbondableAt);
    const before = await balance(f.provider.address);
    await (await registry.connect(f.provider).withdrawUnbonded(w1.keyHash)).wait();
    expect((await balance(f.provider.address)) - before).toBe(parseEther("3"));
    expect((await registry.stakeOf(w1.keyHash)).unbonding).toBe(0n);
  });

  it("the registry refuses terms that break the rules, bonds without a token and fee-on-transfer tokens; slashes burn without a treasury", async () => {
    const admin = f.admin.address;
    const kv = f.d.addresses.keyVerifier;
    const terms = (t: Partial<StakeTermsInput>): StakeTermsInput => ({
      token: ZeroAddress,
      minimumBond: 0n,
      unbondDelay: 0n,
      challengeWindow: 0n,
      reporterShareBps: 0,
      treasury: ZeroAddress,
      ...t,
    });
    const deploy = (t: Partial<StakeTermsInput>) =>
      deployContract("WorkerRegistry", [admin, false, kv, terms(t)], f.admin);
    await expectCustomError(deploy({ minimumBond: 1n }), "WorkerRegistry__MinimumBondWithoutToken", [1n]);
    await expectCustomError(deploy({ token: admin }), "WorkerRegistry__NotAContract", [admin]);
    await expectCustomError(
      deploy({ token: f.creditAddress, challengeWindow: 600n, unbondDelay: 1199n }),
      "WorkerRegistry__UnbondDelayTooShort",
      [1199n, 1200n],
    );
    await expectCustomError(deploy({ reporterShareBps: 10_001 }), "WorkerRegistry__ReporterShareTooHigh", [
      10_001n,
    ]);
    const noBonds = await deploy({});
    await expectCustomError(noBonds.bond(w1.keyHash, 1n), "WorkerRegistry__BondsDisabled");

    // Registers w1 in a registry of its own (the key proof binds the registry address).
    const registerIn = async (r: WorkerRegistry) => {
      const { proof } = await proveKeyPossession({
        key: w1,
        chainId: f.chainId,
        registry: await r.getAddress(),
        provider: f.provider.address,
      });
      await (
        await r
          .connect(f.provider)
          .registerWorker(w1.keyHash, encodeBytes32String("H100"), testGpuUuidHash("w1"), proof)
      ).wait();
    };
    const fee = await deployContract("FeeOnTransferToken", [], f.admin);
    await (await fee.mint(f.provider.address, 1000n)).wait();
    const feeRegistry = await deploy({ token: await fee.getAddress() });
    await registerIn(feeRegistry);
    await (await fee.connect(f.provider).approve(await feeRegistry.getAddress(), 1000n)).wait();
    await expectCustomError(
      feeRegistry.connect(f.provider).bond(w1.keyHash, 100n),
      "WorkerRegistry__UnsupportedToken",
    );

    const burning = await deploy({ token: f.creditAddress, reporterShareBps: 1000 });
    await registerIn(burning);
    await (await burning.grantRole(await burning.ATTESTOR_ROLE(), f.attestor.address)).wait();
    await (await f.d.credit.connect(f.provider).approve(await burning.getAddress(), 100n)).wait();
    await (await burning.connect(f.provider).bond(w1.keyHash, 100n)).wait();
    const burnBefore = await balance(BURN);
    await (await burning.connect(f.attestor).revokeForCause(w1.keyHash, EVIDENCE, f.stranger.address)).wait();
    expect((await balance(BURN)) - burnBefore).toBe(90n);
  });
});

describe("gas", () => {
  it("bonds, approval expiry and the challenge window add little per segment in a batch of 16", async () => {
    // Lane 1 made longer (its first 24 records are lane 1's, so those proofs are cached):
    // one segment alone, then a batch of 16, with the features off and then on.
    const long = await proveLane(f, {
      jobId: 1n,
      provider: f.provider.address,
      key: w1,
      startMs: T0 * 1000 + 1000,
      records: 8 * 17,
      expiry: EXPIRY,
    });
    const first = toSubmissionInput(long.segments[0]!.submission);
    const batch = batchOf(
      1n,
      long.segments.slice(1, 17).map((s) => s.submission),
    );
    const afterLongWork = T0 + 8 * 17 * 5 + 60;
    const gasOf = async (tx: Promise<{ wait(): Promise<{ gasUsed: bigint } | null> }>) =>
      (await (await tx).wait())!.gasUsed;
    const off = await baseFixture();
    let offFirst: bigint, offBatch: bigint;
    try {
      await registerWorker(off, off.provider, w1, "H100", "w1");
      await createJobAt(off, {
        at: T0,
        provider: off.provider.address,
        budget: parseEther("10"),
        expiry: EXPIRY,
      });
      await off.chain.mineAt(afterLongWork);
      offFirst = await gasOf(off.d.escrow.submitSegment(1n, first));
      offBatch = await gasOf(off.d.escrow.submitSegments(batch));
    } finally {
      await off.connection.close();
    }
    await (await approve(w1.keyHash)).wait();
    await bond(MIN_BOND);
    await f.chain.mineAt(afterLongWork);
    const onFirst = await gasOf(f.d.escrow.submitSegment(1n, first));
    const onBatch = await gasOf(f.d.escrow.submitSegments(batch));
    const perSegment = (onBatch - offBatch) / 16n;
    console.log(
      `gas: first segment alone ${offFirst} off, ${onFirst} on (+${onFirst - offFirst}); batch of 16: ` +
        `${offBatch / 16n} per segment off, ${onBatch / 16n} on (+${perSegment})`,
    );
    // The first payout writes the lane's bucket, its segment commitment and the provider's
    // pending total (fresh slots, once per lane: buckets are reused) instead of the balance; in a
    // batch, the registry call and those slots are paid once, and each segment folds its heads
    // into the commitment (a keccak and a warm write).
    expect(onFirst - offFirst).toBeLessThan(60_000n);
    expect(perSegment).toBeLessThan(3_000n);
  }, 600_000); // proving the 14 new segments takes minutes on a busy machine, once (then cached)
});
