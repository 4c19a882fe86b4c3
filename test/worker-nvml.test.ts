import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { readTrace, sha256Hex, type WorkerKey } from "../trace/index.ts";
import { NvmlSampler, WorkerError, openSampler, startJob } from "../worker/index.ts";
import { testKey } from "./fixtures/traces.ts";
import { Collect, fakeNvidiaSmiEnv, JOB, tempDir, traceRecords } from "./worker-helpers.ts";

const dir = tempDir("worker-nvml");
let key: WorkerKey;
beforeAll(async () => {
  key = await testKey(4);
});

/** Runs `sleep seconds` metered through the nvidia-smi double replaying `fixture` at 100 ms (its recording rate). */
async function runReplay(
  name: string,
  fixture: string,
  seconds: string,
  extraEnv: Record<string, string> = {},
) {
  const out = join(dir, `${name}.jsonl`);
  const log = join(dir, `${name}.log`);
  const sampler = await NvmlSampler.open({
    env: fakeNvidiaSmiEnv(fixture, { FAKE_NVIDIA_SMI_LOG: log, ...extraEnv }),
  });
  const warnings: string[] = [];
  const handle = await startJob({
    key,
    job: JOB,
    command: ["sleep", seconds],
    tracePath: out,
    sampler,
    intervalMs: 400,
    sampleMs: 100,
    segmentSize: 4,
    stdin: "ignore",
    stdout: new Collect(),
    stderr: new Collect(),
    onWarning: (m) => warnings.push(m),
  });
  const result = await handle.done;
  const trace = await readTrace(out);
  const invocations = readFileSync(log, "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as string[]);
  return { result, trace, records: traceRecords(out), warnings, invocations, sampler };
}

describe("nvml sampler replaying recorded nvidia-smi output", () => {
  it("meters an H100 from one long-running nvidia-smi", async () => {
    const { result, trace, records, warnings, invocations } = await runReplay("h100", "h100-sxm.csv", "1.7");
    expect(result.exitCode).toBe(0);
    expect(trace.header.sampler).toBe("nvml");
    expect(trace.header.device).toEqual({
      class: "H100",
      name: "NVIDIA H100 80GB HBM3",
      uuidHash: sha256Hex("GPU-5e1f3c52-8d0a-4f5b-9a3e-1c2b7d9e6f40"),
    });
    expect(warnings).toEqual([]);
    // One query to identify the GPU, then one process for every sample.
    expect(invocations).toHaveLength(2);
    expect(invocations[0]).not.toContain("-lms");
    expect(invocations[1]!.slice(-2)).toEqual(["-lms", "100"]);
    const full = records.slice(1, -1);
    expect(full.length).toBeGreaterThanOrEqual(2);
    for (const r of full) {
      expect(r.utilBps).toBeGreaterThanOrEqual(9400);
      expect(r.utilBps).toBeLessThanOrEqual(10_000);
      expect(r.memMiB).toBeGreaterThanOrEqual(71_200);
      expect(r.memMiB).toBeLessThanOrEqual(72_400);
      expect(r.powerMw).toBeGreaterThanOrEqual(560_000);
      expect(r.powerMw).toBeLessThanOrEqual(700_000);
      // The recorded counter advances by power × 100 ms per line, so a record's counter
      // difference is close to its mean power × duration (lines arrive with some jitter).
      const expected = (r.powerMw * (r.tEnd - r.tStart)) / 1000;
      expect(r.energyMj).toBeGreaterThan(expected * 0.5);
      expect(r.energyMj).toBeLessThan(expected * 1.5);
    }
  });

  it("integrates power over time when the energy counter is [Not Supported] (Tesla P100)", async () => {
    const { trace, records, warnings } = await runReplay("p100", "p100-energy-not-supported.csv", "1.0");
    expect(trace.header.device.class).toBe("P100");
    expect(warnings.join("\n")).toMatch(/total_energy_consumption as not available/);
    for (const r of records) {
      expect(r.powerMw).toBeGreaterThan(0);
      expect(Math.abs(r.energyMj - (r.powerMw * (r.tEnd - r.tStart)) / 1000)).toBeLessThanOrEqual(
        (r.tEnd - r.tStart) / 1000 + 1,
      );
    }
  });

  it("reads power and energy as 0 when both are [N/A] (GeForce laptop)", async () => {
    const { trace, records, warnings } = await runReplay("laptop", "rtx3060-laptop-power-na.csv", "1.0");
    expect(trace.header.device.class).toBe("RTX 3060");
    expect(warnings.join("\n")).toMatch(/power.draw as not available/);
    for (const r of records) expect([r.powerMw, r.energyMj]).toEqual([0, 0]);
    expect(records.slice(1).every((r) => r.utilBps >= 3000 && r.utilBps <= 6000)).toBe(true);
  });

  it("reads utilization as 0 when it is [N/A] (A100 in MIG mode), and says so", async () => {
    const { records, warnings } = await runReplay("mig", "a100-mig-util-na.csv", "1.0");
    expect(warnings.join("\n")).toMatch(/utilization.gpu as not available/);
    for (const r of records) expect(r.utilBps).toBe(0);
    expect(records.slice(1).every((r) => r.energyMj > 0 && r.memMiB >= 10_240)).toBe(true);
  });

  it("restarts nvidia-smi when it dies and keeps metering", async () => {
    // The job lasts long enough for the restart (1 s after the exit, plus a process start that
    // takes a while on a loaded machine) to produce records before the job ends.
    const { result, records, warnings, invocations } = await runReplay("restart", "a100-sxm4.csv", "3.5", {
      FAKE_NVIDIA_SMI_EXIT_AFTER: "4",
    });
    expect(result.exitCode).toBe(0);
    expect(warnings.join("\n")).toMatch(/nvidia-smi stopped \(exit code 0\); restarting it in 1 s/);
    expect(invocations.length).toBeGreaterThanOrEqual(3);
    // The last full record comes after the restart and still reads the A100's load.
    expect(records.at(-2)!.utilBps).toBeGreaterThanOrEqual(6000);
  });
});

describe("--sampler auto", () => {
  it("picks nvml when nvidia-smi answers", async () => {
    const { sampler, reason } = await openSampler({
      sampler: "auto",
      env: fakeNvidiaSmiEnv("a100-sxm4.csv"),
    });
    expect(sampler.kind).toBe("nvml");
    expect(sampler.device.class).toBe("A100");
    expect(reason).toBeUndefined();
  });

  it("picks proc when there is no nvidia-smi, or when it cannot reach the driver", async () => {
    const none = await openSampler({ sampler: "auto", env: { ...process.env, PATH: tempDir("empty-path") } });
    expect(none.sampler.kind).toBe("proc");
    expect(none.reason).toMatch(/ENOENT/);
    const broken = await openSampler({
      sampler: "auto",
      env: fakeNvidiaSmiEnv("h100-sxm.csv", { FAKE_NVIDIA_SMI_FAIL: "1" }),
    });
    expect(broken.sampler.kind).toBe("proc");
    expect(broken.reason).toMatch(/couldn't communicate with the NVIDIA driver/);
    expect(broken.sampler.device.class).toBe("CPU");
  });

  it("fails plainly when nvml is asked for and nvidia-smi is missing", async () => {
    await expect(
      openSampler({ sampler: "nvml", env: { ...process.env, PATH: tempDir("empty-path") } }),
    ).rejects.toThrow(WorkerError);
  });
});
