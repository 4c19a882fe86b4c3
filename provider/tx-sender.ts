/**
 * Sends the agent's transactions so that a crash or a dropped transaction never costs a second
 * submission: each transaction is signed, written to a journal (fsync'ed), then broadcast.
 * After a restart the unfinished entry is followed up before anything new is sent: mined, it is
 * done; unknown to the node with its nonce still free, the same signed bytes are broadcast
 * again (same hash, so it can be mined at most once); its nonce taken by another transaction, it
 * is done as replaced.
 */
import { existsSync, readFileSync, truncateSync } from "node:fs";
import {
  Transaction,
  type Provider,
  type TransactionReceipt,
  type TransactionRequest,
  type Wallet,
} from "ethers";
import { JsonlAppender } from "../trace/jsonl.ts";
import { failpoint } from "./failpoint.ts";

type JournalLine =
  | { type: "sent"; hash: string; nonce: number; raw: string; label: string; at: number }
  | { type: "done"; hash: string; outcome: "mined" | "replaced" };

export type TxOutcome = { hash: string; label: string } & (
  { outcome: "mined"; receipt: TransactionReceipt } | { outcome: "replaced" }
);

export class TxSender {
  private readonly journal: JsonlAppender;
  private readonly wallet: Wallet;
  private readonly provider: Provider;
  private readonly pollMs: number;
  private readonly confirmMs: number;
  private readonly log: (event: string, fields: Record<string, unknown>) => void;
  private unfinished: Extract<JournalLine, { type: "sent" }> | undefined;

  constructor(args: {
    wallet: Wallet;
    journalPath: string;
    pollMs: number;
    confirmMs: number;
    log: (event: string, fields: Record<string, unknown>) => void;
  }) {
    this.wallet = args.wallet;
    this.provider = args.wallet.provider!;
    this.pollMs = args.pollMs;
    this.confirmMs = args.confirmMs;
    this.log = args.log;
    this.unfinished = lastUnfinished(args.journalPath);
    this.journal = new JsonlAppender(args.journalPath);
  }

  get address(): string {
    return this.wallet.address;
  }

  /** A transaction sent before a crash and not yet followed up. */
  pending(): { hash: string; label: string } | undefined {
    return this.unfinished && { hash: this.unfinished.hash, label: this.unfinished.label };
  }

  /** Follows up the unfinished transaction, if any, until it is mined or replaced. */
  async resume(): Promise<TxOutcome | undefined> {
    const entry = this.unfinished;
    if (!entry) return undefined;
    const outcome = await this.confirm(entry);
    this.journal.append({ type: "done", hash: entry.hash, outcome: outcome.outcome } satisfies JournalLine);
    this.unfinished = undefined;
    return outcome;
  }

  /**
   * Fills in nonce, fees and gas (a revert shows up here, before anything is sent), signs,
   * journals, broadcasts and waits until the transaction is mined or replaced.
   */
  async send(label: string, request: TransactionRequest): Promise<TxOutcome> {
    if (this.unfinished) throw new Error(`transaction ${this.unfinished.hash} is still unfinished`);
    const populated = await this.wallet.populateTransaction(request);
    const raw = await this.wallet.signTransaction(populated);
    const tx = Transaction.from(raw);
    const entry = { type: "sent", hash: tx.hash!, nonce: tx.nonce, raw, label, at: Date.now() } as const;
    this.journal.append(entry satisfies JournalLine);
    this.unfinished = entry;
    await this.provider.broadcastTransaction(raw);
    this.log("transaction sent", { label, hash: entry.hash, nonce: entry.nonce });
    failpoint("after-send");
    return this.resume() as Promise<TxOutcome>;
  }

  close(): void {
    this.journal.close();
  }

  private async confirm(entry: Extract<JournalLine, { type: "sent" }>): Promise<TxOutcome> {
    let since = Date.now();
    for (;;) {
      const receipt = await this.provider.getTransactionReceipt(entry.hash);
      if (receipt) return { hash: entry.hash, label: entry.label, outcome: "mined", receipt };
      const known = await this.provider.getTransaction(entry.hash);
      if (!known) {
        const next = await this.provider.getTransactionCount(this.wallet.address, "latest");
        if (next > entry.nonce) {
          // Re-read the receipt: it may have been mined between the two questions.
          const late = await this.provider.getTransactionReceipt(entry.hash);
          if (late) return { hash: entry.hash, label: entry.label, outcome: "mined", receipt: late };
          this.log("transaction replaced", { label: entry.label, hash: entry.hash, nonce: entry.nonce });
          return { hash: entry.hash, label: entry.label, outcome: "replaced" };
        }
        this.log("transaction dropped: sent again", { label: entry.label, hash: entry.hash });
        await this.provider.broadcastTransaction(entry.raw).catch((err: Error) => {
          this.log("broadcast failed", { hash: entry.hash, error: err.message });
        });
        since = Date.now();
      } else if (Date.now() - since > this.confirmMs) {
        this.log("transaction not mined yet", {
          label: entry.label,
          hash: entry.hash,
          waitedMs: Date.now() - since,
        });
        since = Date.now();
      }
      await new Promise((r) => setTimeout(r, this.pollMs));
    }
  }
}

function lastUnfinished(path: string): Extract<JournalLine, { type: "sent" }> | undefined {
  if (!existsSync(path)) return undefined;
  const text = readFileSync(path, "utf8");
  // A line torn by a crash was never broadcast (the write comes before the send): cut it off so
  // the next line starts clean.
  const end = text.lastIndexOf("\n") + 1;
  if (end < text.length) truncateSync(path, Buffer.byteLength(text.slice(0, end)));
  const open = new Map<string, Extract<JournalLine, { type: "sent" }>>();
  for (const lineText of text.slice(0, end).split("\n")) {
    if (lineText.trim() === "") continue;
    let line: JournalLine;
    try {
      line = JSON.parse(lineText) as JournalLine;
    } catch {
      throw new Error(`${path}: a line of the transaction journal is not JSON: ${lineText.slice(0, 80)}`);
    }
    if (line.type === "sent") open.set(line.hash, line);
    else open.delete(line.hash);
  }
  return [...open.values()].at(-1);
}
