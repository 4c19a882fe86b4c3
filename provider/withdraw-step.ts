/**
 * Withdrawal by rule: a token is withdrawn once the escrow owes the provider `threshold` of it,
 * or every `everySeconds`. Under a challenge window payouts stay pending first; what has left
 * the window is settled (`settlePending`, lanes found by chain/pending.ts) before the withdrawal.
 */
import { getAddress, type Provider } from "ethers";
import { eventsIn } from "../chain/events.ts";
import { providerPending, type LanePending } from "../chain/pending.ts";
import { attachContract } from "../contracts/index.ts";
import type { TxSender } from "./tx-sender.ts";

export interface WithdrawRule {
  threshold?: bigint;
  everySeconds?: number;
}

/** How often the provider's pending lanes are looked up (an event scan) under a challenge window, at most. */
const PENDING_SCAN_MS = 60_000;

export class Withdrawer {
  /** Token → total withdrawn by this run. */
  readonly withdrawn = new Map<string, bigint>();
  private readonly lastAt = new Map<string, number>();
  private readonly started = Date.now();
  private window: bigint | undefined;
  private pending: { at: number; lanes: LanePending[] } = { at: 0, lanes: [] };
  private readonly args: {
    provider: Provider;
    escrow: string;
    deploymentBlock?: number;
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
    this.window ??= await escrow.challengeWindow();
    if (this.window > 0n && now - this.pending.at >= Math.min(PENDING_SCAN_MS, Number(this.window) * 1000)) {
      const lanes = await providerPending({
        provider: this.args.provider,
        escrow: this.args.escrow,
        payee: sender.address,
        ...(this.args.deploymentBlock !== undefined ? { fromBlock: this.args.deploymentBlock } : {}),
      });
      this.pending = { at: now, lanes: lanes.filter((l) => l.releasable > 0n) };
    }
    for (const token of new Set(tokens.map((t) => getAddress(t)))) {
      const settle = this.pending.lanes.filter((l) => getAddress(l.token) === token);
      const owed =
        (await escrow.balanceOf(sender.address, token)) + settle.reduce((a, l) => a + l.releasable, 0n);
      if (owed === 0n) continue;
      const byThreshold = rule.threshold !== undefined && owed >= rule.threshold;
      const last = this.lastAt.get(token) ?? this.started;
      const bySchedule = rule.everySeconds !== undefined && now - last >= rule.everySeconds * 1000;
      if (!byThreshold && !bySchedule) continue;
      if (settle.length > 0) {
        const refs = settle.map((l) => ({ jobId: l.jobId, workerKeyHash: l.workerKeyHash }));
        await sender.send(`settle ${refs.length} lanes`, {
          to: this.args.escrow,
          data: escrow.interface.encodeFunctionData("settlePending", [refs]),
        });
        this.pending.lanes = this.pending.lanes.filter((l) => !settle.includes(l));
      }
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
