import { decodeBytes32String, toBeHex, zeroPadValue, type Provider } from "ethers";
import { attachContract, meterproofInterface } from "../contracts/index.ts";
import type { AcceptedSegment, ChainView } from "../verifier/audit.ts";
import { decodeEvents, type DecodedEvent } from "./events.ts";
import { getLogsInRange, mapConcurrent } from "./logs.ts";

/** Block headers fetched at once when reading block times. */
const BLOCK_FETCH_CONCURRENCY = 8;

/** One segment the escrow accepted (the auditor's input), with the worker's registered device class. */
export type ChainSegment = AcceptedSegment & { deviceClass: string };

/** What the chain says about one job: its binding, price and every accepted segment in order. */
export interface JobChainView extends ChainView {
  jobId: bigint;
  provider: string;
  accepted: ChainSegment[];
}

/**
 * Reads a job's history from the escrow's events: JobCreated, JobFunded and PendingReturned
 * (budget) and SegmentAccepted (payouts in chain order, each with the weight its lane was
 * fixed at), plus each worker's registered device class and each block's time.
 */
export async function readJobChainView(args: {
  provider: Provider;
  escrow: string;
  jobId: bigint;
  fromBlock?: number;
}): Promise<JobChainView> {
  const escrow = attachContract("ComputeEscrow", args.escrow, args.provider);
  const code = await args.provider.getCode(args.escrow);
  if (code === "0x") throw new Error(`--escrow ${args.escrow} has no contract code on this chain`);
  const job = await escrow.jobOf(args.jobId);
  if (job.client === "0x0000000000000000000000000000000000000000")
    throw new Error(`job ${args.jobId} does not exist on escrow ${args.escrow}`);
  const registry = attachContract("WorkerRegistry", await escrow.registry(), args.provider);
  const events = await readEscrowEvents(args.provider, args.escrow, args.jobId, args.fromBlock ?? 0);

  const classes = new Map<bigint, string>();
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
        deviceClass: decodeBytes32String(deviceClass),
        blockTimestamp: blockTimes.get(e.position.blockNumber)!,
        txHash: e.position.transactionHash,
      });
      remaining -= payout;
    }
  }
  return {
    jobId: args.jobId,
    jobTag: job.jobTag,
    provider: job.provider,
    pricePerH100Hour: job.price,
    maxClockSkewMs: Number(await escrow.maxClockSkewMs()),
    accepted,
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
): Promise<DecodedEvent[]> {
  const iface = meterproofInterface();
  const topic = (name: string) => iface.getEvent(name)!.topicHash;
  const latest = await provider.getBlockNumber();
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
  return decodeEvents(jobLogs).sort(
    (a, b) => a.position.blockNumber - b.position.blockNumber || a.position.logIndex - b.position.logIndex,
  );
}
