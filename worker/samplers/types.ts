/** The two ways a worker meters a device; written into the trace header as `sampler`. */
export type SamplerKind = "nvml" | "proc";

/** The device a trace is about, as written into the trace header. */
export interface DeviceInfo {
  /** Rate-card class, e.g. "H100" or "CPU" (at most 31 printable ASCII characters). */
  class: string;
  /** Human-readable model name, e.g. "NVIDIA H100 80GB HBM3". */
  name: string;
  /** SHA-256 (0x hex) of the device's stable identity (GPU UUID, or "cpu:" + machine id). */
  uuidHash: string;
}

/**
 * One reading of the device. A field is null when the device does not report it
 * (nvidia-smi prints `[N/A]` or `[Not Supported]`); the aggregator decides what null means.
 */
export interface Sample {
  /** When the reading was taken (unix ms). */
  t: number;
  /**
   * Utilization in basis points over the time since the previous reading. The proc sampler
   * counts CPU time, so a job busy on k cores reads k × 10000 here; records clip to 10000.
   */
  utilBps: number | null;
  memMiB: number | null;
  powerMw: number | null;
  /** A cumulative energy counter in mJ (only differences between readings mean anything). */
  energyMj: number | null;
}

export interface SamplerStartArgs {
  /** Root process of the job. */
  pid: number;
  /** How often to read the device, in ms. */
  periodMs: number;
  onSample: (sample: Sample) => void;
  /** Something the operator should know (a field the device does not report, a restarted reader). */
  onWarning: (message: string) => void;
}

/** Reads a device while a job runs. */
export interface Sampler {
  readonly kind: SamplerKind;
  readonly device: DeviceInfo;
  start(args: SamplerStartArgs): void;
  /**
   * Takes a reading at once, stamped `t`, if the sampler can (proc reads /proc synchronously).
   * The worker calls it at every record boundary so a record covers exactly its own span.
   */
  sampleNow?(t: number): Sample | undefined;
  /** Stops reading and releases processes and timers. */
  stop(): Promise<void>;
}
