/**
 * Where a new lane goes in a worker's time-ordered lanes. The UsageVerifier lets each lane bill
 * from its start up to the start of the worker's next lane, so the first segment of a lane
 * names the lane before it (`Submission.laneAfter`, a job tag). Usually that is the worker's
 * latest lane, which `laneAfter = 0` selects on chain; when the new lane starts earlier (its
 * segments are submitted after a later job's), the lane before it is found from the
 * UsageVerifier's LaneStarted events.
 */
import { toBeHex, zeroPadValue, type Provider } from "ethers";
import { attachContract, meterproofInterface } from "../contracts/index.ts";
import { decodeEvents } from "./events.ts";
import { getLogsInRange } from "./logs.ts";

/** `laneAfter` for a lane that places it before all of the worker's lanes (the UsageVerifier's LANE_FIRST). */
export const LANE_FIRST = (1n << 256n) - 1n;

/** One started lane of a worker: its job tag and the start of its first billed window (unix ms). */
export interface StartedLane {
  jobTag: bigint;
  start: bigint;
}

/** Every lane of a worker the UsageVerifier has started (any marketplace), by start time. */
export async function startedLanes(args: {
  provider: Provider;
  usageVerifier: string;
  workerKeyHash: bigint;
  fromBlock?: number;
}): Promise<StartedLane[]> {
  const topic = meterproofInterface().getEvent("LaneStarted")!.topicHash;
  const logs = await getLogsInRange(
    args.provider,
    { address: args.usageVerifier, topics: [topic, null, zeroPadValue(toBeHex(args.workerKeyHash), 32)] },
    args.fromBlock ?? 0,
    await args.provider.getBlockNumber(),
  );
  return decodeEvents(logs)
    .map((e) => ({ jobTag: e.args.jobTag as bigint, start: e.args.start as bigint }))
    .sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
}

/**
 * The `laneAfter` of the first segment of the escrow's job `jobId` for a worker, starting at
 * `tFirst` (unix ms): 0n when it starts after all of the worker's lanes (the UsageVerifier then
 * takes the latest), LANE_FIRST when it starts before all of them, else the job tag of the lane
 * right before it. Returns 0n for a lane that has started already (laneAfter is not read then).
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
  const [job, ledgerAddress] = await Promise.all([escrow.jobOf(args.jobId), escrow.usageVerifier()]);
  const ledger = attachContract("UsageVerifier", ledgerAddress, args.provider);
  const [lane, [firstStart, latestTag]] = await Promise.all([
    ledger.laneOf(job.jobTag, args.workerKeyHash),
    ledger.workerLanes(args.workerKeyHash),
  ]);
  if (lane.head !== 0n || latestTag === 0n) return 0n;
  if (args.tFirst < firstStart) return LANE_FIRST;
  const latest = await ledger.laneOf(latestTag, args.workerKeyHash);
  if (latest.start < args.tFirst) return 0n;
  // A lane starting at the same time counts as before: the ledger then refuses the overlap as such.
  const lanes = await startedLanes({ ...args, usageVerifier: ledgerAddress });
  const before = lanes.filter((l) => l.start <= args.tFirst).at(-1);
  return before ? before.jobTag : LANE_FIRST;
}
