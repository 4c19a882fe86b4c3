import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeBytes32String, parseEther } from "ethers";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { readJobChainView } from "../chain/audit-view.ts";
import { toSubmissionInput } from "../chain/submission.ts";
import {
  checkTrace,
  segmentPayout,
  sha256Hex,
  TraceBuilder,
  type TraceLineJson,
  type WorkerKey,
} from "../trace/index.ts";
import { auditTrace, type AuditReport, type Finding } from "../verifier/audit.ts";
import { closeVerifier } from "../verifier/verify-bundle.ts";
import { runCli } from "./helpers/cli.ts";
import {
  baseFixture,
  createJobAt,
  jobTerms,
  PRICE,
  registerWorker,
  T0,
  type BaseFixture,
} from "./helpers/escrow-fixture.ts";
import { closeProver, proveSegments, testWorkerKey, type ProvenSegment } from "./helpers/segment-proof.ts";

// The auditor against the chain's current state: which segments not on chain can still be paid
// (and why not), and whether the registry holds the device the trace says it metered. One
// in-process chain; each case starts from the same snapshot.

const dir = mkdtempSync(join(tmpdir(), "meterproof-audit-payable-"));
const START = T0 + 500_000; // unique to this file
const S = START * 1000 + 1000; // tStart of job A's first record (ms)
const INTERVAL = 5000;
let f: BaseFixture;
let key: WorkerKey;
let cpuKey: WorkerKey;
const jobs = { a: 0n, d: 0n, e: 0n, f: 0n };
const traces: Record<"a" | "d" | "e" | "early" | "foo", { path: string; proven: ProvenSegment[] }> =
  {} as never;
let baseline = "";

async function trace(args: {
  name: string;
  key: WorkerKey;
  jobId: bigint;
  expiry: number;
  deviceClass: string;
  gpu: string;
  startMs: number;
  records: number;
  prove: boolean;
}): Promise<{ path: string; proven: ProvenSegment[] }> {
  const lines: TraceLineJson[] = [];
  const b = TraceBuilder.start(
    {
      chainId: f.chainId,
      escrow: f.escrowAddress,
      jobId: args.jobId,
      provider: f.provider.address,
      terms: jobTerms(f, { expiry: args.expiry }),
      device: { class: args.deviceClass, name: "test device", uuidHash: sha256Hex(`GPU-${args.gpu}`) },
      sampler: "proc",
      intervalMs: INTERVAL,
      segmentSize: 8,
      command: ["train"],
      startTime: args.startMs,
    },
    args.key,
    (l) => lines.push(l),
  );
  for (let seq = 0; seq < args.records; seq++) {
    const tStart = args.startMs + seq * INTERVAL;
    await b.addRecord({
      tStart,
      tEnd: tStart + INTERVAL,
      utilBps: 8000 + seq * 20,
      memMiB: 1000,
      powerMw: 0,
      energyMj: 0,
      outputSha256: sha256Hex(`${args.name} ${seq}`),
    });
  }
  await b.seal();
  const path = join(dir, `${args.name}.jsonl`);
  writeFileSync(path, lines.map((l) => JSON.stringify(l) + "\n").join(""));
  const proven = args.prove ? await proveSegments(await checkTrace(lines)) : [];
  return { path, proven };
}

async function audit(name: keyof typeof traces, jobId: bigint): Promise<AuditReport> {
  const view = await readJobChainView({
    provider: f.connection.ethers.provider,
    escrow: f.escrowAddress,
    jobId,
    workerKeyHash: (name === "foo" ? cpuKey : key).keyHash,
  });
  return auditTrace(traces[name].path, view);
}

const failures = (r: AuditReport) => r.findings.filter((x) => x.status === "fail");
const of = (r: AuditReport, check: string) => r.findings.filter((x) => x.check === check);
const entry = (jobId: bigint, p: ProvenSegment) => ({ jobId, submission: toSubmissionInput(p.submission) });

beforeAll(async () => {
  f = await baseFixture();
  key = await testWorkerKey("payable");
  cpuKey = await testWorkerKey("payable cpu");
  await registerWorker(f, f.provider, key, "H100", "payable");
  await registerWorker(f, f.provider, cpuKey, "CPU", "payable-cpu-host");
  const expiry = START + 86_400;
  // Job A pays at most its first segment and a little less than its second.
  jobs.a = await createJobAt(f, { at: START, provider: f.provider.address, budget: 1n, expiry });
  traces.a = await trace({
    name: "a",
    key,
    jobId: jobs.a,
    expiry,
    deviceClass: "H100",
    gpu: "payable",
    startMs: S,
    records: 24,
    prove: true,
  });
  const [p0, p1] = traces.a.proven.map((p) =>
    segmentPayout({ usage: p.segment.usage, weightBps: 10_000n, price: PRICE }),
  );
  await f.chain.setNextTimestamp(START + 5);
  await (await f.d.escrow.connect(f.client).fundJob(jobs.a, p0! + p1! - 2n)).wait();
  // Job D: the same worker, from inside A's second segment.
  jobs.d = await createJobAt(f, {
    at: START + 10,
    provider: f.provider.address,
    budget: parseEther("1"),
    expiry,
  });
  traces.d = await trace({
    name: "d",
    key,
    jobId: jobs.d,
    expiry,
    deviceClass: "H100",
    gpu: "payable",
    startMs: S + 45_000,
    records: 8,
    prove: true,
  });
  // Job E expires at START + 200: its trace, after A's, runs past it.
  jobs.e = await createJobAt(f, {
    at: START + 20,
    provider: f.provider.address,
    budget: parseEther("1"),
    expiry: START + 200,
  });
  traces.e = await trace({
    name: "e",
    key,
    jobId: jobs.e,
    expiry: START + 200,
    deviceClass: "H100",
    gpu: "payable",
    startMs: (START + 125) * 1000,
    records: 24,
    prove: false,
  });
  // The same worker in job E again, from inside the time A's lane has billed.
  traces.early = await trace({
    name: "early",
    key,
    jobId: jobs.e,
    expiry: START + 200,
    deviceClass: "H100",
    gpu: "payable",
    startMs: S + 10_000,
    records: 8,
    prove: false,
  });
  // Job F: a worker registered as CPU whose trace says FOO.
  jobs.f = await createJobAt(f, {
    at: START + 30,
    provider: f.provider.address,
    budget: parseEther("1"),
    expiry,
  });
  traces.foo = await trace({
    name: "foo",
    key: cpuKey,
    jobId: jobs.f,
    expiry,
    deviceClass: "FOO",
    gpu: "payable-cpu-host",
    startMs: (START + 40) * 1000,
    records: 8,
    prove: true,
  });
  await f.chain.setNextTimestamp(START + 300);
  await (
    await f.d.escrow
      .connect(f.provider)
      .submitSegments([entry(jobs.a, traces.a.proven[0]!), entry(jobs.f, traces.foo.proven[0]!)])
  ).wait();
  baseline = await f.chain.snapshot();
}, 600_000);

beforeEach(async () => {
  await f.chain.revert(baseline);
  baseline = await f.chain.snapshot();
});

afterAll(async () => {
  await closeVerifier();
  await closeProver();
  await f?.connection.close();
});

describe("audit: can the segments not on chain still be paid", () => {
  it("says segments are payable while they are, and compares the device with the registry", async () => {
    const r = await audit("a", jobs.a);
    expect(failures(r)).toEqual([]);
    expect(of(r, "payable")).toEqual([
      expect.objectContaining({
        status: "warn",
        segment: 1,
        message: expect.stringMatching(/^segments 1–2 not on chain yet, and payable/),
      }),
    ]);
    expect(of(r, "device")).toEqual([
      expect.objectContaining({
        status: "pass",
        message: expect.stringMatching(/^device class H100 and GPU hash match/),
      }),
    ]);
  });

  it("fails the segments of a closed job, not 'not on chain yet'", async () => {
    await (await f.d.escrow.connect(f.provider).closeJob(jobs.a)).wait();
    const r = await audit("a", jobs.a);
    expect(r.ok).toBe(false);
    expect(failures(r)).toEqual([
      expect.objectContaining({
        check: "payable",
        segment: 1,
        message: `segments 1–2 can no longer be paid: job ${jobs.a} is closed: the escrow accepts no more of its segments`,
      }),
    ]);
    expect(JSON.stringify(r.findings)).not.toContain("not on chain yet");
  });

  it("fails what a spent budget leaves, and passes a payout capped by the budget", async () => {
    // A rate-card change after the lane started: the lane keeps its weight, and so does the audit.
    await (await f.d.escrow.connect(f.admin).setDeviceWeight(encodeBytes32String("H100"), 20_000)).wait();
    await f.chain.setNextTimestamp(START + 310);
    await (await f.d.escrow.connect(f.provider).submitSegments([entry(jobs.a, traces.a.proven[1]!)])).wait();
    const r = await audit("a", jobs.a);
    expect(r.summary.onChainSegments).toBe(2);
    expect(failures(r)).toEqual([
      expect.objectContaining({
        check: "payable",
        segment: 2,
        message:
          "segment 2 can no longer be paid: the job's budget is spent: the escrow would accept it with a payout of 0",
      }),
    ]);
    expect(of(r, "chain")[0]).toMatchObject({
      status: "pass",
      message: expect.stringMatching(/^2 on-chain segments match/),
    });
  });

  it("fails segments whose time another lane of the worker has taken", async () => {
    await f.chain.setNextTimestamp(START + 310);
    await (await f.d.escrow.connect(f.provider).submitSegments([entry(jobs.d, traces.d.proven[0]!)])).wait();
    const r = await audit("a", jobs.a);
    expect(failures(r).map((x) => [x.segment, x.message])).toEqual([
      [
        1,
        `segment 1 can no longer be paid: its time is another lane's: it ends at ${S + 80_000}, after the worker's lane in job ${jobs.d} of ${f.escrowAddress} starts (${S + 45_000})`,
      ],
      [
        2,
        "segment 2 can no longer be paid: it comes after segment 1 of its lane, which can no longer be paid",
      ],
    ]);
  });

  it("fails a lane whose start lies in time the worker's lane before it billed", async () => {
    const r = await audit("early", jobs.e);
    expect(failures(r)).toEqual([
      expect.objectContaining({
        check: "payable",
        segment: 0,
        message: `segment 0 can no longer be paid: its time is already billed: the worker's lane in job ${jobs.a} of ${f.escrowAddress} billed up to ${S + 40_000}`,
      }),
    ]);
  });

  it("fails segments that end after the job's expiry", async () => {
    const r = await audit("e", jobs.e);
    const payable = of(r, "payable");
    expect(payable.map((x) => [x.status, x.segment])).toEqual([
      ["warn", 0],
      ["fail", 2],
    ]);
    expect(payable[1]!.message).toMatch(
      /^segment 2 can no longer be paid: the job expired: it ends at \d+, after the job's expiry/,
    );
  });

  it("fails segments of a key its provider switched off", async () => {
    await (await f.d.registry.connect(f.provider).setActive(key.keyHash, false)).wait();
    const r = await audit("a", jobs.a);
    expect(failures(r)).toEqual([
      expect.objectContaining({
        check: "payable",
        message:
          "segments 1–2 can no longer be paid: the worker key is no longer billable: its provider switched it off in the registry",
      }),
    ]);
  });

  it("fails a key whose GPU was released, in the payable and the device checks", async () => {
    await (
      await f.d.registry
        .connect(f.attestor)
        .releaseGpu(sha256Hex("GPU-payable"), encodeBytes32String("squatted"))
    ).wait();
    const r = await audit("a", jobs.a);
    expect(
      failures(r)
        .map((x: Finding) => x.check)
        .sort(),
    ).toEqual(["device", "payable"]);
    expect(of(r, "device")[0]!.message).toMatch(/released the GPU/);
    expect(of(r, "payable")[0]!.message).toMatch(/released its GPU, so it is off for good/);
  });
});

describe("audit: device class and weight against the registry", () => {
  it("fails a trace whose header's class is not the registered one, saying what it was paid at", async () => {
    const r = await audit("foo", jobs.f);
    expect(r.summary).toMatchObject({ onChainSegments: 1, weightBps: "100", deviceClass: "FOO" });
    expect(failures(r)).toEqual([
      expect.objectContaining({
        check: "device",
        message: `the trace's header says device class FOO, but the registry holds CPU for worker key ${cpuKey.keyHash}: its 1 segments on chain were paid at CPU's weight 100 bps`,
      }),
    ]);
  });

  it("fails a payout at a weight the rate card did not give when the lane started", async () => {
    const view = await readJobChainView({
      provider: f.connection.ethers.provider,
      escrow: f.escrowAddress,
      jobId: jobs.a,
      workerKeyHash: key.keyHash,
    });
    expect(view.accepted[0]).toMatchObject({ weightBps: 10_000n, expectedWeightBps: 10_000n });
    // As an escrow that paid at another weight than its rate card's would show it.
    view.accepted[0]!.expectedWeightBps = 4000n;
    const r = await auditTrace(traces.a.path, view);
    expect(failures(r)).toEqual([
      expect.objectContaining({
        check: "weight",
        segment: 0,
        message:
          "paid at weight 10000 bps, but the rate card gave the worker's registered class 4000 bps when its lane started",
      }),
    ]);
  });
});

describe("audit report", () => {
  it("names the file, job, chain and escrow, and says the chain checks were skipped without an RPC", () => {
    const env: NodeJS.ProcessEnv = { ...process.env, METERPROOF_CONFIG: "" };
    delete env.METERPROOF_RPC;
    const r = runCli(["audit", traces.a.path, "--json"], { env, cwd: dir });
    expect(r.status).toBe(0);
    const report = JSON.parse(r.stdout) as AuditReport;
    expect(report.subject).toEqual({
      file: traces.a.path,
      chainId: "31337",
      escrow: f.escrowAddress,
      jobId: jobs.a.toString(),
      workerKeyHash: key.keyHash.toString(),
      deviceClass: "H100",
    });
    expect(report.skipped).toEqual(["chain: no --rpc, METERPROOF_RPC or rpc in meterproof.config.json"]);
    const human = runCli(["audit", traces.a.path], { env, cwd: dir });
    expect(human.stdout).toContain(
      "skipped: chain: no --rpc, METERPROOF_RPC or rpc in meterproof.config.json",
    );
    expect(human.stdout).toMatch(/H100-hours at full utilization/);
  });
});
