import { InvalidArgumentError, type Command } from "commander";
import type { ChainSession } from "../chain-session.ts";
import { withChainOptions, type ChainOptions } from "../chain-options.ts";
import { CliError, EXIT_FAILED } from "../output.ts";
import { registerJobList } from "./job-list.ts";

interface CreateOptions extends ChainOptions {
  provider: string;
  token?: string;
  budget: string;
  price: string;
  expiry: string;
}

function jobId(v: string): bigint {
  if (!/^[0-9]+$/.test(v) || BigInt(v) === 0n) throw new InvalidArgumentError("must be a job id (1, 2, …)");
  return BigInt(v);
}

/** The token option, or the ComputeCredit of --deployment. */
export function tokenAddress(
  session: ChainSession,
  given: string | undefined,
  check: (f: string, v: string) => string,
): string {
  if (given !== undefined) return check("--token", given);
  const credit = session.deployment?.addresses.credit;
  if (credit === undefined)
    throw new CliError("give --token ADDRESS (or --deployment FILE to use its ComputeCredit)");
  return credit;
}

export function registerJob(program: Command): void {
  const job = program.command("job").description("create, close and inspect compute jobs in the escrow");
  registerJobList(job);

  const create = job
    .command("create")
    .description(
      "create and fund a job (the signer is the client): approves the escrow to take the budget if needed, then " +
        "creates the job and prints its id and jobTag (what the worker binds its trace to)",
    )
    .requiredOption("--provider <address>", "who is paid for the job's proven work")
    .option("--token <address>", "ERC-20 of budget and payouts (default: the ComputeCredit of --deployment)")
    .requiredOption("--budget <amount>", "budget, in whole tokens (10, 0.5) or base units (2500units)")
    .requiredOption("--price <amount>", "price per H100-equivalent GPU-hour, in whole tokens or base units")
    .requiredOption(
      "--expiry <time>",
      "end of the job: unix seconds, or +duration after the latest block (+2h, +7d)",
    );
  withChainOptions(create, { contracts: ["escrow"] }).action(async (opts: CreateOptions) => {
    const { openSession, addressOf, checkAddress, sendTx, tokenInfo, toJsonText } =
      await import("../chain-session.ts");
    const { parseAmount, toUnits, checkAmountRange, parseExpiry, formatAmount } =
      await import("../amounts.ts");
    const { attachContract } = await import("../../contracts/index.ts");
    const { eventsIn } = await import("../../chain/events.ts");
    const { computeJobTag } = await import("../../trace/index.ts");
    const { formatTerms, workerOptions } = await import("../worker-job.ts");

    const provider = checkAddress("--provider", opts.provider);
    if (opts.token !== undefined) checkAddress("--token", opts.token);
    const budgetSpec = parseAmount("--budget", opts.budget);
    const priceSpec = parseAmount("--price", opts.price);
    const session = await openSession(opts, { contracts: ["escrow"], signs: true });
    try {
      const escrowAddress = addressOf(session, "escrow");
      const tokenAddr = tokenAddress(session, opts.token, checkAddress);
      if ((await session.rpc.provider.getCode(tokenAddr)) === "0x")
        throw new CliError(`--token ${tokenAddr}: chain ${session.chainId} has no contract at this address`);
      const info = await tokenInfo(session, tokenAddr);
      const budget = checkAmountRange(
        "--budget",
        toUnits("--budget", budgetSpec, info.decimals),
        (1n << 128n) - 1n,
        "2^128-1",
      );
      const price = checkAmountRange(
        "--price",
        toUnits("--price", priceSpec, info.decimals),
        (1n << 96n) - 1n,
        "2^96-1",
      );
      const latest = await session.rpc.provider.getBlock("latest");
      const expiry = parseExpiry("--expiry", opts.expiry, latest!.timestamp);

      const signer = session.signer();
      const say = opts.json ? (m: string) => console.error(m) : (m: string) => console.log(m);
      const token = attachContract("ComputeCredit", tokenAddr, signer);
      const balance = await token.balanceOf(signer.address);
      if (balance < budget)
        throw new CliError(
          `the client ${signer.address} holds ${formatAmount(balance, info)}, less than --budget ${formatAmount(budget, info)}`,
          EXIT_FAILED,
        );
      if ((await token.allowance(signer.address, escrowAddress)) < budget) {
        const r = await sendTx("approve", () => token.approve(escrowAddress, budget));
        say(`approved the escrow to take ${formatAmount(budget, info)} (tx ${r.hash})`);
      }
      const escrow = attachContract("ComputeEscrow", escrowAddress, signer);
      const receipt = await sendTx("createJob", () =>
        escrow.createJob(provider, tokenAddr, budget, price, expiry),
      );
      const ev = eventsIn(receipt, "JobCreated")[0];
      if (!ev) throw new CliError(`createJob (tx ${receipt.hash}) emitted no JobCreated event`, EXIT_FAILED);
      const terms = { client: ev.client, token: ev.token, price: ev.price, expiry: ev.expiry };
      const ref = { chainId: session.chainId, escrow: escrowAddress, jobId: ev.jobId, provider, terms };
      const computed = computeJobTag(ref);
      if (computed !== ev.jobTag) {
        console.error(
          `meterproof: warning: the escrow's jobTag ${ev.jobTag} is not keccak256(abi.encode(chainId, escrow, jobId, ` +
            `provider, client, token, price, expiry)) mod r = ${computed}: this escrow does not commit to ` +
            "the job's terms (an older version?), and the worker will refuse the job",
        );
      }
      const result = {
        jobId: ev.jobId,
        jobTag: ev.jobTag,
        chainId: session.chainId,
        escrow: escrowAddress,
        client: signer.address,
        provider,
        token: tokenAddr,
        budget,
        price,
        createdAt: ev.createdAt,
        expiry: ev.expiry,
        terms,
        workerOptions: workerOptions(ref, ev.jobTag),
        txHash: receipt.hash,
        block: receipt.blockNumber,
        gasUsed: receipt.gasUsed,
      };
      if (opts.json) {
        console.log(toJsonText(result));
        return;
      }
      console.log(`created job ${ev.jobId} (tx ${receipt.hash}, block ${receipt.blockNumber})`);
      console.log(`  jobTag    ${ev.jobTag}`);
      console.log(`  provider  ${provider}`);
      console.log(`  budget    ${formatAmount(budget, info)}`);
      console.log(`  price     ${formatAmount(price, info)} per H100-equivalent hour`);
      console.log(`  life      ${isoSeconds(ev.createdAt)} to ${isoSeconds(ev.expiry)}`);
      console.log(`  terms     ${formatTerms(terms)} (client, token, price in base units, expiry)`);
      console.log(`run the worker with: ${result.workerOptions}`);
    } finally {
      session.close();
    }
  });

  const close = job
    .command("close")
    .description(
      "close a job and refund its unspent budget to the client: its provider may close it at any time, its client " +
        "after expiry + grace period or once the budget is spent; no segment is accepted after",
    )
    .requiredOption("--job <id>", "job id", jobId);
  withChainOptions(close, { contracts: ["escrow"] }).action(async (opts: ChainOptions & { job: bigint }) => {
    const { openSession, addressOf, sendTx, tokenInfo, toJsonText } = await import("../chain-session.ts");
    const { formatAmount } = await import("../amounts.ts");
    const { attachContract } = await import("../../contracts/index.ts");
    const { eventsIn } = await import("../../chain/events.ts");
    const session = await openSession(opts, { contracts: ["escrow"], signs: true });
    try {
      const escrow = attachContract("ComputeEscrow", addressOf(session, "escrow"), session.signer());
      const receipt = await sendTx(`closeJob(${opts.job})`, () => escrow.closeJob(opts.job));
      const ev = eventsIn(receipt, "JobClosed")[0];
      const job = await escrow.jobOf(opts.job);
      const info = await tokenInfo(session, job.token);
      const refund = ev?.refund ?? 0n;
      if (opts.json) {
        console.log(
          toJsonText({
            jobId: opts.job,
            closedBy: session.signer().address,
            refund,
            client: job.client,
            paid: job.paid,
            txHash: receipt.hash,
          }),
        );
        return;
      }
      console.log(`closed job ${opts.job} (tx ${receipt.hash})`);
      console.log(`  refunded ${formatAmount(refund, info)} to the client ${job.client}`);
      console.log(`  paid to the provider over the job: ${formatAmount(job.paid, info)}`);
    } finally {
      session.close();
    }
  });

  const show = job
    .command("show")
    .description("print a job as the escrow holds it (read only: needs no key)")
    .requiredOption("--job <id>", "job id", jobId);
  withChainOptions(show, { contracts: ["escrow"], signs: false }).action(
    async (opts: ChainOptions & { job: bigint }) => {
      const { openSession, addressOf, tokenInfo, toJsonText } = await import("../chain-session.ts");
      const { formatAmount } = await import("../amounts.ts");
      const { attachContract } = await import("../../contracts/index.ts");
      const { ZeroAddress } = await import("ethers");
      const { workerOptions } = await import("../worker-job.ts");
      const session = await openSession(opts, { contracts: ["escrow"], signs: false });
      try {
        const escrow = attachContract("ComputeEscrow", addressOf(session, "escrow"), session.rpc.provider);
        const job = await escrow.jobOf(opts.job);
        if (job.client === ZeroAddress)
          throw new CliError(
            `job ${opts.job} does not exist in escrow ${addressOf(session, "escrow")}`,
            EXIT_FAILED,
          );
        const grace = await escrow.closeGracePeriod();
        const info = await tokenInfo(session, job.token);
        const escrowAddress = addressOf(session, "escrow");
        const terms = { client: job.client, token: job.token, price: job.price, expiry: job.expiry };
        const fields = {
          jobId: opts.job,
          client: job.client,
          provider: job.provider,
          token: job.token,
          price: job.price,
          deposited: job.deposited,
          paid: job.paid,
          remaining: job.remaining,
          refunded: job.refunded,
          createdAt: job.createdAt,
          expiry: job.expiry,
          clientMayCloseAt: job.expiry + grace,
          closed: job.closed,
          jobTag: job.jobTag,
          terms,
          workerOptions: workerOptions(
            {
              chainId: session.chainId,
              escrow: escrowAddress,
              jobId: opts.job,
              provider: job.provider,
              terms,
            },
            job.jobTag,
          ),
        };
        if (opts.json) {
          console.log(toJsonText(fields));
          return;
        }
        console.log(`job ${opts.job}: ${job.closed ? "closed" : "open"}`);
        console.log(`  client     ${job.client}`);
        console.log(`  provider   ${job.provider}`);
        console.log(`  token      ${job.token}${info.symbol ? ` (${info.symbol})` : ""}`);
        console.log(`  price      ${formatAmount(job.price, info)} per H100-equivalent hour`);
        console.log(`  deposited  ${formatAmount(job.deposited, info)}`);
        console.log(`  paid       ${formatAmount(job.paid, info)}`);
        console.log(`  remaining  ${formatAmount(job.remaining, info)}`);
        console.log(`  refunded   ${formatAmount(job.refunded, info)}`);
        console.log(`  created    ${isoSeconds(job.createdAt)}`);
        console.log(
          `  expiry     ${isoSeconds(job.expiry)} (client may close from ${isoSeconds(job.expiry + grace)})`,
        );
        console.log(`  jobTag     ${job.jobTag}`);
        if (!job.closed) console.log(`run the worker with: ${fields.workerOptions}`);
      } finally {
        session.close();
      }
    },
  );
}

function isoSeconds(s: bigint): string {
  return new Date(Number(s) * 1000).toISOString();
}
