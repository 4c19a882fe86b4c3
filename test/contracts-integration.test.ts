/**
 * Another marketplace on meterproof: contracts/examples/MinimalEscrow.sol (docs/integrating.md)
 * pays proven usage through the same UsageVerifier as ComputeEscrow. The worker-time ledger is
 * shared: time one marketplace paid cannot be paid by the other, disjoint work is paid by both,
 * and a proof made for one marketplace's job does not verify for another's.
 */
import { parseEther } from "ethers";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { toSubmissionInput } from "../chain/submission.ts";
import { deployContract, type MinimalEscrow } from "../contracts/index.ts";
import { computeJobTag, type WorkerKey } from "../trace/index.ts";
import {
  baseFixture,
  createJobAt,
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
/** MinimalEscrow's price: 0.001 credit per fully used GPU-second. */
const PRICE_PER_GPU_SECOND = parseEther("0.001");

let f: BaseFixture;
let w: WorkerKey;
let market: MinimalEscrow;
let marketAddress: string;
/** Worker w in the escrow's job 1, T0+1 s … T0+41 s. */
let inEscrow: ProvenLane;
/** Worker w in the example's job 1 over the same time, and later (disjoint). */
let overlapping: ProvenLane, disjoint: ProvenLane;
let snapshot: string;

const terms = (jobId: bigint) => ({
  client: f.client.address,
  token: f.creditAddress,
  price: PRICE_PER_GPU_SECOND,
  expiry: BigInt(EXPIRY),
  jobId,
});

beforeAll(async () => {
  f = await baseFixture();
  w = await testWorkerKey("integration");
  await registerWorker(f, f.provider, w, "H100", "integration");
  market = await deployContract(
    "MinimalEscrow",
    [f.d.addresses.usageVerifier, f.d.addresses.registry, f.creditAddress],
    f.admin,
  );
  marketAddress = await market.getAddress();
  const p = f.provider.address;
  const at = (s: number) => (T0 + s) * 1000;
  inEscrow = await proveLane(f, {
    jobId: 1n,
    provider: p,
    key: w,
    startMs: at(1),
    records: 8,
    expiry: EXPIRY,
  });
  const inMarket = { provider: p, key: w, expiry: EXPIRY, market: marketAddress, terms: terms(1n) };
  overlapping = await proveLane(f, { ...inMarket, jobId: 1n, startMs: at(21), records: 8 });
  disjoint = await proveLane(f, { ...inMarket, jobId: 2n, startMs: at(200), records: 8, terms: terms(2n) });

  expect(await createJobAt(f, { at: T0, provider: p, budget: parseEther("10"), expiry: EXPIRY })).toBe(1n);
  await (await f.d.credit.connect(f.client).approve(marketAddress, parseEther("20"))).wait();
  for (let i = 0; i < 2; i++) {
    await (await market.connect(f.client).open(p, PRICE_PER_GPU_SECOND, EXPIRY, parseEther("10"))).wait();
  }
  await f.chain.mineAt(T0 + 600);
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

describe("a third-party marketplace on the UsageVerifier", () => {
  it("binds its jobs' tags to its own address, as the trace model computes them", async () => {
    const [t] = await market.jobOf(1n);
    // A Result is read-only: ethers cannot encode it back into a call, so copy the fields.
    const onChain = {
      jobId: t.jobId,
      provider: t.provider,
      client: t.client,
      token: t.token,
      price: t.price,
      expiry: t.expiry,
    };
    expect(onChain).toMatchObject({ ...terms(1n), provider: f.provider.address });
    const tag = await f.d.usageVerifier.jobTagOf(marketAddress, onChain);
    expect(tag).toBe(
      computeJobTag({
        chainId: f.chainId,
        escrow: marketAddress,
        jobId: 1n,
        provider: f.provider.address,
        terms: terms(1n),
      }),
    );
    expect(overlapping.trace.header.jobTag).toBe(tag);
  });

  it("pays proven usage at its own price, and the ledger refuses time another marketplace paid", async () => {
    // ComputeEscrow pays the worker's T0+1 … T0+41 s first.
    await (await f.d.escrow.submitSegment(1n, toSubmissionInput(inEscrow.segments[0]!.submission))).wait();
    // The example's job covers T0+21 … T0+61 s of the same GPU: refused by the shared ledger.
    const seg = overlapping.segments[0]!;
    await expectCustomError(
      market.settle(1n, [toSubmissionInput(seg.submission)]),
      "UsageVerifier__TimeAlreadyBilled",
      [w.keyHash, BigInt(seg.segment.tFirst), BigInt(inEscrow.segments[0]!.segment.tLast)],
    );
    // Disjoint work is paid: usage (bps·ms) / 1e7 GPU-seconds at the example's price.
    const before = await f.d.credit.balanceOf(f.provider.address);
    const d = disjoint.segments[0]!;
    await (await market.connect(f.stranger).settle(2n, [toSubmissionInput(d.submission)])).wait();
    const paid = (d.segment.usage * PRICE_PER_GPU_SECOND) / 10_000_000n;
    expect(paid).toBeGreaterThan(0n);
    expect((await f.d.credit.balanceOf(f.provider.address)) - before).toBe(paid);
    expect((await market.jobOf(2n))[1]).toBe(parseEther("10") - paid);
    // The same segment again is skipped by the ledger, not paid twice.
    await (await market.settle(2n, [toSubmissionInput(d.submission)])).wait();
    expect((await market.jobOf(2n))[1]).toBe(parseEther("10") - paid);
  });

  it("cannot book a proof made for another marketplace's job", async () => {
    // The escrow's job-1 proof sent to the example's job 1: its tag names another contract.
    await expectCustomError(
      market.settle(1n, [toSubmissionInput(inEscrow.segments[0]!.submission)]),
      "UsageVerifier__InvalidBatch",
      [8n, 1n],
    );
    // And the example's proof sent to the escrow's job 1.
    await expectCustomError(
      f.d.escrow.submitSegment(1n, toSubmissionInput(overlapping.segments[0]!.submission)),
      "UsageVerifier__InvalidProof",
    );
    // Only the provider's registered workers may bill its jobs there.
    const other = await testWorkerKey("integration-other");
    await registerWorker(f, f.provider2, other, "H100", "integration-other");
    // (The example's own errors are not in meterproof's ABI set: match the node's message.)
    await expect(
      market.settle(2n, [
        toSubmissionInput({ ...disjoint.segments[0]!.submission, workerKeyHash: other.keyHash }),
      ]),
    ).rejects.toThrow(/MinimalEscrow__NotProvidersWorker/);
  });
});
