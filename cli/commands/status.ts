import type { Command } from "commander";
import { withChainOptions, type ChainOptions } from "../chain-options.ts";

interface StatusOptions extends ChainOptions {
  address?: string;
  fromBlock?: string;
  raw?: boolean;
}

/** `meterproof status`: the deployment, the chain, an account's roles, pause, workers, jobs and balances. */
export function registerStatus(program: Command): void {
  const cmd = program
    .command("status")
    .description(
      "the deployment at a glance (read only): chain and block, the escrow's settings and rate card, pause, " +
        "worker and job counts, and the configured key's (or --address's) roles, jobs and balances",
    )
    .option("--address <address>", "whose roles, jobs and balances to show (default: the configured key's)")
    .option("--from-block <n>", "first block to read events from (default: the deployment's)")
    .option("--raw", "print token amounts in base units");
  // signs: --keystore (or the config's) names the default account; it is never decrypted.
  withChainOptions(cmd, { contracts: ["escrow"], signs: true }).action(async (opts: StatusOptions) => {
    const { openSession, addressOf, checkAddress, toJsonText } = await import("../chain-session.ts");
    const listing = await import("../../chain/listing.ts");
    const { configuredAddress, fromBlockOf, isoSeconds, readChain } = await import("../read-context.ts");
    const { refuseKeyOnCommandLine } = await import("../wallet.ts");
    const { readTokens, formatTokens, amountJson } = await import("../token-units.ts");
    refuseKeyOnCommandLine(opts.privateKey);
    const account =
      opts.address !== undefined ? checkAddress("--address", opts.address) : configuredAddress(opts);
    const session = await openSession(opts, { contracts: ["escrow"], signs: false });
    try {
      const provider = session.rpc.provider;
      const escrow = addressOf(session, "escrow");
      const fromBlock = fromBlockOf(session, opts.fromBlock);
      const read = { provider, escrow, fromBlock };
      const credit = session.deployment?.addresses.credit;
      const { contracts, state, jobs, workers, roles, balances } = await readChain(async () => {
        const contracts = await listing.contractsOf(provider, escrow, credit);
        const [state, jobs, workers, roles, balances] = await Promise.all([
          listing.escrowState(read),
          listing.listJobs(read),
          listing.listWorkers(read),
          account ? listing.rolesOf({ provider, fromBlock, account, contracts }) : undefined,
          account
            ? listing.providerBalances({ ...read, account, ...(credit ? { extraTokens: [credit] } : {}) })
            : undefined,
        ]);
        return { contracts, state, jobs, workers, roles, balances };
      });
      const at = jobs.at;
      const tokens = await readTokens(provider, balances?.balances.map((b) => b.token) ?? []);
      const count = (list: readonly { status: string }[]) =>
        Object.fromEntries(listing.JOB_STATUSES.map((s) => [s, list.filter((j) => j.status === s).length]));
      const same = (a: string) => account !== undefined && a.toLowerCase() === account.toLowerCase();
      const workerCounts = (list: typeof workers.workers) => ({
        registered: list.length,
        active: list.filter((w) => w.active).length,
        approved: list.filter((w) => w.approved).length,
        released: list.filter((w) => w.released).length,
      });
      const summary = {
        deployment: session.deployment
          ? { file: opts.deployment, block: session.deployment.block }
          : undefined,
        contracts,
        chain: { chainId: session.chainId, block: at.block, blockTimestamp: at.blockTimestamp },
        escrow: state,
        requireAttestation: workers.requireAttestation,
        workers: workerCounts(workers.workers),
        jobs: count(jobs.jobs),
        account: account
          ? {
              address: account,
              source: opts.address !== undefined ? "--address" : "the configured key",
              roles: roles!,
              workers: workerCounts(workers.workers.filter((w) => same(w.provider))),
              jobsAsClient: count(jobs.jobs.filter((j) => same(j.client))),
              jobsAsProvider: count(jobs.jobs.filter((j) => same(j.provider))),
              balances: balances!.balances.map((b) => ({
                token: tokens.get(b.token)!,
                withdrawable: amountJson(b.withdrawable, tokens.get(b.token)!),
              })),
            }
          : undefined,
      };
      if (opts.json) {
        console.log(toJsonText(summary));
        return;
      }
      const counts = (c: Record<string, number>) =>
        listing.JOB_STATUSES.map((s) => `${c[s]} ${s}`).join(", ");
      const w = summary.workers;
      console.log(
        `deployment   ${opts.deployment ?? "(addresses from flags)"}${session.deployment ? `, from block ${session.deployment.block}` : ""}`,
      );
      for (const [name, address] of Object.entries(contracts)) console.log(`  ${name.padEnd(14)} ${address}`);
      console.log(`chain        ${session.chainId}, block ${at.block} at ${isoSeconds(at.blockTimestamp)}`);
      console.log(
        `escrow       ${state.paused ? "PAUSED" : "not paused"} (${state.pausedSeconds} s paused in all), ` +
          `clock skew ${state.maxClockSkewMs} ms, close grace period ${state.closeGracePeriod} s`,
      );
      console.log(
        `rate card    ${
          Object.entries(state.rateCard)
            .sort((a, b) => Number(b[1] - a[1]))
            .map(([c, bps]) => `${c} ${bps}`)
            .join(", ") || "(empty: no class can earn)"
        } (H100-equivalent bps; H100 = 10000)`,
      );
      console.log(
        `workers      ${w.registered} registered: ${w.active} active, ${w.approved} approved, ${w.released} released; ` +
          `attestor approval ${workers.requireAttestation ? "required" : "not required"} to earn`,
      );
      console.log(`jobs         ${counts(summary.jobs)}`);
      const a = summary.account;
      if (!a) {
        console.log("account      none: configure a key or give --address to see roles, jobs and balances");
        return;
      }
      console.log(`account      ${a.address} (${a.source})`);
      const byRole = new Map<string, string[]>();
      for (const r of a.roles) byRole.set(r.role, [...(byRole.get(r.role) ?? []), r.contract]);
      console.log(
        `  roles       ${[...byRole].map(([role, on]) => `${role} on ${on.join(", ")}`).join("; ") || "none"}`,
      );
      console.log(
        `  workers     ${a.workers.registered} registered: ${a.workers.active} active, ${a.workers.approved} approved`,
      );
      console.log(`  as client   ${counts(a.jobsAsClient)}`);
      console.log(`  as provider ${counts(a.jobsAsProvider)}`);
      console.log(
        `  balances    ${
          balances!.balances
            .map((b) => `${formatTokens(b.withdrawable, tokens.get(b.token)!, opts.raw)} withdrawable`)
            .join(", ") || "nothing to withdraw"
        }`,
      );
    } finally {
      session.close();
    }
  });
}
