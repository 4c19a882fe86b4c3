import type { Command } from "commander";
import { withChainOptions, type ChainOptions } from "../chain-options.ts";
import { CliError, EXIT_FAILED } from "../output.ts";

interface ChallengeOptions extends ChainOptions {
  segment?: string;
  seq?: string;
  challengeContract?: string;
  fromBlock?: string;
  dryRun?: boolean;
}

function index(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^[0-9]+$/.test(v) || !Number.isSafeInteger(Number(v)))
    throw new CliError(`${flag} must be a non-negative integer, got ${JSON.stringify(v)}`);
  return Number(v);
}

export function registerChallenge(program: Command): void {
  const cmd = program
    .command("challenge")
    .description(
      "prove that a record of a worker's trace breaks the network's energy rule (energy against power × time) while " +
        "its segment's pay is still in the challenge window, and revoke the worker key for cause: the pending pay goes " +
        "back to the job, the bond is slashed, and the sender gets the reporter's share. " +
        "Exit 0 when a challenge was made (with --dry-run: can be made), 1 when nothing can be challenged, 2 on bad input",
    )
    .argument("<trace>", "the worker's trace file (JSON Lines)")
    .option("--segment <k>", "only records of this sealed segment")
    .option("--seq <n>", "only this record")
    .option("--challenge-contract <address>", "PlausibilityChallenge address (or take it from --deployment)")
    .option("--from-block <n>", "first block to read events from (default: the deployment's, else 0)")
    .option(
      "--dry-run",
      "send nothing (needs no key): list the implausible records and whether each can be challenged now",
    );
  withChainOptions(cmd, { contracts: ["escrow"] }).action(
    async (tracePath: string, opts: ChallengeOptions) => {
      const segment = index("--segment", opts.segment);
      const seq = index("--seq", opts.seq);
      const { existsSync, statSync } = await import("node:fs");
      if (!existsSync(tracePath)) throw new CliError(`TRACE ${tracePath}: no such file`);
      if (statSync(tracePath).isDirectory())
        throw new CliError(`TRACE ${tracePath}: is a folder; give a file`);
      const { readTrace, TraceError } = await import("../../trace/index.ts");
      let trace;
      try {
        trace = await readTrace(tracePath);
      } catch (err) {
        if (err instanceof TraceError) throw new CliError(`TRACE ${tracePath}: ${err.message}`);
        throw err;
      }
      if (segment !== undefined && segment >= trace.seals.length)
        throw new CliError(
          `--segment must be one of the trace's ${trace.seals.length} sealed segments (0..${trace.seals.length - 1}), got ${segment}`,
        );

      const { openSession, addressOf, checkAddress, sendTx, tokenInfo, toJsonText } =
        await import("../chain-session.ts");
      const { fromBlockOf, isoSeconds, readChain } = await import("../read-context.ts");
      const { attachContract } = await import("../../contracts/index.ts");
      const { describeEnergyRule, findChallenges, proveChallenge } = await import("../../challenge/index.ts");
      const { challengeArgs } = await import("../../chain/challenge.ts");
      const { eventsIn, decodeEvents } = await import("../../chain/events.ts");
      const { formatAmount } = await import("../amounts.ts");
      const { CircuitError } = await import("../../circuits/index.ts");
      const { getAddress } = await import("ethers");

      const flagged =
        opts.challengeContract === undefined
          ? undefined
          : checkAddress("--challenge-contract", opts.challengeContract);
      const session = await openSession(opts, { contracts: ["escrow"], signs: !opts.dryRun });
      const say = opts.json ? (m: string) => console.error(m) : (m: string) => console.log(m);
      try {
        const escrowAddress = addressOf(session, "escrow");
        const { header } = trace;
        if (header.chainId !== session.chainId || getAddress(header.escrow) !== escrowAddress)
          throw new CliError(
            `TRACE ${tracePath} is for escrow ${header.escrow} on chain ${header.chainId}, not escrow ${escrowAddress} on chain ${session.chainId}`,
          );
        const fromFile = session.deployment?.addresses.challenge;
        if (flagged && fromFile && flagged !== fromFile)
          throw new CliError(
            `--challenge-contract ${flagged} differs from the challenge contract of --deployment ${opts.deployment} (${fromFile}): give one of them`,
          );
        const challengeAddress = flagged ?? fromFile;
        if (challengeAddress === undefined)
          throw new CliError(
            "give --challenge-contract ADDRESS, or a --deployment of a network with a challenge window (its file names the PlausibilityChallenge)",
          );
        const provider = session.rpc.provider;
        const contract = attachContract("PlausibilityChallenge", challengeAddress, provider);
        const escrow = attachContract("ComputeEscrow", escrowAddress, provider);
        const { rule, maxRecords } = await readChain(async () => {
          if ((await provider.getCode(challengeAddress)) === "0x")
            throw new CliError(
              `PlausibilityChallenge ${challengeAddress}: chain ${session.chainId} has no contract there`,
            );
          if (getAddress(await contract.escrow()) !== escrowAddress)
            throw new CliError(
              `PlausibilityChallenge ${challengeAddress} challenges another escrow than ${escrowAddress}`,
            );
          const r = await contract.rule();
          return {
            rule: { loBps: Number(r.loBps), hiBps: Number(r.hiBps), slackMicroJ: Number(r.slackMicroJ) },
            maxRecords: Number(await contract.maxRecords()),
          };
        });

        const candidates = await readChain(() =>
          findChallenges({
            trace,
            escrow,
            provider,
            rule,
            maxRecords,
            fromBlock: fromBlockOf(session, opts.fromBlock),
            ...(segment !== undefined ? { segment } : {}),
            ...(seq !== undefined ? { seq } : {}),
          }),
        );
        if (candidates.length === 0)
          throw new CliError(
            `nothing to challenge: every record ${scope(segment, seq)}keeps the rule (${describeEnergyRule(rule)})`,
            EXIT_FAILED,
          );
        for (const c of candidates) {
          const where = `segment ${c.segment} record ${c.violation.seq}`;
          say(
            c.pending
              ? `${where}: ${c.violation.message}; its pay is pending until ${isoSeconds(Number(c.pending.releaseAt))}`
              : `${where}: ${c.violation.message}; cannot be challenged: ${c.reason}`,
          );
        }
        const chosen = candidates.find((c) => c.pending);
        if (!chosen)
          throw new CliError(
            `nothing to challenge: no implausible record is in a segment whose pay is still pending`,
            EXIT_FAILED,
          );
        const pending = chosen.pending!;
        const summary = {
          trace: tracePath,
          jobId: header.jobId,
          workerKeyHash: header.workerKeyHash,
          segment: chosen.segment,
          seq: chosen.violation.seq,
          kind: chosen.violation.kind,
          reason: chosen.violation.message,
          pendingUntil: pending.releaseAt,
          pendingAmount: pending.amount,
          challengeContract: challengeAddress,
        };
        if (opts.dryRun) {
          if (opts.json) console.log(toJsonText({ ...summary, dryRun: true, candidates: candidates.length }));
          else
            say(
              `would challenge segment ${chosen.segment} record ${chosen.violation.seq} (dry run: nothing sent)`,
            );
          return;
        }

        const signer = session.signer();
        say(`proving record ${chosen.violation.seq} implausible (ImplausibleRecord(${maxRecords}))…`);
        let proof;
        try {
          proof = await proveChallenge({
            trace,
            segment: chosen.segment,
            seq: chosen.violation.seq,
            size: maxRecords,
            rule,
            reporter: signer.address,
          });
        } catch (err) {
          if (err instanceof CircuitError) throw new CliError(err.message);
          throw err;
        }
        const receipt = await sendTx("challenge", () =>
          contract.connect(signer).challenge(
            ...challengeArgs({
              jobId: header.jobId,
              workerKeyHash: header.workerKeyHash,
              pending,
              proof: proof.proof,
            }),
          ),
        );
        const events = decodeEvents(receipt.logs);
        const slashed = events.find((e) => e.name === "WorkerSlashed")?.args ?? {};
        const returned = eventsIn(receipt, "PendingReturned").reduce((sum, e) => sum + e.amount, 0n);
        const [bondToken, jobToken] = await Promise.all([
          escrow.registry().then((r) => attachContract("WorkerRegistry", r, provider).stakeTerms()),
          escrow.jobOf(header.jobId),
        ]);
        const [bondMeta, jobMeta] = await Promise.all([
          tokenInfo(session, bondToken.token),
          tokenInfo(session, jobToken.token),
        ]);
        const result = {
          ...summary,
          txHash: receipt.hash,
          gasUsed: receipt.gasUsed,
          evidenceHash: slashed.evidenceHash as string | undefined,
          returnedToJob: returned,
          toReporter: (slashed.toReporter as bigint | undefined) ?? 0n,
          toTreasury: (slashed.toTreasury as bigint | undefined) ?? 0n,
        };
        if (opts.json) {
          console.log(toJsonText(result));
          return;
        }
        console.log(
          `challenged segment ${chosen.segment} record ${chosen.violation.seq}: worker key revoked for cause (evidence ${result.evidenceHash})`,
        );
        console.log(
          `  ${formatAmount(returned, jobMeta)} of pending pay went back to job ${header.jobId}; ` +
            `bond slashed: ${formatAmount(result.toReporter, bondMeta)} to you, ${formatAmount(result.toTreasury, bondMeta)} to the treasury or burned`,
        );
        console.log(`  transaction ${receipt.hash}, gas ${receipt.gasUsed}`);
      } finally {
        session.close();
      }
    },
  );
}

function scope(segment: number | undefined, seq: number | undefined): string {
  if (seq !== undefined) return `(record ${seq}) `;
  if (segment !== undefined) return `of segment ${segment} `;
  return "of the sealed segments ";
}
