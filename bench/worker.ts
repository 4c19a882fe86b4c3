import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { generateWorkerKey, saveWorkerKey } from "../trace/index.ts";
import { getconf, parseProcStat } from "../worker/procfs.ts";
import { TEST_TERMS } from "../test/fixtures/traces.ts";
import { fmt, median, RUNS, type BenchSection } from "./lib.ts";

const BIN = fileURLToPath(new URL("../bin/meterproof.js", import.meta.url));
const FAKE_BIN = fileURLToPath(new URL("../test/fixtures/bin", import.meta.url));
const ESCROW = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const PROVIDER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** CPU time (user + system, ms) of one process itself, children excluded. */
function cpuMs(pid: number, msPerTick: number): number {
  const s = parseProcStat(readFileSync(`/proc/${pid}/stat`, "utf8"));
  if (!s) throw new Error(`cannot read /proc/${pid}/stat`);
  return (s.utime + s.stime) * msPerTick;
}

interface WorkerCpu {
  /** CPU time from process start until the job ran (imports, key, sampler, header). */
  startupMs: number;
  /** Steady-state CPU as a percentage of one core. */
  percent: number;
}

/**
 * Starts `meterproof worker run` around `sleep`, waits until the job runs and 2 s more, then
 * measures the worker process's own CPU time over `seconds` of sampling every 100 ms.
 */
async function measureWorker(args: {
  dir: string;
  key: string;
  name: string;
  sampler: "proc" | "nvml";
  seconds: number;
}): Promise<WorkerCpu> {
  const msPerTick = 1000 / getconf("CLK_TCK", 100);
  const out = join(args.dir, `${args.name}.jsonl`);
  const env =
    args.sampler === "nvml" ? { ...process.env, PATH: `${FAKE_BIN}:${process.env.PATH ?? ""}` } : process.env;
  const worker = spawn(
    process.execPath,
    [
      BIN,
      "worker",
      "run",
      "--key",
      args.key,
      "--job",
      "1",
      "--escrow",
      ESCROW,
      "--chain-id",
      "31337",
      "--provider",
      PROVIDER,
      // The job's terms as `job create` prints them (no chain here).
      "--terms",
      `${TEST_TERMS.client},${TEST_TERMS.token},${TEST_TERMS.price},${TEST_TERMS.expiry}`,
      "--sampler",
      args.sampler,
      "--sample-ms",
      "100",
      "--interval-ms",
      "10000",
      "--out",
      out,
      "--",
      "sleep",
      String(args.seconds + 30),
    ],
    { stdio: "ignore", env },
  );
  const exited = new Promise((r) => worker.once("exit", r));
  try {
    while (!existsSync(out) || readFileSync(out, "utf8").length === 0) await sleep(20);
    const startupMs = cpuMs(worker.pid!, msPerTick);
    await sleep(2000);
    const c0 = cpuMs(worker.pid!, msPerTick);
    const t0 = performance.now();
    await sleep(args.seconds * 1000);
    const c1 = cpuMs(worker.pid!, msPerTick);
    const t1 = performance.now();
    return { startupMs, percent: ((c1 - c0) / (t1 - t0)) * 100 };
  } finally {
    worker.kill("SIGTERM"); // forwarded to sleep; the worker seals and exits
    await exited;
  }
}

/**
 * The worker's own CPU use while it samples every 100 ms around a sleeping job, for the proc
 * sampler (procfs reads) and the nvml sampler (lines from a long-running nvidia-smi, here the
 * test double replaying recorded H100 output). Target: under 1% of one core.
 */
export async function benchWorker(opts: { seconds?: number; runs?: number } = {}): Promise<BenchSection> {
  const seconds = opts.seconds ?? 20;
  const runs = opts.runs ?? RUNS;
  const dir = mkdtempSync(join(tmpdir(), "meterproof-bench-worker-"));
  try {
    const key = join(dir, "worker.key");
    saveWorkerKey(key, await generateWorkerKey());
    const rows = [];
    for (const sampler of ["proc", "nvml"] as const) {
      // The runs of one sampler go side by side: each is a separate process measured on its
      // own CPU clock, and at < 1% of a core apiece they do not compete.
      const results = await Promise.all(
        Array.from({ length: runs }, (_, i) =>
          measureWorker({ dir, key, name: `${sampler}-${i}`, sampler, seconds }),
        ),
      );
      const pct = median(results.map((r) => r.percent));
      rows.push({
        metric: `worker CPU, ${sampler} sampler at 100 ms`,
        value: fmt(pct, "% of one core"),
        note: `target < 1%; runs: ${results.map((r) => r.percent.toFixed(2)).join(", ")}`,
      });
      rows.push({
        metric: `worker start-up CPU, ${sampler}`,
        value: fmt(median(results.map((r) => r.startupMs)), "ms"),
        note: "process start to job start: imports, key load, sampler probe, header",
      });
    }
    const processes = readdirSync("/proc").filter((n) => /^[0-9]+$/.test(n)).length;
    return {
      title: "Worker overhead",
      rows,
      notes: [
        `Each figure is the median of ${runs} runs; each run measures the worker process's own utime + stime (/proc/<pid>/stat, children excluded) over ${seconds} s of a sleeping job, after start-up and 2 s of settling.`,
        `The proc sampler reads the stat file of each job process every sample, lists /proc once a second (reading the stat of new pids only) and re-reads all ${processes} processes of this host every 10 s.`,
        "The nvml figure excludes nvidia-smi's own CPU (a separate process; here a Node test double replaying recorded lines, on a real host the NVIDIA binary).",
      ],
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
