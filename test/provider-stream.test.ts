/**
 * Streaming payouts: the agent follows a trace that `meterproof worker run` is still writing for
 * a real CPU job, and payouts arrive on chain while the job runs, not only at its end. The job
 * lasts 40 s here (a segment sealed every 4 s); METERPROOF_LONG_JOB_SECONDS=180 runs the
 * three-minute version.
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeEvents } from "../chain/events.ts";
import { readTrace, saveWorkerKey } from "../trace/index.ts";
import { CliProcess } from "./helpers/cli-process.ts";
import { HardhatNode } from "./helpers/hardhat-node.ts";
import { DEV_KEYS, providerJob, type ProviderJob } from "./helpers/provider-fixture.ts";
import { busyScript, tempDir } from "./worker-helpers.ts";

const JOB_SECONDS = Number(process.env.METERPROOF_LONG_JOB_SECONDS ?? 40);
const dir = tempDir("provider-stream");
let node: HardhatNode;
let pj: ProviderJob;

beforeAll(async () => {
  node = await HardhatNode.start(join(dir, "hardhat-node.log"));
  pj = await providerJob(node.provider, { worker: "stream", deviceClass: "CPU" });
});

afterAll(async () => {
  await node?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("payouts while the job runs", () => {
  it(
    `pays segments of a ${JOB_SECONDS} s CPU job before the job ends`,
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
          rpc: node.url,
          provider: {
            jobs: [{ trace: "job.trace.jsonl" }],
            batch: { segments: 2, maxWaitSeconds: 8, maxPerTx: 16 },
            pollSeconds: 0.5,
          },
        }),
      );
      const env: NodeJS.ProcessEnv = { ...process.env, METERPROOF_PRIVATE_KEY: DEV_KEYS.provider };
      for (const k of ["METERPROOF_RPC", "METERPROOF_CONFIG", "METERPROOF_FAILPOINT"]) delete env[k];
      const agent = new CliProcess(["provider", "run", "--escrow", pj.d.addresses.escrow], {
        cwd: folder,
        env,
      });
      const worker = new CliProcess(
        [
          "worker",
          "run",
          "--key",
          keyFile,
          "--job",
          pj.jobId.toString(),
          "--escrow",
          pj.d.addresses.escrow,
          "--provider",
          pj.provider.address,
          "--rpc",
          node.url,
          "--out",
          tracePath,
          "--sampler",
          "proc",
          "--device-class",
          "CPU",
          "--interval-ms",
          "500",
          "--segment",
          "8",
          "--",
          process.execPath,
          "-e",
          busyScript(JOB_SECONDS * 1000),
        ],
        { cwd: folder, env },
      );
      let workerDone = false;
      void worker.exited.then(() => (workerDone = true));
      const accepted = async () => {
        const logs = await node.provider.getLogs({
          address: pj.d.addresses.escrow,
          fromBlock: 0,
          toBlock: "latest",
        });
        return decodeEvents(logs).filter((e) => e.name === "SegmentAccepted");
      };
      try {
        // Watch the chain while the job runs.
        let paidWhileRunning = 0;
        while (!workerDone) {
          const n = (await accepted()).length;
          if (!workerDone) paidWhileRunning = n;
          await new Promise((r) => setTimeout(r, 1000));
        }
        expect((await worker.exited).code, worker.stderr.join("\n")).toBe(0);
        expect(paidWhileRunning, "segments accepted before the job ended").toBeGreaterThanOrEqual(2);

        // After the end, the last segments (the final seal too) are paid within a batch period.
        const trace = await readTrace(tracePath);
        const until = Date.now() + 120_000;
        while ((await accepted()).length < trace.segments.length && Date.now() < until)
          await new Promise((r) => setTimeout(r, 1000));
        const all = await accepted();
        expect(all.map((e) => e.args.newHead as bigint).sort()).toEqual(
          trace.segments.map((s) => s.newHead).sort(),
        );
        expect(all.every((e) => (e.args.payout as bigint) > 0n)).toBe(true);
        expect(paidWhileRunning).toBeLessThan(trace.segments.length);
      } finally {
        await worker.stop();
        await agent.stop();
      }
    },
  );
});
