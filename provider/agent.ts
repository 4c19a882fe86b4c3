/**
 * The provider agent: follows its workers' traces, proves each segment as soon as it is sealed
 * (in-process pool or `prover serve` hosts), submits in batches, withdraws by rule. It keeps no
 * state of its own beyond a transaction journal: the traces, the bundle folders and the chain
 * say what is done, so a restart after `kill -9` picks up where the last run stopped.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { toBeHex, zeroPadValue, type Wallet } from "ethers";
import { decodeEvents } from "../chain/events.ts";
import { getLogsInRange } from "../chain/logs.ts";
import { attachContract, meterproofInterface } from "../contracts/index.ts";
import type { ProverPool } from "../prover-pool/proof-task.ts";
import { loadVerificationKeys } from "../verifier/load-keys.ts";
import { closeVerifier, type VerificationKey } from "../verifier/verify-bundle.ts";
import type { ProviderSettings } from "./config.ts";
import { failpoint } from "./failpoint.ts";
import type { ProviderMetrics } from "./metrics.ts";
import { writeStatus, type AgentStatus } from "./status.ts";
import { batchDue, planPending, recordOutcome, submitBatch, type SubmitContext } from "./submit-step.ts";
import { TraceLane } from "./trace-lane.ts";
import { TxSender } from "./tx-sender.ts";
import { Withdrawer } from "./withdraw-step.ts";
import { WorkerRunner, type WorkerState } from "./worker-runner.ts";

export type AgentLog = (
  event: string,
  fields: Record<string, unknown>,
  level?: "info" | "warn" | "error",
) => void;

export interface AgentOptions {
  settings: ProviderSettings;
  /** Signs submissions and withdrawals; connected to the chain. */
  wallet: Wallet;
  chainId: bigint;
  escrow: string;
  /** Block the contracts were deployed in: where event searches start. */
  deploymentBlock?: number;
  pool: ProverPool;
  /** Names the pool in the status ("local" or the queue URL without credentials). */
  poolName: string;
  metrics?: ProviderMetrics;
  log: AgentLog;
  /** For jobs with `run`: the meterproof entry point and the RPC URL the workers read the job from. */
  workers?: { bin: string; rpc: string };
}

const MAX_BACKOFF_MS = 60_000;

export class ProviderAgent {
  readonly lanes: TraceLane[];
  private readonly opts: AgentOptions;
  private readonly sender: TxSender;
  private readonly withdrawer: Withdrawer;
  private readonly ctx: SubmitContext;
  private readonly keys = new Map<number, VerificationKey>();
  private readonly tokens = new Map<bigint, string>();
  private readonly chainRead = new Set<TraceLane>();
  private submitBackoff = { at: 0, failures: 0 };
  private lastError: string | undefined;
  private readonly runner: WorkerRunner | undefined;
  private readonly workerStates = new Map<string, WorkerState>();
  private stopped = false;
  private wake: (() => void) | undefined;

  constructor(opts: AgentOptions) {
    this.opts = opts;
    const { settings, wallet } = opts;
    mkdirSync(settings.stateDir, { recursive: true });
    this.lanes = settings.jobs.map((j) => new TraceLane({ tracePath: j.trace, bundleDir: j.bundles }));
    const log = (event: string, fields: Record<string, unknown>) => opts.log(event, fields);
    this.sender = new TxSender({
      wallet,
      journalPath: join(settings.stateDir, "transactions.jsonl"),
      pollMs: Math.min(1000, settings.pollSeconds * 1000),
      confirmMs: settings.confirmSeconds * 1000,
      log,
    });
    this.ctx = {
      provider: wallet.provider!,
      escrow: opts.escrow,
      ...(opts.deploymentBlock !== undefined ? { deploymentBlock: opts.deploymentBlock } : {}),
      sender: this.sender,
      batch: settings.batch,
      ...(opts.metrics ? { metrics: opts.metrics } : {}),
      log,
    };
    if (settings.jobs.some((j) => j.run)) {
      if (!opts.workers) throw new Error("jobs with `run` need AgentOptions.workers");
      this.runner = new WorkerRunner({ stateDir: settings.stateDir, bin: opts.workers.bin, log });
    }
    this.withdrawer = new Withdrawer({
      provider: wallet.provider!,
      escrow: opts.escrow,
      ...(opts.deploymentBlock !== undefined ? { deploymentBlock: opts.deploymentBlock } : {}),
      sender: this.sender,
      rule: settings.withdraw,
      log,
    });
  }

  /** Runs rounds until stop(); each round follows, proves, submits, withdraws and writes the status. */
  async run(): Promise<void> {
    while (!this.stopped) {
      await this.round();
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        setTimeout(resolve, this.opts.settings.pollSeconds * 1000);
      });
    }
  }

  stop(): void {
    this.stopped = true;
    this.wake?.();
  }

  async close(): Promise<void> {
    this.stop();
    this.sender.close();
    await this.opts.pool.close();
    // Checking bundles started snarkjs' curve threads; they would keep the process alive.
    await closeVerifier();
  }

  async round(): Promise<void> {
    this.startWorkers();
    for (const lane of this.lanes) await this.follow(lane);
    for (const lane of this.lanes) this.startProofs(lane);
    this.opts.metrics?.queueDepth.set(
      this.lanes.reduce((n, l) => n + (l.trace?.segments.length ?? 0) - l.bundles.size, 0),
    );
    if (Date.now() >= this.submitBackoff.at) {
      try {
        await this.submitStep();
        this.submitBackoff = { at: 0, failures: 0 };
      } catch (err) {
        const failures = this.submitBackoff.failures + 1;
        const wait = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** failures);
        this.submitBackoff = { at: Date.now() + wait, failures };
        this.lastError = `submit: ${(err as Error).message}`;
        this.opts.log(
          "submit failed, retrying later",
          { error: (err as Error).message, retryInMs: wait },
          "warn",
        );
      }
    }
    this.writeStatusFile();
  }

  status(): AgentStatus {
    return {
      kind: "meterproof-provider-status",
      updatedAt: new Date().toISOString(),
      pid: process.pid,
      chainId: this.opts.chainId.toString(),
      escrow: this.opts.escrow,
      submitter: this.sender.address,
      pool: this.opts.poolName,
      proofsPending: this.opts.pool.pending(),
      ...(this.lastError ? { lastError: this.lastError } : {}),
      withdrawn: Object.fromEntries([...this.withdrawer.withdrawn].map(([t, a]) => [t, a.toString()])),
      lanes: this.lanes.map((l) => {
        const sealed = l.trace?.segments.length ?? 0;
        return {
          trace: l.tracePath,
          ...(l.jobId !== undefined ? { jobId: l.jobId.toString() } : {}),
          ...(l.workerKeyHash !== undefined ? { workerKeyHash: l.workerKeyHash.toString() } : {}),
          sealed,
          proven: l.bundles.size,
          submitted: l.accepted + l.inFlight.size,
          accepted: l.accepted,
          paid: l.paid.toString(),
          backlog: sealed - l.accepted,
          ...(l.lastError ? { lastError: l.lastError } : {}),
          ...(l.refused ? { refused: l.refused } : {}),
          ...workerField(this.workerStates.get(l.tracePath)),
        };
      }),
    };
  }

  /** Starts `worker run` for each job with `run` that neither runs nor has ended. */
  private startWorkers(): void {
    if (!this.runner) return;
    for (const j of this.opts.settings.jobs) {
      if (!j.run) continue;
      try {
        const options = [
          ...["--key", j.run.key, "--job", j.run.job, "--escrow", this.opts.escrow],
          ...["--provider", j.run.provider ?? this.sender.address, "--rpc", this.opts.workers!.rpc],
          ...j.run.options,
        ];
        this.workerStates.set(
          j.trace,
          this.runner.ensure({ name: j.name, trace: j.trace, options, command: j.run.command }),
        );
      } catch (err) {
        this.opts.log("worker not started", { trace: j.trace, error: (err as Error).message }, "warn");
      }
    }
  }

  private async follow(lane: TraceLane): Promise<void> {
    try {
      const fresh = await lane.refresh({
        chainId: this.opts.chainId,
        escrow: this.opts.escrow,
        loadKey: (id) => this.loadKey(id),
      });
      for (const s of fresh)
        this.opts.log("segment sealed", { trace: lane.tracePath, segment: s.index, tLast: s.tLast });
      if (fresh.length > 0) failpoint("after-seal");
      if (lane.trace && !this.chainRead.has(lane)) {
        await this.readLaneFromChain(lane);
        this.chainRead.add(lane);
      }
    } catch (err) {
      lane.lastError = (err as Error).message;
      this.opts.log("trace not read", { trace: lane.tracePath, error: lane.lastError }, "warn");
    }
  }

  private startProofs(lane: TraceLane): void {
    if (!lane.trace) return;
    const size = this.opts.settings.circuitSize ?? lane.trace.header.segmentSize;
    for (const segment of lane.unproven(Date.now())) {
      lane.proving.add(segment.index);
      const t0 = performance.now();
      void (async () => {
        try {
          const key = await this.loadKey(size);
          const proof = await this.opts.pool.prove(lane.task(segment, size));
          const path = await lane.accept({
            segment,
            proof,
            circuit: { size, vkeySha256: key.vkeySha256 },
            keyFor: (id) => this.keys.get(id),
          });
          const seconds = (performance.now() - t0) / 1000;
          lane.retryAt.delete(segment.index);
          this.opts.metrics?.proofs.inc({ result: "ok" });
          this.opts.metrics?.provingSeconds.observe(seconds);
          this.opts.log("segment proven", {
            trace: lane.tracePath,
            segment: segment.index,
            seconds,
            bundle: path,
          });
          failpoint("after-proof");
        } catch (err) {
          const failures = (lane.retryAt.get(segment.index)?.failures ?? 0) + 1;
          const wait = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** failures);
          lane.retryAt.set(segment.index, { at: Date.now() + wait, failures });
          lane.lastError = `segment ${segment.index}: ${(err as Error).message}`;
          this.opts.metrics?.proofs.inc({ result: "failed" });
          this.opts.log(
            "proof failed",
            { trace: lane.tracePath, segment: segment.index, error: lane.lastError, retryInMs: wait },
            "warn",
          );
        } finally {
          lane.proving.delete(segment.index);
          this.wake?.();
        }
      })();
    }
  }

  private async submitStep(): Promise<void> {
    if (this.sender.pending()) {
      const outcome = await this.sender.resume();
      if (outcome) recordOutcome(this.ctx, this.lanes, outcome);
    }
    const pending = await planPending(this.ctx, this.lanes);
    if (batchDue(pending, this.opts.settings.batch, Date.now()))
      await submitBatch(this.ctx, this.lanes, pending);
    await this.withdrawer.step([...(await this.jobTokens())]);
  }

  private async jobTokens(): Promise<string[]> {
    const escrow = attachContract("ComputeEscrow", this.opts.escrow, this.ctx.provider);
    for (const l of this.lanes) {
      if (l.jobId === undefined || this.tokens.has(l.jobId)) continue;
      this.tokens.set(l.jobId, (await escrow.jobOf(l.jobId)).token);
    }
    return [...this.tokens.values()];
  }

  /** What the chain already holds for a lane: its accepted segments and what they paid. */
  private async readLaneFromChain(lane: TraceLane): Promise<void> {
    const provider = this.ctx.provider;
    const topic = meterproofInterface().getEvent("SegmentAccepted")!.topicHash;
    const word = (v: bigint) => zeroPadValue(toBeHex(v), 32);
    const logs = await getLogsInRange(
      provider,
      { address: this.opts.escrow, topics: [topic, word(lane.jobId!), word(lane.workerKeyHash!)] },
      this.opts.deploymentBlock ?? 0,
      await provider.getBlockNumber(),
    );
    const events = decodeEvents(logs).filter((e) => e.name === "SegmentAccepted");
    lane.accepted = events.length;
    lane.paid = events.reduce((a, e) => a + (e.args.payout as bigint), 0n);
  }

  private async loadKey(size: number): Promise<VerificationKey> {
    let key = this.keys.get(size);
    if (!key) {
      const { keys, problems } = await loadVerificationKeys([size]);
      key = keys.get(size);
      if (!key)
        throw new Error(
          problems[0] ?? `circuit ${size} has no setup here: run \`meterproof setup --size ${size}\` first`,
        );
      this.keys.set(size, key);
    }
    return key;
  }

  private writeStatusFile(): void {
    try {
      writeStatus(this.opts.settings.stateDir, this.status());
    } catch (err) {
      this.opts.log("status not written", { error: (err as Error).message }, "warn");
    }
  }
}

function workerField(w: WorkerState | undefined): { worker?: string } {
  if (!w) return {};
  return { worker: w.state === "running" ? `running (pid ${w.pid})` : `exited with ${w.code}` };
}
