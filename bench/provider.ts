/**
 * The provider agent: seal-to-accepted latency with the embedded pool (an in-process Hardhat
 * chain, a trace written in real time, one segment sealed every 4 s, submitted one by one), and
 * proof throughput of 1 and 2 `meterproof prover serve` processes on this machine (one Redis).
 */
import { appendFileSync, mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { BrowserProvider, Wallet } from "ethers";
import { network } from "hardhat";
import { buildContracts } from "../chain/hardhat-build.ts";
import { LocalProverPool } from "../prover-pool/local-pool.ts";
import { proofTaskId } from "../prover-pool/proof-task.ts";
import { QueueProverPool } from "../prover-pool/queue-pool.ts";
import { segmentWitnessInput } from "../prover/witness-input.ts";
import { ProviderAgent } from "../provider/agent.ts";
import type { TraceLineJson } from "../trace/index.ts";
import { CliProcess } from "../test/helpers/cli-process.ts";
import { DEV_KEYS, offlineLaneTrace, providerJob } from "../test/helpers/provider-fixture.ts";
import { RedisServer } from "../test/helpers/redis-server.ts";
import { buildLaneTrace, TEST_CIRCUIT } from "../test/helpers/segment-proof.ts";
import { fmt, type BenchSection } from "./lib.ts";

/** Segments per latency run and proofs per throughput run (env overrides for a short run). */
const LATENCY_SEGMENTS = Number(process.env.BENCH_PROVIDER_SEGMENTS ?? 12);
const THROUGHPUT_PROOFS = Number(process.env.BENCH_PROVIDER_PROOFS ?? 8);
const SEAL_EVERY_MS = 4000;

function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

/** Seal-to-accepted seconds of each segment, the agent running in this process with the local pool. */
async function latencyRun(): Promise<number[]> {
  await buildContracts();
  const connection = await network.create();
  // No request cache: a second transaction sent right after a first would reuse its nonce.
  const rpc = new BrowserProvider(connection.provider, undefined, { cacheTimeout: -1, pollingInterval: 100 });
  const dir = mkdtempSync(join(tmpdir(), "meterproof-bench-provider-"));
  try {
    const pj = await providerJob(rpc, { worker: "bench latency" });
    // The whole trace is made up front with record times from now on; each segment's lines are
    // written once its last record's end has passed, as a worker would.
    const intervalMs = SEAL_EVERY_MS / TEST_CIRCUIT;
    const lines: TraceLineJson[] = [];
    const startMs = Date.now() + 500;
    const trace = await buildLaneTrace({
      ...pj.job,
      key: pj.key,
      startMs,
      intervalMs,
      records: LATENCY_SEGMENTS * TEST_CIRCUIT,
      onLine: (l) => lines.push(l),
    });
    const tracePath = join(dir, "job.trace.jsonl");
    const agent = new ProviderAgent({
      settings: {
        stateDir: join(dir, "state"),
        jobs: [{ trace: tracePath, bundles: join(dir, "bundles"), name: "job" }],
        batch: { segments: 1, maxWaitSeconds: 0, maxPerTx: 16 },
        withdraw: {},
        proverThreads: 1,
        pollSeconds: 0.1,
        confirmSeconds: 10,
      },
      wallet: new Wallet(DEV_KEYS.provider, rpc),
      chainId: pj.d.chainId,
      escrow: pj.d.addresses.escrow,
      pool: new LocalProverPool(),
      poolName: "local",
      log: () => {},
    });
    const running = agent.run();
    const sealedAt = new Map<bigint, number>();
    const acceptedAt = new Map<bigint, number>();
    let written = 0;
    while (acceptedAt.size < trace.segments.length) {
      const now = Date.now();
      // Write every line whose time has come: records until their end, a seal right after its last record.
      while (written < lines.length) {
        const line = lines[written]!;
        if (line.type === "record" && line.tEnd > now) break;
        appendFileSync(tracePath, JSON.stringify(line) + "\n");
        if (line.type === "seal") sealedAt.set(BigInt(line.newHead), Date.now());
        written++;
      }
      const head = await pj.d.escrow.laneHead(pj.jobId, pj.key.keyHash);
      if (sealedAt.has(head) && !acceptedAt.has(head)) acceptedAt.set(head, Date.now());
      await new Promise((r) => setTimeout(r, 50));
    }
    agent.stop();
    await running;
    await agent.close();
    return [...acceptedAt].map(([head, at]) => (at - sealedAt.get(head)!) / 1000);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Proofs per minute of `hosts` prover serve processes on one Redis, after one warm-up proof each. */
async function throughputRun(hosts: number, salt: string): Promise<number> {
  const redis = await RedisServer.start();
  const servers = Array.from(
    { length: hosts },
    () => new CliProcess(["prover", "serve", "--queue", redis.url]),
  );
  const pool = new QueueProverPool({ url: redis.url });
  try {
    await Promise.all(servers.map((s) => s.waitFor((l) => l.msg === "prover serving", 60_000, "start")));
    const trace = await offlineLaneTrace("bench throughput", THROUGHPUT_PROOFS + hosts);
    const task = (index: number) => ({
      id: proofTaskId({
        ...trace.header,
        escrow: trace.header.escrow + salt,
        index,
        newHead: trace.segments[index]!.newHead,
      }),
      circuitSize: TEST_CIRCUIT,
      input: segmentWitnessInput({ trace, segment: index, size: TEST_CIRCUIT }),
    });
    // Warm-up: each host's sandboxed child loads the circuit once.
    await Promise.all(Array.from({ length: hosts }, (_, i) => pool.prove(task(i))));
    const t0 = performance.now();
    await Promise.all(Array.from({ length: THROUGHPUT_PROOFS }, (_, i) => pool.prove(task(hosts + i))));
    return (THROUGHPUT_PROOFS / ((performance.now() - t0) / 1000)) * 60;
  } finally {
    await pool.close();
    await Promise.all(servers.map((s) => s.stop()));
    await redis.dispose();
  }
}

export async function benchProvider(): Promise<BenchSection> {
  const load = loadavg()[0]!;
  const latency = await latencyRun();
  const one = await throughputRun(1, "bench-1");
  const two = await throughputRun(2, "bench-2");
  return {
    title: "Provider agent",
    rows: [
      {
        metric: "seal → accepted, p50",
        value: fmt(percentile(latency, 50), "s"),
        note: `embedded pool, ${latency.length} segments of ${TEST_CIRCUIT} records sealed every ${SEAL_EVERY_MS / 1000} s, K = 1`,
      },
      { metric: "seal → accepted, p95", value: fmt(percentile(latency, 95), "s"), note: "same run" },
      {
        metric: "proof throughput, 1 prover serve",
        value: fmt(one, "proofs/min"),
        note: `${THROUGHPUT_PROOFS} size-${TEST_CIRCUIT} proofs through BullMQ on a local Redis, after warm-up`,
      },
      {
        metric: "proof throughput, 2 prover serve",
        value: fmt(two, "proofs/min"),
        note: `same, two processes on this machine (${(two / one).toFixed(2)}× one)`,
      },
    ],
    notes: [
      "Latency is measured from the moment the seal line is written to the moment the lane head on chain reaches it: " +
        "the agent notices the seal (polling every 0.1 s), proves it, checks the bundle and submits a batch of one.",
      `Load average when the section started: ${load.toFixed(1)} (on ${availableParallelism()} cores); other work on the machine slows the proofs.`,
      "Each prover serve proves in a sandboxed child process on snarkjs' multi-threaded curve, so two processes on two " +
        "cores compete for the same cores; the second host pays off on a second machine.",
    ],
  };
}
