import { spawn } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { readTrace, type WorkerKey } from "../trace/index.ts";
import { getconf, ProcSampler, startJob, type Sample } from "../worker/index.ts";
import { testKey } from "./fixtures/traces.ts";
import { busyScript, Collect, JOB, meteredMs, tempDir, traceRecords } from "./worker-helpers.ts";

const dir = tempDir("worker-proc");
let key: WorkerKey;
beforeAll(async () => {
  key = await testKey(3);
});

async function runUnderProc(name: string, command: string[]) {
  const out = join(dir, `${name}.jsonl`);
  const stdout = new Collect();
  const handle = await startJob({
    key,
    job: JOB,
    command,
    tracePath: out,
    sampler: new ProcSampler({ raplPath: null }),
    intervalMs: 300,
    sampleMs: 50,
    segmentSize: 8,
    stdin: "ignore",
    stdout,
    stderr: new Collect(),
  });
  const result = await handle.done;
  return { out, result, stdout: stdout.text(), records: traceRecords(out) };
}

describe("proc sampler on a real CPU workload", () => {
  it("reads a busy command near 10000 bps and meters the CPU time it really used", async () => {
    const { out, result, stdout, records } = await runUnderProc("busy", [
      process.execPath,
      "-e",
      busyScript(1500),
    ]);
    expect(result.exitCode).toBe(0);
    const child = JSON.parse(stdout) as { cpuMs: number; wallMs: number };
    // Full intervals: all but the first (Node starting) and the last (partial).
    const full = records.slice(1, -1);
    expect(full.length).toBeGreaterThanOrEqual(3);
    const mean = full.reduce((s, r) => s + r.utilBps, 0) / full.length;
    // On an idle core the child gets ~100% and must read > 7000; on a loaded host it gets less
    // CPU, and the meter must follow what it got, not wall time.
    const share = child.cpuMs / child.wallMs;
    expect(mean).toBeGreaterThan(Math.min(7000, share * 10_000 * 0.8));
    // The whole trace meters the child's CPU time (startup included) within 15% + 60 ms.
    expect(Math.abs(meteredMs(records) - child.cpuMs)).toBeLessThan(child.cpuMs * 0.15 + 60);
    expect((await readTrace(out)).unsealedRecords).toBe(0);
  });

  it("reads a sleeping command near 0", async () => {
    const { result, records } = await runUnderProc("sleep", ["sleep", "1.2"]);
    expect(result.exitCode).toBe(0);
    expect(records.length).toBeGreaterThanOrEqual(4);
    // CPU time comes in 10 ms clock ticks: the one tick sleep spends starting may land in a
    // short last record and read high there, so judge full-length records and the total.
    for (const r of records.filter((r) => r.tEnd - r.tStart >= 200)) expect(r.utilBps).toBeLessThan(500);
    expect(meteredMs(records)).toBeLessThan(50);
    // A sleeping process still has resident memory; the tree's RSS is summed (sleep: ~1 MiB).
    expect(Math.max(...records.map((r) => r.memMiB))).toBeLessThan(64);
  });

  it("counts the CPU time of the job's whole process tree, uncapped per sample", async () => {
    // sh starts two busy node processes: the sampler must find both grandchildren.
    const script = busyScript(800).replace(/"/g, '\\"');
    const child = spawn(
      "sh",
      ["-c", `"${process.execPath}" -e "${script}" & "${process.execPath}" -e "${script}" & wait`],
      {
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    let text = "";
    child.stdout!.on("data", (c: Buffer) => (text += c.toString()));
    const sampler = new ProcSampler({ raplPath: null, scanEveryMs: 100 });
    const samples: Sample[] = [];
    const t0 = Date.now();
    sampler.start({ pid: child.pid!, periodMs: 50, onSample: (s) => samples.push(s), onWarning: () => {} });
    await new Promise((r) => child.once("exit", r));
    samples.push(sampler.sampleNow(Date.now())!);
    await sampler.stop();
    let prev = t0;
    let meteredCpuMs = 0;
    for (const s of samples) {
      meteredCpuMs += ((s.t - prev) * s.utilBps!) / 10_000;
      prev = s.t;
    }
    const reports = text
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { cpuMs: number });
    expect(reports).toHaveLength(2);
    const childCpuMs = reports[0]!.cpuMs + reports[1]!.cpuMs;
    expect(meteredCpuMs).toBeGreaterThan(childCpuMs * 0.85);
    expect(meteredCpuMs).toBeLessThan(childCpuMs * 1.15 + 100);
  });
});

describe("proc sampler process discovery (on a fake /proc)", () => {
  const root = tempDir("fake-proc");
  function proc(
    pid: number | "self",
    f: { ppid?: number; pgrp?: number; utime?: number; cutime?: number; rss?: number; start?: number },
  ): void {
    mkdirSync(join(root, String(pid)), { recursive: true });
    const [ppid, pgrp, utime, cutime, rss, start] = [
      f.ppid ?? 1,
      f.pgrp ?? 1,
      f.utime ?? 0,
      f.cutime ?? 0,
      f.rss ?? 0,
      f.start ?? 1000,
    ];
    const fields = `S ${ppid} ${pgrp} ${pgrp} 0 -1 0 0 0 0 0 ${utime} 0 ${cutime} 0 20 0 1 0 ${start} 0 ${rss} 0`;
    // /proc/self/stat names the worker's own pid, like every stat file.
    writeFileSync(join(root, String(pid), "stat"), `${pid === "self" ? 77 : pid} (p ${pid}) ${fields}\n`);
  }

  it("counts the root's descendants and process group, not unrelated processes, and the root after it exits", () => {
    proc("self", { cutime: 500 });
    proc(100, { ppid: 50, pgrp: 100, utime: 10, rss: 256 }); // the job's root
    proc(101, { ppid: 100, pgrp: 100, utime: 20, rss: 256 });
    proc(103, { ppid: 101, pgrp: 103, utime: 30, rss: 256 }); // grandchild in its own group
    proc(102, { ppid: 1, pgrp: 100, utime: 40, rss: 256 }); // orphan still in the job's group
    proc(200, { ppid: 1, pgrp: 200, utime: 1000, rss: 99_999 }); // someone else's
    const sampler = new ProcSampler({ procRoot: root, raplPath: null, scanEveryMs: 0 });
    sampler.start({ pid: 100, periodMs: 60_000, onSample: () => {}, onWarning: () => {} });
    const t0 = Date.now();
    // Four processes of 256 pages each (1024 pages: 4 MiB with 4 KiB pages) and no CPU yet.
    expect(sampler.sampleNow(t0 + 100)).toMatchObject({
      utilBps: 0,
      memMiB: Math.round((1024 * getconf("PAGESIZE", 4096)) / 2 ** 20),
    });
    // 10 ticks (100 ms) over 100 ms: one busy core.
    proc(101, { ppid: 100, pgrp: 100, utime: 30, rss: 256 });
    expect(sampler.sampleNow(t0 + 200)!.utilBps).toBe(10_000);
    // A new child appears with 20 ticks already: found by the next scan.
    proc(104, { ppid: 100, pgrp: 100, utime: 20, rss: 0 });
    expect(sampler.sampleNow(t0 + 300)!.utilBps).toBe(20_000);
    // The orphan exits (reaped elsewhere) and a stranger reuses its pid: not the job's. The
    // counter keeps the orphan's 40 ticks it already saw and never runs backwards.
    proc(102, { ppid: 1, pgrp: 1, utime: 40, rss: 256, start: 9999 });
    proc(200, { ppid: 1, pgrp: 200, utime: 5000 });
    expect(sampler.sampleNow(t0 + 400)!.utilBps).toBe(0);
    // The root exits and the worker reaps it: its tree's 90 ticks and 50 more show in the
    // worker's own cutime; 140 against the 130 counted so far is 10 ticks in 100 ms.
    for (const pid of [100, 101, 103, 104]) rmSync(join(root, String(pid)), { recursive: true });
    proc("self", { cutime: 500 + 140 });
    expect(sampler.sampleNow(t0 + 500)!.utilBps).toBe(10_000);
    expect(sampler.sampleNow(t0 + 600)!.utilBps).toBe(0);
    void sampler.stop();
  });
});
