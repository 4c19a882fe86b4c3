import { decodeBytes32String, type Provider } from "ethers";
import { decodeEvents, type DecodedEvent } from "../chain/events.ts";
import { getLogsInRange, mapConcurrent } from "../chain/logs.ts";
import { attachContract } from "../contracts/index.ts";
import type { AcceptedSegment } from "../verifier/audit.ts";
import { DashboardError, firstLine } from "./errors.ts";

/** Receipts and token calls made at once. */
const FETCH_CONCURRENCY = 8;

/** A segment's share of its transaction's gas: a batch shares one pairing check. */
function shareOf(tx: { used: bigint; segments: number }): bigint {
  return tx.used / BigInt(Math.max(1, tx.segments));
}

/** What the dashboard needs of a deployment: a deployment file (chain/deployment-file.ts) fits. */
export interface DashboardDeployment {
  chainId: bigint;
  /** First block to read events from (the deployment's first block). */
  block: number;
  addresses: { escrow: string; registry: string };
}

/** A job as its events tell it (JobCreated, JobFunded, SegmentAccepted, JobClosed). */
export interface JobState {
  id: bigint;
  client: string;
  provider: string;
  token: string;
  price: bigint;
  createdAt: number;
  expiry: number;
  jobTag: bigint;
  deposited: bigint;
  paid: bigint;
  refunded: bigint;
  closed: boolean;
  segments: number;
}

/** One SegmentAccepted event (the fields the auditor reads too), with its share of its transaction's gas. */
export type AcceptedSegmentRow = Pick<
  AcceptedSegment,
  | "jobId"
  | "workerKeyHash"
  | "circuitId"
  | "prevHead"
  | "newHead"
  | "tFirst"
  | "tLast"
  | "usage"
  | "payout"
  | "txHash"
> & {
  /** The device weight that applied (H100-equivalent bps), fixed when the lane started. */
  weightBps: number;
  block: number;
  /** The transaction's gas divided by the segments it accepted (a batch shares one pairing). */
  gas: bigint;
};

/** A worker key as the registry's events tell it. */
export interface WorkerState {
  keyHash: bigint;
  provider: string;
  deviceClass: string;
  active: boolean;
  approved: boolean;
  /** Its GPU was released by an attestor or the admin: off for good. */
  released: boolean;
  registeredBlock: number;
}

export interface TokenInfo {
  address: string;
  symbol?: string;
  decimals?: number;
}

/** Everything the dashboard shows of the chain, as of `block`. */
export interface ChainSnapshot {
  chainId: bigint;
  block: number;
  /** Timestamp of `block` (unix seconds): jobs expire by chain time, not the server's clock. */
  blockTime: number;
  jobs: Map<bigint, JobState>;
  accepted: AcceptedSegmentRow[];
  workers: Map<bigint, WorkerState>;
  /** The rate card now: device class → weight in H100-equivalent bps. */
  weights: Map<string, number>;
  withdrawn: { provider: string; token: string; amount: bigint }[];
  tokens: Map<string, TokenInfo>;
  /** Gas of every transaction that accepted segments. */
  segmentGas: bigint;
  /** Whether a worker must be approved by an attestor to earn (the registry's setting). */
  attestationRequired: boolean | null;
}

/**
 * Follows one deployment's escrow and registry events from its first block, reading only the
 * blocks after the last sync each time. Never sends a transaction.
 */
export class ChainIndex {
  readonly provider: Provider;
  readonly deployment: DashboardDeployment;
  /** Names the chain in error messages (an RPC URL, or "the in-process Hardhat network"). */
  readonly label: string;
  private synced: number;
  private checked = false;
  private blockTime = 0;
  private readonly state: Omit<ChainSnapshot, "block" | "blockTime" | "chainId">;
  private inFlight: Promise<ChainSnapshot> | undefined;

  constructor(args: { provider: Provider; deployment: DashboardDeployment; label: string }) {
    this.provider = args.provider;
    this.deployment = args.deployment;
    this.label = args.label;
    this.synced = args.deployment.block - 1;
    this.state = {
      jobs: new Map(),
      accepted: [],
      workers: new Map(),
      weights: new Map(),
      withdrawn: [],
      tokens: new Map(),
      segmentGas: 0n,
      attestationRequired: null,
    };
  }

  /** Reads the blocks mined since the last call; concurrent callers share one read. */
  sync(): Promise<ChainSnapshot> {
    this.inFlight ??= this.read().finally(() => (this.inFlight = undefined));
    return this.inFlight;
  }

  private async read(): Promise<ChainSnapshot> {
    try {
      if (!this.checked) await this.checkChain();
      const latest = await this.provider.getBlockNumber();
      if (latest > this.synced) {
        const from = this.synced + 1;
        const { escrow, registry } = this.deployment.addresses;
        const logs = [
          ...(await getLogsInRange(this.provider, { address: escrow }, from, latest)),
          ...(await getLogsInRange(this.provider, { address: registry }, from, latest)),
        ];
        const events = decodeEvents(logs).sort(
          (a, b) =>
            a.position.blockNumber - b.position.blockNumber || a.position.logIndex - b.position.logIndex,
        );
        const gas = await this.gasOf(events);
        const tokens = await this.newTokens(events);
        const block = await this.provider.getBlock(latest);
        if (!block) throw new Error(`block ${latest} is not available`);
        // Nothing below waits: the state takes the new blocks whole or not at all (a failed read is retried whole).
        this.apply(events, gas);
        for (const t of tokens) this.state.tokens.set(t.address, t);
        this.blockTime = block.timestamp;
        this.synced = latest;
      }
      return {
        ...this.state,
        chainId: this.deployment.chainId,
        block: this.synced,
        blockTime: this.blockTime,
      };
    } catch (err) {
      if (err instanceof DashboardError) throw err;
      throw new DashboardError(503, `cannot read the chain at ${this.label}: ${firstLine(err)}`);
    }
  }

  private async checkChain(): Promise<void> {
    const { chainId } = await this.provider.getNetwork();
    if (chainId !== this.deployment.chainId)
      throw new DashboardError(
        503,
        `${this.label} is chain ${chainId}, but the deployment is on chain ${this.deployment.chainId}`,
      );
    const escrow = this.deployment.addresses.escrow;
    if ((await this.provider.getCode(escrow)) === "0x")
      throw new DashboardError(503, `chain ${chainId} has no contract at the escrow address ${escrow}`);
    this.checked = true;
  }

  private apply(events: DecodedEvent[], gas: Map<string, { used: bigint; segments: number }>): void {
    const s = this.state;
    const counted = new Set<string>();
    for (const { name, args: a, position } of events) {
      const job = typeof a.jobId === "bigint" ? s.jobs.get(a.jobId) : undefined;
      const worker = typeof a.workerKeyHash === "bigint" ? s.workers.get(a.workerKeyHash) : undefined;
      switch (name) {
        case "JobCreated":
          s.jobs.set(a.jobId as bigint, {
            id: a.jobId as bigint,
            client: a.client as string,
            provider: a.provider as string,
            token: a.token as string,
            price: a.price as bigint,
            createdAt: Number(a.createdAt),
            expiry: Number(a.expiry),
            jobTag: a.jobTag as bigint,
            deposited: a.budget as bigint,
            paid: 0n,
            refunded: 0n,
            closed: false,
            segments: 0,
          });
          break;
        case "JobFunded":
          if (job) job.deposited += a.amount as bigint;
          break;
        case "JobClosed":
          if (job) {
            job.closed = true;
            job.refunded += a.refund as bigint;
          }
          break;
        case "SegmentAccepted":
          if (job) {
            job.paid += a.payout as bigint;
            job.segments++;
          }
          if (!counted.has(position.transactionHash)) {
            counted.add(position.transactionHash);
            s.segmentGas += gas.get(position.transactionHash)!.used;
          }
          s.accepted.push({
            jobId: a.jobId as bigint,
            workerKeyHash: a.workerKeyHash as bigint,
            circuitId: Number(a.circuitId),
            prevHead: a.prevHead as bigint,
            newHead: a.newHead as bigint,
            tFirst: Number(a.tFirst),
            tLast: Number(a.tLast),
            usage: a.usage as bigint,
            weightBps: Number(a.weightBps),
            payout: a.payout as bigint,
            block: position.blockNumber,
            txHash: position.transactionHash,
            gas: shareOf(gas.get(position.transactionHash)!),
          });
          break;
        case "Withdrawn":
          s.withdrawn.push({
            provider: a.provider as string,
            token: a.token as string,
            amount: a.amount as bigint,
          });
          break;
        case "DeviceWeightSet":
          // The class is an indexed bytes32, so the event carries it as is.
          s.weights.set(decodeBytes32String(a.deviceClass as string), Number(a.weightBps));
          break;
        case "WorkerRegistered":
          s.workers.set(a.workerKeyHash as bigint, {
            keyHash: a.workerKeyHash as bigint,
            provider: a.provider as string,
            deviceClass: decodeBytes32String(a.deviceClass as string),
            active: true,
            approved: false,
            released: false,
            registeredBlock: position.blockNumber,
          });
          break;
        case "WorkerActiveSet":
          if (worker) worker.active = a.active as boolean;
          break;
        case "WorkerApproved":
          if (worker) worker.approved = true;
          break;
        case "WorkerApprovalRevoked":
          if (worker) worker.approved = false;
          break;
        case "RegistryConfigured":
        case "AttestationRequiredSet":
          s.attestationRequired = (a.requireAttestation ?? a.required) as boolean;
          break;
        case "GpuReleased":
          if (worker) Object.assign(worker, { released: true, active: false, approved: false });
          break;
      }
    }
  }

  /** Gas of each transaction that accepted segments, and how many segments (of any job) it accepted. */
  private async gasOf(events: DecodedEvent[]): Promise<Map<string, { used: bigint; segments: number }>> {
    const txs = [
      ...new Set(events.filter((e) => e.name === "SegmentAccepted").map((e) => e.position.transactionHash)),
    ];
    const receipts = await mapConcurrent(txs, FETCH_CONCURRENCY, async (hash) => {
      const receipt = await this.provider.getTransactionReceipt(hash);
      if (!receipt) throw new Error(`the receipt of ${hash} is not available`);
      const segments = decodeEvents(receipt.logs).filter((e) => e.name === "SegmentAccepted").length;
      return [hash, { used: receipt.gasUsed, segments }] as const;
    });
    return new Map(receipts);
  }

  /** decimals() and symbol() of the tokens of new jobs not seen before. */
  private async newTokens(events: DecodedEvent[]): Promise<TokenInfo[]> {
    const tokens = events.filter((e) => e.name === "JobCreated").map((e) => e.args.token as string);
    const unknown = [...new Set(tokens)].filter((t) => !this.state.tokens.has(t));
    return mapConcurrent(unknown, FETCH_CONCURRENCY, (t) => this.tokenInfo(t));
  }

  private async tokenInfo(address: string): Promise<TokenInfo> {
    const token = attachContract("ComputeCredit", address, this.provider);
    const [decimals, symbol] = await Promise.all([
      token.decimals().then(Number, () => undefined),
      token.symbol().catch(() => undefined),
    ]);
    return {
      address,
      ...(decimals !== undefined ? { decimals } : {}),
      ...(symbol !== undefined ? { symbol } : {}),
    };
  }
}
