import type { Command } from "commander";
import { withChainOptions, type ChainOptions } from "../chain-options.ts";
import { CliError, EXIT_FAILED } from "../output.ts";
import { tokenAddress } from "./job.ts";

export function registerWithdraw(program: Command): void {
  const cmd = program
    .command("withdraw")
    .description(
      "send the signer (a provider) its whole balance of a token in the escrow: payouts are credited when segments " +
        "are accepted and paid out here",
    )
    .option("--token <address>", "ERC-20 to withdraw (default: the ComputeCredit of --deployment)");
  withChainOptions(cmd, { contracts: ["escrow"] }).action(async (opts: ChainOptions & { token?: string }) => {
    const { openSession, addressOf, checkAddress, sendTx, tokenInfo, toJsonText } =
      await import("../chain-session.ts");
    const { formatAmount } = await import("../amounts.ts");
    const { attachContract } = await import("../../contracts/index.ts");
    const { eventsIn } = await import("../../chain/events.ts");
    if (opts.token !== undefined) checkAddress("--token", opts.token);
    const session = await openSession(opts, { contracts: ["escrow"], signs: true });
    try {
      const token = tokenAddress(session, opts.token, checkAddress);
      const signer = session.signer();
      const escrow = attachContract("ComputeEscrow", addressOf(session, "escrow"), signer);
      const info = await tokenInfo(session, token);
      const owed = await escrow.balanceOf(signer.address, token);
      if (owed === 0n) {
        if (opts.json) console.log(toJsonText({ provider: signer.address, token, amount: 0n }));
        else console.log(`nothing to withdraw: the escrow owes ${signer.address} no ${info.symbol ?? token}`);
        return;
      }
      const receipt = await sendTx("withdraw", () => escrow.withdraw(token));
      const ev = eventsIn(receipt, "Withdrawn")[0];
      if (!ev) throw new CliError(`withdraw (tx ${receipt.hash}) emitted no Withdrawn event`, EXIT_FAILED);
      if (opts.json) {
        console.log(toJsonText({ provider: signer.address, token, amount: ev.amount, txHash: receipt.hash }));
        return;
      }
      console.log(`withdrew ${formatAmount(ev.amount, info)} to ${signer.address} (tx ${receipt.hash})`);
    } finally {
      session.close();
    }
  });
}
