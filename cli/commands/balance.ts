import type { Command } from "commander";
import { withChainOptions, type ChainOptions } from "../chain-options.ts";
import { CliError } from "../output.ts";

interface BalanceOptions extends ChainOptions {
  provider?: string;
  token?: string;
  fromBlock?: string;
  raw?: boolean;
}

/** `meterproof balance`: what a provider can withdraw from the escrow, per token, without withdrawing. */
export function registerBalance(program: Command): void {
  const cmd = program
    .command("balance")
    .description(
      "what a provider can withdraw from the escrow, per token, without withdrawing (read only: a configured key " +
        "only names the default --provider, it is never decrypted)",
    )
    .option("--provider <address>", "whose balance (default: the address of the configured key)")
    .option(
      "--token <address>",
      "only this ERC-20 (default: every token of the provider's jobs and the deployment's ComputeCredit)",
    )
    .option("--from-block <n>", "first block to read events from (default: the deployment's)")
    .option("--raw", "print token amounts in base units");
  // signs: the command takes --keystore (and the config's keystore) only to know whose balance to show.
  withChainOptions(cmd, { contracts: ["escrow"], signs: true }).action(async (opts: BalanceOptions) => {
    const { openSession, addressOf, checkAddress, toJsonText } = await import("../chain-session.ts");
    const { providerBalances } = await import("../../chain/listing.ts");
    const { configuredAddress, fromBlockOf, readChain } = await import("../read-context.ts");
    const { refuseKeyOnCommandLine } = await import("../wallet.ts");
    const { readTokens, formatTokens, amountJson } = await import("../token-units.ts");
    refuseKeyOnCommandLine(opts.privateKey);
    const account =
      opts.provider !== undefined ? checkAddress("--provider", opts.provider) : configuredAddress(opts);
    if (account === undefined)
      throw new CliError(
        "give --provider ADDRESS, or configure a key (METERPROOF_PRIVATE_KEY, --keystore or keystore in meterproof.config.json) to use its address",
      );
    const token = opts.token !== undefined ? checkAddress("--token", opts.token) : undefined;
    const session = await openSession(opts, { contracts: ["escrow"], signs: false });
    try {
      const escrow = addressOf(session, "escrow");
      const credit = session.deployment?.addresses.credit;
      const { at, balances } = await readChain(() =>
        providerBalances({
          provider: session.rpc.provider,
          escrow,
          fromBlock: fromBlockOf(session, opts.fromBlock),
          account,
          ...(token ? { tokens: [token] } : credit ? { extraTokens: [credit] } : {}),
        }),
      );
      const tokens = await readTokens(
        session.rpc.provider,
        balances.map((b) => b.token),
      );
      if (opts.json) {
        console.log(
          toJsonText({
            chainId: session.chainId,
            escrow,
            provider: account,
            block: at.block,
            balances: balances.map((b) => {
              const t = tokens.get(b.token)!;
              return {
                token: t,
                withdrawable: amountJson(b.withdrawable, t),
                withdrawn: amountJson(b.withdrawn, t),
              };
            }),
          }),
        );
        return;
      }
      const owed = balances.filter((b) => b.withdrawable > 0n);
      console.log(
        `${account} can withdraw from escrow ${escrow} (chain ${session.chainId}, block ${at.block}):` +
          (owed.length === 0 ? " nothing" : ""),
      );
      for (const b of balances) {
        const t = tokens.get(b.token)!;
        console.log(
          `  ${formatTokens(b.withdrawable, t, opts.raw).padEnd(24)} token ${b.token}` +
            (b.withdrawn > 0n ? `; withdrawn before: ${formatTokens(b.withdrawn, t, opts.raw)}` : ""),
        );
      }
      if (owed.length > 0)
        console.log("`meterproof withdraw --token ADDRESS` sends it (signed by the provider)");
    } finally {
      session.close();
    }
  });
}
