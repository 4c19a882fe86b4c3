import { encodeBytes32String, type Signer } from "ethers";
import { DEFAULT_ENERGY_RULE, checkEnergyRule, type EnergyRule } from "../challenge/energy-rule.ts";
import {
  deployBatchVerifier,
  deployChallengeVerifier,
  deployContract,
  deployKeyVerifier,
  deployVerifier,
  type ComputeCredit,
  type ComputeEscrow,
  type IGroth16Verifier5,
  type ISegmentBatchVerifier,
  type PlausibilityChallenge,
  type UsageVerifier,
  type SegmentVerifierRouter,
  type WorkerRegistry,
} from "../contracts/index.ts";
import { resolveStakeTerms, type StakeTermsArg, type StakeTermsOptions } from "./stake-terms.ts";

/**
 * Example rate card, in H100-equivalent basis points (H100 = 10000). The numbers are rough
 * ratios of dense BF16 throughput and are examples for a network to replace, not a standard.
 */
export const DEFAULT_RATE_CARD: Readonly<Record<string, number>> = {
  H200: 11_000,
  H100: 10_000,
  A100: 4_000,
  L40S: 3_600,
  RTX4090: 2_500,
  A10: 1_500,
  T4: 500,
  CPU: 100,
};

/** How far (ms) a worker's clock may be off the chain's when windows are checked. */
export const DEFAULT_MAX_CLOCK_SKEW_MS = 30_000;
/** Seconds after a job's expiry during which the provider may still submit and the client may not close. */
export const DEFAULT_CLOSE_GRACE_PERIOD = 86_400;

/** The deployed meterproof contracts. */
export interface MeterproofDeployment {
  chainId: bigint;
  credit: ComputeCredit;
  registry: WorkerRegistry;
  router: SegmentVerifierRouter;
  /** Verifies segment proofs for any marketplace and keeps the worker-time ledger. */
  usageVerifier: UsageVerifier;
  escrow: ComputeEscrow;
  /** The registry's bond and challenge terms, as deployed. */
  stakeTerms: StakeTermsArg;
  /** Generated Groth16 verifiers by circuit id (segment size N). */
  verifiers: Map<number, IGroth16Verifier5>;
  /** Generated batch verifiers (one multi-pairing for many proofs) by circuit id. */
  batchVerifiers: Map<number, ISegmentBatchVerifier>;
  /** Where anyone proves an implausible pending record (deployed with a challenge window). */
  challenge?: { contract: PlausibilityChallenge; maxRecords: number; rule: EnergyRule };
  addresses: {
    credit: string;
    /** Verifier of worker-key possession proofs, which the registry calls. */
    keyVerifier: string;
    registry: string;
    router: string;
    usageVerifier: string;
    escrow: string;
    verifiers: Record<string, string>;
    batchVerifiers: Record<string, string>;
    /** PlausibilityChallenge and its Groth16 verifier, with a challenge window. */
    challenge?: string;
    challengeVerifier?: string;
  };
}

export interface DeployOptions {
  /** Deploys and pays gas; becomes the network admin unless `admin` is given. */
  signer: Signer;
  /** Network admin (rate card, verifiers, pauser, attestor grants). Default: the signer. */
  admin?: string;
  /** Segment sizes whose generated verifiers to deploy and register (default [8]). */
  circuitSizes?: readonly number[];
  /** Device class → weight in H100-equivalent bps (default DEFAULT_RATE_CARD). */
  rateCard?: Readonly<Record<string, number>>;
  maxClockSkewMs?: number;
  closeGracePeriod?: number;
  requireAttestation?: boolean;
  /** Bonds and challenge window (default: off). */
  stake?: StakeTermsOptions;
  /**
   * The plausibility challenge, deployed when the challenge window is on, for the largest of
   * circuitSizes (it covers every smaller segment): its energy rule (default
   * DEFAULT_ENERGY_RULE). `false` leaves it out.
   */
  challenge?: { rule?: EnergyRule } | false;
}

/**
 * Deploys the whole set (ComputeCredit, the key-possession verifier and the WorkerRegistry
 * that calls it, SegmentVerifierRouter with the generated single and batch verifiers of each
 * circuit size, the UsageVerifier over it, ComputeEscrow), registers the verifiers and sets the
 * rate card. Used by the tests, the demo and `meterproof deploy`; the Hardhat Ignition module
 * in ignition/modules/Meterproof.ts deploys the same set.
 */
export async function deployMeterproof(opts: DeployOptions): Promise<MeterproofDeployment> {
  const { signer } = opts;
  const admin = opts.admin ?? (await signer.getAddress());
  const sizes = opts.circuitSizes ?? [8];
  const rateCard = opts.rateCard ?? DEFAULT_RATE_CARD;
  const chainId = (await signer.provider!.getNetwork()).chainId;

  // Configuration calls are made by the signer, so it holds the admin role until the end.
  const deployer = await signer.getAddress();
  const credit = await deployContract("ComputeCredit", [admin], signer);
  const keyVerifier = await deployKeyVerifier(signer);
  // Resolved before any transaction of the registry: bad terms fail here, naming the option.
  const stakeTerms = resolveStakeTerms(opts.stake, await credit.getAddress());
  const registry = await deployContract(
    "WorkerRegistry",
    [deployer, opts.requireAttestation ?? false, await keyVerifier.getAddress(), stakeTerms],
    signer,
  );
  const router = await deployContract("SegmentVerifierRouter", [deployer], signer);
  const verifiers = new Map<number, IGroth16Verifier5>();
  const batchVerifiers = new Map<number, ISegmentBatchVerifier>();
  for (const size of sizes) {
    const verifier = await deployVerifier(size, signer);
    verifiers.set(size, verifier);
    await (await router.setVerifier(size, await verifier.getAddress())).wait();
    const batchVerifier = await deployBatchVerifier(size, signer);
    batchVerifiers.set(size, batchVerifier);
    await (await router.setBatchVerifier(size, await batchVerifier.getAddress())).wait();
  }
  const usageVerifier = await deployContract("UsageVerifier", [await router.getAddress()], signer);
  const escrow = await deployContract(
    "ComputeEscrow",
    [
      deployer,
      await registry.getAddress(),
      await usageVerifier.getAddress(),
      opts.maxClockSkewMs ?? DEFAULT_MAX_CLOCK_SKEW_MS,
      opts.closeGracePeriod ?? DEFAULT_CLOSE_GRACE_PERIOD,
    ],
    signer,
  );
  for (const [deviceClass, weight] of Object.entries(rateCard)) {
    await (await escrow.setDeviceWeight(encodeBytes32String(deviceClass), weight)).wait();
  }
  const terms =
    opts.challenge === false
      ? undefined
      : challengeTerms(stakeTerms.challengeWindow, sizes, opts.challenge?.rule, "challenge.rule");
  const challenge = terms ? await deployChallenge(signer, escrow, registry, terms) : undefined;
  if (admin.toLowerCase() !== deployer.toLowerCase()) {
    await handOver(escrow, admin, deployer, [await escrow.PAUSER_ROLE()]);
    await handOver(registry, admin, deployer, []);
    await handOver(router, admin, deployer, []);
  }

  const addressesOf = async (m: Map<number, { getAddress(): Promise<string> }>) => {
    const out: Record<string, string> = {};
    for (const [size, v] of m) out[String(size)] = await v.getAddress();
    return out;
  };
  return {
    chainId,
    credit,
    registry,
    router,
    usageVerifier,
    escrow,
    stakeTerms,
    verifiers,
    batchVerifiers,
    ...(challenge
      ? { challenge: { contract: challenge.contract, maxRecords: challenge.size, rule: challenge.rule } }
      : {}),
    addresses: {
      credit: await credit.getAddress(),
      keyVerifier: await keyVerifier.getAddress(),
      registry: await registry.getAddress(),
      router: await router.getAddress(),
      usageVerifier: await usageVerifier.getAddress(),
      escrow: await escrow.getAddress(),
      verifiers: await addressesOf(verifiers),
      batchVerifiers: await addressesOf(batchVerifiers),
      ...(challenge ? { challenge: challenge.address, challengeVerifier: challenge.verifierAddress } : {}),
    },
  };
}

/**
 * The plausibility challenge a deployment with this window gets: none without a window, else
 * the circuit of the largest segment size (it covers every smaller one) and the rule (default
 * DEFAULT_ENERGY_RULE), checked against the bounds the circuit and contract enforce.
 */
export function challengeTerms(
  challengeWindow: bigint,
  circuitSizes: readonly number[],
  rule: EnergyRule | undefined,
  field: string,
): { size: number; rule: EnergyRule } | undefined {
  if (challengeWindow === 0n) return undefined;
  return {
    size: Math.max(...circuitSizes),
    rule: checkEnergyRule(rule ?? { ...DEFAULT_ENERGY_RULE }, field),
  };
}

/**
 * Deploys ImplausibleRecord(size)'s verifier and the PlausibilityChallenge over the escrow,
 * and grants it the registry's slasher role (the signer is still the registry's admin here).
 */
async function deployChallenge(
  signer: Signer,
  escrow: ComputeEscrow,
  registry: WorkerRegistry,
  args: { size: number; rule: EnergyRule },
) {
  const verifier = await deployChallengeVerifier(args.size, signer);
  const verifierAddress = await verifier.getAddress();
  const contract = await deployContract(
    "PlausibilityChallenge",
    [await escrow.getAddress(), verifierAddress, args.size, args.rule],
    signer,
  );
  const address = await contract.getAddress();
  await (await registry.grantRole(await registry.SLASHER_ROLE(), address)).wait();
  return { contract, address, verifierAddress, ...args };
}

/** Grants the admin role (and `extraRoles`) to `admin` and gives up the deployer's. */
async function handOver(
  contract: ComputeEscrow | WorkerRegistry | SegmentVerifierRouter,
  admin: string,
  deployer: string,
  extraRoles: string[],
): Promise<void> {
  const adminRole = await contract.DEFAULT_ADMIN_ROLE();
  for (const role of [...extraRoles, adminRole]) {
    await (await contract.grantRole(role, admin)).wait();
  }
  for (const role of [...extraRoles, adminRole]) {
    await (await contract.renounceRole(role, deployer)).wait();
  }
}
