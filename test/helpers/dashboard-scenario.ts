import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseEther, type TransactionReceipt } from "ethers";
import { eventsIn } from "../../chain/events.ts";
import type { SegmentAcceptedEvent } from "../../contracts/index.ts";
import { makeBundle } from "../../prover/prove-trace.ts";
import { loadProvingCircuit } from "../../prover/load-circuit.ts";
import { toJson, type TraceLineJson } from "../../trace/index.ts";
import {
  baseFixture,
  batchOf,
  createJobAt,
  registerWorker,
  T0,
  type BaseFixture,
  type ProvenLane,
} from "./escrow-fixture.ts";
import { buildLaneTrace, proveSegments, TEST_CIRCUIT, testWorkerKey } from "./segment-proof.ts";

/** Block time of the first job (s); unique to the dashboard tests, so their cached proofs are too. */
export const DASH_START = T0 + 7000;

/**
 * A small network for the dashboard to show, as the demo leaves it but with more to see:
 * job 1 (an H100 worker, 20 records in 3 segments: two accepted in one batch, one sealed and
 * not submitted), then the provider withdraws; job 2 (a CPU worker, one segment accepted, then
 * closed by the provider). Traces and bundles are written to `dir` as the worker and prover do.
 */
export async function dashboardScenario(dir: string) {
  const f = await baseFixture();
  const gpuKey = await testWorkerKey("dashboard gpu");
  const cpuKey = await testWorkerKey("dashboard cpu");
  await registerWorker(f, f.provider, gpuKey, "H100", "dashboard-gpu");
  await registerWorker(f, f.provider, cpuKey, "CPU", "dashboard-cpu");
  const expiry = DASH_START + 86_400;
  const job1 = await createJobAt(f, {
    at: DASH_START,
    provider: f.provider.address,
    budget: parseEther("10"),
    expiry,
  });
  const job2 = await createJobAt(f, {
    at: DASH_START + 1,
    provider: f.provider.address,
    budget: parseEther("5"),
    expiry,
  });

  const lane1 = await writeLane(f, dir, {
    jobId: job1,
    key: gpuKey,
    deviceClass: "H100",
    records: 20,
    expiry,
  });
  const lane2 = await writeLane(f, dir, { jobId: job2, key: cpuKey, deviceClass: "CPU", records: 8, expiry });

  const escrow = f.d.escrow.connect(f.provider);
  const accepted: (SegmentAcceptedEvent & { gasShare: bigint })[] = [];
  const receipts: TransactionReceipt[] = [];
  const submit = async (jobId: bigint, lane: ProvenLane, indexes: number[], at: number) => {
    await f.chain.setNextTimestamp(at);
    const tx = await escrow.submitSegments(
      batchOf(
        jobId,
        indexes.map((i) => lane.segments[i]!.submission),
      ),
    );
    const receipt = (await tx.wait())!;
    receipts.push(receipt);
    const events = eventsIn(receipt, "SegmentAccepted");
    accepted.push(...events.map((e) => ({ ...e, gasShare: receipt.gasUsed / BigInt(events.length) })));
  };
  await submit(job1, lane1, [0, 1], DASH_START + 300);
  await (await escrow.withdraw(f.creditAddress)).wait();
  await submit(job2, lane2, [0], DASH_START + 310);
  await f.chain.setNextTimestamp(DASH_START + 320);
  await (await escrow.closeJob(job2)).wait();
  return {
    f,
    job1,
    job2,
    lane1,
    lane2,
    accepted,
    receipts,
    /** Submits job 1's last segment (the one left in the backlog). */
    submitLast: () => submit(job1, lane1, [2], DASH_START + 400),
  };
}

/** Builds, saves and proves one lane's trace: `dir/job-N.trace` and `dir/bundles-N/segment-I.json`. */
async function writeLane(
  f: BaseFixture,
  dir: string,
  args: {
    jobId: bigint;
    key: Awaited<ReturnType<typeof testWorkerKey>>;
    deviceClass: string;
    records: number;
    expiry: number;
  },
): Promise<ProvenLane & { tracePath: string }> {
  const lines: TraceLineJson[] = [];
  const trace = await buildLaneTrace({
    chainId: f.chainId,
    escrow: f.escrowAddress,
    jobId: args.jobId,
    provider: f.provider.address,
    terms: {
      client: f.client.address,
      token: f.creditAddress,
      price: parseEther("1"),
      expiry: BigInt(args.expiry),
    },
    key: args.key,
    deviceClass: args.deviceClass,
    gpu: `dashboard-${args.deviceClass}`,
    startMs: DASH_START * 1000 + 10_000,
    intervalMs: 5000,
    records: args.records,
    onLine: (l) => lines.push(l),
  });
  const tracePath = join(dir, `job-${args.jobId}.trace`);
  writeFileSync(tracePath, lines.map((l) => JSON.stringify(toJson(l)) + "\n").join(""));
  const segments = await proveSegments(trace);
  const circuit = await loadProvingCircuit(TEST_CIRCUIT);
  const bundleDir = join(dir, `bundles-${args.jobId}`);
  mkdirSync(bundleDir, { recursive: true });
  for (const s of segments) {
    const bundle = makeBundle(trace, s.segment, circuit, {
      proof: s.proof,
      publicSignals: s.publicSignals.map(String),
    });
    writeFileSync(join(bundleDir, `segment-${s.segment.index}.json`), JSON.stringify(bundle, null, 2));
  }
  return { jobId: args.jobId, key: args.key, trace, segments, tracePath };
}

/** Changes one record's utilization in a trace file: its hash no longer matches, so the audit fails. */
export function tamperRecord(tracePath: string, seq: number): void {
  const lines = readFileSync(tracePath, "utf8").split("\n");
  const i = lines.findIndex((l) => l.includes('"type":"record"') && JSON.parse(l).seq === seq);
  const record = JSON.parse(lines[i]!) as { utilBps: number };
  record.utilBps = record.utilBps === 10_000 ? 9_999 : record.utilBps + 1;
  lines[i] = JSON.stringify(record);
  writeFileSync(tracePath, lines.join("\n"));
}
