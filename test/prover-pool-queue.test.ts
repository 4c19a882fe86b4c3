/**
 * The prover pool on BullMQ over a real Redis (the Debian redis-server on a free port): one task
 * per segment however often it is asked for, a prover host killed with kill -9 mid-proof whose
 * job another host finishes, and a Redis restart in the middle of a run.
 */
import { readFileSync } from "node:fs";
import { Queue } from "bullmq";
import * as snarkjs from "snarkjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { circuitArtifacts } from "../circuits/index.ts";
import { expectedPublicSignals } from "../prover/prove-trace.ts";
import type { SegmentProof } from "../prover/segment-prover.ts";
import { segmentWitnessInput } from "../prover/witness-input.ts";
import { proofTaskId, type ProofTask } from "../prover-pool/proof-task.ts";
import { PROOF_QUEUE, redisConnection } from "../prover-pool/queue.ts";
import { QueueProverPool } from "../prover-pool/queue-pool.ts";
import { startProverServe } from "../prover-pool/serve.ts";
import type { CheckedTrace } from "../trace/index.ts";
import { CliProcess } from "./helpers/cli-process.ts";
import { RedisServer } from "./helpers/redis-server.ts";
import { offlineLaneTrace } from "./helpers/provider-fixture.ts";
import { TEST_CIRCUIT } from "./helpers/segment-proof.ts";

let trace: CheckedTrace;
const vkey = JSON.parse(readFileSync(circuitArtifacts(TEST_CIRCUIT).vkey, "utf8")) as unknown;

beforeAll(async () => {
  trace = await offlineLaneTrace("prover-pool", 4);
});

/** The task of segment `index`; `salt` makes a task of the same witness that no other test shares. */
function task(index: number, salt = ""): ProofTask {
  const seg = trace.segments[index]!;
  const h = trace.header;
  return {
    id: proofTaskId({ ...h, escrow: h.escrow + salt, index, newHead: seg.newHead }),
    circuitSize: TEST_CIRCUIT,
    input: segmentWitnessInput({ trace, segment: index, size: TEST_CIRCUIT }),
  };
}

async function expectValid(index: number, p: SegmentProof): Promise<void> {
  expect(p.publicSignals).toEqual(expectedPublicSignals(trace, trace.segments[index]!));
  expect(await snarkjs.groth16.verify(vkey, p.publicSignals, p.proof)).toBe(true);
}

async function completedCount(url: string): Promise<number> {
  const q = new Queue(PROOF_QUEUE, { connection: redisConnection(url) });
  try {
    return (await q.getJobCounts("completed")).completed!;
  } finally {
    await q.close();
  }
}

describe("prover pool on BullMQ over Redis", () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await RedisServer.start();
  });
  afterAll(async () => {
    await redis?.dispose();
  });

  it("proves a segment enqueued twice (by two agents, and again later) once", async () => {
    const events: { event: string; task: unknown }[] = [];
    const worker = startProverServe({
      url: redis.url,
      concurrency: 1,
      log: (event, f) => events.push({ event, task: f.task }),
    });
    const a = new QueueProverPool({ url: redis.url });
    const b = new QueueProverPool({ url: redis.url });
    try {
      const t = task(0, "twice");
      const [pa, pb] = await Promise.all([a.prove(t), b.prove(t)]);
      expect(pb).toEqual(pa);
      await expectValid(0, pa);
      // Asked again after it finished: answered from the stored result.
      expect(await a.prove(t)).toEqual(pa);
      expect(events.filter((e) => e.event === "proving" && e.task === t.id)).toHaveLength(1);
      expect(await completedCount(redis.url)).toBe(1);
    } finally {
      await Promise.all([a.close(), b.close()]);
      await worker.close();
    }
  });

  it("a prover host killed with kill -9 mid-proof loses its segment to the other host, which proves it once", async () => {
    const serve = () =>
      new CliProcess([
        "prover",
        "serve",
        "--queue",
        redis.url,
        "--lock-ms",
        "3000",
        "--stalled-check-ms",
        "1000",
      ]);
    const hosts = [serve(), serve()];
    const pool = new QueueProverPool({ url: redis.url });
    try {
      await Promise.all(hosts.map((h) => h.waitFor((l) => l.msg === "prover serving", 60_000, "start")));
      const tasks = [task(1, "kill"), task(2, "kill")];
      const proofs = Promise.all(tasks.map((t) => pool.prove(t)));
      // Whichever host takes a job first is killed while its sandboxed child proves it.
      const first = await Promise.race(
        hosts.map((h) => h.waitFor((l) => l.msg === "proving", 60_000, "a proof").then((l) => ({ h, l }))),
      );
      const victim = first.h;
      const survivor = hosts.find((h) => h !== victim)!;
      await victim.kill9();
      const got = await proofs;
      await expectValid(1, got[0]!);
      await expectValid(2, got[1]!);
      const lostTask = first.l.task;
      expect(victim.lines.some((l) => l.msg === "proven")).toBe(false);
      expect(survivor.lines.filter((l) => l.msg === "proven" && l.task === lostTask)).toHaveLength(1);
      expect(
        survivor.lines
          .filter((l) => l.msg === "proven")
          .map((l) => l.task)
          .sort(),
      ).toEqual(tasks.map((t) => t.id).sort());
      // SIGTERM: the survivor finishes what it holds and exits cleanly.
      await survivor.stop();
      expect(await survivor.exited).toEqual({ code: 0, signal: null });
    } finally {
      await pool.close();
      await Promise.all(hosts.map((h) => h.stop()));
    }
  });
});

describe("a Redis restart in the middle of a run", () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await RedisServer.start({ persist: true });
  });
  afterAll(async () => {
    await redis?.dispose();
  });

  it("delays the proofs but every one still arrives", async () => {
    const events: string[] = [];
    const worker = startProverServe({ url: redis.url, concurrency: 1, log: (e) => events.push(e) });
    const pool = new QueueProverPool({ url: redis.url });
    try {
      const tasks = [0, 1, 2, 3].map((i) => task(i, "restart"));
      const proofs = Promise.all(tasks.map((t) => pool.prove(t)));
      // Restart once the first proof is done and the others wait or run.
      while (!events.includes("proven")) await new Promise((r) => setTimeout(r, 100));
      await redis.restart();
      const got = await proofs;
      for (const [i, p] of got.entries()) await expectValid(i, p);
      expect(await completedCount(redis.url)).toBe(4);
    } finally {
      await pool.close();
      await worker.close();
    }
  });
});
