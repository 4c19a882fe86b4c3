/**
 * Read-only views over a deployment for `job list`, `worker list`, `balance` and `status`: which
 * jobs and workers exist comes from events (JobCreated, WorkerRegistered; read in as many block
 * ranges as the endpoint needs), their current state from the contracts' views, and what was
 * billed from SegmentAccepted. Nothing here signs or sends.
 */
import { decodeBytes32String, getAddress, toBeHex, zeroPadValue, type Provider } from "ethers";
import { attachContract, meterproofInterface } from "../contracts/index.ts";
import { decodeEvents, type DecodedEvent } from "./events.ts";
import { getLogsInRange, mapConcurrent } from "./logs.ts";
import { ROLE_NAMES, roleName } from "./revert-reasons.ts";

/** Contract calls in flight at once. */
const CONCURRENCY = 8;
/** Values per topic in one eth_getLogs (nodes cap OR-lists of topics). */
const TOPIC_CHUNK = 100;

export type JobStatus = "open" | "closed" | "expired";
export const JOB_STATUSES: readonly JobStatus[] = ["open", "closed", "expired"];

/** A job as the escrow holds it now, with its segment count. Amounts in the token's base units. */
export interface JobListing {
  jobId: bigint;
  client: string;
  provider: string;
  token: string;
  /** Every deposit (creation and top-ups): the budget. */
  budget: bigint;
  paid: bigint;
  remaining: bigint;
  refunded: bigint;
  /** Token base units per H100-equivalent hour. */
  price: bigint;
  /** Unix seconds. */
  createdAt: number;
  expiry: number;
  /** From when the client may close it (unix seconds). */
  closableAt: number;
  /** closed; else expired once the latest block is past its expiry; else open. */
  status: JobStatus;
  segmentsAccepted: number;
  jobTag: bigint;
}

/** What a chain read is about: the latest block when it was read. */
export interface ReadAt {
  block: number;
  /** Unix seconds. */
  blockTimestamp: number;
}

interface ReadArgs {
  provider: Provider;
  escrow: string;
  /** First block to read events from (the deployment's). */
  fromBlock: number;
}

const topicOf = (name: string): string => meterproofInterface().getEvent(name)!.topicHash;
const word = (v: bigint | string): string => zeroPadValue(typeof v === "string" ? v : toBeHex(v), 32);

async function latest(provider: Provider): Promise<ReadAt> {
  const block = await provider.getBlock("latest");
  if (!block) throw new Error("the endpoint returned no latest block");
  return { block: block.number, blockTimestamp: block.timestamp };
}

/** Logs of `event` at `address`, optionally with topic `position` one of `values` (read in chunks). */
async function eventsOf(
  args: ReadArgs & { address: string; event: string; toBlock: number },
  filter?: { position: 1 | 2 | 3; values: readonly string[] },
): Promise<DecodedEvent[]> {
  const read = async (topics: (string | string[] | null)[]) =>
    decodeEvents(
      await getLogsInRange(args.provider, { address: args.address, topics }, args.fromBlock, args.toBlock),
    );
  if (!filter) return read([topicOf(args.event)]);
  const out: DecodedEvent[] = [];
  for (let i = 0; i < filter.values.length; i += TOPIC_CHUNK) {
    const topics: (string | string[] | null)[] = [topicOf(args.event), null, null, null];
    topics[filter.position] = filter.values.slice(i, i + TOPIC_CHUNK) as string[];
    out.push(...(await read(topics.slice(0, filter.position + 1))));
  }
  return out.sort(
    (a, b) => a.position.blockNumber - b.position.blockNumber || a.position.logIndex - b.position.logIndex,
  );
}

/** The escrow's jobs, filtered by client, provider and status, in id order. */
export async function listJobs(
  args: ReadArgs & { client?: string; jobProvider?: string; status?: JobStatus },
): Promise<{ at: ReadAt; jobs: JobListing[] }> {
  const at = await latest(args.provider);
  const escrow = attachContract("ComputeEscrow", args.escrow, args.provider);
  // JobCreated(jobId indexed, client indexed, provider indexed, …): filter on the node.
  const topics: (string | null)[] = [topicOf("JobCreated"), null, null, null];
  if (args.client !== undefined) topics[2] = word(args.client);
  if (args.jobProvider !== undefined) topics[3] = word(args.jobProvider);
  const created = decodeEvents(
    await getLogsInRange(args.provider, { address: args.escrow, topics }, args.fromBlock, at.block),
  );
  const ids = [...new Set(created.map((e) => e.args.jobId as bigint))].sort((a, b) => (a < b ? -1 : 1));
  const jobs = await mapConcurrent(ids, CONCURRENCY, async (jobId) => {
    const [job, closableAt] = await Promise.all([escrow.jobOf(jobId), escrow.closableAt(jobId)]);
    const expiry = Number(job.expiry);
    const status: JobStatus = job.closed ? "closed" : at.blockTimestamp >= expiry ? "expired" : "open";
    return {
      jobId,
      client: job.client,
      provider: job.provider,
      token: job.token,
      budget: job.deposited,
      paid: job.paid,
      remaining: job.remaining,
      refunded: job.refunded,
      price: job.price,
      createdAt: Number(job.createdAt),
      expiry,
      closableAt: Number(closableAt),
      status,
      segmentsAccepted: 0,
      jobTag: job.jobTag,
    };
  });
  const wanted = jobs.filter((j) => args.status === undefined || j.status === args.status);
  if (wanted.length > 0) {
    const filtered = args.client !== undefined || args.jobProvider !== undefined || args.status !== undefined;
    const segments = await eventsOf(
      { ...args, address: args.escrow, event: "SegmentAccepted", toBlock: at.block },
      filtered ? { position: 1, values: wanted.map((j) => word(j.jobId)) } : undefined,
    );
    const byId = new Map(wanted.map((j) => [j.jobId, j]));
    for (const e of segments) {
      const job = byId.get(e.args.jobId as bigint);
      if (job) job.segmentsAccepted++;
    }
  }
  return { at, jobs: wanted };
}

/** A worker key as the registry holds it now, with what the escrow billed for it. */
export interface WorkerListing {
  workerKeyHash: bigint;
  provider: string;
  /** The registered class, as text. */
  deviceClass: string;
  /** 0x hex; zero once released. */
  gpuUuidHash: string;
  released: boolean;
  active: boolean;
  /** An attestor's approval (regardless of whether the registry requires it). */
  approved: boolean;
  /** The latest approval or revocation, when there was one. */
  /** The last approval or revocation; an approval holds until `expiresAt` (unix seconds). */
  approval?: { approved: boolean; attestor: string; block: number; expiresAt?: number };
  /** Unix seconds. */
  registeredAt: number;
  /** The class's weight on the rate card now (H100-equivalent bps). */
  weightBps: bigint;
  /** Jobs with at least one accepted segment of this key, and the segments. */
  lanes: number;
  segments: number;
  /** Σ usage of its accepted segments (bps·ms). */
  usage: bigint;
  /** Σ usage × the weight each segment was paid at: H100-equivalent usage × 10^4. */
  weightedUsage: bigint;
  /** The weights its segments were paid at. */
  weightsApplied: bigint[];
}

/** The registry's worker keys (of one provider, or all), with their billing in the escrow. */
export async function listWorkers(
  args: ReadArgs & { workerProvider?: string },
): Promise<{ at: ReadAt; registry: string; requireAttestation: boolean; workers: WorkerListing[] }> {
  const at = await latest(args.provider);
  const escrow = attachContract("ComputeEscrow", args.escrow, args.provider);
  const registryAddress = await escrow.registry();
  const registry = attachContract("WorkerRegistry", registryAddress, args.provider);
  const registered = await eventsOf(
    { ...args, address: registryAddress, event: "WorkerRegistered", toBlock: at.block },
    args.workerProvider !== undefined ? { position: 2, values: [word(args.workerProvider)] } : undefined,
  );
  const keys = [...new Set(registered.map((e) => e.args.workerKeyHash as bigint))];
  const keyWords = keys.map((k) => word(k));
  const read = { ...args, toBlock: at.block };
  const [requireAttestation, records, approvals, revocations, segments] = await Promise.all([
    registry.requireAttestation(),
    mapConcurrent(keys, CONCURRENCY, (k) => registry.workerOf(k)),
    keys.length > 0
      ? eventsOf(
          { ...read, address: registryAddress, event: "WorkerApproved" },
          { position: 1, values: keyWords },
        )
      : [],
    keys.length > 0
      ? eventsOf(
          { ...read, address: registryAddress, event: "WorkerApprovalRevoked" },
          { position: 1, values: keyWords },
        )
      : [],
    keys.length > 0
      ? eventsOf(
          { ...read, address: args.escrow, event: "SegmentAccepted" },
          { position: 2, values: keyWords },
        )
      : [],
  ]);
  const classes = [...new Set(records.map((r) => r.deviceClass))];
  const weights = new Map(
    await mapConcurrent(classes, CONCURRENCY, async (c) => [c, await escrow.deviceWeight(c)] as const),
  );
  const lastApproval = new Map<bigint, WorkerListing["approval"]>();
  for (const e of [...approvals, ...revocations].sort(
    (a, b) => a.position.blockNumber - b.position.blockNumber || a.position.logIndex - b.position.logIndex,
  )) {
    lastApproval.set(e.args.workerKeyHash as bigint, {
      approved: e.name === "WorkerApproved",
      attestor: e.args.attestor as string,
      block: e.position.blockNumber,
      ...(e.name === "WorkerApproved" ? { expiresAt: Number(e.args.expiresAt as bigint) } : {}),
    });
  }
  const workers = keys.map((workerKeyHash, i): WorkerListing => {
    const r = records[i]!;
    const mine = segments.filter((e) => (e.args.workerKeyHash as bigint) === workerKeyHash);
    const approval = lastApproval.get(workerKeyHash);
    return {
      workerKeyHash,
      provider: r.provider,
      deviceClass: decodeBytes32String(r.deviceClass),
      gpuUuidHash: r.gpuUuidHash,
      released: BigInt(r.gpuUuidHash) === 0n,
      active: r.active,
      approved: r.approved,
      ...(approval ? { approval } : {}),
      registeredAt: Number(r.registeredAt),
      weightBps: weights.get(r.deviceClass) ?? 0n,
      lanes: new Set(mine.map((e) => e.args.jobId as bigint)).size,
      segments: mine.length,
      usage: mine.reduce((s, e) => s + (e.args.usage as bigint), 0n),
      weightedUsage: mine.reduce((s, e) => s + (e.args.usage as bigint) * (e.args.weightBps as bigint), 0n),
      weightsApplied: [...new Set(mine.map((e) => e.args.weightBps as bigint))],
    };
  });
  return { at, registry: registryAddress, requireAttestation, workers };
}

/** What the escrow owes an address in one token, and what it withdrew before. */
export interface TokenBalance {
  token: string;
  withdrawable: bigint;
  withdrawn: bigint;
}

/**
 * What `account` can withdraw from the escrow, per token: the given tokens, or every token of
 * a job it is the provider of (plus `extraTokens`, e.g. the deployment's credit).
 */
export async function providerBalances(
  args: ReadArgs & { account: string; tokens?: readonly string[]; extraTokens?: readonly string[] },
): Promise<{ at: ReadAt; balances: TokenBalance[] }> {
  const at = await latest(args.provider);
  const escrow = attachContract("ComputeEscrow", args.escrow, args.provider);
  const read = { ...args, address: args.escrow, toBlock: at.block };
  const [jobsOf, withdrawals] = await Promise.all([
    args.tokens
      ? []
      : getLogsInRange(
          args.provider,
          { address: args.escrow, topics: [topicOf("JobCreated"), null, null, word(args.account)] },
          args.fromBlock,
          at.block,
        ).then(decodeEvents),
    eventsOf({ ...read, event: "Withdrawn" }, { position: 1, values: [word(args.account)] }),
  ]);
  const tokens = [
    ...new Set(
      (args.tokens ?? [...(args.extraTokens ?? []), ...jobsOf.map((e) => e.args.token as string)]).map((t) =>
        getAddress(t),
      ),
    ),
  ];
  const balances = await mapConcurrent(tokens, CONCURRENCY, async (token) => ({
    token,
    withdrawable: await escrow.balanceOf(args.account, token),
    withdrawn: withdrawals
      .filter((e) => getAddress(e.args.token as string) === token)
      .reduce((s, e) => s + (e.args.amount as bigint), 0n),
  }));
  return { at, balances };
}

/** The contracts of a deployment that hold roles, found from the escrow. */
export interface RoleHolders {
  escrow: string;
  registry: string;
  usageVerifier: string;
  router: string;
  credit?: string;
}

/** The contracts behind an escrow: its registry, UsageVerifier and that one's verifier router. */
export async function contractsOf(
  provider: Provider,
  escrowAddress: string,
  credit?: string,
): Promise<RoleHolders> {
  const escrow = attachContract("ComputeEscrow", escrowAddress, provider);
  const [registry, usageVerifier] = await Promise.all([escrow.registry(), escrow.usageVerifier()]);
  const router = await attachContract("UsageVerifier", usageVerifier, provider).verifier();
  return { escrow: escrowAddress, registry, usageVerifier, router, ...(credit ? { credit } : {}) };
}

/** One role an account holds, by contract. */
export interface HeldRole {
  contract: "escrow" | "registry" | "router" | "credit";
  address: string;
  /** Its name (DEFAULT_ADMIN_ROLE, PAUSER_ROLE, …), or the hash when it is not one of meterproof's. */
  role: string;
  hash: string;
}

/**
 * The roles `account` holds on the deployment's AccessControl contracts: meterproof's known
 * roles, and any other granted to it (RoleGranted events), each checked with hasRole now.
 */
export async function rolesOf(
  args: { provider: Provider; fromBlock: number; account: string } & { contracts: RoleHolders },
): Promise<HeldRole[]> {
  const toBlock = (await latest(args.provider)).block;
  const c = args.contracts;
  const holders: { contract: HeldRole["contract"]; address: string }[] = [
    { contract: "escrow", address: c.escrow },
    { contract: "registry", address: c.registry },
    { contract: "router", address: c.router },
    ...(c.credit ? [{ contract: "credit" as const, address: c.credit }] : []),
  ];
  const known = Object.keys(ROLE_NAMES);
  const found = await mapConcurrent(holders, CONCURRENCY, async (h) => {
    // RoleGranted(role indexed, account indexed, sender indexed)
    const granted = decodeEvents(
      await getLogsInRange(
        args.provider,
        { address: h.address, topics: [topicOf("RoleGranted"), null, word(args.account)] },
        args.fromBlock,
        toBlock,
      ),
    ).map((e) => (e.args.role as string).toLowerCase());
    // Every one of them is OpenZeppelin AccessControl: the same hasRole(bytes32, address).
    const contract = attachContract("WorkerRegistry", h.address, args.provider);
    const candidates = [...new Set([...known, ...granted])];
    const held = await mapConcurrent(candidates, CONCURRENCY, (hash) => contract.hasRole(hash, args.account));
    return candidates
      .filter((_, i) => held[i])
      .map((hash): HeldRole => ({ contract: h.contract, address: h.address, role: roleName(hash), hash }));
  });
  return found.flat();
}

/** The escrow's settings and state at a glance. */
export interface EscrowState {
  paused: boolean;
  pausedSeconds: number;
  maxClockSkewMs: number;
  closeGracePeriod: number;
  jobCount: bigint;
  /** Device class → weight (H100-equivalent bps) now, from the DeviceWeightSet history. */
  rateCard: Record<string, bigint>;
}

export async function escrowState(args: ReadArgs): Promise<EscrowState> {
  const escrow = attachContract("ComputeEscrow", args.escrow, args.provider);
  const toBlock = (await latest(args.provider)).block;
  const [paused, pausedSeconds, maxClockSkewMs, closeGracePeriod, jobCount, weightSets] = await Promise.all([
    escrow.paused(),
    escrow.pausedSeconds(),
    escrow.maxClockSkewMs(),
    escrow.closeGracePeriod(),
    escrow.jobCount(),
    eventsOf({ ...args, address: args.escrow, event: "DeviceWeightSet", toBlock }),
  ]);
  const rateCard: Record<string, bigint> = {};
  for (const e of weightSets) {
    const name = decodeBytes32String(e.args.deviceClass as string);
    const weight = e.args.weightBps as bigint;
    if (weight === 0n) delete rateCard[name];
    else rateCard[name] = weight;
  }
  return {
    paused,
    pausedSeconds: Number(pausedSeconds),
    maxClockSkewMs: Number(maxClockSkewMs),
    closeGracePeriod: Number(closeGracePeriod),
    jobCount,
    rateCard,
  };
}
