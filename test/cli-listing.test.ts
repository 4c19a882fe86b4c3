/**
 * The read-only commands against a hardhat node, configured the way a user's project is (the
 * RPC and the deployment in meterproof.config.json): `job list`, `worker list`, `balance`,
 * `status`, and `audit` finding its chain through the same file. Set-up transactions go through
 * ethers; every read goes through the CLI.
 */
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { encodeBytes32String, id, parseEther, Wallet, ZeroHash } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deployMeterproof } from "../chain/deploy.ts";
import { writeDeploymentFile } from "../chain/deployment-file.ts";
import { toSubmissionInput } from "../chain/submission.ts";
import { attachContract } from "../contracts/index.ts";
import { proveKeyPossession } from "../prover/key-possession.ts";
import { checkTrace, sha256Hex, TraceBuilder, type TraceLineJson, type WorkerKey } from "../trace/index.ts";
import { json, runCli, type CliResult } from "./helpers/cli.ts";
import { runCliAll } from "./helpers/cli-async.ts";
import { addressOf, cleanEnv, KEYS, startHardhatNode, type HardhatNode } from "./helpers/hardhat-node.ts";
import { closeProver, proveSegments, testWorkerKey } from "./helpers/segment-proof.ts";
import { tempDir } from "./worker-helpers.ts";

const dir = tempDir("cli-listing");
const ADMIN = addressOf(KEYS.admin);
const CLIENT = addressOf(KEYS.client);
const PROVIDER = addressOf(KEYS.provider);
const PASSWORD = "listing keystore password";
let chain: HardhatNode;
let addresses: Record<"escrow" | "registry" | "credit" | "router", string>;
let gpuKey: WorkerKey;
let cpuKey: WorkerKey;
let tracePath = "";
let paid = 0n;

function cli(args: string[], extra: Record<string, string> = {}): CliResult {
  return runCli(args, { cwd: dir, env: cleanEnv(extra) });
}

/** Read-only runs side by side: each spends most of its time starting up. */
function cliAll(...runs: string[][]): Promise<CliResult[]> {
  return runCliAll(runs, { cwd: dir, env: cleanEnv() });
}

const signer = (key: string) => new Wallet(key, chain.provider);

async function register(key: WorkerKey, deviceClass: string, gpu: string): Promise<void> {
  const { proof } = await proveKeyPossession({
    key,
    chainId: 31337n,
    registry: addresses.registry,
    provider: PROVIDER,
  });
  const registry = attachContract("WorkerRegistry", addresses.registry, signer(KEYS.provider));
  await (
    await registry.registerWorker(
      key.keyHash,
      encodeBytes32String(deviceClass),
      sha256Hex(`GPU-${gpu}`),
      proof,
    )
  ).wait();
}

async function createJob(
  expiryIn: number,
  budget: bigint,
): Promise<{ jobId: bigint; createdAt: number; expiry: bigint }> {
  const escrow = attachContract("ComputeEscrow", addresses.escrow, signer(KEYS.client));
  const expiry = BigInt((await chain.latestBlockTime()) + expiryIn);
  await (await escrow.createJob(PROVIDER, addresses.credit, budget, parseEther("1"), expiry)).wait();
  const jobId = await escrow.jobCount();
  return { jobId, createdAt: Number((await escrow.jobOf(jobId)).createdAt), expiry };
}

/** A signed trace of 8 records of 2 s for a key in job 1, written to `name` when given. */
async function trace(
  key: WorkerKey,
  deviceClass: string,
  gpu: string,
  job: { jobId: bigint; createdAt: number; expiry: bigint },
  name?: string,
) {
  const lines: TraceLineJson[] = [];
  const startMs = job.createdAt * 1000 + 1000;
  const b = TraceBuilder.start(
    {
      chainId: 31337n,
      escrow: addresses.escrow,
      jobId: job.jobId,
      provider: PROVIDER,
      terms: { client: CLIENT, token: addresses.credit, price: parseEther("1"), expiry: job.expiry },
      device: { class: deviceClass, name: "test device", uuidHash: sha256Hex(`GPU-${gpu}`) },
      sampler: "proc",
      intervalMs: 2000,
      segmentSize: 8,
      command: ["train"],
      startTime: startMs,
    },
    key,
    (l) => lines.push(l),
  );
  for (let seq = 0; seq < 8; seq++) {
    const tStart = startMs + seq * 2000;
    await b.addRecord({
      tStart,
      tEnd: tStart + 2000,
      utilBps: 9000,
      memMiB: 1000,
      powerMw: 0,
      energyMj: 0,
      outputSha256: sha256Hex(`${gpu} ${seq}`),
    });
  }
  await b.seal();
  if (name) writeFileSync(join(dir, name), lines.map((l) => JSON.stringify(l) + "\n").join(""));
  return proveSegments(await checkTrace(lines));
}

beforeAll(async () => {
  chain = await startHardhatNode(dir);
  writeFileSync(
    join(dir, "meterproof.config.json"),
    JSON.stringify({ rpc: chain.rpc, deployment: "deployment.json" }),
  );
  // Deployed in-process (`meterproof deploy` has its own tests); the file is what deploy writes.
  const block = (await chain.provider.getBlockNumber()) + 1;
  const d = await deployMeterproof({ signer: signer(KEYS.admin), circuitSizes: [8], closeGracePeriod: 600 });
  addresses = d.addresses;
  writeDeploymentFile(join(dir, "deployment.json"), {
    kind: "meterproof-deployment",
    version: 2,
    chainId: 31337n,
    deployer: ADMIN,
    block,
    addresses: d.addresses,
    parameters: { maxClockSkewMs: 30_000, closeGracePeriod: 600, requireAttestation: false },
  });
  const credit = attachContract("ComputeCredit", addresses.credit, signer(KEYS.admin));
  await (await credit.mint(CLIENT, parseEther("100"))).wait();
  await (
    await attachContract("ComputeCredit", addresses.credit, signer(KEYS.client)).approve(
      addresses.escrow,
      parseEther("100"),
    )
  ).wait();
  gpuKey = await testWorkerKey("listing gpu");
  cpuKey = await testWorkerKey("listing cpu");
  await register(gpuKey, "H100", "listing-h100");
  await register(cpuKey, "CPU", "listing-cpu");
  // The deployer may grant the attestor role; as an attestor it approves the GPU worker.
  const registry = attachContract("WorkerRegistry", addresses.registry, signer(KEYS.admin));
  await (await registry.grantRole(id("ATTESTOR_ROLE"), ADMIN)).wait();
  await (
    await registry.approveWorker(gpuKey.keyHash, 4_000_000_000n, id("listing evidence"), ZeroHash)
  ).wait();

  // Job 1 open, with a segment of each worker; job 2 expires; job 3 is closed by its provider.
  const job1 = await createJob(3600, parseEther("10"));
  const [h100, cpu] = [
    await trace(gpuKey, "H100", "listing-h100", job1, "job1.trace.jsonl"),
    await trace(cpuKey, "CPU", "listing-cpu", job1),
  ];
  tracePath = join(dir, "job1.trace.jsonl");
  await createJob(90, parseEther("1"));
  const job3 = await createJob(3600, parseEther("2"));
  await chain.increaseTime(120);
  const escrow = attachContract("ComputeEscrow", addresses.escrow, signer(KEYS.provider));
  await (await escrow.closeJob(job3.jobId)).wait();
  const receipt = await (
    await escrow.submitSegments(
      [h100[0]!, cpu[0]!].map((p) => ({ jobId: job1.jobId, submission: toSubmissionInput(p.submission) })),
    )
  ).wait();
  expect(receipt?.status).toBe(1);
  paid = (await escrow.jobOf(job1.jobId)).paid;
  expect(paid).toBeGreaterThan(0n);
}, 600_000);

afterAll(async () => {
  await closeProver();
  await chain?.stop();
  rmSync(dir, { recursive: true, force: true });
});

type Amount = { units: string; tokens: string; symbol: string };

describe("meterproof job list", () => {
  type Listed = {
    jobId: string;
    status: string;
    segmentsAccepted: number;
    paid: Amount;
    budget: Amount;
    price: Amount & { per: string };
  };

  it("lists every job with its status, amounts in both units, and segments accepted", async () => {
    const [asJson, human, raw] = await cliAll(
      ["job", "list", "--json"],
      ["job", "list"],
      ["job", "list", "--raw"],
    );
    const out = json<{ escrow: string; jobs: Listed[] }>(asJson!);
    expect(out.escrow).toBe(addresses.escrow);
    expect(out.jobs.map((j) => [j.jobId, j.status, j.segmentsAccepted])).toEqual([
      ["1", "open", 2],
      ["2", "expired", 0],
      ["3", "closed", 0],
    ]);
    expect(out.jobs[0]!.paid.units).toBe(paid.toString());
    expect(out.jobs[0]!.budget).toEqual({
      units: parseEther("10").toString(),
      tokens: "10.0",
      symbol: "CCR",
    });
    expect(out.jobs[0]!.price).toMatchObject({ tokens: "1.0", symbol: "CCR", per: "H100-equivalent hour" });

    expect(human!.status, human!.stderr).toBe(0);
    expect(human!.stdout).toContain("job 1  open  2 segments accepted");
    expect(human!.stdout).toContain("  budget     10.0 CCR, paid ");
    expect(human!.stdout).toContain("  price      1.0 CCR per H100-equivalent hour");
    expect(raw!.stdout).toContain(`  budget     ${parseEther("10")} units CCR`);
  });

  it("filters by status, client and provider", async () => {
    const runs = await cliAll(
      ["job", "list", "--status", "open", "--json"],
      ["job", "list", "--status", "closed", "--provider", PROVIDER, "--json"],
      ["job", "list", "--client", CLIENT, "--status", "expired", "--json"],
      ["job", "list", "--client", PROVIDER, "--json"],
      ["job", "list", "--status", "done"],
    );
    const ids = (r: CliResult) => json<{ jobs: Listed[] }>(r).jobs.map((j) => j.jobId);
    expect(runs.slice(0, 4).map(ids)).toEqual([["1"], ["3"], ["2"], []]);
    expect(runs[4]!.status).toBe(2);
    expect(runs[4]!.stderr).toMatch(/--status.*done.*(open, closed, expired|choices)/);
  });
});

describe("meterproof worker list", () => {
  type Worker = {
    workerKeyHash: string;
    deviceClass: string;
    active: boolean;
    approved: boolean;
    approval?: { attestor: string; approved: boolean };
    lanes: number;
    segments: number;
    weightsApplied: string[];
    billed: { deviceHoursUnit: string; deviceHours: number; h100EquivalentHours: number };
  };

  it("lists keys with device, approval and what was billed, a CPU in CPU-hours with its weight", async () => {
    const [listed, none] = await cliAll(
      ["worker", "list", "--provider", PROVIDER, "--json"],
      ["worker", "list", "--provider", CLIENT, "--json"],
    );
    expect(json<{ workers: Worker[] }>(none!).workers).toEqual([]);
    const out = json<{ workers: Worker[] }>(listed!);
    const [gpu, cpu] = out.workers;
    expect(gpu).toMatchObject({
      workerKeyHash: gpuKey.keyHash.toString(),
      deviceClass: "H100",
      active: true,
      approved: true,
      approval: { attestor: ADMIN, approved: true },
      lanes: 1,
      segments: 1,
      weightsApplied: ["10000"],
      billed: { deviceHoursUnit: "H100-hours" },
    });
    expect(cpu).toMatchObject({
      deviceClass: "CPU",
      approved: false,
      weightsApplied: ["100"],
      billed: { deviceHoursUnit: "CPU-hours" },
    });
    // 8 records of 2 s at 90%: 14.4 device-seconds; a CPU at weight 100 is a hundredth of an H100.
    expect(cpu!.billed.deviceHours).toBeCloseTo(14.4 / 3600, 9);
    expect(cpu!.billed.h100EquivalentHours).toBeCloseTo(14.4 / 3600 / 100, 9);
    expect(gpu!.billed.h100EquivalentHours).toBeCloseTo(14.4 / 3600, 9);

    const human = cli(["worker", "list"]);
    expect(human.stdout).toContain(`worker ${cpuKey.keyHash}`);
    expect(human.stdout).toMatch(
      /billed {8}1 lane, 1 segment: 0\.0040 CPU-hours = 4\.00e-5 H100-equivalent hours at weight 100 bps/,
    );
    expect(human.stdout).toMatch(
      /billed {8}1 lane, 1 segment: 0\.0040 H100-hours = 0\.0040 H100-equivalent hours/,
    );
    expect(human.stdout).toContain(`active, approved by ${ADMIN} in block`);
  });
});

describe("meterproof balance", () => {
  type Balances = {
    provider: string;
    balances: { token: { symbol: string }; withdrawable: Amount; withdrawn: Amount }[];
  };

  it("shows what the configured key's address can withdraw, without decrypting a keystore", () => {
    const keystore = join(dir, "provider.keystore.json");
    const made = cli(["keystore", "create", "--out", keystore, "--from-env"], {
      METERPROOF_PRIVATE_KEY: KEYS.provider,
      METERPROOF_KEYSTORE_PASSWORD: PASSWORD,
    });
    expect(made.status, made.stderr).toBe(0);
    // No password anywhere: the address is read from the wallet file in clear.
    const out = json<Balances>(cli(["balance", "--keystore", keystore, "--json"]));
    expect(out.provider).toBe(PROVIDER);
    expect(out.balances).toEqual([
      {
        token: expect.objectContaining({ symbol: "CCR", address: addresses.credit }),
        withdrawable: expect.objectContaining({ units: paid.toString(), symbol: "CCR" }),
        withdrawn: expect.objectContaining({ units: "0" }),
      },
    ]);
    const human = cli(["balance"], { METERPROOF_PRIVATE_KEY: KEYS.provider });
    expect(human.stdout).toContain(`${PROVIDER} can withdraw from escrow ${addresses.escrow}`);
    expect(human.stdout).toMatch(/ {2}0\.0\d+ CCR +token /);
  });

  it("takes --provider, needs it without a key, and counts what was withdrawn", async () => {
    const [none, client] = await cliAll(["balance"], ["balance", "--provider", CLIENT]);
    expect(none!.status).toBe(2);
    expect(none!.stderr).toContain("give --provider ADDRESS, or configure a key");
    expect(client!.stdout).toContain(
      `${CLIENT} can withdraw from escrow ${addresses.escrow} (chain 31337, block`,
    );
    expect(client!.stdout).toMatch(/: nothing\n {2}0\.0 CCR/);
    const escrow = attachContract("ComputeEscrow", addresses.escrow, signer(KEYS.provider));
    await (await escrow.withdraw(addresses.credit)).wait();
    const after = json<Balances>(
      cli(["balance", "--provider", PROVIDER, "--token", addresses.credit, "--json"]),
    );
    expect(after.balances[0]).toMatchObject({
      withdrawable: { units: "0" },
      withdrawn: { units: paid.toString() },
    });
  });
});

describe("meterproof status", () => {
  type Status = {
    chain: { chainId: string; block: number };
    escrow: { paused: boolean; rateCard: Record<string, string> };
    workers: { registered: number; approved: number };
    jobs: Record<string, number>;
    account?: {
      address: string;
      roles: { contract: string; role: string }[];
      jobsAsProvider: Record<string, number>;
      jobsAsClient: Record<string, number>;
    };
  };

  it("names the admin's roles, the counts and the rate card", () => {
    const s = json<Status>(cli(["status", "--json"], { METERPROOF_PRIVATE_KEY: KEYS.admin }));
    expect(s.chain.chainId).toBe("31337");
    expect(s.escrow).toMatchObject({ paused: false, rateCard: { H100: "10000", CPU: "100" } });
    expect(s.workers).toMatchObject({ registered: 2, approved: 1 });
    expect(s.jobs).toEqual({ open: 1, closed: 1, expired: 1 });
    expect(s.account!.address).toBe(ADMIN);
    expect(s.account!.roles.map((r) => `${r.role}@${r.contract}`).sort()).toEqual(
      [
        "DEFAULT_ADMIN_ROLE@escrow",
        "PAUSER_ROLE@escrow",
        "DEFAULT_ADMIN_ROLE@registry",
        "ATTESTOR_ROLE@registry",
        "DEFAULT_ADMIN_ROLE@router",
        "DEFAULT_ADMIN_ROLE@credit",
        "MINTER_ROLE@credit",
      ].sort(),
    );
  });

  it("shows another address's jobs, and a pause", async () => {
    const escrow = attachContract("ComputeEscrow", addresses.escrow, signer(KEYS.admin));
    await (await escrow.pause()).wait();
    try {
      const [asJson, human] = await cliAll(["status", "--address", PROVIDER, "--json"], ["status"]);
      const s = json<Status>(asJson!);
      expect(s.escrow.paused).toBe(true);
      expect(s.account).toMatchObject({
        address: PROVIDER,
        roles: [],
        jobsAsProvider: { open: 1, closed: 1, expired: 1 },
        jobsAsClient: { open: 0, closed: 0, expired: 0 },
      });
      expect(human!.status, human!.stderr).toBe(0);
      expect(human!.stdout).toMatch(/^escrow {7}PAUSED/m);
      expect(human!.stdout).toContain("account      none: configure a key or give --address");
    } finally {
      await (await escrow.unpause()).wait();
    }
  });
});

describe("meterproof audit with the project config", () => {
  it("finds the RPC in meterproof.config.json and names file, job, chain and escrow", async () => {
    const [r, human] = await cliAll(["audit", tracePath, "--json"], ["audit", tracePath]);
    expect(r!.status, r!.stdout + r!.stderr).toBe(0);
    const report = JSON.parse(r!.stdout) as {
      skipped: string[];
      subject: Record<string, unknown>;
      summary: { onChainSegments: number; paidAmount: Amount };
      findings: { check: string; status: string }[];
    };
    expect(report.skipped).toEqual([]);
    expect(report.subject).toMatchObject({
      file: tracePath,
      chainId: "31337",
      escrow: addresses.escrow,
      jobId: "1",
    });
    expect(report.summary).toMatchObject({ onChainSegments: 1, paidAmount: { symbol: "CCR" } });
    expect(report.findings).toContainEqual(expect.objectContaining({ check: "device", status: "pass" }));
    expect(human!.stdout).toContain(
      `(job 1 on chain 31337, escrow ${addresses.escrow}, worker key ${gpuKey.keyHash}) against the chain`,
    );
    expect(human!.stdout).toMatch(/paid 0\.0\d+ CCR for 0\.0040 H100-equivalent hours \(weight 10000 bps\)/);
  });
});
