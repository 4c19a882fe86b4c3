import type { Command } from "commander";
import type { BundleEntry } from "../../chain/submit-plan.ts";
import type { SubmissionInput } from "../../contracts/index.ts";
import { withChainOptions, type ChainOptions } from "../chain-options.ts";
import { CliError, EXIT_FAILED } from "../output.ts";

interface SubmitOptions extends ChainOptions {
  batch?: boolean;
  maxBatch: string;
  dryRun?: boolean;
}

/** One line of the report, per segment. */
interface SegmentOutcome {
  bundle: string;
  jobId: bigint;
  workerKeyHash: bigint;
  index: number;
  status: "already-accepted" | "accepted" | "not-submitted" | "would-submit" | "would-be-refused";
  /** Why the chain would refuse it (dry run) or did not get it. */
  reason?: string;
  payout?: bigint;
  /** The transaction's gas divided among the segments it carried. */
  gasUsed?: bigint;
  txGasUsed?: bigint;
  batchSize?: number;
  txHash?: string;
}

/** Bundle files named on the command line; a directory stands for its segment-*.json files. */
async function readBundles(paths: readonly string[]): Promise<BundleEntry[]> {
  const { readdirSync, readFileSync, statSync } = await import("node:fs");
  const { join } = await import("node:path");
  const { bundleSchema } = await import("../../trace/bundle.ts");
  const files: string[] = [];
  for (const p of paths) {
    if (/^(0x)?[0-9a-fA-F]{64}$/.test(p))
      throw new CliError(
        "an argument looks like a private key: keys are never taken from the command line; set METERPROOF_PRIVATE_KEY or use --keystore FILE",
      );
    let isDir = false;
    try {
      isDir = statSync(p).isDirectory();
    } catch {
      throw new CliError(`${p}: no such file or directory`);
    }
    if (isDir) {
      const inDir = readdirSync(p)
        .filter((n) => /^segment-\d+\.json$/.test(n))
        .sort();
      if (inDir.length === 0) throw new CliError(`${p}: a directory without bundles (segment-*.json)`);
      files.push(...inDir.map((n) => join(p, n)));
    } else files.push(p);
  }
  return files.map((path) => {
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(path, "utf8"));
    } catch {
      throw new CliError(`${path}: not a JSON file`);
    }
    const parsed = bundleSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new CliError(
        `${path}: ${issue.path.join(".") || "bundle"} ${issue.message} (not a proof bundle)`,
      );
    }
    return { path, bundle: parsed.data };
  });
}

const short = (v: bigint) => {
  const s = v.toString();
  return s.length > 12 ? `${s.slice(0, 10)}…` : s;
};

export function registerSubmit(program: Command): void {
  const cmd = program
    .command("submit")
    .description(
      "submit proof bundles to the escrow: checks they are for this chain and escrow, groups them by job and worker, " +
        "orders them by segment, skips segments the lane already accepted, checks every proof off chain first (a bad " +
        "bundle is named and not sent), and prints each segment's payout and gas",
    )
    .argument("<bundle...>", "bundle files written by `meterproof prove`, or directories of them")
    .option(
      "--batch",
      "send segments together (submitSegments: one multi-pairing for all their proofs, jobs mixed, one circuit " +
        "size per transaction), up to --max-batch per transaction",
    )
    .option("--max-batch <n>", "segments per batch transaction", "16")
    .option(
      "--dry-run",
      "send nothing (needs no key): check every bundle, and ask the chain (eth_call) whether it would accept each " +
        "lane's next segment, naming the rule it would refuse by",
    );
  withChainOptions(cmd, { contracts: ["escrow"] }).action(async (paths: string[], opts: SubmitOptions) => {
    const maxBatch = Number(opts.maxBatch);
    if (!Number.isInteger(maxBatch) || maxBatch < 1 || maxBatch > 256)
      throw new CliError(
        `--max-batch must be an integer from 1 to 256, got ${JSON.stringify(opts.maxBatch)}`,
      );
    const { openSession, addressOf, sendTx, tokenInfo, toJsonText } = await import("../chain-session.ts");
    const { checkBundleTarget, groupIntoLanes, scheduleLane, chunks, SubmitPlanError } =
      await import("../../chain/submit-plan.ts");
    const { submissionFromBundle, toSubmissionInput } = await import("../../chain/submission.ts");
    const { laneAfterFor } = await import("../../chain/lane-order.ts");
    const { eventsIn } = await import("../../chain/events.ts");
    const { attachContract } = await import("../../contracts/index.ts");
    const { formatAmount } = await import("../amounts.ts");
    const { ZeroAddress, getAddress } = await import("ethers");

    const entries = await readBundles(paths);
    const session = await openSession(opts, { contracts: ["escrow"], signs: !opts.dryRun });
    const say = opts.json ? (m: string) => console.error(m) : (m: string) => console.log(m);
    const outcomes: SegmentOutcome[] = [];
    const problems: string[] = [];
    try {
      const escrowAddress = addressOf(session, "escrow");
      let lanes;
      try {
        for (const e of entries) checkBundleTarget(e, { chainId: session.chainId, escrow: escrowAddress });
        lanes = groupIntoLanes(entries);
      } catch (err) {
        if (err instanceof SubmitPlanError) throw new CliError(err.message);
        throw err;
      }
      const escrow = attachContract(
        "ComputeEscrow",
        escrowAddress,
        opts.dryRun ? session.rpc.provider : session.signer(),
      );

      const jobIds = [...new Set(lanes.map((l) => l.jobId))];
      const tokens = new Map<bigint, Awaited<ReturnType<typeof tokenInfo>>>();
      const pending: BundleEntry[] = [];
      for (const jobId of jobIds) {
        const job = await escrow.jobOf(jobId);
        const jobLanes = lanes.filter((l) => l.jobId === jobId);
        const sample = jobLanes[0]!.segments[0]!;
        if (job.client === ZeroAddress)
          throw new CliError(
            `${sample.path}: job ${jobId} does not exist in escrow ${escrowAddress}`,
            EXIT_FAILED,
          );
        if (
          job.jobTag !== sample.bundle.job.jobTag ||
          getAddress(job.provider) !== getAddress(sample.bundle.job.provider)
        )
          throw new CliError(
            `${sample.path}: bound to provider ${sample.bundle.job.provider} (jobTag ${sample.bundle.job.jobTag}), but job ${jobId} ` +
              `pays ${job.provider} (jobTag ${job.jobTag}): the proof cannot verify for this job`,
            EXIT_FAILED,
          );
        tokens.set(jobId, await tokenInfo(session, job.token));

        const jobPending: BundleEntry[] = [];
        for (const lane of jobLanes) {
          const head = await escrow.laneHead(jobId, lane.workerKeyHash);
          let schedule;
          try {
            schedule = scheduleLane(lane, head);
          } catch (err) {
            if (err instanceof SubmitPlanError) throw new CliError(err.message, EXIT_FAILED);
            throw err;
          }
          for (const s of schedule.accepted) {
            outcomes.push(outcome(s, "already-accepted"));
            say(
              `job ${jobId} worker ${short(lane.workerKeyHash)} segment ${s.bundle.segment.index}: already accepted, skipped`,
            );
          }
          jobPending.push(...schedule.pending);
          if (schedule.gap) {
            for (const s of schedule.gap.blocked) outcomes.push(outcome(s, "not-submitted"));
            const blocked = schedule.gap.blocked.map((s) => s.bundle.segment.index);
            problems.push(
              `job ${jobId} worker ${short(lane.workerKeyHash)}: segment ${schedule.gap.index} does not follow the lane's head ` +
                `${short(schedule.gap.expectedPrevHead)}: the bundle of a segment before it is missing, so ` +
                `${plural(blocked.length, "segment")} ${blocked.join(", ")} ${blocked.length === 1 ? "was" : "were"} not submitted`,
            );
          }
        }
        if (jobPending.length > 0 && job.closed) {
          throw new CliError(
            `job ${jobId} is closed: the escrow accepts no segment after close`,
            EXIT_FAILED,
          );
        }
        pending.push(...jobPending);
      }

      // Every proof is checked off chain first (one batched pairing check, single checks to name
      // a bad one), so a batch never fails on chain for one bad bundle. A lane stops at its
      // first bad segment: the ones after it chain from it.
      const valid = await checkOffChain(pending, (bad, reason, blocked) => {
        for (const s of [bad, ...blocked]) outcomes.push(outcome(s, "not-submitted"));
        problems.push(
          `${bad.path}: ${reason}; not submitted` +
            (blocked.length > 0
              ? `, nor the ${plural(blocked.length, "later segment")} of its lane (${blocked.map((s) => s.bundle.segment.index).join(", ")})`
              : ""),
        );
      });

      // A lane's first segment names the worker's lane before it in time (chain/lane-order.ts).
      const entryFor = async (s: BundleEntry) => {
        const { jobId, submission } = submissionFromBundle(s.bundle);
        if (submission.prevHead === 0n)
          submission.laneAfter = await laneAfterFor({
            provider: session.rpc.provider,
            escrow: escrowAddress,
            jobId,
            workerKeyHash: submission.workerKeyHash,
            tFirst: BigInt(s.bundle.segment.tFirst),
            ...(session.deployment ? { fromBlock: session.deployment.block } : {}),
          });
        return { jobId, submission: toSubmissionInput(submission) };
      };

      if (opts.dryRun) {
        // The chain's own verdict on each lane's next segment (an eth_call of submitSegment): a
        // window before the worker's billed time, an unknown or unapproved key, a paused escrow.
        // Later segments of a lane chain from it, so they share its verdict.
        const { decodeContractError } = await import("../../chain/errors.ts");
        const { explainContractError } = await import("../../chain/revert-reasons.ts");
        for (const { segments: lane } of groupIntoLanes(valid)) {
          const first = lane[0]!;
          const { jobId, submission } = await entryFor(first);
          let reason: string | undefined;
          try {
            await escrow.submitSegment.staticCall(jobId, submission);
          } catch (err) {
            const decoded = decodeContractError(err);
            if (!decoded) throw err;
            reason = explainContractError(decoded);
          }
          for (const s of lane) {
            const where = `job ${s.bundle.job.jobId} worker ${short(s.bundle.job.workerKeyHash)} segment ${s.bundle.segment.index}`;
            if (reason === undefined) {
              outcomes.push(outcome(s, "would-submit"));
              say(`${where}: would submit (${s.path})`);
            } else {
              outcomes.push({ ...outcome(s, "would-be-refused"), reason });
              say(`${where}: the chain would refuse it: ${reason}`);
            }
          }
          if (reason !== undefined)
            problems.push(
              `${first.path}: the chain would refuse job ${jobId}'s lane of worker ${short(first.bundle.job.workerKeyHash)} ` +
                `(${plural(lane.length, "segment")}): ${reason}`,
            );
        }
      } else {
        // Batches may mix jobs (one transaction settles a provider's backlog) but not circuits.
        const groups = opts.batch
          ? [...groupBy(valid, (s) => s.bundle.circuitId).values()].flatMap((g) => chunks(g, maxBatch))
          : valid.map((s) => [s]);
        for (const group of groups) {
          const subs: { jobId: bigint; submission: SubmissionInput }[] = [];
          for (const s of group) subs.push(await entryFor(s));
          const what =
            group.length === 1
              ? `job ${group[0]!.bundle.job.jobId} segment ${group[0]!.bundle.segment.index} (${group[0]!.path})`
              : `${plural(group.length, "segment")} of ${plural(new Set(group.map((s) => s.bundle.job.jobId)).size, "job")}`;
          const receipt = await sendTx(`submitting ${what}`, () =>
            opts.batch
              ? escrow.submitSegments(subs)
              : escrow.submitSegment(subs[0]!.jobId, subs[0]!.submission),
          );
          const accepted = eventsIn(receipt, "SegmentAccepted");
          const skipped = eventsIn(receipt, "SegmentSkipped");
          for (const s of group) {
            const { jobId, workerKeyHash } = s.bundle.job;
            const same = (e: { jobId: bigint; newHead: bigint; workerKeyHash: bigint }) =>
              e.jobId === jobId &&
              e.newHead === s.bundle.segment.newHead &&
              e.workerKeyHash === workerKeyHash;
            if (skipped.some(same)) {
              outcomes.push(outcome(s, "already-accepted"));
              say(
                `job ${jobId} worker ${short(workerKeyHash)} segment ${s.bundle.segment.index}: accepted meanwhile (another submitter), skipped`,
              );
              continue;
            }
            const ev = accepted.find(same);
            const o: SegmentOutcome = {
              ...outcome(s, "accepted"),
              payout: ev?.payout ?? 0n,
              gasUsed: receipt.gasUsed / BigInt(group.length),
              txGasUsed: receipt.gasUsed,
              batchSize: group.length,
              txHash: receipt.hash,
            };
            outcomes.push(o);
            say(
              `job ${jobId} worker ${short(workerKeyHash)} segment ${s.bundle.segment.index}: accepted, ` +
                `payout ${formatAmount(o.payout!, tokens.get(jobId)!)} at weight ${ev?.weightBps ?? 0n} bps, ` +
                `gas ${o.gasUsed!.toLocaleString("en-US")}` +
                (group.length > 1
                  ? ` (a ${group.length}-segment batch of ${receipt.gasUsed.toLocaleString("en-US")} gas)`
                  : "") +
                ` tx ${receipt.hash}`,
            );
          }
        }
      }
    } finally {
      session.close();
    }

    const accepted = outcomes.filter((o) => o.status === "accepted");
    const summary = {
      chainId: session.chainId,
      escrow: addressOf(session, "escrow"),
      accepted: accepted.length,
      alreadyAccepted: outcomes.filter((o) => o.status === "already-accepted").length,
      notSubmitted: outcomes.filter((o) => o.status === "not-submitted").length,
      totalPayout: accepted.reduce((a, o) => a + (o.payout ?? 0n), 0n),
      totalGas: [...new Map(accepted.map((o) => [o.txHash, o.txGasUsed!])).values()].reduce(
        (a, g) => a + g,
        0n,
      ),
      segments: outcomes,
    };
    if (opts.json) console.log(toJsonText(summary));
    else
      console.log(
        `${plural(summary.accepted, "segment")} accepted, ${summary.alreadyAccepted} already accepted` +
          (opts.dryRun
            ? `, ${outcomes.filter((o) => o.status === "would-submit").length} to submit, ` +
              `${outcomes.filter((o) => o.status === "would-be-refused").length} the chain would refuse (dry run)`
            : "") +
          (summary.accepted > 0 ? `; ${summary.totalGas.toLocaleString("en-US")} gas in all` : ""),
      );
    if (problems.length > 0) throw new CliError(problems.join("\n"), EXIT_FAILED);
  });
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

function outcome(s: BundleEntry, status: SegmentOutcome["status"]): SegmentOutcome {
  return {
    bundle: s.path,
    jobId: s.bundle.job.jobId,
    workerKeyHash: s.bundle.job.workerKeyHash,
    index: s.bundle.segment.index,
    status,
  };
}

function groupBy<T, K>(items: readonly T[], key: (item: T) => K): Map<K, T[]> {
  const out = new Map<K, T[]>();
  for (const item of items) {
    const k = key(item);
    out.set(k, [...(out.get(k) ?? []), item]);
  }
  return out;
}

/**
 * Checks every pending bundle's proof off chain (verifier/batch-verify.ts: one batched pairing
 * check per circuit, single checks to name a failure) and returns those to submit, in order.
 * A bad bundle and the later segments of its lane are reported through `refuse`. Bundles of a
 * circuit without a local verification key are passed on unchecked (the chain still checks).
 */
async function checkOffChain(
  pending: readonly BundleEntry[],
  refuse: (bad: BundleEntry, reason: string, blocked: BundleEntry[]) => void,
): Promise<BundleEntry[]> {
  if (pending.length === 0) return [];
  const { loadVerificationKeys } = await import("../../verifier/load-keys.ts");
  const { verifyBundles } = await import("../../verifier/batch-verify.ts");
  const { closeVerifier } = await import("../../verifier/verify-bundle.ts");
  const sizes = [...new Set(pending.map((s) => s.bundle.circuitId))];
  const { keys } = await loadVerificationKeys(sizes);
  const checkable = pending.filter((s) => keys.has(s.bundle.circuitId));
  const unchecked = sizes.filter((n) => !keys.has(n));
  if (unchecked.length > 0)
    console.error(
      `meterproof: warning: no local verification key for circuit ${unchecked.join(", ")}: those bundles are not checked ` +
        "before sending (run `meterproof setup --size N` to check them)",
    );
  let results;
  try {
    results = await verifyBundles(
      checkable.map((s) =>
        JSON.parse(JSON.stringify(s.bundle, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v))),
      ),
      keys,
    );
  } finally {
    await closeVerifier();
  }
  const bad = new Map<BundleEntry, string>();
  results.forEach((r, i) => {
    if (!r.ok) bad.set(checkable[i]!, r.reason);
  });
  const stopped = new Set<string>();
  const out: BundleEntry[] = [];
  for (const s of pending) {
    const lane = `${s.bundle.job.jobId}:${s.bundle.job.workerKeyHash}`;
    if (stopped.has(lane)) continue;
    const reason = bad.get(s);
    if (reason === undefined) {
      out.push(s);
      continue;
    }
    stopped.add(lane);
    const blocked = pending.filter(
      (o) =>
        `${o.bundle.job.jobId}:${o.bundle.job.workerKeyHash}` === lane &&
        o.bundle.segment.index > s.bundle.segment.index,
    );
    refuse(s, reason, blocked);
  }
  return out;
}
