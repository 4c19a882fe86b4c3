import type { Command } from "commander";
import { withChainOptions, type ChainOptions } from "../chain-options.ts";
import { CliError, EXIT_FAILED } from "../output.ts";

interface DeployOptions extends ChainOptions {
  sizes?: string;
  out?: string;
  journal?: string;
  maxClockSkewMs: string;
  closeGracePeriod: string;
  requireAttestation?: boolean;
  bondToken?: string;
  minimumBond?: string;
  unbondDelay?: string;
  challengeWindow: string;
  reporterShareBps: string;
  treasury?: string;
  energyRule: string;
}

const ZERO_ADDRESS = "0x0000000000000000000000000000000000000000";

function nonNegativeInt(flag: string, v: string, max: number): number {
  if (!/^[0-9]+$/.test(v) || Number(v) > max)
    throw new CliError(`${flag} must be an integer from 0 to ${max}, got ${JSON.stringify(v)}`);
  return Number(v);
}

export function registerDeploy(program: Command): void {
  const cmd = program
    .command("deploy")
    .description(
      "deploy ComputeCredit, WorkerRegistry, SegmentVerifierRouter with one Groth16 verifier per circuit size, and " +
        "ComputeEscrow through Hardhat Ignition; the signer becomes the network admin. Writes a deployment file " +
        "for the other commands' --deployment",
    )
    .option(
      "--sizes <list>",
      "circuit sizes whose verifiers to deploy, e.g. 8,64 (default: every built one of 8 and 64)",
    )
    .option(
      "--out <file>",
      "deployment file to write, never overwritten (default: meterproof-deployment-<chainId>.json)",
    )
    .option(
      "--journal <dir>",
      "Ignition's journal; run again with the same one to resume an interrupted deployment (default: the --out path with .ignition instead of .json)",
    )
    .option("--max-clock-skew-ms <ms>", "how far a worker's clock may be off the chain's", "30000")
    .option(
      "--close-grace-period <seconds>",
      "time after a job's expiry during which the provider may still submit and the client may not close",
      "86400",
    );
  withChainOptions(cmd)
    .option("--require-attestation", "workers must be approved by an attestor before they earn")
    .option(
      "--bond-token <address|credit>",
      "ERC-20 that providers bond per worker (credit: the ComputeCredit deployed here); default: no bonds",
    )
    .option(
      "--minimum-bond <amount>",
      "bond a worker needs to earn, in whole tokens (100) or base units (100units); needs --bond-token",
    )
    .option(
      "--challenge-window <seconds>",
      "how long an accepted payout stays pending and can be taken back by a revocation for cause (0: paid at once)",
      "0",
    )
    .option(
      "--unbond-delay <seconds>",
      "time from an unbond request until the stake may leave (default and minimum with bonds: twice the challenge window)",
    )
    .option(
      "--reporter-share-bps <bps>",
      "share of a slashed bond paid to the reporter, in basis points (the rest goes to --treasury or is burned)",
      "0",
    )
    .option("--treasury <address>", "receives the rest of a slashed bond (default: burned)")
    .option(
      "--energy-rule <lo,hi,slack>",
      "with a challenge window, the plausibility challenge's rule: energy between lo and hi bps of power × time, " +
        "give or take slack µJ (anyone who proves a pending record outside it revokes the key for cause)",
      "5000,15000,40000",
    );
  cmd.action(async (opts: DeployOptions) => {
    const { existsSync, mkdirSync } = await import("node:fs");
    const { dirname } = await import("node:path");
    const {
      hasVerifierArtifact,
      hasChallengeVerifierArtifact,
      loadArtifact,
      verifierContractName,
      challengeVerifierContractName,
    } = await import("../../contracts/index.ts");
    const { connectRpc, signingKey } = await import("../wallet.ts");
    const { deployWithIgnition, IgnitionDeployError } = await import("../../chain/ignition-deploy.ts");
    const { writeDeploymentFile, deploymentToJson } = await import("../../chain/deployment-file.ts");
    const { toJsonText } = await import("../chain-session.ts");

    // In a checkout, compile first: the verifiers `meterproof setup` generated join the build
    // (Hardhat's cache makes this quick when nothing changed). An installed package ships its artifacts.
    const { buildContractsInCheckout } = await import("../../chain/hardhat-build.ts");
    await buildContractsInCheckout((line) => console.error(`meterproof: ${line}`));
    const maxClockSkewMs = nonNegativeInt("--max-clock-skew-ms", opts.maxClockSkewMs, 2 ** 48);
    const closeGracePeriod = nonNegativeInt("--close-grace-period", opts.closeGracePeriod, 2 ** 48);
    const challengeWindow = nonNegativeInt("--challenge-window", opts.challengeWindow, 2 ** 48);
    const reporterShareBps = nonNegativeInt("--reporter-share-bps", opts.reporterShareBps, 10_000);
    const unbondDelay =
      opts.unbondDelay === undefined
        ? undefined
        : nonNegativeInt("--unbond-delay", opts.unbondDelay, 2 ** 48);
    const { parseAmount, toUnits } = await import("../amounts.ts");
    const { checkAddress } = await import("../chain-session.ts");
    if (opts.bondToken !== undefined && opts.bondToken !== "credit")
      checkAddress("--bond-token", opts.bondToken);
    if (opts.treasury !== undefined) checkAddress("--treasury", opts.treasury);
    if (opts.minimumBond !== undefined && opts.bondToken === undefined)
      throw new CliError("--minimum-bond needs --bond-token (without a bond token there are no bonds)");
    if (opts.bondToken !== undefined && unbondDelay !== undefined && unbondDelay < 2 * challengeWindow)
      throw new CliError(
        `--unbond-delay must be at least twice --challenge-window (${2 * challengeWindow} s): a payout stays pending up to two windows`,
      );
    const minimumBondSpec =
      opts.minimumBond === undefined ? undefined : parseAmount("--minimum-bond", opts.minimumBond);
    let sizes: number[];
    if (opts.sizes !== undefined) {
      sizes = [
        ...new Set(
          opts.sizes.split(",").map((s) => {
            const t = s.trim();
            if (!/^[1-9][0-9]*$/.test(t) || Number(t) >= 2 ** 32)
              throw new CliError(
                `--sizes must list circuit sizes (integers from 1 to 2^32-1) separated by commas, got ${JSON.stringify(opts.sizes)}`,
              );
            return Number(t);
          }),
        ),
      ];
      for (const size of sizes) {
        if (!hasVerifierArtifact(size))
          throw new CliError(
            `--sizes ${size}: the verifier ${verifierContractName(size)} is not built: run \`meterproof setup --size ${size}\` first`,
          );
      }
    } else {
      sizes = [8, 64].filter((size) => hasVerifierArtifact(size));
      if (sizes.length === 0)
        throw new CliError(
          "no circuit verifier is built: run `meterproof setup --size 64` (or 8) first, or name sizes with --sizes",
        );
    }
    const challengeRule = challengeWindow > 0 ? await parseEnergyRule(opts.energyRule) : undefined;
    if (challengeRule && !hasChallengeVerifierArtifact(Math.max(...sizes)))
      throw new CliError(
        `--challenge-window: the plausibility challenge needs the verifier ${challengeVerifierContractName(Math.max(...sizes))}: ` +
          `run \`meterproof setup --size ${Math.max(...sizes)}\` first`,
      );
    for (const name of ["ComputeCredit", "WorkerRegistry", "SegmentVerifierRouter", "ComputeEscrow"]) {
      try {
        loadArtifact(name);
      } catch (err) {
        throw new CliError((err as Error).message);
      }
    }

    const privateKey = await signingKey(opts);
    const rpc = await connectRpc(opts.rpc);
    let minimumBond: bigint | undefined;
    try {
      if (minimumBondSpec !== undefined) {
        // ComputeCredit has 18 decimals; another token is asked.
        let decimals: number | undefined = 18;
        if (opts.bondToken !== "credit" && "tokens" in minimumBondSpec) {
          const { attachContract } = await import("../../contracts/index.ts");
          decimals = await attachContract("ComputeCredit", opts.bondToken!, rpc.provider)
            .decimals()
            .then(Number, () => undefined);
        }
        minimumBond = toUnits("--minimum-bond", minimumBondSpec, decimals);
      }
    } finally {
      rpc.provider.destroy();
    }
    const out = opts.out ?? `meterproof-deployment-${rpc.chainId}.json`;
    if (existsSync(out))
      throw new CliError(
        `--out ${out} exists: a deployment file is never overwritten; remove it or choose another path`,
      );
    const journalDir = opts.journal ?? `${out.replace(/\.json$/, "")}.ignition`;
    console.error(
      `meterproof: deploying to chain ${rpc.chainId} through Hardhat Ignition (verifiers for sizes ${sizes.join(", ")}; journal ${journalDir})`,
    );

    let deployment;
    try {
      deployment = await deployWithIgnition({
        rpcUrl: opts.rpc,
        privateKey,
        circuitSizes: sizes,
        maxClockSkewMs,
        closeGracePeriod,
        requireAttestation: opts.requireAttestation ?? false,
        stake: {
          ...(opts.bondToken !== undefined ? { bondToken: opts.bondToken } : {}),
          ...(minimumBond !== undefined ? { minimumBond } : {}),
          ...(unbondDelay !== undefined ? { unbondDelay } : {}),
          challengeWindow,
          reporterShareBps,
          ...(opts.treasury !== undefined ? { treasury: opts.treasury } : {}),
        },
        ...(challengeRule ? { challengeRule } : {}),
        journalDir,
      });
    } catch (err) {
      const { StakeTermsError } = await import("../../chain/stake-terms.ts");
      if (err instanceof StakeTermsError) throw new CliError(err.message);
      if (err instanceof IgnitionDeployError)
        throw new CliError(`deployment failed: ${err.message}`, EXIT_FAILED);
      // Hardhat's own errors (e.g. a node that stopped answering) carry a readable message.
      if (err instanceof Error && err.name === "HardhatError") throw new CliError(err.message, EXIT_FAILED);
      throw err;
    }
    mkdirSync(dirname(out), { recursive: true });
    writeDeploymentFile(out, deployment);

    if (opts.json) {
      console.log(toJsonText({ file: out, journal: journalDir, ...deploymentToJson(deployment) }));
      return;
    }
    const a = deployment.addresses;
    console.log(`deployed meterproof on chain ${deployment.chainId} from block ${deployment.block}`);
    const rows: [string, string][] = [
      ["ComputeCredit", a.credit],
      ["WorkerRegistry", a.registry],
      ["SegmentVerifierRouter", a.router],
      ...Object.entries(a.verifiers).map(([size, address]): [string, string] => [
        verifierContractName(Number(size)),
        address,
      ]),
      ["ComputeEscrow", a.escrow],
      ...(a.challenge ? ([["PlausibilityChallenge", a.challenge]] as [string, string][]) : []),
    ];
    const width = Math.max(...rows.map(([name]) => name.length)) + 2;
    for (const [name, address] of rows) console.log(`  ${name.padEnd(width)}${address}`);
    console.log(`network admin (every role): ${deployment.deployer}`);
    const st = deployment.parameters.stake;
    if (st && (st.challengeWindow !== 0 || st.bondToken !== ZERO_ADDRESS))
      console.log(
        `stake terms: bond token ${st.bondToken}, minimum bond ${st.minimumBond} units, challenge window ${st.challengeWindow} s, ` +
          `unbond delay ${st.unbondDelay} s, reporter share ${st.reporterShareBps} bps, treasury ${st.treasury}`,
      );
    const ch = deployment.parameters.challenge;
    if (ch)
      console.log(
        `plausibility challenge: segments of up to ${ch.maxRecords} records, energy within ${ch.loBps}–${ch.hiBps} bps ` +
          `of power × time ± ${ch.slackMicroJ} µJ (\`meterproof challenge TRACE\` proves a record outside it)`,
      );
    console.log(`wrote ${out} (Ignition journal in ${journalDir})`);
    if (opts.requireAttestation) {
      // Without these two steps no worker of this network can ever be paid.
      console.log(
        "workers earn only once an attestor approves them: grant the role " +
          "(`meterproof network grant-role ATTESTOR_ROLE ADDRESS`), then the attestor approves each worker key " +
          "(`meterproof worker approve`, or `meterproof attest` with hardware evidence)",
      );
    }
  });
}

/** `--energy-rule lo,hi,slack`, checked against the bounds the circuit and contract enforce. */
async function parseEnergyRule(text: string) {
  const { checkEnergyRule } = await import("../../challenge/energy-rule.ts");
  const { TraceError } = await import("../../trace/index.ts");
  const parts = text.split(",").map((p) => p.trim());
  if (parts.length !== 3 || parts.some((p) => !/^[0-9]+$/.test(p)))
    throw new CliError(
      `--energy-rule must be three integers lo,hi,slack (bps, bps, µJ), got ${JSON.stringify(text)}`,
    );
  const [loBps, hiBps, slackMicroJ] = parts.map(Number) as [number, number, number];
  try {
    return checkEnergyRule({ loBps, hiBps, slackMicroJ }, "--energy-rule");
  } catch (err) {
    if (err instanceof TraceError) throw new CliError(err.message);
    throw err;
  }
}
