import { Option, type Command } from "commander";
import { withChainOptions, type ChainOptions } from "../chain-options.ts";

interface ListOptions extends ChainOptions {
  client?: string;
  provider?: string;
  status?: "open" | "closed" | "expired";
  fromBlock?: string;
  raw?: boolean;
}

/** `meterproof job list`: the escrow's jobs from its events and views; needs no key. */
export function registerJobList(job: Command): void {
  const cmd = job
    .command("list")
    .description(
      "list the escrow's jobs (read only: needs no key): client, provider, token, budget, paid, remaining, price, " +
        "expiry, status and segments accepted",
    )
    .option("--client <address>", "only jobs of this client")
    .option("--provider <address>", "only jobs paying this provider")
    .addOption(
      new Option(
        "--status <status>",
        "only open, closed or expired jobs (expired: past expiry, not closed)",
      ).choices(["open", "closed", "expired"]),
    )
    .option("--from-block <n>", "first block to read events from (default: the deployment's)")
    .option("--raw", "print token amounts in base units");
  withChainOptions(cmd, { contracts: ["escrow"], signs: false }).action(async (opts: ListOptions) => {
    const { openSession, addressOf, checkAddress, toJsonText } = await import("../chain-session.ts");
    const { listJobs } = await import("../../chain/listing.ts");
    const { fromBlockOf, isoSeconds, readChain } = await import("../read-context.ts");
    const { readTokens, formatTokens, amountJson } = await import("../token-units.ts");
    const client = opts.client !== undefined ? checkAddress("--client", opts.client) : undefined;
    const provider = opts.provider !== undefined ? checkAddress("--provider", opts.provider) : undefined;
    const session = await openSession(opts, { contracts: ["escrow"], signs: false });
    try {
      const escrow = addressOf(session, "escrow");
      const { at, jobs } = await readChain(() =>
        listJobs({
          provider: session.rpc.provider,
          escrow,
          fromBlock: fromBlockOf(session, opts.fromBlock),
          ...(client ? { client } : {}),
          ...(provider ? { jobProvider: provider } : {}),
          ...(opts.status ? { status: opts.status } : {}),
        }),
      );
      const tokens = await readTokens(
        session.rpc.provider,
        jobs.map((j) => j.token),
      );
      if (opts.json) {
        console.log(
          toJsonText({
            chainId: session.chainId,
            escrow,
            block: at.block,
            blockTimestamp: at.blockTimestamp,
            jobs: jobs.map((j) => {
              const t = tokens.get(j.token)!;
              return {
                ...j,
                token: t,
                budget: amountJson(j.budget, t),
                paid: amountJson(j.paid, t),
                remaining: amountJson(j.remaining, t),
                refunded: amountJson(j.refunded, t),
                price: { ...amountJson(j.price, t), per: "H100-equivalent hour" },
              };
            }),
          }),
        );
        return;
      }
      const filters = [
        client ? `client ${client}` : "",
        provider ? `provider ${provider}` : "",
        opts.status ? `status ${opts.status}` : "",
      ].filter(Boolean);
      console.log(
        `${jobs.length} job${jobs.length === 1 ? "" : "s"} in escrow ${escrow} on chain ${session.chainId}` +
          `${filters.length ? ` (${filters.join(", ")})` : ""} at block ${at.block}`,
      );
      for (const j of jobs) {
        const t = tokens.get(j.token)!;
        const amount = (units: bigint) => formatTokens(units, t, opts.raw);
        const segs = `${j.segmentsAccepted} segment${j.segmentsAccepted === 1 ? "" : "s"} accepted`;
        console.log(`job ${j.jobId}  ${j.status}  ${segs}`);
        console.log(`  client     ${j.client}`);
        console.log(`  provider   ${j.provider}`);
        console.log(`  token      ${t.symbol ?? "(no symbol)"} ${j.token}`);
        console.log(
          `  budget     ${amount(j.budget)}, paid ${amount(j.paid)}, remaining ${amount(j.remaining)}` +
            (j.refunded > 0n ? `, refunded ${amount(j.refunded)}` : ""),
        );
        console.log(`  price      ${amount(j.price)} per H100-equivalent hour`);
        console.log(
          `  expiry     ${isoSeconds(j.expiry)}` +
            (j.status === "closed" ? "" : ` (client may close from ${isoSeconds(j.closableAt)})`),
        );
      }
    } finally {
      session.close();
    }
  });
}
