import type { Command } from "commander";
import { CliError } from "../output.ts";
import { asCliError } from "./attest-errors.ts";

interface WorkerAttestOptions {
  key: string;
  challenge: string;
  format: string;
  out: string;
  tool?: string;
  processor: string;
  verifier: string;
}

/** `meterproof worker attest`: the provider produces attestation evidence on the worker's host. */
export function registerWorkerAttest(worker: Command): void {
  worker
    .command("attest")
    .description(
      "answer an attestor's challenge: run the vendor tool (snpguest for AMD SEV-SNP, nvattest for NVIDIA GPUs) with " +
        "report data / nonce binding the worker key, registry, chain and challenge, and write the evidence file",
    )
    .requiredOption("--key <file>", "worker key file (meterproof keygen)")
    .requiredOption("--challenge <file>", "challenge file from the attestor (meterproof attest challenge)")
    .requiredOption("--format <format>", "sev-snp or nvidia")
    .requiredOption("--out <file>", "evidence file to write (never overwritten)")
    .option("--tool <path>", "the vendor tool to run (default: snpguest or nvattest on PATH)")
    .option("--processor <model>", "sev-snp: processor model for AMD's KDS (milan, genoa, turin)", "milan")
    .option("--verifier <kind>", "nvidia: nvattest's verifier, remote (NRAS) or local", "remote")
    .action(async (opts: WorkerAttestOptions) => {
      if (opts.format !== "sev-snp" && opts.format !== "nvidia")
        throw new CliError(`--format must be sev-snp or nvidia, got ${opts.format}`);
      const { loadWorkerKey, TraceError } = await import("../../trace/index.ts");
      const { readChallengeFile, writeJsonFile } = await import("../../attest/files.ts");
      const { collectEvidence } = await import("../../attest/collect.ts");
      const { existsSync } = await import("node:fs");
      if (existsSync(opts.out))
        throw new CliError(`--out ${opts.out} exists: evidence files are never overwritten`);
      let key;
      try {
        key = await loadWorkerKey(opts.key);
      } catch (err) {
        throw err instanceof TraceError ? new CliError(`--key ${opts.key}: ${err.message}`) : err;
      }
      let evidence;
      try {
        const challenge = readChallengeFile(opts.challenge);
        if (challenge.workerKeyHash !== key.keyHash.toString())
          throw new CliError(
            `--key ${opts.key} has key hash ${key.keyHash}, but the challenge was issued for ${challenge.workerKeyHash}`,
          );
        if (new Date() > new Date(challenge.expiresAt))
          throw new CliError(
            `--challenge ${opts.challenge} expired at ${challenge.expiresAt}: ask the attestor for a fresh one`,
          );
        evidence = collectEvidence({
          challenge,
          format: opts.format,
          processor: opts.processor,
          verifier: opts.verifier,
          ...(opts.tool !== undefined ? { tool: opts.tool } : {}),
        });
      } catch (err) {
        throw await asCliError(err);
      }
      writeJsonFile(opts.out, evidence);
      console.log(
        `wrote ${opts.out}: ${evidence.format} evidence from ${evidence.tool} for worker key ${key.keyHash}`,
      );
      console.log(
        `send it to the attestor: meterproof attest approve --evidence ${opts.out} --challenge … --policy …`,
      );
    });
}
