/**
 * A provider's pending payouts under a challenge window. The escrow keeps them per lane (a
 * worker key in a job) and releases a lane's on `settlePending`; this finds the provider's
 * lanes from the escrow's events and reads what each holds.
 */
import { getAddress, toBeHex, zeroPadValue, type Provider } from "ethers";
import { attachContract, meterproofInterface } from "../contracts/index.ts";
import { decodeEvents } from "./events.ts";
import { getLogsInRange } from "./logs.ts";

/** One lane's pending payouts, as ComputeEscrow.pendingOf reports them now. */
export interface LanePending {
  jobId: bigint;
  workerKeyHash: bigint;
  token: string;
  /** Still inside the challenge window. */
  locked: bigint;
  /** Out of the window, waiting for settlePending. */
  releasable: bigint;
  /** Taken back by a revocation for cause, waiting for settlePending. */
  returnable: bigint;
  /** When the next locked amount leaves the window (unix seconds; 0: none). */
  nextReleaseAt: bigint;
}

/** Job ids per request when filtering SegmentAccepted by job (an OR of topics). */
const JOBS_PER_QUERY = 100;

/** The lanes of the provider's jobs that hold pending payouts, in job order. */
export async function providerPending(args: {
  provider: Provider;
  escrow: string;
  payee: string;
  fromBlock?: number;
}): Promise<LanePending[]> {
  const iface = meterproofInterface();
  const toBlock = await args.provider.getBlockNumber();
  const from = args.fromBlock ?? 0;
  const created = await getLogsInRange(
    args.provider,
    {
      address: args.escrow,
      topics: [iface.getEvent("JobCreated")!.topicHash, null, null, zeroPadValue(getAddress(args.payee), 32)],
    },
    from,
    toBlock,
  );
  const jobs = new Map<bigint, string>();
  for (const e of decodeEvents(created)) jobs.set(e.args.jobId as bigint, e.args.token as string);
  const ids = [...jobs.keys()];
  const lanes = new Map<string, { jobId: bigint; workerKeyHash: bigint }>();
  for (let i = 0; i < ids.length; i += JOBS_PER_QUERY) {
    const topics = ids.slice(i, i + JOBS_PER_QUERY).map((id) => zeroPadValue(toBeHex(id), 32));
    const logs = await getLogsInRange(
      args.provider,
      { address: args.escrow, topics: [iface.getEvent("SegmentAccepted")!.topicHash, topics] },
      from,
      toBlock,
    );
    for (const e of decodeEvents(logs)) {
      const lane = { jobId: e.args.jobId as bigint, workerKeyHash: e.args.workerKeyHash as bigint };
      lanes.set(`${lane.jobId}:${lane.workerKeyHash}`, lane);
    }
  }
  const escrow = attachContract("ComputeEscrow", args.escrow, args.provider);
  const out: LanePending[] = [];
  for (const lane of lanes.values()) {
    const [locked, releasable, returnable, nextReleaseAt] = await escrow.pendingOf(
      lane.jobId,
      lane.workerKeyHash,
    );
    if (locked + releasable + returnable === 0n) continue;
    out.push({ ...lane, token: jobs.get(lane.jobId)!, locked, releasable, returnable, nextReleaseAt });
  }
  return out.sort((a, b) => (a.jobId < b.jobId ? -1 : a.jobId > b.jobId ? 1 : 0));
}
