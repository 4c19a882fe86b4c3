/**
 * A signed trace file for a job on a test chain, written the way `meterproof worker run` would:
 * for the CLI tests that prove, submit, audit or challenge a trace of their own making.
 */
import { writeFileSync } from "node:fs";
import {
  loadWorkerKey,
  sha256Hex,
  TraceBuilder,
  type JobTerms,
  type Measurement,
  type TraceLineJson,
} from "../../trace/index.ts";

export interface JobTraceSpec {
  path: string;
  escrow: string;
  jobId: bigint;
  provider: string;
  terms: JobTerms;
  /** The worker key file (`meterproof keygen`). */
  keyFile: string;
  /** The GPU UUID the worker registered with. */
  gpu: string;
  sampler: "proc" | "nvml";
  /** tStart of record 0 (unix ms); records follow each other without gaps. */
  startMs: number;
  intervalMs: number;
  records: number;
  /** Utilization, memory, power and energy of record `seq`. */
  measure: (seq: number) => Pick<Measurement, "utilBps" | "memMiB" | "powerMw" | "energyMj">;
}

/** Writes the trace, sealed every 8 records and at the end, on chain 31337. */
export async function writeJobTrace(spec: JobTraceSpec): Promise<void> {
  const lines: TraceLineJson[] = [];
  const builder = TraceBuilder.start(
    {
      chainId: 31337n,
      escrow: spec.escrow,
      jobId: spec.jobId,
      provider: spec.provider,
      terms: spec.terms,
      device: { class: "H100", name: "test device", uuidHash: sha256Hex(spec.gpu) },
      sampler: spec.sampler,
      intervalMs: spec.intervalMs,
      segmentSize: 8,
      command: ["train"],
      startTime: spec.startMs,
    },
    await loadWorkerKey(spec.keyFile),
    (line) => lines.push(line),
  );
  for (let seq = 0; seq < spec.records; seq++) {
    const tStart = spec.startMs + seq * spec.intervalMs;
    await builder.addRecord({
      tStart,
      tEnd: tStart + spec.intervalMs,
      ...spec.measure(seq),
      outputSha256: sha256Hex(`out ${seq}`),
    });
  }
  await builder.seal();
  writeFileSync(spec.path, lines.map((l) => JSON.stringify(l)).join("\n") + "\n");
}
