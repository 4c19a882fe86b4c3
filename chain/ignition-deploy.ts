/**
 * Deploys the meterproof set to any JSON-RPC endpoint through the Hardhat Ignition module
 * ignition/modules/Meterproof.ts. Hardhat is driven as a library: a runtime environment is
 * built from the repository's hardhat.config.ts plus one HTTP network for the given URL and
 * key, and Ignition's `deploy` runs against that network's provider with a journal in a
 * directory of the caller's choosing (so an interrupted deployment resumes where it stopped).
 */
import { join } from "node:path";
import { ZeroAddress, getAddress } from "ethers";
import type { DeploymentFile } from "./deployment-file.ts";
import { resolveStakeTerms, type StakeTermsOptions } from "./stake-terms.ts";
import type { EnergyRule } from "../challenge/energy-rule.ts";
import { challengeTerms } from "./deploy.ts";
import { REPO_ROOT, batchVerifierContractName, verifierContractName } from "../contracts/index.ts";

export interface IgnitionDeployOptions {
  rpcUrl: string;
  /** 0x-prefixed 32-byte hex key of the deployer, who becomes the network admin. */
  privateKey: string;
  /** Segment sizes whose generated verifiers to deploy and register. */
  circuitSizes: readonly number[];
  maxClockSkewMs: number;
  closeGracePeriod: number;
  requireAttestation: boolean;
  /** Bonds and challenge window (default: off). */
  stake?: StakeTermsOptions;
  /** The plausibility challenge's energy rule (default DEFAULT_ENERGY_RULE); deployed with a challenge window. */
  challengeRule?: EnergyRule;
  /** Ignition's journal: reusing it resumes (or reports) the deployment it records. */
  journalDir: string;
  /** Milliseconds between receipt polls (default 1000, Ignition's own). */
  pollIntervalMs?: number;
}

/** Ignition's own failure (validation, reconciliation with the journal, execution). */
export class IgnitionDeployError extends Error {
  override readonly name = "IgnitionDeployError";
}

/** Ignition future ids of the module's contracts. */
const FUTURES = {
  credit: "Meterproof#ComputeCredit",
  keyVerifier: "Meterproof#KeyPossessionGroth16Verifier",
  registry: "Meterproof#WorkerRegistry",
  router: "Meterproof#SegmentVerifierRouter",
  usageVerifier: "Meterproof#UsageVerifier",
  escrow: "Meterproof#ComputeEscrow",
} as const;

export async function deployWithIgnition(opts: IgnitionDeployOptions): Promise<DeploymentFile> {
  const { createHardhatRuntimeEnvironment, importUserConfig } = await import("hardhat/hre");
  const { deploy, listTransactions, DeploymentResultType, TransactionStatus } =
    await import("@nomicfoundation/ignition-core");
  const { HardhatArtifactResolver, errorDeploymentResultToExceptionMessage } =
    await import("@nomicfoundation/hardhat-ignition/helpers");
  const { meterproofModule } = await import("../ignition/modules/Meterproof.ts");

  const configPath = join(REPO_ROOT, "hardhat.config.ts");
  const userConfig = await importUserConfig(configPath);
  const hre = await createHardhatRuntimeEnvironment(
    {
      ...userConfig,
      networks: {
        ...userConfig.networks,
        meterproofTarget: { type: "http", url: opts.rpcUrl, accounts: [opts.privateKey] },
      },
    },
    { config: configPath },
    REPO_ROOT,
  );
  const connection = await hre.network.create("meterproofTarget");
  try {
    const request = (method: string, params: unknown[] = []) =>
      connection.provider.request({ method, params });
    const accounts = (await request("eth_accounts")) as string[];
    const deployer = accounts[0];
    if (deployer === undefined) throw new IgnitionDeployError("the deployer key gave no account");
    const chainId = BigInt((await request("eth_chainId")) as string);
    const artifactResolver = new HardhatArtifactResolver(hre.artifacts);
    // Checked before Ignition sends anything; "credit" stands for the set's own token.
    const bondWithCredit = opts.stake?.bondToken === "credit";
    const terms = resolveStakeTerms(opts.stake, ZeroAddress);
    const challenge = challengeTerms(
      terms.challengeWindow,
      opts.circuitSizes,
      opts.challengeRule,
      "challengeRule",
    );

    const result = await deploy({
      provider: connection.provider,
      artifactResolver,
      ignitionModule: meterproofModule(opts.circuitSizes, {
        bondWithCredit,
        ...(challenge ? { challenge } : {}),
      }),
      deploymentParameters: {
        Meterproof: {
          maxClockSkewMs: opts.maxClockSkewMs,
          closeGracePeriod: opts.closeGracePeriod,
          requireAttestation: opts.requireAttestation,
          bondToken: terms.token,
          minimumBond: terms.minimumBond,
          unbondDelay: terms.unbondDelay,
          challengeWindow: terms.challengeWindow,
          reporterShareBps: terms.reporterShareBps,
          treasury: terms.treasury,
        },
      },
      accounts,
      deploymentDir: opts.journalDir,
      config: { blockPollingInterval: opts.pollIntervalMs ?? 1000 },
    });
    if (result.type !== DeploymentResultType.SUCCESSFUL_DEPLOYMENT) {
      throw new IgnitionDeployError(errorDeploymentResultToExceptionMessage(result));
    }
    const addressOf = (futureId: string): string => {
      const c = result.contracts[futureId];
      if (!c) throw new IgnitionDeployError(`Ignition returned no contract for ${futureId}`);
      return getAddress(c.address);
    };
    const verifiers: Record<string, string> = {};
    const batchVerifiers: Record<string, string> = {};
    for (const size of opts.circuitSizes) {
      verifiers[String(size)] = addressOf(`Meterproof#Verifier${size}`);
      batchVerifiers[String(size)] = addressOf(`Meterproof#BatchVerifier${size}`);
    }
    const addresses = {
      credit: addressOf(FUTURES.credit),
      keyVerifier: addressOf(FUTURES.keyVerifier),
      registry: addressOf(FUTURES.registry),
      router: addressOf(FUTURES.router),
      usageVerifier: addressOf(FUTURES.usageVerifier),
      escrow: addressOf(FUTURES.escrow),
      verifiers,
      batchVerifiers,
      ...(challenge
        ? {
            challenge: addressOf("Meterproof#PlausibilityChallenge"),
            challengeVerifier: addressOf(`Meterproof#ChallengeVerifier${challenge.size}`),
          }
        : {}),
    };

    // A journal replayed against a chain that was reset reports contracts that are not there.
    for (const [name, address] of [
      ...Object.entries(addresses).filter((e): e is [string, string] => typeof e[1] === "string"),
      ...Object.entries(verifiers).map(([n, a]) => [verifierContractName(Number(n)), a]),
      ...Object.entries(batchVerifiers).map(([n, a]) => [batchVerifierContractName(Number(n)), a]),
    ] as [string, string][]) {
      if ((await request("eth_getCode", [address, "latest"])) === "0x") {
        throw new IgnitionDeployError(
          `the journal in ${opts.journalDir} records ${name} at ${address}, but chain ${chainId} has no code there ` +
            "(was the chain reset?): remove the journal directory or choose another one",
        );
      }
    }

    let block: number | undefined;
    for (const tx of await listTransactions(opts.journalDir, artifactResolver)) {
      if (tx.status !== TransactionStatus.SUCCESS) continue;
      const receipt = (await request("eth_getTransactionReceipt", [tx.txHash])) as {
        blockNumber: string;
      } | null;
      if (receipt) block = Math.min(block ?? Infinity, Number(BigInt(receipt.blockNumber)));
    }

    return {
      kind: "meterproof-deployment",
      version: 2,
      chainId,
      deployer: getAddress(deployer),
      block: block ?? Number(BigInt((await request("eth_blockNumber")) as string)),
      addresses,
      parameters: {
        maxClockSkewMs: opts.maxClockSkewMs,
        closeGracePeriod: opts.closeGracePeriod,
        requireAttestation: opts.requireAttestation,
        stake: {
          bondToken: bondWithCredit ? addresses.credit : terms.token,
          minimumBond: terms.minimumBond.toString(),
          unbondDelay: Number(terms.unbondDelay),
          challengeWindow: Number(terms.challengeWindow),
          reporterShareBps: terms.reporterShareBps,
          treasury: terms.treasury,
        },
        ...(challenge ? { challenge: { maxRecords: challenge.size, ...challenge.rule } } : {}),
      },
    };
  } finally {
    await connection.close();
  }
}
