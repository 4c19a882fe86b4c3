import { encodeBytes32String, parseEther, type Signer } from "ethers";
import { deployMeterproof, type MeterproofDeployment } from "../../chain/deploy.ts";
import type { StakeTermsOptions } from "../../chain/stake-terms.ts";
import { toSubmissionInput, type Submission } from "../../chain/submission.ts";
import { deployContract, type BatchEntryInput, type ComputeEscrow } from "../../contracts/index.ts";
import { proveKeyPossession } from "../../prover/key-possession.ts";
import { segmentPayout, type CheckedTrace, type JobTerms, type WorkerKey } from "../../trace/index.ts";
import { chainControl, connectHardhat } from "./hardhat.ts";
import {
  buildLaneTrace,
  proveSegments,
  testGpuUuidHash,
  testWorkerKey,
  type ProvenSegment,
} from "./segment-proof.ts";

/**
 * Jobs in the contract tests are created at fixed block times from T0 on, so their traces,
 * and so the cached proofs, are the same on every run (the escrow address is fixed too: a
 * fresh chain and the same deployer nonce).
 */
export const T0 = 2_000_000_000;
/** Job price: one credit per H100-equivalent hour. */
export const PRICE = parseEther("1");
export const SKEW_MS = 30_000;
export const GRACE_S = 3600;

export type Connection = Awaited<ReturnType<typeof connectHardhat>>;

/** A chain with meterproof deployed, a funded client and two providers. */
export interface BaseFixture {
  connection: Connection;
  chain: ReturnType<typeof chainControl>;
  d: MeterproofDeployment;
  chainId: bigint;
  escrowAddress: string;
  creditAddress: string;
  admin: Signer & { address: string };
  client: Signer & { address: string };
  provider: Signer & { address: string };
  provider2: Signer & { address: string };
  attestor: Signer & { address: string };
  stranger: Signer & { address: string };
}

/**
 * `stake` deploys the registry with bond and challenge terms; the deployment makes the same
 * transactions in the same order, so the escrow address (and the cached proofs) stay the same.
 */
export async function baseFixture(
  opts: { stake?: StakeTermsOptions; requireAttestation?: boolean } = {},
): Promise<BaseFixture> {
  const connection = await connectHardhat();
  const chain = chainControl(connection);
  const signers = await connection.ethers.getSigners();
  const signer = (i: number) => {
    const s = signers[i];
    if (!s) throw new Error(`the Hardhat network has no signer ${i}`);
    return s;
  };
  const [admin, client, provider, provider2, attestor, stranger] = [
    signer(0),
    signer(1),
    signer(2),
    signer(3),
    signer(4),
    signer(5),
  ];
  const d = await deployMeterproof({
    signer: admin,
    circuitSizes: [8],
    maxClockSkewMs: SKEW_MS,
    closeGracePeriod: GRACE_S,
    ...(opts.stake ? { stake: opts.stake } : {}),
    ...(opts.requireAttestation ? { requireAttestation: true } : {}),
  });
  const escrowAddress = d.addresses.escrow;
  await (await d.credit.mint(client.address, parseEther("1000"))).wait();
  await (await d.credit.connect(client).approve(escrowAddress, parseEther("1000"))).wait();
  await (await d.registry.grantRole(await d.registry.ATTESTOR_ROLE(), attestor.address)).wait();
  return {
    connection,
    chain,
    d,
    chainId: d.chainId,
    escrowAddress,
    creditAddress: d.addresses.credit,
    admin: admin,
    client: client,
    provider: provider,
    provider2: provider2,
    attestor: attestor,
    stranger: stranger,
  };
}

/** The proof that `provider`'s worker holds `key`, as WorkerRegistry.registerWorker takes it. */
export async function keyProofFor(f: BaseFixture, provider: Signer, key: WorkerKey): Promise<bigint[]> {
  const { proof } = await proveKeyPossession({
    key,
    chainId: f.chainId,
    registry: f.d.addresses.registry,
    provider: await provider.getAddress(),
  });
  return proof;
}

/** Registers a worker key for a provider, with its proof of key possession. */
export async function registerWorker(
  f: BaseFixture,
  provider: Signer,
  key: WorkerKey,
  deviceClass = "H100",
  gpu = String(key.keyHash % 1000n),
): Promise<void> {
  const proof = await keyProofFor(f, provider, key);
  await (
    await f.d.registry
      .connect(provider)
      .registerWorker(key.keyHash, encodeBytes32String(deviceClass), testGpuUuidHash(gpu), proof)
  ).wait();
}

/** The terms createJobAt gives a job (client, token, PRICE, expiry), which its jobTag commits to. */
export function jobTerms(
  f: BaseFixture,
  args: { expiry: number; client?: string; token?: string; price?: bigint },
): JobTerms {
  return {
    client: args.client ?? f.client.address,
    token: args.token ?? f.creditAddress,
    price: args.price ?? PRICE,
    expiry: BigInt(args.expiry),
  };
}

/** Creates a job at block time `at` (unix seconds); returns its id. */
export async function createJobAt(
  f: BaseFixture,
  args: { at: number; provider: string; budget: bigint; expiry: number; token?: string; client?: Signer },
): Promise<bigint> {
  const escrow: ComputeEscrow = f.d.escrow.connect(args.client ?? f.client);
  await f.chain.setNextTimestamp(args.at);
  const tx = await escrow.createJob(
    args.provider,
    args.token ?? f.creditAddress,
    args.budget,
    PRICE,
    args.expiry,
  );
  await tx.wait();
  return f.d.escrow.jobCount();
}

/** The entries of ComputeEscrow.submitSegments for segments of one job. */
export function batchOf(jobId: bigint, submissions: readonly Submission[]): BatchEntryInput[] {
  return submissions.map((s) => ({ jobId, submission: toSubmissionInput(s) }));
}

/** A proven lane: the trace of one worker in one job and its segment proofs. */
export interface ProvenLane {
  jobId: bigint;
  key: WorkerKey;
  trace: CheckedTrace;
  segments: ProvenSegment[];
}

/**
 * Builds and proves the trace of a worker in job `jobId` (which need not exist yet), bound to
 * the terms createJobAt gives a job of this expiry (or `terms`).
 */
export async function proveLane(
  f: BaseFixture,
  args: {
    jobId: bigint;
    provider: string;
    key: WorkerKey;
    startMs: number;
    records: number;
    expiry: number;
    terms?: JobTerms;
    intervalMs?: number;
    deviceClass?: string;
    /** The marketplace contract the job lives in (default: the fixture's ComputeEscrow). */
    market?: string;
    /** Energy of record `seq` in mJ (default plausible). */
    energyMj?: (seq: number) => number;
  },
): Promise<ProvenLane> {
  const trace = await buildLaneTrace({
    chainId: f.chainId,
    escrow: args.market ?? f.escrowAddress,
    jobId: args.jobId,
    provider: args.provider,
    terms: args.terms ?? jobTerms(f, { expiry: args.expiry }),
    key: args.key,
    deviceClass: args.deviceClass ?? "H100",
    startMs: args.startMs,
    intervalMs: args.intervalMs ?? 5000,
    records: args.records,
    ...(args.energyMj ? { energyMj: args.energyMj } : {}),
  });
  return { jobId: args.jobId, key: args.key, trace, segments: await proveSegments(trace) };
}

/** Payout of a segment at PRICE for a device weight, before the budget cap. */
export function payoutOf(seg: ProvenSegment, weightBps = 10_000n): bigint {
  return segmentPayout({ usage: seg.segment.usage, weightBps, price: PRICE });
}

/** A test token that re-enters the escrow, deployed and minted to the client. */
export async function deployReentrantToken(f: BaseFixture) {
  const token = await deployContract("ReentrantToken", [], f.admin);
  await (await token.mint(f.client.address, parseEther("1000"))).wait();
  await (await token.connect(f.client).approve(f.escrowAddress, parseEther("1000"))).wait();
  return token;
}

export { testWorkerKey };
