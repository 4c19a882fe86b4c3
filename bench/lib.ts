/** Shared helpers for the benchmark sections that `npm run bench` runs and writes to bench/RESULTS.md. */

/** One measured figure. `value` is already formatted for the results table. */
export interface BenchRow {
  metric: string;
  value: string;
  /** What it is compared with, the target, or how it was measured. */
  note?: string;
}

/** A titled table of figures, one per part of meterproof. */
export interface BenchSection {
  title: string;
  rows: BenchRow[];
  /** Free text shown under the table (method, caveats). */
  notes?: string[];
}

/** How many times each timed figure is measured; results report the median. */
export const RUNS = 5;

export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new RangeError("median of no values");
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Runs `fn` `runs` times and returns the wall-clock milliseconds of each run. */
export async function timeRuns(runs: number, fn: () => Promise<unknown> | unknown): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  return times;
}

/** Formats a figure with its unit and a fixed number of significant digits. */
export function fmt(value: number, unit: string, digits = 3): string {
  return `${Number(value.toPrecision(digits)).toLocaleString("en-US")} ${unit}`;
}
