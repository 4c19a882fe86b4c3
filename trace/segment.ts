import { MAX_INTERVAL_MS, TIME_BITS } from "./constants.ts";
import { chainHead } from "./hashing.ts";

/** What a segment proof makes public about the work: its window and metered usage. */
export interface Meter {
  /** tStart of the segment's first record (unix ms). */
  tFirst: number;
  /** tEnd of its last record (unix ms). */
  tLast: number;
  /** Σ (tEnd - tStart) × utilBps over its records, in bps·ms. */
  usage: bigint;
}

/** A sealed (or to-be-sealed) run of consecutive records of one lane. */
export interface Segment extends Meter {
  index: number;
  firstSeq: number;
  lastSeq: number;
  prevHead: bigint;
  newHead: bigint;
}

/** The per-record values a segment is computed from. */
export interface MeteredRecord {
  seq: number;
  tStart: number;
  tEnd: number;
  utilBps: number;
  hash: bigint;
}

/** `usage` of one record: (tEnd - tStart) × utilBps. */
export function recordUsage(r: { tStart: number; tEnd: number; utilBps: number }): bigint {
  return BigInt(r.tEnd - r.tStart) * BigInt(r.utilBps);
}

/** Computes a segment's heads and meter from its records: the plain model of `MeteredSegment`. */
export function computeSegment(index: number, prevHead: bigint, records: readonly MeteredRecord[]): Segment {
  let head = prevHead;
  for (const r of records) head = chainHead(head, r.hash);
  return segmentWithHead(index, prevHead, head, records);
}

/**
 * `computeSegment` for records whose heads are checked on their own (the trace checker
 * recomputes every record's head): the new head is the last record's, nothing is hashed.
 */
export function segmentOfCheckedRecords(
  index: number,
  prevHead: bigint,
  records: readonly (MeteredRecord & { head: bigint })[],
): Segment {
  return segmentWithHead(index, prevHead, records.at(-1)?.head ?? prevHead, records);
}

function segmentWithHead(
  index: number,
  prevHead: bigint,
  newHead: bigint,
  records: readonly MeteredRecord[],
): Segment {
  const first = records[0];
  const last = records.at(-1);
  if (!first || !last) throw new RangeError("a segment needs at least one record");
  let usage = 0n;
  for (const r of records) usage += recordUsage(r);
  return {
    index,
    firstSeq: first.seq,
    lastSeq: last.seq,
    prevHead,
    newHead,
    tFirst: first.tStart,
    tLast: last.tEnd,
    usage,
  };
}

/** Groups records into consecutive segments of at most `size` records, chaining heads from `prevHead`. */
export function segmentRecords(
  records: readonly MeteredRecord[],
  size: number,
  prevHead = 0n,
  firstIndex = 0,
): Segment[] {
  if (!Number.isInteger(size) || size < 1)
    throw new RangeError(`segment size must be a positive integer, got ${size}`);
  const segments: Segment[] = [];
  let head = prevHead;
  for (let i = 0; i < records.length; i += size) {
    const segment = computeSegment(firstIndex + segments.length, head, records.slice(i, i + size));
    segments.push(segment);
    head = segment.newHead;
  }
  return segments;
}

const TIME_SHIFT = BigInt(TIME_BITS);

/**
 * Packs the meter into one public signal: tFirst + tLast·2^64 + usage·2^128. Each part is
 * range-checked in the circuit (times to 64 bits; usage is at most N·65535·10000), so the
 * packing is injective and fits below the field modulus.
 */
export function packMeter(m: Meter): bigint {
  return BigInt(m.tFirst) + (BigInt(m.tLast) << TIME_SHIFT) + (m.usage << (2n * TIME_SHIFT));
}

export function unpackMeter(packed: bigint): Meter {
  const mask = (1n << TIME_SHIFT) - 1n;
  return {
    tFirst: Number(packed & mask),
    tLast: Number((packed >> TIME_SHIFT) & mask),
    usage: packed >> (2n * TIME_SHIFT),
  };
}

/** Largest usage a segment of `size` records can carry. */
export function maxSegmentUsage(size: number): bigint {
  return BigInt(size) * BigInt(MAX_INTERVAL_MS) * 10_000n;
}
