import { ENERGY_MJ_BITS, MAX_UTIL_BPS, MEM_MIB_BITS, POWER_MW_BITS } from "../trace/index.ts";
import type { Sample } from "./samplers/types.ts";

/** The metered values of one record. */
export interface IntervalValues {
  utilBps: number;
  memMiB: number;
  powerMw: number;
  energyMj: number;
  /** Readings that fell in the interval. */
  samples: number;
}

const clamp = (v: number, max: number) => Math.min(Math.max(Math.round(v), 0), max);

/**
 * Turns fine readings into one record per interval (docs/worker.md, "Records"):
 * - utilBps and powerMw are time-weighted means (a reading weighs the time since the one
 *   before it, cut at the interval start); utilBps is clipped to [0, 10000];
 * - memMiB is the peak;
 * - energyMj is the device's energy counter difference across the interval when it has one,
 *   else mean power × duration;
 * - an interval without readings repeats the last reading if it is at most `staleMs` old,
 *   else reads 0: no evidence, no pay. A field the device never reports reads 0.
 */
export class IntervalAggregator {
  private tStart: number;
  private readonly staleMs: number;
  private last: Sample | undefined;
  /** Energy counter at the end of the previous interval (or the first reading). */
  private energyRef: number | undefined;
  private lastEnergy: number | undefined;
  private energyBroken = false;
  private utilSum = 0;
  private utilWeight = 0;
  private powerSum = 0;
  private powerWeight = 0;
  private memMax: number | undefined;
  private count = 0;

  constructor(args: { tStart: number; staleMs: number }) {
    this.tStart = args.tStart;
    this.staleMs = args.staleMs;
  }

  get intervalStart(): number {
    return this.tStart;
  }

  add(s: Sample): void {
    const from = Math.max(this.last?.t ?? this.tStart, this.tStart);
    const w = Math.max(0, s.t - from);
    if (s.utilBps !== null) {
      this.utilSum += s.utilBps * w;
      this.utilWeight += w;
    }
    if (s.powerMw !== null) {
      this.powerSum += s.powerMw * w;
      this.powerWeight += w;
    }
    if (s.memMiB !== null) this.memMax = Math.max(this.memMax ?? 0, s.memMiB);
    if (s.energyMj !== null) {
      const before = this.lastEnergy ?? this.energyRef;
      // A counter that runs backwards was reset (driver reload): integrate power instead.
      if (before !== undefined && s.energyMj < before) this.energyBroken = true;
      this.energyRef ??= s.energyMj;
      this.lastEnergy = s.energyMj;
    }
    this.last = s;
    this.count += 1;
  }

  /** Ends the interval at `tEnd` (after adding `final`, a reading taken at tEnd) and starts the next one there. */
  close(tEnd: number, final?: Sample): IntervalValues {
    if (final) this.add({ ...final, t: tEnd });
    const last = this.last;
    const fresh = last !== undefined && tEnd - last.t <= this.staleMs;
    const utilBps = this.utilWeight > 0 ? this.utilSum / this.utilWeight : fresh ? (last.utilBps ?? 0) : 0;
    const powerMw = this.powerWeight > 0 ? this.powerSum / this.powerWeight : fresh ? (last.powerMw ?? 0) : 0;
    const memMiB = this.memMax ?? (fresh ? (last.memMiB ?? 0) : 0);
    const counted = this.lastEnergy !== undefined && this.energyRef !== undefined && !this.energyBroken;
    const energyMj = counted ? this.lastEnergy! - this.energyRef! : (powerMw * (tEnd - this.tStart)) / 1000;
    const values: IntervalValues = {
      utilBps: clamp(utilBps, MAX_UTIL_BPS),
      memMiB: clamp(memMiB, 2 ** MEM_MIB_BITS - 1),
      powerMw: clamp(powerMw, 2 ** POWER_MW_BITS - 1),
      energyMj: clamp(energyMj, 2 ** ENERGY_MJ_BITS - 1),
      samples: this.count,
    };
    this.tStart = tEnd;
    this.energyRef = this.lastEnergy ?? this.energyRef;
    this.lastEnergy = undefined;
    this.energyBroken = false;
    this.utilSum = this.utilWeight = this.powerSum = this.powerWeight = this.count = 0;
    this.memMax = undefined;
    return values;
  }
}
