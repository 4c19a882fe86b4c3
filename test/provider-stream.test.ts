/**
 * Streaming payouts with proving spread over two hosts: the agent starts `meterproof worker run`
 * for a real CPU job itself, follows the trace while it is written, and proves through two
 * `prover serve` processes on one Redis; one of them is killed with kill -9 in the middle of a
 * proof. Payouts arrive on chain while the job runs, not only at its end, and every segment is
 * paid exactly once. The job lasts three minutes (a segment sealed every 8 s);
 * METERPROOF_LONG_JOB_SECONDS=60 runs a shorter one while developing.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeEvents } from "../chain/events.ts";
import { readTrace, saveWorkerKey } from "../trace/index.ts";
import { cpuDevice } from "../worker/device.ts";
import { CliProcess } from "./helpers/cli-process.ts";
import { freePort } from "./helpers/hardhat-node.ts";
import { RedisServer } from "./helpers/redis-server.ts";
import { startHardhatNode, type HardhatNode } from "./helpers/hardhat-node.ts";
import { DEV_KEYS, providerJob, type ProviderJob } from "./helpers/provider-fixture.ts";
import { busyScript, tempDir } from "./worker-helpers.ts";

const JOB_SECONDS = Number(process.env.METERPROOF_LONG_JOB_SECONDS ?? 180);
const dir = tempDir("provider-stream");
let node: HardhatNode;
let redis: RedisServer;
let pj: ProviderJob;

beforeAll(async () => {
  [node, redis] = await Promise.all([startHardhatNode(dir), RedisServer.start()]);
  // Registered for this host's identity, which `worker run --sampler proc` checks before it starts.
  pj = await providerJob(node.provider, {
    worker: "stream",
    deviceClass: "CPU",
    gpuUuidHash: cpuDevice().uuidHash,
  });
});

afterAll(async () => {
  await Promise.all([node?.stop(), redis?.dispose()]);
  rmSync(dir, { recursive: true, force: true });
});

describe("payouts while the job runs", () => {
  it(
    `pays segments of a ${JOB_SECONDS} s CPU job before the job ends, one prover host killed mid-proof`,
    { timeout: (JOB_SECONDS + 150) * 1000 },
    async () => {
      const folder = join(dir, "provider");
      mkdirSync(folder, { recursive: true });
      const keyFile = join(folder, "worker.key");
      saveWorkerKey(keyFile, pj.key);
      const tracePath = join(folder, "job.trace.jsonl");
      writeFileSync(
        join(folder, "meterproof.config.json"),
        JSON.stringify({
          rpc: node.rpc,
          provider: {
            // The agent starts the worker itself.
            jobs: [
              {
                trace: "job.trace.jsonl",
                run: {
                  job: pj.jobId.toString(),
                  key: "worker.key",
                  command: [process.execPath, "-e", busyScript(JOB_SECONDS * 1000)],
                  options: [
                    "--sampler",
                    "proc",
                    "--device-class",
                    "CPU",
                    "--interval-ms",
                    "1000",
                    "--segment",
                    "8",
                  ],
                },
              },
            ],
            batch: { segments: 2, maxWaitSeconds: 4, maxPerTx: 16 },
            pollSeconds: 0.5,
          },
        }),
      );
      const env: NodeJS.ProcessEnv = { ...process.env, METERPROOF_PRIVATE_KEY: DEV_KEYS.provider };
      for (const k of ["METERPROOF_RPC", "METERPROOF_CONFIG", "METERPROOF_FAILPOINT"]) delete env[k];
      const provers = [0, 1].map(
        () =>
          new CliProcess(
            ["prover", "serve", "--queue", redis.url, "--lock-ms", "3000", "--stalled-check-ms", "1000"],
            { env },
          ),
      );
      const metricsPort = await freePort();
      const agent = new CliProcess(
        [
          "provider",
          "run",
          "--escrow",
          pj.d.addresses.escrow,
          "--queue",
          redis.url,
          "--metrics-port",
          String(metricsPort),
        ],
        { cwd: folder, env },
      );
      const exitFile = join(folder, "provider-state/runs/job.exit");
      const workerDone = () => existsSync(exitFile);
      const events = async (name: string) => {
        const logs = await node.provider.getLogs({
          address: pj.d.addresses.escrow,
          fromBlock: 0,
          toBlock: "latest",
        });
        return decodeEvents(logs).filter((e) => e.name === name);
      };
      try {
        // Watch the chain while the job runs; once some host has finished a proof, kill -9 the
        // host that starts the next one while it proves it.
        let paidWhileRunning = 0;
        let killed: { host: CliProcess; task: unknown } | undefined;
        while (!workerDone()) {
          const n = (await events("SegmentAccepted")).length;
          if (!workerDone()) paidWhileRunning = n;
          if (!killed && provers.some((h) => h.lines.some((l) => l.msg === "proven"))) {
            const proving = provers
              .map((host) => ({
                host,
                last: host.lines.filter((l) => /^prov(ing|en)$/.test(l.msg ?? "")).at(-1),
              }))
              .find((p) => p.last?.msg === "proving");
            if (proving) {
              await proving.host.kill9();
              killed = { host: proving.host, task: proving.last!.task };
            }
          }
          await new Promise((r) => setTimeout(r, 250));
        }
        expect(
          readFileSync(exitFile, "utf8").trim(),
          readFileSync(join(folder, "provider-state/runs/job.log"), "utf8"),
        ).toBe("0");
        expect(paidWhileRunning, "segments accepted before the job ended").toBeGreaterThanOrEqual(1);
        expect(killed, "a prover host was killed mid-proof").toBeDefined();

        // After the end, the last segments (the final seal too) are paid within a batch period.
        const trace = await readTrace(tracePath);
        const until = Date.now() + 120_000;
        while ((await events("SegmentAccepted")).length < trace.segments.length && Date.now() < until)
          await new Promise((r) => setTimeout(r, 1000));
        const all = await events("SegmentAccepted");
        expect(all.map((e) => e.args.newHead as bigint).sort()).toEqual(
          trace.segments.map((s) => s.newHead).sort(),
        );
        expect(all.every((e) => (e.args.payout as bigint) > 0n)).toBe(true);
        expect(paidWhileRunning).toBeLessThan(trace.segments.length);
        expect(await events("SegmentSkipped")).toEqual([]);
        // The killed host's segment was proven by the other host, once.
        const survivor = provers.find((h) => h !== killed!.host)!;
        expect(killed!.host.lines.filter((l) => l.msg === "proven" && l.task === killed!.task)).toEqual([]);
        expect(survivor.lines.filter((l) => l.msg === "proven" && l.task === killed!.task)).toHaveLength(1);

        const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
        const value = (name: string) => {
          const line = metrics.split("\n").find((l) => l.startsWith(`${name} `));
          return line === undefined ? undefined : Number(line.slice(name.length + 1));
        };
        expect(value('meterproof_provider_proofs_total{result="ok"}')).toBe(trace.segments.length);
        expect(value("meterproof_provider_seal_to_paid_seconds_count")).toBe(trace.segments.length);
        expect(value("meterproof_provider_submit_gas_total")).toBeGreaterThan(0);
        await agent.stop();
        expect(await agent.exited).toEqual({ code: 0, signal: null });
      } finally {
        // A worker still running (the test failed early) is stopped with its process group.
        const pidFile = join(folder, "provider-state/runs/job.pid");
        if (!workerDone() && existsSync(pidFile)) {
          try {
            process.kill(-Number(readFileSync(pidFile, "utf8")), "SIGTERM");
          } catch {
            // already gone
          }
        }
        await agent.stop();
        await Promise.all(provers.map((h) => h.stop()));
      }
    },
  );
});
