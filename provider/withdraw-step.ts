/** Withdrawal by rule: a token is withdrawn once the escrow owes the provider `threshold` of it, or every `everySeconds`. */
import { getAddress, type Provider } from "ethers";
import { eventsIn } from "../chain/events.ts";
import { attachContract } from "../contracts/index.ts";
import type { TxSender } from "./tx-sender.ts";

export interface WithdrawRule {
  threshold?: bigint;
  everySeconds?: number;
}

export class Withdrawer {
  /** Token → total withdrawn by this run. */
  readonly withdrawn = new Map<string, bigint>();
  private readonly lastAt = new Map<string, number>();
  private readonly started = Date.now();

  private readonly args: {
    provider: Provider;
    escrow: string;
    sender: TxSender;
    rule: WithdrawRule;
    log: (event: string, fields: Record<string, unknown>) => void;
  };

  constructor(args: Withdrawer["args"]) {
    this.args = args;
  }

  /** Withdraws every token of `tokens` whose rule is due. */
  async step(tokens: readonly string[], now = Date.now()): Promise<void> {
    const { rule, sender } = this.args;
    if (rule.threshold === undefined && rule.everySeconds === undefined) return;
    const escrow = attachContract("ComputeEscrow", this.args.escrow, this.args.provider);
    for (const token of new Set(tokens.map((t) => getAddress(t)))) {
      const owed = await escrow.balanceOf(sender.address, token);
      if (owed === 0n) continue;
      const byThreshold = rule.threshold !== undefined && owed >= rule.threshold;
      const last = this.lastAt.get(token) ?? this.started;
      const bySchedule = rule.everySeconds !== undefined && now - last >= rule.everySeconds * 1000;
      if (!byThreshold && !bySchedule) continue;
      const outcome = await sender.send(`withdraw ${token}`, {
        to: this.args.escrow,
        data: escrow.interface.encodeFunctionData("withdraw", [token]),
      });
      this.lastAt.set(token, now);
      if (outcome.outcome !== "mined" || outcome.receipt.status !== 1) continue;
      const amount = eventsIn(outcome.receipt, "Withdrawn")[0]?.amount ?? 0n;
      this.withdrawn.set(token, (this.withdrawn.get(token) ?? 0n) + amount);
      this.args.log("withdrawn", { token, amount: amount.toString(), hash: outcome.hash });
    }
  }
}
