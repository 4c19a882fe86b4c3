import type { Command } from "commander";
import type { AttestationResult } from "../../attest/attest.ts";
import { withChainOptions, type ChainOptions } from "../chain-options.ts";
import { CliError, EXIT_FAILED } from "../output.ts";
import { asCliError } from "./attest-errors.ts";

interface ChallengeOptions {
  keyHash: string;
  chainId?: string;
  registry?: string;
  deployment?: string;
  ttl: string;
  out: string;
}

interface VerifyOptions {
  evidence: string;
  challenge: string;
  policy: string;
  at?: string;
  json?: boolean;
}

interface ApproveOptions extends ChainOptions {
  evidence: string;
  challenge: string;
  policy: string;
  expires: string;
}

const DURATION = /^([0-9]+)([smhd])$/;
const SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** Reads the three files an attestor checks; input problems exit 2 before any checking. */
async function loadInputs(opts: { evidence: string; challenge: string; policy: string }) {
  const { readChallengeFile, readEvidenceFile } = await import("../../attest/files.ts");
  const { loadPolicy } = await import("../../attest/policy.ts");
  try {
    return {
      evidence: readEvidenceFile(opts.evidence),
      challenge: readChallengeFile(opts.challenge),
      policy: loadPolicy(opts.policy),
    };
  } catch (err) {
    throw await asCliError(err);
  }
}

function printResult(r: AttestationResult): void {
  console.log(`  format          ${r.format}`);
  console.log(`  worker key      ${r.workerKeyHash}`);
  console.log(`  signed by       ${r.signer}`);
  console.log(`  measurement     ${r.measurement}`);
  console.log(`  device id       ${r.deviceId ?? "none in the evidence"}`);
  console.log(`  device id hash  ${r.deviceIdHash}`);
  console.log(`  evidence hash   ${r.evidenceHash}`);
  console.log(`  valid           ${r.validFrom.toISOString()} to ${r.validUntil.toISOString()}`);
  for (const [k, v] of Object.entries(r.details)) console.log(`  ${k.padEnd(15)} ${v}`);
  // A policy may pin a test CA (tests, the demo): say so wherever its evidence is shown.
  if (/TEST CA|test-ca\.invalid/.test(`${r.signer} ${r.details.root ?? ""}`))
    console.log("  NOTE            signed by a test CA — not vendor evidence");
}

/** `meterproof attest`: the attestor's side of worker attestation (docs/attestation.md). */
export function registerAttest(program: Command): void {
  const attest = program
    .command("attest")
    .description(
      "check hardware attestation evidence of a worker key (AMD SEV-SNP report, NVIDIA result token) and approve the key on chain",
    );

  attest
    .command("challenge")
    .description(
      "issue a fresh challenge for one worker key on one registry and chain; the provider answers it with `meterproof worker attest`",
    )
    .requiredOption("--key-hash <hash>", "the worker key hash (decimal), as `meterproof keygen` printed it")
    .option("--deployment <file>", "deployment file: the chain id and WorkerRegistry address")
    .option("--chain-id <id>", "chain id (without --deployment)")
    .option("--registry <address>", "WorkerRegistry address (without --deployment)")
    .option("--ttl <duration>", "how long the challenge may be answered (s, m, h or d)", "1h")
    .requiredOption("--out <file>", "challenge file to write (never overwritten)")
    .action(async (opts: ChallengeOptions) => {
      const { newChallenge } = await import("../../attest/binding.ts");
      const { attestationBinding } = await import("../../attest/binding.ts");
      const { writeJsonFile } = await import("../../attest/files.ts");
      const { checkAddress } = await import("../chain-session.ts");
      if (!/^[0-9]+$/.test(opts.keyHash))
        throw new CliError(`--key-hash must be a decimal integer, got ${opts.keyHash}`);
      const ttl = DURATION.exec(opts.ttl);
      if (!ttl) throw new CliError(`--ttl must be a duration such as 30m or 1h, got ${opts.ttl}`);
      let chainId: bigint;
      let registry: string;
      if (opts.deployment !== undefined) {
        if (opts.chainId !== undefined || opts.registry !== undefined)
          throw new CliError("give --deployment or --chain-id and --registry, not both");
        const { readDeploymentFile, DeploymentFileError } = await import("../../chain/deployment-file.ts");
        try {
          const d = readDeploymentFile(opts.deployment);
          chainId = d.chainId;
          registry = d.addresses.registry;
        } catch (err) {
          throw err instanceof DeploymentFileError ? new CliError(`--deployment ${err.message}`) : err;
        }
      } else {
        if (opts.chainId === undefined || opts.registry === undefined)
          throw new CliError("give --deployment FILE, or both --chain-id and --registry");
        if (!/^[1-9][0-9]*$/.test(opts.chainId))
          throw new CliError(`--chain-id must be a positive integer, got ${opts.chainId}`);
        chainId = BigInt(opts.chainId);
        registry = checkAddress("--registry", opts.registry);
      }
      const challenge = newChallenge();
      const target = { workerKeyHash: BigInt(opts.keyHash), chainId, registry, challenge };
      try {
        attestationBinding(target); // checks the key hash is a field element
      } catch (err) {
        throw await asCliError(err);
      }
      const issued = new Date();
      const body = {
        kind: "meterproof-attestation-challenge",
        version: 1,
        challenge,
        workerKeyHash: opts.keyHash,
        chainId: chainId.toString(),
        registry,
        issuedAt: issued.toISOString(),
        expiresAt: new Date(issued.getTime() + Number(ttl[1]) * SECONDS[ttl[2]!]! * 1000).toISOString(),
      };
      try {
        writeJsonFile(opts.out, body);
      } catch (err) {
        throw new CliError(`--out ${opts.out}: ${(err as Error).message}`);
      }
      console.log(
        `wrote ${opts.out}: challenge ${challenge} for worker key ${opts.keyHash}, until ${body.expiresAt}`,
      );
      console.log(
        `the provider answers it with: meterproof worker attest --challenge ${opts.out} --key … --format …`,
      );
    });

  attest
    .command("verify")
    .description(
      "check evidence against the challenge and the policy (pinned roots, measurement allow-list) without touching the chain, " +
        "also the evidence behind an approval already made (a used challenge); exit 1 when refused",
    )
    .requiredOption("--evidence <file>", "evidence file from `meterproof worker attest`")
    .requiredOption("--challenge <file>", "the challenge file this attestor issued")
    .requiredOption(
      "--policy <file>",
      "attestation policy: pinned roots and allowed measurements (docs/attestation.md)",
    )
    .option("--at <time>", "check as of this ISO time instead of now (to re-examine recorded evidence)")
    .option("--json", "print the result as JSON")
    .action(async (opts: VerifyOptions) => {
      const inputs = await loadInputs(opts);
      let now = new Date();
      if (opts.at !== undefined) {
        now = new Date(opts.at);
        if (Number.isNaN(now.getTime())) throw new CliError(`--at must be an ISO time, got ${opts.at}`);
      }
      const { verifyAttestation } = await import("../../attest/attest.ts");
      const r = await verifyAttestation({ ...inputs, now, reexamine: true }).catch(async (err: unknown) => {
        throw await asCliError(err);
      });
      if (opts.json) {
        const { toJsonText } = await import("../chain-session.ts");
        console.log(toJsonText({ ok: true, ...r }));
        return;
      }
      console.log(`evidence accepted for worker key ${r.workerKeyHash}`);
      printResult(r);
      // Re-examining the evidence of an approval is fine; approving with it again is not.
      if (inputs.challenge.usedBy !== undefined)
        console.log(`  challenge       used by ${inputs.challenge.usedBy}: \`attest approve\` refuses it`);
    });

  const approve = attest
    .command("approve")
    .description(
      "check the evidence as `attest verify` does, then approve the worker key in the WorkerRegistry (attestor role) " +
        "until --expires, recording the evidence hash and the attested device; the challenge is then used up",
    )
    .requiredOption("--evidence <file>", "evidence file from `meterproof worker attest`")
    .requiredOption("--challenge <file>", "the challenge file this attestor issued (marked used on success)")
    .requiredOption("--policy <file>", "attestation policy: pinned roots and allowed measurements")
    .requiredOption(
      "--expires <when>",
      "end of the approval: a duration (30d, 12h), an ISO time or unix seconds; no later than the evidence is valid",
    );
  withChainOptions(approve, { contracts: ["registry"] }).action(async (opts: ApproveOptions) => {
    const inputs = await loadInputs(opts);
    const { openSession, addressOf, sendTx, toJsonText } = await import("../chain-session.ts");
    const { attachContract } = await import("../../contracts/index.ts");
    const { verifyAttestation, approvalExpiry } = await import("../../attest/attest.ts");
    const { writeJsonFile } = await import("../../attest/files.ts");
    const { ZeroAddress } = await import("ethers");

    const session = await openSession(opts, { contracts: ["registry"], signs: true });
    try {
      const registryAddress = addressOf(session, "registry");
      const ch = inputs.challenge;
      if (BigInt(ch.chainId) !== session.chainId)
        throw new CliError(
          `challenge chainId ${ch.chainId} is not the chain of --rpc (${session.chainId})`,
          EXIT_FAILED,
        );
      if (ch.registry !== registryAddress)
        throw new CliError(
          `challenge registry ${ch.registry} is not the WorkerRegistry given (${registryAddress})`,
          EXIT_FAILED,
        );
      const now = new Date();
      let result, expiresAt: bigint;
      try {
        result = await verifyAttestation({ ...inputs, now });
        expiresAt = approvalExpiry(opts.expires, now, result.validUntil);
      } catch (err) {
        throw await asCliError(err);
      }
      const registry = attachContract("WorkerRegistry", registryAddress, session.signer());
      const worker = await registry.workerOf(result.workerKeyHash);
      if (worker.provider === ZeroAddress)
        throw new CliError(
          `worker key ${result.workerKeyHash} is not registered in ${registryAddress}`,
          EXIT_FAILED,
        );
      const receipt = await sendTx(
        "approveWorker",
        () =>
          registry.approveWorker(result.workerKeyHash, expiresAt, result.evidenceHash, result.deviceIdHash),
        (name, args) =>
          name === "WorkerRegistry__DeviceAlreadyApproved"
            ? `the attested device is approved for worker key ${String(args[1])}; revoke that key first (one key per device)`
            : name === "AccessControlUnauthorizedAccount"
              ? "the signer lacks the registry's ATTESTOR_ROLE"
              : undefined,
      );
      // One approval per challenge: a copied evidence file cannot approve again.
      writeJsonFile(opts.challenge, { ...ch, usedBy: `approveWorker ${receipt.hash}` }, false);
      const out = {
        workerKeyHash: result.workerKeyHash,
        format: result.format,
        expiresAt,
        evidenceHash: result.evidenceHash,
        deviceIdHash: result.deviceIdHash,
        measurement: result.measurement,
        attestor: session.signer().address,
        txHash: receipt.hash,
      };
      if (opts.json) {
        console.log(toJsonText(out));
        return;
      }
      console.log(
        `approved worker key ${result.workerKeyHash} until ${new Date(Number(expiresAt) * 1000).toISOString()} (tx ${receipt.hash})`,
      );
      printResult(result);
    } finally {
      session.close();
    }
  });
}
