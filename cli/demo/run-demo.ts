import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { encodeBytes32String, formatUnits, parseUnits, type Provider } from "ethers";
import { network } from "hardhat";
import { readJobChainView } from "../../chain/audit-view.ts";
import { buildContracts } from "../../chain/hardhat-build.ts";
import type { DashboardDeployment } from "../../dashboard/chain-index.ts";
import { deployMeterproof } from "../../chain/deploy.ts";
import { eventsIn } from "../../chain/events.ts";
import { jobTermsOnChain } from "../../chain/job-terms.ts";
import { submissionFromBundle, toSubmissionInput } from "../../chain/submission.ts";
import { TEST_SEGMENT_SIZE } from "../../circuits/index.ts";
import { proveKeyPossession } from "../../prover/key-possession.ts";
import { loadProvingCircuit } from "../../prover/load-circuit.ts";
import { proveTrace } from "../../prover/prove-trace.ts";
import { runSetup } from "../../setup/index.ts";
import { generateWorkerKey, readTrace, usageToGpuHours, type ProofBundleJson } from "../../trace/index.ts";
import { auditTrace, type AuditReport } from "../../verifier/audit.ts";
import { loadVerificationKeys } from "../../verifier/load-keys.ts";
import { closeVerifier, verifyBundle } from "../../verifier/verify-bundle.ts";
import { openSampler, startJob } from "../../worker/index.ts";
import { demoAttestation, type DemoAttestation } from "./attest-step.ts";

export interface DemoOptions {
  /** Seconds of real CPU work the job does (default 22). */
  workSeconds?: number;
  /** Record length (default 2000 ms) and records per segment (default 8, the test circuit size). */
  intervalMs?: number;
  segmentSize?: number;
  /** Where the key, trace and bundles go (default: a new temporary directory). */
  dir?: string;
  log?: (line: string) => void;
  /** Called with the finished run while its in-process chain is still up (the dashboard reads it). */
  whileChainOpen?: (open: {
    provider: Provider;
    deployment: DashboardDeployment;
    summary: DemoSummary;
  }) => Promise<void>;
}

export interface DemoSummary {
  dir: string;
  tracePath: string;
  records: number;
  segments: number;
  usage: bigint;
  gpuHours: number;
  payout: bigint;
  withdrawn: bigint;
  refund: bigint;
  budget: bigint;
  gas: { deploy: bigint; submitBatch: bigint; perSegment: bigint; withdraw: bigint; close: bigint };
  bundlesVerified: number;
  audit: AuditReport;
  /** The attestor step, with a test CA report (not vendor evidence). */
  attestation: DemoAttestation;
}

/** A busy loop: one core fully used for `seconds`, printing a line a second (output the worker hashes). */
function cpuWorkload(seconds: number): string[] {
  const script = `const end=Date.now()+${Math.round(seconds * 1000)};let n=0,x=0;while(Date.now()<end){for(let i=0;i<1e6;i++)x+=i;if(++n%20===0)console.log("step",n,x)}`;
  return [process.execPath, "-e", script];
}

/**
 * The whole meterproof flow on an in-process Hardhat chain: deploy, fund a client, register a
 * worker, create a job, run a real CPU workload under the worker (proc sampler), prove the
 * trace, verify the bundles off chain, submit them, let the provider withdraw and the client
 * close the job, and audit the trace against the chain.
 */
export async function runDemo(opts: DemoOptions = {}): Promise<DemoSummary> {
  const log = opts.log ?? (() => {});
  const size = TEST_SEGMENT_SIZE;
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), "meterproof-demo-"));
  const tracePath = join(dir, "job.trace");
  const bundleDir = join(dir, "bundles");

  log(`1/9 circuit MeteredSegment(${size}): trusted setup (reused when built; INSECURE development setup)`);
  await runSetup({ size, log: (line) => log(`    ${line}`) });
  log("2/9 contracts: compile and deploy to the in-process Hardhat chain");
  await buildContracts();
  const connection = await network.create();
  try {
    await syncChainClock(connection.provider);
    const { ethers } = connection;
    const [admin, client, provider] = await ethers.getSigners();
    if (!admin || !client || !provider) throw new Error("the Hardhat network has fewer than 3 accounts");
    const before = await ethers.provider.getBlockNumber();
    const d = await deployMeterproof({ signer: admin, circuitSizes: [size] });
    const deployGas = await gasSince(ethers.provider, before);
    log(
      `    escrow ${d.addresses.escrow}, registry ${d.addresses.registry}, verifier router ${d.addresses.router}`,
    );

    log(
      "3/9 client: receive 10 CCR (ComputeCredit) and create a job with a 5 CCR budget at 100 CCR per H100-hour",
    );
    const budget = parseUnits("5", 18);
    const price = parseUnits("100", 18);
    await (await d.credit.connect(admin).mint(client.address, parseUnits("10", 18))).wait();
    await (await d.credit.connect(client).approve(d.addresses.escrow, budget)).wait();
    const now = (await ethers.provider.getBlock("latest"))!.timestamp;
    const created = await (
      await d.escrow
        .connect(client)
        .createJob(provider.address, d.addresses.credit, budget, price, now + 3600)
    ).wait();
    const jobId = eventsIn(created, "JobCreated")[0]!.jobId;
    log(`    job ${jobId} for provider ${provider.address}`);

    log("4/9 provider: create a worker key and register it as a CPU device");
    const key = await generateWorkerKey();
    const { sampler } = await openSampler({ sampler: "proc", deviceClass: "CPU" });
    const uuidHash = sampler.device.uuidHash; // the identity the proc sampler writes into the trace
    // Registration carries a proof that the provider's worker holds the key.
    const keyProof = await proveKeyPossession({
      key,
      chainId: d.chainId,
      registry: d.addresses.registry,
      provider: provider.address,
    });
    await (
      await d.registry
        .connect(provider)
        .registerWorker(key.keyHash, encodeBytes32String("CPU"), uuidHash, keyProof.proof)
    ).wait();

    const workSeconds = opts.workSeconds ?? 22;
    log(
      `5/9 worker: run ${workSeconds} s of real CPU work, sampling /proc every 100 ms, a record every ${(opts.intervalMs ?? 2000) / 1000} s`,
    );
    const handle = await startJob({
      key,
      // The worker takes the job's terms from the chain, so its trace binds to exactly this job.
      job: {
        chainId: d.chainId,
        escrow: d.addresses.escrow,
        jobId,
        provider: provider.address,
        terms: (await jobTermsOnChain(d.escrow, jobId))!.terms,
      },
      command: cpuWorkload(workSeconds),
      tracePath,
      sampler,
      intervalMs: opts.intervalMs ?? 2000,
      sampleMs: 100,
      segmentSize: opts.segmentSize ?? size,
      stdout: discard(),
      stderr: discard(),
      stdin: "ignore",
      onWarning: (m) => log(`    warning: ${m}`),
    });
    const run = await handle.done;
    if (run.exitCode !== 0) throw new Error(`the demo workload exited with ${run.exitCode}`);
    const trace = await readTrace(tracePath);
    const usage = trace.segments.reduce((s, x) => s + x.usage, 0n);
    log(
      `    ${trace.records.length} records in ${trace.segments.length} sealed segments, ${usageToGpuHours(usage).toFixed(5)} CPU-hours metered (a CPU host)`,
    );

    log("6/9 prover: prove every sealed segment, then verify the bundles off chain");
    const proved = await proveTrace({
      tracePath,
      outDir: bundleDir,
      circuit: await loadProvingCircuit(size),
    });
    const bundles = proved.written.map((p) => JSON.parse(readFileSync(p, "utf8")) as ProofBundleJson);
    const { keys } = await loadVerificationKeys([size]);
    let bundlesVerified = 0;
    for (const b of bundles) {
      const verdict = await verifyBundle(b, (id) => keys.get(id));
      if (!verdict.ok)
        throw new Error(`bundle of segment ${b.segment.index} failed verification: ${verdict.reason}`);
      bundlesVerified++;
    }
    log(`    ${bundlesVerified} bundles written to ${bundleDir} and verified`);

    log("7/9 provider: submit all segments in one batch (one pairing check for all proofs), then withdraw");
    // Hardhat runs calls and gas estimates at the last block's time; the job ran since, so
    // mine a block now, or the window would look like it ends in the future.
    await syncChainClock(connection.provider);
    const entries = bundles.map((b) => {
      const { jobId: id, submission } = submissionFromBundle(b);
      return { jobId: id, submission: toSubmissionInput(submission) };
    });
    const submitted = await (await d.escrow.connect(provider).submitSegments(entries)).wait();
    const accepted = eventsIn(submitted, "SegmentAccepted");
    const payout = accepted.reduce((s, e) => s + e.payout, 0n);
    const withdrawTx = await (await d.escrow.connect(provider).withdraw(d.addresses.credit)).wait();
    const withdrawn = eventsIn(withdrawTx, "Withdrawn")[0]!.amount;

    log("8/9 client: after the job's expiry and grace period, close the job and take back the rest");
    const closableAt = Number(await d.escrow.closableAt(jobId)) + 1;
    await connection.provider.request({ method: "evm_setNextBlockTimestamp", params: [closableAt] });
    const closed = await (await d.escrow.connect(client).closeJob(jobId)).wait();
    const refund = eventsIn(closed, "JobClosed")[0]!.refund;

    log("9/9 auditor: replay the trace against the escrow's events");
    const view = await readJobChainView({
      provider: ethers.provider,
      escrow: d.addresses.escrow,
      jobId,
      workerKeyHash: key.keyHash,
    });
    const audit = await auditTrace(tracePath, view);

    log(
      "attestor (test CA — not vendor evidence): check an SEV-SNP report bound to the worker key, approve the key",
    );
    const attestation = await demoAttestation({
      registry: d.registry,
      chainId: d.chainId,
      attestor: admin,
      workerKeyHash: key.keyHash,
      dir,
      log,
    });
    const summary: DemoSummary = {
      dir,
      tracePath,
      records: trace.records.length,
      segments: trace.segments.length,
      usage,
      gpuHours: usageToGpuHours(usage),
      payout,
      withdrawn,
      refund,
      budget,
      gas: {
        deploy: deployGas,
        submitBatch: submitted!.gasUsed,
        perSegment: submitted!.gasUsed / BigInt(Math.max(1, accepted.length)),
        withdraw: withdrawTx!.gasUsed,
        close: closed!.gasUsed,
      },
      bundlesVerified,
      audit,
      attestation,
    };
    await opts.whileChainOpen?.({
      provider: ethers.provider,
      deployment: { chainId: d.chainId, block: before + 1, addresses: d.addresses },
      summary,
    });
    return summary;
  } finally {
    await closeVerifier();
    await connection.close();
  }
}

/**
 * Mines a block at the wall-clock time. The in-process chain's clock can lag the wall clock
 * (it was seen 50 s behind after a first-time trusted setup in the same process), while the
 * worker stamps records with the wall clock and the escrow refuses windows in the future.
 */
async function syncChainClock(provider: {
  request(a: { method: string; params?: unknown[] }): Promise<unknown>;
}): Promise<void> {
  const latest = (await provider.request({ method: "eth_getBlockByNumber", params: ["latest", false] })) as {
    timestamp: string;
  };
  const next = Math.max(Number(BigInt(latest.timestamp)) + 1, Math.ceil(Date.now() / 1000));
  await provider.request({ method: "evm_setNextBlockTimestamp", params: [next] });
  await provider.request({ method: "evm_mine", params: [] });
}

/** Total gas of the blocks mined after `fromBlock`. */
async function gasSince(
  provider: { getBlockNumber(): Promise<number>; getBlock(n: number): Promise<{ gasUsed: bigint } | null> },
  fromBlock: number,
): Promise<bigint> {
  let total = 0n;
  const to = await provider.getBlockNumber();
  for (let n = fromBlock + 1; n <= to; n++) total += (await provider.getBlock(n))!.gasUsed;
  return total;
}

function discard(): Writable {
  return new Writable({ write: (_chunk, _enc, done) => done() });
}

/** The summary as lines for people. */
export function formatDemoSummary(s: DemoSummary): string[] {
  const cc = (v: bigint) => `${formatUnits(v, 18)} CCR`;
  return [
    "",
    "meterproof demo: summary",
    `  records          ${s.records} (${s.segments} sealed segments)`,
    `  metered usage    ${s.gpuHours.toFixed(5)} CPU-hours (${s.usage} bps·ms; paid at the CPU weight)`,
    `  payout           ${cc(s.payout)} for ${s.segments} proven segments (withdrawn ${cc(s.withdrawn)})`,
    `  refund           ${cc(s.refund)} to the client; paid + refunded = ${cc(s.payout + s.refund)} of the ${cc(s.budget)} budget`,
    `  gas              deploy ${s.gas.deploy}, submit batch ${s.gas.submitBatch} (${s.gas.perSegment} per segment), withdraw ${s.gas.withdraw}, close ${s.gas.close}`,
    `  bundles          ${s.bundlesVerified} verified off chain`,
    `  audit            ${s.audit.ok ? "ok" : "MISMATCH"} (${s.audit.counts.pass} pass, ${s.audit.counts.warn} warn, ${s.audit.counts.fail} fail)`,
    `  attestation      approved until ${new Date(Number(s.attestation.expiresAt) * 1000).toISOString()} on a TEST CA report (not vendor evidence), evidence ${s.attestation.evidenceHash.slice(0, 18)}…`,
    `  files            ${s.dir}`,
  ];
}
