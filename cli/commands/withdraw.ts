import type { Command } from "commander";
import { withChainOptions, type ChainOptions } from "../chain-options.ts";
import { CliError, EXIT_FAILED } from "../output.ts";
import { tokenAddress } from "./job.ts";

export function registerWithdraw(program: Command): void {
  const cmd = program
    .command("withdraw")
    .description(
      "send the signer (a provider) its whole withdrawable balance of a token in the escrow. Under a challenge " +
        "window, payouts stay pending for the window first: this settles the provider's lanes whose pending pay " +
        "has left the window (settlePending), withdraws, and reports what is still pending and until when",
    )
    .option("--token <address>", "ERC-20 to withdraw (default: the ComputeCredit of --deployment)");
  withChainOptions(cmd, { contracts: ["escrow"] }).action(async (opts: ChainOptions & { token?: string }) => {
    const { openSession, addressOf, checkAddress, sendTx, tokenInfo, toJsonText } =
      await import("../chain-session.ts");
    const { formatAmount } = await import("../amounts.ts");
    const { attachContract } = await import("../../contracts/index.ts");
    const { eventsIn } = await import("../../chain/events.ts");
    const { providerPending } = await import("../../chain/pending.ts");
    if (opts.token !== undefined) checkAddress("--token", opts.token);
    const session = await openSession(opts, { contracts: ["escrow"], signs: true });
    try {
      const token = tokenAddress(session, opts.token, checkAddress);
      const signer = session.signer();
      const escrowAddress = addressOf(session, "escrow");
      const escrow = attachContract("ComputeEscrow", escrowAddress, signer);
      const info = await tokenInfo(session, token);
      const say = opts.json ? (m: string) => console.error(m) : (m: string) => console.log(m);

      let settled: { released: bigint; returned: bigint; txHash: string } | undefined;
      if ((await escrow.challengeWindow()) !== 0n) {
        const lanes = (
          await providerPending({
            provider: session.rpc.provider,
            escrow: escrowAddress,
            payee: signer.address,
            ...(session.deployment ? { fromBlock: session.deployment.block } : {}),
          })
        ).filter((l) => l.token.toLowerCase() === token.toLowerCase() && l.releasable + l.returnable > 0n);
        if (lanes.length > 0) {
          const refs = lanes.map((l) => ({ jobId: l.jobId, workerKeyHash: l.workerKeyHash }));
          const receipt = await sendTx("settlePending", () => escrow.settlePending(refs));
          const released = eventsIn(receipt, "PendingReleased").reduce((a, e) => a + e.amount, 0n);
          const returned = eventsIn(receipt, "PendingReturned").reduce((a, e) => a + e.amount, 0n);
          settled = { released, returned, txHash: receipt.hash };
          say(
            `settled ${lanes.length} lane(s): ${formatAmount(released, info)} left the challenge window` +
              (returned !== 0n
                ? `, ${formatAmount(returned, info)} went back to jobs (key revoked for cause)`
                : "") +
              ` (tx ${receipt.hash})`,
          );
        }
      }
      const pending = await escrow.pendingBalanceOf(signer.address, token);
      const owed = await escrow.balanceOf(signer.address, token);
      const pendingNote =
        pending === 0n ? "" : `; ${formatAmount(pending, info)} still pending in the challenge window`;
      if (owed === 0n) {
        if (opts.json)
          console.log(toJsonText({ provider: signer.address, token, amount: 0n, pending, settled }));
        else
          console.log(
            `nothing to withdraw: the escrow owes ${signer.address} no ${info.symbol ?? token} now${pendingNote}`,
          );
        return;
      }
      const receipt = await sendTx("withdraw", () => escrow.withdraw(token));
      const ev = eventsIn(receipt, "Withdrawn")[0];
      if (!ev) throw new CliError(`withdraw (tx ${receipt.hash}) emitted no Withdrawn event`, EXIT_FAILED);
      if (opts.json) {
        console.log(
          toJsonText({
            provider: signer.address,
            token,
            amount: ev.amount,
            pending,
            settled,
            txHash: receipt.hash,
          }),
        );
        return;
      }
      console.log(
        `withdrew ${formatAmount(ev.amount, info)} to ${signer.address} (tx ${receipt.hash})${pendingNote}`,
      );
    } finally {
      session.close();
    }
  });
}
