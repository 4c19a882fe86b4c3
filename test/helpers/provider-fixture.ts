/**
 * A chain ready for the provider agent: meterproof deployed, a funded client, a job for the
 * provider and a registered worker key, all with Hardhat's well-known development keys so the
 * agent (a child process) can sign as the provider from METERPROOF_PRIVATE_KEY.
 */
import { appendFileSync } from "node:fs";
import { encodeBytes32String, parseEther, Wallet, type Provider } from "ethers";
import { deployMeterproof, type MeterproofDeployment } from "../../chain/deploy.ts";
import { eventsIn } from "../../chain/events.ts";
import { jobTermsOnChain } from "../../chain/job-terms.ts";
import { proveKeyPossession } from "../../prover/key-possession.ts";
import type { CheckedTrace, JobRef, WorkerKey } from "../../trace/index.ts";
import { KEYS } from "./hardhat-node.ts";
import { buildLaneTrace, testGpuUuidHash, testWorkerKey, TEST_CIRCUIT } from "./segment-proof.ts";

/** Hardhat's well-known development accounts; the agent signs as `provider`. */
export const DEV_KEYS = KEYS;

export interface ProviderJob {
  d: MeterproofDeployment;
  jobId: bigint;
  job: JobRef;
  key: WorkerKey;
  admin: Wallet;
  client: Wallet;
  provider: Wallet;
  /** Block time the job was created at (unix seconds). */
  createdAt: number;
}

/** Deploys, funds the client, creates a one-hour job for the provider and registers worker `worker`. */
export async function providerJob(
  rpc: Provider,
  opts: {
    worker: string;
    deviceClass?: string;
    /** The device identity registered for the key (what the worker's sampler writes; default a test one). */
    gpuUuidHash?: string;
    d?: MeterproofDeployment;
  },
): Promise<ProviderJob> {
  const [admin, client, provider] = [DEV_KEYS.admin, DEV_KEYS.client, DEV_KEYS.provider].map(
    (k) => new Wallet(k, rpc),
  ) as [Wallet, Wallet, Wallet];
  const d = opts.d ?? (await deployMeterproof({ signer: admin, circuitSizes: [8] }));
  await (await d.credit.connect(admin).mint(client.address, parseEther("100"))).wait();
  await (await d.credit.connect(client).approve(d.addresses.escrow, parseEther("100"))).wait();
  const now = (await rpc.getBlock("latest"))!.timestamp;
  const created = await (
    await d.escrow
      .connect(client)
      .createJob(provider.address, d.addresses.credit, parseEther("100"), parseEther("1"), now + 3600)
  ).wait();
  const jobId = eventsIn(created, "JobCreated")[0]!.jobId;
  const createdAt = (await rpc.getBlock(created!.blockNumber))!.timestamp;
  const key = await testWorkerKey(`${opts.worker} ${jobId} ${d.addresses.escrow}`);
  const { proof } = await proveKeyPossession({
    key,
    chainId: d.chainId,
    registry: d.addresses.registry,
    provider: provider.address,
  });
  await (
    await d.registry
      .connect(provider)
      .registerWorker(
        key.keyHash,
        encodeBytes32String(opts.deviceClass ?? "H100"),
        opts.gpuUuidHash ?? testGpuUuidHash(`${opts.worker} ${key.keyHash}`),
        proof,
      )
  ).wait();
  const job: JobRef = {
    chainId: d.chainId,
    escrow: d.addresses.escrow,
    jobId,
    provider: provider.address,
    terms: (await jobTermsOnChain(d.escrow, jobId))!.terms,
  };
  return { d, jobId, job, key, admin, client, provider, createdAt };
}

/** Writes a finished trace of `records` records (sealed every 8) for the job to `path`. */
export function writeTraceFile(
  path: string,
  pj: Pick<ProviderJob, "job" | "key">,
  spec: { startMs: number; intervalMs: number; records: number },
): Promise<CheckedTrace> {
  return buildLaneTrace({
    ...pj.job,
    key: pj.key,
    ...spec,
    onLine: (line) => appendFileSync(path, JSON.stringify(line) + "\n"),
  });
}

/** A trace of `segments` full segments for a job on no chain: witness inputs for prover tests. */
export async function offlineLaneTrace(worker: string, segments: number): Promise<CheckedTrace> {
  return buildLaneTrace({
    chainId: 31337n,
    escrow: "0x00000000000000000000000000000000000000e5",
    jobId: 16n,
    provider: "0x0000000000000000000000000000000000000b0b",
    terms: {
      client: "0x0000000000000000000000000000000000000c1e",
      token: "0x0000000000000000000000000000000000000070",
      price: 10n ** 18n,
      expiry: 2_000_003_600n,
    },
    key: await testWorkerKey(worker),
    startMs: 2_000_000_000_000,
    intervalMs: 1000,
    records: segments * TEST_CIRCUIT,
  });
}
