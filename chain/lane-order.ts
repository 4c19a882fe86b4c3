/**
 * Where a new lane goes in a worker's time-ordered lanes. The escrow lets each lane bill from
 * its start up to the start of the worker's next lane, so the first segment of a lane names
 * the lane before it (`Submission.laneAfter`). Usually that is the worker's latest lane, which
 * `laneAfter = 0` selects on chain; when the new lane starts earlier (its segments are
 * submitted after a later job's), the lane before it is found from the LaneStarted events.
 */
import { toBeHex, zeroPadValue, type Provider } from "ethers";
import { attachContract, meterproofInterface } from "../contracts/index.ts";
import { decodeEvents } from "./events.ts";
import { getLogsInRange } from "./logs.ts";

/** `laneAfter` for a lane that places it before all of the worker's lanes (the escrow's LANE_FIRST). */
export const LANE_FIRST = (1n << 256n) - 1n;

/** One started lane of a worker: its job and the start of its first billed window (unix ms). */
export interface StartedLane {
  jobId: bigint;
  start: bigint;
}

/** Every lane of a worker the escrow has started, from its LaneStarted events, by start time. */
export async function startedLanes(args: {
  provider: Provider;
  escrow: string;
  workerKeyHash: bigint;
  fromBlock?: number;
}): Promise<StartedLane[]> {
  const topic = meterproofInterface().getEvent("LaneStarted")!.topicHash;
  const logs = await getLogsInRange(
    args.provider,
    { address: args.escrow, topics: [topic, null, zeroPadValue(toBeHex(args.workerKeyHash), 32)] },
    args.fromBlock ?? 0,
    await args.provider.getBlockNumber(),
  );
  return decodeEvents(logs)
    .map((e) => ({ jobId: e.args.jobId as bigint, start: e.args.start as bigint }))
    .sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
}

/**
 * The `laneAfter` of the first segment of a lane starting at `tFirst` (unix ms): 0n when it
 * starts after all of the worker's lanes (the escrow then takes the latest), LANE_FIRST when
 * it starts before all of them, else the job id of the lane right before it. Returns 0n for a
 * lane that has started already (the escrow does not read laneAfter then).
 */
export async function laneAfterFor(args: {
  provider: Provider;
  escrow: string;
  jobId: bigint;
  workerKeyHash: bigint;
  tFirst: bigint;
  fromBlock?: number;
}): Promise<bigint> {
  const escrow = attachContract("ComputeEscrow", args.escrow, args.provider);
  const [lane, [firstStart, latestJob]] = await Promise.all([
    escrow.laneOf(args.jobId, args.workerKeyHash),
    escrow.workerLanes(args.workerKeyHash),
  ]);
  if (lane.head !== 0n || latestJob === 0n) return 0n;
  if (args.tFirst < firstStart) return LANE_FIRST;
  const latest = await escrow.laneOf(latestJob, args.workerKeyHash);
  if (latest.start < args.tFirst) return 0n;
  // A lane starting at the same time counts as before: the escrow then refuses the overlap as such.
  const before = (await startedLanes(args)).filter((l) => l.start <= args.tFirst).at(-1);
  return before ? before.jobId : LANE_FIRST;
}
