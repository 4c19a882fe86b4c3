/**
 * The input signals of `MeteredSegment(N)` for one sealed segment. This is the only place
 * that knows the circuit's input shape (circuits/metered_segment.circom documents it).
 */
import {
  packMeter,
  TraceError,
  type CheckedTrace,
  type Segment,
  type TraceHeader,
  type TraceRecord,
  type TraceSeal,
} from "../trace/index.ts";

/** Every value is a decimal string, as snarkjs takes them (and JSON and worker threads carry them). */
export interface SegmentWitnessInput {
  // Public, in publicSignals order.
  jobTag: string;
  workerKeyHash: string;
  prevHead: string;
  newHead: string;
  meter: string;
  // Private.
  enabled: string[];
  firstSeq: string;
  tStart: string[];
  tEnd: string[];
  utilBps: string[];
  memMiB: string[];
  powerMw: string[];
  energyMj: string[];
  digest: string[];
  Ax: string;
  Ay: string;
  S: string;
  R8x: string;
  R8y: string;
  [signal: string]: string | string[];
}

/** A sealed segment given by its parts, or by its index (or Segment) in a checked trace. */
export type SegmentSource =
  | { header: TraceHeader; records: readonly TraceRecord[]; seal: TraceSeal; size: number }
  | { trace: CheckedTrace; segment: number | Segment; size: number };

/**
 * Maps a sealed segment (the trace header, the records the seal covers, in order, and the
 * seal) onto the inputs of the circuit of size `size`. Slots after the last record are
 * disabled and hold zeros. Throws a TraceError when the records are not the ones the seal
 * covers or do not fit the circuit.
 */
export function segmentWitnessInput(source: SegmentSource): SegmentWitnessInput {
  const args =
    "trace" in source
      ? sealedSegment(
          source.trace,
          typeof source.segment === "number" ? source.segment : source.segment.index,
          source.size,
        )
      : source;
  const { header, records, seal, size } = args;
  const at = { segment: seal.segment };
  if (!Number.isInteger(size) || size < 1)
    throw new TraceError("size", `must be a positive integer, got ${size}`, at);
  if (records.length < 1 || records.length > size) {
    throw new TraceError(
      "records",
      `must number 1 to ${size} (the circuit size) for one segment, got ${records.length}`,
      at,
    );
  }
  if (records.length !== seal.lastSeq - seal.firstSeq + 1) {
    throw new TraceError(
      "records",
      `must be the ${seal.lastSeq - seal.firstSeq + 1} records seq ${seal.firstSeq}..${seal.lastSeq} of the seal, got ${records.length}`,
      at,
    );
  }
  records.forEach((r, i) => {
    if (r.seq !== seal.firstSeq + i)
      throw new TraceError(
        "seq",
        `must be ${seal.firstSeq + i} (slot ${i} of the segment), got ${r.seq}`,
        at,
      );
  });
  const slot = <T>(i: number, f: (r: TraceRecord) => T, empty: T): T => {
    const r = records[i];
    return r ? f(r) : empty;
  };
  const column = (f: (r: TraceRecord) => number | bigint): string[] =>
    Array.from({ length: size }, (_, i) => slot(i, (r) => f(r).toString(), "0"));
  return {
    jobTag: header.jobTag.toString(),
    workerKeyHash: header.workerKeyHash.toString(),
    prevHead: seal.prevHead.toString(),
    newHead: seal.newHead.toString(),
    meter: packMeter({ tFirst: seal.tFirst, tLast: seal.tLast, usage: seal.usage }).toString(),
    enabled: Array.from({ length: size }, (_, i) => (i < records.length ? "1" : "0")),
    firstSeq: seal.firstSeq.toString(),
    tStart: column((r) => r.tStart),
    tEnd: column((r) => r.tEnd),
    utilBps: column((r) => r.utilBps),
    memMiB: column((r) => r.memMiB),
    powerMw: column((r) => r.powerMw),
    energyMj: column((r) => r.energyMj),
    digest: column((r) => r.digest),
    Ax: header.workerKey.ax.toString(),
    Ay: header.workerKey.ay.toString(),
    S: seal.signature.s.toString(),
    R8x: seal.signature.r8x.toString(),
    R8y: seal.signature.r8y.toString(),
  };
}

/** The header, records and seal of segment `index` of a checked trace. */
function sealedSegment(trace: CheckedTrace, index: number, size: number) {
  const seal = trace.seals[index];
  if (!seal)
    throw new TraceError(
      "segment",
      `must be one of the trace's ${trace.seals.length} sealed segments, got ${index}`,
    );
  return { header: trace.header, records: trace.records.slice(seal.firstSeq, seal.lastSeq + 1), seal, size };
}

/** The witness input of segment `index` of a checked trace. */
export function traceSegmentWitnessInput(
  trace: CheckedTrace,
  index: number,
  size: number,
): SegmentWitnessInput {
  return segmentWitnessInput({ trace, segment: index, size });
}
