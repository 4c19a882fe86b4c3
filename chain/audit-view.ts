import { decodeBytes32String, toBeHex, ZeroAddress, zeroPadValue, type Provider } from "ethers";
import {
  attachContract,
  meterproofInterface,
  type ComputeEscrow,
  type WorkerRegistry,
} from "../contracts/index.ts";
import type { AcceptedSegment, ChainState, ChainView } from "../verifier/audit.ts";
import { decodeEvents, type DecodedEvent, type LogPosition } from "./events.ts";
import { getLogsInRange, mapConcurrent } from "./logs.ts";

/** Block headers fetched at once when reading block times. */
const BLOCK_FETCH_CONCURRENCY = 8;

/** One segment the escrow accepted (the auditor's input), with the worker's registered device class. */
export type ChainSegment = AcceptedSegment & { deviceClass: string };

/** What the chain says about one job: its binding, price and every accepted segment in order. */
export interface JobChainView extends ChainView {
  jobId: bigint;
  provider: string;
  /** The ERC-20 of the job's budget and payouts. */
  token: string;
  accepted: ChainSegment[];
}

/**
 * Reads a job's history from the escrow's events: JobCreated, JobFunded and PendingReturned
 * (budget) and SegmentAccepted (payouts in chain order, each with the weight its lane was fixed
 * at), plus each worker's registered device class, the rate card's weight for it when its lane
 * started (DeviceWeightSet history) and each block's time. With `workerKeyHash` (the trace's
 * worker) it also reads the state that decides whether the trace's other segments can still be paid.
 */
export async function readJobChainView(args: {
  provider: Provider;
  escrow: string;
  jobId: bigint;
  fromBlock?: number;
  workerKeyHash?: bigint;
}): Promise<JobChainView> {
  const escrow = attachContract("ComputeEscrow", args.escrow, args.provider);
  const code = await args.provider.getCode(args.escrow);
  if (code === "0x") throw new Error(`--escrow ${args.escrow} has no contract code on this chain`);
  const job = await escrow.jobOf(args.jobId);
  if (job.client === ZeroAddress)
    throw new Error(`job ${args.jobId} does not exist on escrow ${args.escrow}`);
  const registry = attachContract("WorkerRegistry", await escrow.registry(), args.provider);
  const fromBlock = args.fromBlock ?? 0;
  const latest = await args.provider.getBlockNumber();
  const [events, weightEvents] = await Promise.all([
    readEscrowEvents(args.provider, args.escrow, args.jobId, fromBlock, latest),
    readWeightHistory(args.provider, args.escrow, fromBlock, latest),
  ]);

  const classes = new Map<bigint, string>();
  const laneWeights = new Map<bigint, bigint | undefined>();
  const acceptedBlocks = [
    ...new Set(events.filter((e) => e.name === "SegmentAccepted").map((e) => e.position.blockNumber)),
  ];
  const times = await mapConcurrent(acceptedBlocks, BLOCK_FETCH_CONCURRENCY, async (n) => {
    const block = await args.provider.getBlock(n);
    if (!block) throw new Error(`block ${n} is not available from this RPC endpoint`);
    return block.timestamp;
  });
  const blockTimes = new Map(acceptedBlocks.map((n, i) => [n, times[i]!]));
  const ofJob = (e: DecodedEvent) => (e.args.jobId as bigint) === args.jobId;

  let remaining = 0n;
  const accepted: ChainSegment[] = [];
  for (const e of events) {
    if (e.name === "JobCreated" && ofJob(e)) remaining = e.args.budget as bigint;
    else if (e.name === "JobFunded" && ofJob(e)) remaining = e.args.remaining as bigint;
    // Pay taken back from a key revoked for cause refills the budget (unless the job was closed).
    else if (e.name === "PendingReturned" && ofJob(e) && !(e.args.toClient as boolean))
      remaining += e.args.amount as bigint;
    else if (e.name === "SegmentAccepted" && ofJob(e)) {
      const workerKeyHash = e.args.workerKeyHash as bigint;
      if (!classes.has(workerKeyHash))
        classes.set(workerKeyHash, (await registry.workerOf(workerKeyHash)).deviceClass);
      const deviceClass = classes.get(workerKeyHash)!;
      // A lane's weight is fixed at its first segment: the rate card's weight for the class then.
      if (!laneWeights.has(workerKeyHash))
        laneWeights.set(workerKeyHash, weightAt(weightEvents, deviceClass, e.position));
      const expected = laneWeights.get(workerKeyHash);
      const payout = e.args.payout as bigint;
      accepted.push({
        jobId: args.jobId,
        workerKeyHash,
        circuitId: Number(e.args.circuitId),
        prevHead: e.args.prevHead as bigint,
        newHead: e.args.newHead as bigint,
        tFirst: Number(e.args.tFirst),
        tLast: Number(e.args.tLast),
        usage: e.args.usage as bigint,
        payout,
        remainingBefore: remaining,
        weightBps: BigInt(e.args.weightBps as bigint),
        ...(expected !== undefined ? { expectedWeightBps: expected } : {}),
        deviceClass: decodeBytes32String(deviceClass),
        blockTimestamp: blockTimes.get(e.position.blockNumber)!,
        txHash: e.position.transactionHash,
      });
      remaining -= payout;
    }
  }
  const state =
    args.workerKeyHash === undefined
      ? undefined
      : await readChainState({
          provider: args.provider,
          escrow,
          registry,
          jobId: args.jobId,
          jobTag: job.jobTag,
          workerKeyHash: args.workerKeyHash,
          fromBlock,
          latest,
        });
  return {
    jobId: args.jobId,
    jobTag: job.jobTag,
    provider: job.provider,
    token: job.token,
    pricePerH100Hour: job.price,
    maxClockSkewMs: Number(await escrow.maxClockSkewMs()),
    accepted,
    ...(state ? { state } : {}),
  };
}

/** The escrow's DeviceWeightSet events, in chain order. */
async function readWeightHistory(
  provider: Provider,
  escrow: string,
  fromBlock: number,
  toBlock: number,
): Promise<DecodedEvent[]> {
  const topic = meterproofInterface().getEvent("DeviceWeightSet")!.topicHash;
  const logs = await getLogsInRange(provider, { address: escrow, topics: [topic] }, fromBlock, toBlock);
  return decodeEvents(logs).sort(byPosition);
}

/**
 * The weight the rate card gave `deviceClass` (bytes32) just before `at`; undefined when no
 * DeviceWeightSet for it lies in the blocks read (a later --from-block than the rate card's).
 */
function weightAt(
  history: readonly DecodedEvent[],
  deviceClass: string,
  at: LogPosition,
): bigint | undefined {
  let weight: bigint | undefined;
  for (const e of history) {
    if (byPosition(e, { position: at }) >= 0) break;
    if (e.args.deviceClass === deviceClass) weight = BigInt(e.args.weightBps as bigint);
  }
  return weight;
}

function byPosition(a: { position: LogPosition }, b: { position: LogPosition }): number {
  return a.position.blockNumber - b.position.blockNumber || a.position.logIndex - b.position.logIndex;
}

/** uint64 max: a lane's nextStart when no later lane of its worker exists. */
const OPEN_END = (1n << 64n) - 1n;
const ms = (v: bigint): number => (v === OPEN_END ? Infinity : Number(v));

/** The job, the worker's registry record and its lanes now: whether more segments can be paid. */
async function readChainState(args: {
  provider: Provider;
  escrow: ComputeEscrow;
  registry: WorkerRegistry;
  jobId: bigint;
  jobTag: bigint;
  workerKeyHash: bigint;
  fromBlock: number;
  latest: number;
}): Promise<ChainState> {
  const { escrow, registry } = args;
  const ledger = attachContract("UsageVerifier", await escrow.usageVerifier(), args.provider);
  const [job, closableAt, paused, block, worker, billing, lane, started] = await Promise.all([
    escrow.jobOf(args.jobId),
    escrow.closableAt(args.jobId),
    escrow.paused(),
    args.provider.getBlock(args.latest),
    registry.workerOf(args.workerKeyHash),
    registry.billingStatus(args.workerKeyHash),
    ledger.laneOf(args.jobTag, args.workerKeyHash),
    getLogsInRange(
      args.provider,
      {
        address: await ledger.getAddress(),
        topics: [
          meterproofInterface().getEvent("LaneStarted")!.topicHash,
          null,
          zeroPadValue(toBeHex(args.workerKeyHash), 32),
        ],
      },
      args.fromBlock,
      args.latest,
    ),
  ]);
  if (!block) throw new Error(`block ${args.latest} is not available from this RPC endpoint`);
  const others = decodeEvents(started).filter((e) => (e.args.jobTag as bigint) !== args.jobTag);
  const otherLanes = await mapConcurrent(others, BLOCK_FETCH_CONCURRENCY, async (e) => {
    const span = await ledger.laneOf(e.args.jobTag as bigint, args.workerKeyHash);
    return {
      jobTag: e.args.jobTag as bigint,
      jobId: e.args.jobId as bigint,
      market: e.args.market as string,
      start: ms(span.start),
      end: ms(span.end),
    };
  });
  return {
    blockTimestamp: block.timestamp,
    paused,
    job: {
      closed: job.closed,
      remaining: job.remaining,
      createdAt: Number(job.createdAt),
      expiry: Number(job.expiry),
      closableAt: Number(closableAt),
      provider: job.provider,
    },
    worker: {
      provider: worker.provider,
      deviceClass: worker.provider === ZeroAddress ? "" : decodeBytes32String(worker.deviceClass),
      gpuUuidHash: worker.gpuUuidHash,
      active: worker.active,
      approved: billing.approved,
      weightBps: worker.provider === ZeroAddress ? 0n : await escrow.deviceWeight(worker.deviceClass),
    },
    lane: {
      head: lane.head,
      start: ms(lane.start),
      end: ms(lane.end),
      nextStart: ms(lane.nextStart),
      weightBps: lane.laneData,
    },
    otherLanes,
  };
}

/**
 * The job's JobCreated, JobFunded, PendingReturned and SegmentAccepted events (filtered by the
 * indexed job id), in chain order. Reads in as many block ranges as the RPC endpoint needs (chain/logs.ts).
 */
async function readEscrowEvents(
  provider: Provider,
  escrow: string,
  jobId: bigint,
  fromBlock: number,
  latest: number,
): Promise<DecodedEvent[]> {
  const iface = meterproofInterface();
  const topic = (name: string) => iface.getEvent(name)!.topicHash;
  const jobTopic = zeroPadValue(toBeHex(jobId), 32);
  const jobLogs = await getLogsInRange(
    provider,
    {
      address: escrow,
      topics: [
        [topic("JobCreated"), topic("JobFunded"), topic("PendingReturned"), topic("SegmentAccepted")],
        jobTopic,
      ],
    },
    fromBlock,
    latest,
  );
  return decodeEvents(jobLogs).sort(byPosition);
}
