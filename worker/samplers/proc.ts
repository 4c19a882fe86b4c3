import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { cpuDevice } from "../device.ts";
import { getconf, parseProcStat, type ProcStat } from "../procfs.ts";
import type { DeviceInfo, Sample, Sampler, SamplerStartArgs } from "./types.ts";

export interface ProcSamplerOptions {
  deviceClass?: string;
  /** Where procfs is mounted (default /proc). */
  procRoot?: string;
  /** A RAPL package energy counter in µJ, or null to skip energy (default: intel-rapl:0 when readable). */
  raplPath?: string | null;
  /** How often to look for new processes of the job, in ms (default 1000); known ones are read every sample. */
  scanEveryMs?: number;
  /** How often to re-read every process instead of only new pids, in ms (default 10000). */
  fullScanEveryMs?: number;
}

const DEFAULT_RAPL = "/sys/class/powercap/intel-rapl:0/energy_uj";

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

/** A RAPL energy counter, unwrapped: it restarts at 0 after max_energy_range_uj. */
class RaplCounter {
  private readonly path: string;
  private readonly rangeUj: number;
  private lastUj: number;
  private totalUj = 0;

  private constructor(path: string, rangeUj: number, firstUj: number) {
    this.path = path;
    this.rangeUj = rangeUj;
    this.lastUj = firstUj;
  }

  static open(path: string): RaplCounter | undefined {
    const first = Number(readText(path));
    if (!Number.isFinite(first)) return undefined;
    const range = Number(readText(join(dirname(path), "max_energy_range_uj")));
    return new RaplCounter(path, Number.isFinite(range) && range > 0 ? range : 2 ** 32, first);
  }

  /** Energy since the counter was opened, in µJ; undefined when it cannot be read. */
  read(): number | undefined {
    const now = Number(readText(this.path));
    if (!Number.isFinite(now)) return undefined;
    const delta = now >= this.lastUj ? now - this.lastUj : now + this.rangeUj - this.lastUj;
    this.lastUj = now;
    this.totalUj += delta;
    return this.totalUj;
  }
}

/**
 * Meters a CPU-only host from procfs: the CPU time (utime + stime + cutime + cstime) of every
 * live process of the job (the root's descendants and its process group), per wall time.
 * A job busy on one core reads 10000 bps; records clip to 10000, so on a CPU host the
 * "device" is one core's worth of work. Memory is the summed RSS. Power and energy come
 * from RAPL when the host exposes it to this user, else they are null (0 in records).
 */
export class ProcSampler implements Sampler {
  readonly kind = "proc" as const;
  readonly device: DeviceInfo;
  private readonly procRoot: string;
  private readonly scanEveryMs: number;
  private readonly fullScanEveryMs: number;
  private readonly msPerTick: number;
  private readonly pageSize: number;
  private readonly rapl: RaplCounter | undefined;
  private rootPid = 0;
  /** pid → starttime of the job's processes seen so far. */
  private members = new Map<number, number>();
  /** Every process seen on the host: parent and group, to find the job's among them. */
  private readonly known = new Map<number, { ppid: number; pgrp: number; starttime: number }>();
  private selfChildTicksAtStart = 0;
  private lastScan = 0;
  private lastFullScan = 0;
  private prev: { t: number; ticks: number; energyUj: number | undefined } | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(opts: ProcSamplerOptions = {}) {
    this.procRoot = opts.procRoot ?? "/proc";
    this.scanEveryMs = opts.scanEveryMs ?? 1000;
    this.fullScanEveryMs = opts.fullScanEveryMs ?? 10_000;
    // /proc reports times in USER_HZ ticks (100 on every mainstream Linux) and RSS in pages.
    this.msPerTick = 1000 / getconf("CLK_TCK", 100);
    this.pageSize = getconf("PAGESIZE", 4096);
    const raplPath = opts.raplPath === undefined ? DEFAULT_RAPL : opts.raplPath;
    this.rapl = raplPath === null ? undefined : RaplCounter.open(raplPath);
    this.device = cpuDevice(opts.deviceClass !== undefined ? { deviceClass: opts.deviceClass } : {});
  }

  start(args: SamplerStartArgs): void {
    this.rootPid = args.pid;
    // Once the root exits, the worker has reaped it: its whole CPU time (and that of the
    // descendants it waited for) then shows in the worker's own cutime + cstime.
    this.selfChildTicksAtStart = this.selfChildTicks();
    this.scan(true);
    this.prev = { t: Date.now(), ticks: this.counter().ticks, energyUj: this.rapl?.read() };
    this.timer = setInterval(() => {
      const s = this.sampleNow(Date.now());
      if (s) args.onSample(s);
    }, args.periodMs);
  }

  sampleNow(t: number): Sample | undefined {
    const prev = this.prev;
    if (!prev) return undefined;
    if (t - this.lastScan >= this.scanEveryMs) this.scan(t - this.lastFullScan >= this.fullScanEveryMs);
    const { ticks: raw, rssPages } = this.counter();
    // CPU time never runs backwards; a process that leaves the tree must not make it.
    const ticks = Math.max(raw, prev.ticks);
    const energyUj = this.rapl?.read();
    const dt = t - prev.t;
    this.prev = { t, ticks, energyUj };
    const energyDeltaUj =
      energyUj !== undefined && prev.energyUj !== undefined ? energyUj - prev.energyUj : undefined;
    return {
      t,
      utilBps: dt > 0 ? Math.round((((ticks - prev.ticks) * this.msPerTick) / dt) * 10000) : 0,
      memMiB: Math.round((rssPages * this.pageSize) / 2 ** 20),
      // µJ per ms is mW.
      powerMw: energyDeltaUj !== undefined && dt > 0 ? Math.round(energyDeltaUj / dt) : null,
      energyMj: energyUj !== undefined ? Math.round(energyUj / 1000) : null,
    };
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private stat(pid: number | "self"): ProcStat | undefined {
    const text = readText(join(this.procRoot, String(pid), "stat"));
    return text === undefined ? undefined : parseProcStat(text);
  }

  private selfChildTicks(): number {
    const s = this.stat("self");
    return s ? s.cutime + s.cstime : 0;
  }

  /**
   * Finds the job's processes: descendants of the root by ppid, and members of its process
   * group. Between full scans only pids not seen before are read (new processes), so a
   * busy host costs one directory listing per scan, not one file per process.
   */
  private scan(full: boolean): void {
    this.lastScan = Date.now();
    if (full) this.lastFullScan = this.lastScan;
    const present = new Set<number>();
    for (const name of readdirSync(this.procRoot)) {
      if (/^[0-9]+$/.test(name)) present.add(Number(name));
    }
    for (const pid of this.known.keys()) if (!present.has(pid)) this.known.delete(pid);
    for (const pid of present) {
      if (!full && this.known.has(pid)) continue;
      const s = this.stat(pid);
      if (s) this.known.set(pid, { ppid: s.ppid, pgrp: s.pgrp, starttime: s.starttime });
    }
    const children = new Map<number, number[]>();
    const queue: number[] = [];
    for (const [pid, p] of this.known) {
      const list = children.get(p.ppid);
      if (list) list.push(pid);
      else children.set(p.ppid, [pid]);
      if (pid === this.rootPid || p.pgrp === this.rootPid) queue.push(pid);
    }
    const found = new Map<number, number>();
    while (queue.length > 0) {
      const pid = queue.pop()!;
      if (found.has(pid)) continue;
      found.set(pid, this.known.get(pid)!.starttime);
      queue.push(...(children.get(pid) ?? []));
    }
    this.members = found;
  }

  /** CPU ticks the job has used since it started, and its resident pages now. */
  private counter(): { ticks: number; rssPages: number } {
    let ticks = 0;
    let rssPages = 0;
    let rootAlive = false;
    for (const [pid, starttime] of this.members) {
      const s = this.stat(pid);
      if (!s || s.starttime !== starttime) {
        // Gone: its time moved to whoever reaped it (a member, or the worker for the root).
        this.members.delete(pid);
        continue;
      }
      if (pid === this.rootPid) rootAlive = true;
      ticks += s.utime + s.stime + s.cutime + s.cstime;
      rssPages += s.rss;
    }
    if (!rootAlive) ticks += this.selfChildTicks() - this.selfChildTicksAtStart;
    return { ticks, rssPages };
  }
}
