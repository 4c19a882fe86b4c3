import { availableParallelism } from "node:os";
import type { z } from "zod";
import { MAX_INTERVAL_MS } from "./constants.ts";
import { TraceError } from "./errors.ts";
import { chainHeads, computeJobTag, headerSha256, recordDigest, recordHashes } from "./hashing.ts";
import { readLines } from "./jsonl.ts";
import { verifySeal, workerKeyHash } from "./keys.ts";
import {
  headerJobRef,
  headerSchema,
  recordSchema,
  sealSchema,
  type TraceHeader,
  type TraceRecord,
  type TraceSeal,
} from "./schema.ts";
import { segmentOfCheckedRecords, type Segment } from "./segment.ts";

/** A trace that passed every check, with what was derived from it. */
export interface CheckedTrace {
  header: TraceHeader;
  headerSha256: string;
  records: TraceRecord[];
  seals: TraceSeal[];
  /** One per seal, recomputed from the records (equal to the seal's claims). */
  segments: Segment[];
  /** Records after the last seal: a job still running, or one that stopped before sealing. */
  unsealedRecords: number;
  /** Head after the last record (0 when there is none). */
  head: bigint;
  /** Line number of a torn last line that was skipped (only with `allowTornTail`). */
  tornLine?: number;
}

export interface CheckOptions {
  /** Verify seal signatures (EdDSA); on by default. */
  verifySignatures?: boolean;
}

function parseWith<S extends z.ZodType>(schema: S, value: unknown, line: number, seq?: number): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const field = issue.path.length > 0 ? issue.path.join(".") : "line";
    const rule =
      issue.code === "unrecognized_keys" ? `has unknown fields ${issue.keys.join(", ")}` : issue.message;
    throw new TraceError(field, rule, { line, ...(seq !== undefined ? { seq } : {}) });
  }
  return result.data;
}

/** Records whose hashes and heads are recomputed in one batch (the last batch may be smaller). */
const HASH_BATCH = 512;
/** Threads for a batch's record hashes; its heads take one more, the parser the main thread. */
const RECORD_HASH_THREADS = availableParallelism();

interface PendingRecord {
  record: TraceRecord;
  line: number;
  prevHead: bigint;
}

/**
 * Checks a trace line by line, as the circuit and the escrow would: schema and ranges,
 * consecutive sequence numbers, non-overlapping intervals, digests, hashes, the head
 * chain, and every seal's segment, meter and signature. The first broken rule throws a
 * `TraceError` naming its line, field and rule.
 *
 * Hashes and heads are recomputed in batches of 512 records off the
 * JavaScript thread, on every core, while the next lines are parsed: a record's head is
 * checked against Poseidon(claimed previous head, claimed hash), which makes every hash
 * of a batch independent of the others. Before any error is thrown the batches in flight
 * are finished, so the error is still the one of the first broken line.
 */
export class TraceChecker {
  private readonly opts: Required<CheckOptions>;
  private header: TraceHeader | undefined;
  private headerHash = "";
  private records: TraceRecord[] = [];
  private readonly seals: TraceSeal[] = [];
  private readonly segments: Segment[] = [];
  private head = 0n;
  /** Records whose hashes are not yet being recomputed. */
  private pending: PendingRecord[] = [];
  /** The batch being hashed: settles when its records are checked, rejects for the first bad one. */
  private inflight: Promise<void> | undefined;
  private unverified: TraceRecord[] = [];
  private sealedHead = 0n;
  private sealedCount = 0;
  private lines = 0;

  constructor(opts: CheckOptions = {}) {
    this.opts = { verifySignatures: opts.verifySignatures ?? true };
  }

  /** Checks the next line (`value` is the parsed JSON) of the trace. */
  async push(value: unknown, line = this.lines + 1): Promise<void> {
    try {
      await this.pushLine(value, line);
    } catch (err) {
      // An earlier record's hash may be wrong too: that one is the first broken line.
      if (err instanceof TraceError) await this.flush();
      throw err;
    }
  }

  /**
   * Finishes the hash and head checks of every record pushed so far, and throws for the
   * first one that differs. `result()` flushes on its own.
   */
  async flush(): Promise<void> {
    await this.startBatch();
    await this.settle();
  }

  /**
   * Records that passed their own checks but come at or after a broken hash or head (the
   * auditor still runs its plausibility checks on them).
   */
  takeUnverified(): TraceRecord[] {
    const out = this.unverified;
    this.unverified = [];
    return out;
  }

  /** Waits for the batch in flight; throws its first broken record's error. */
  private async settle(): Promise<void> {
    const inflight = this.inflight;
    this.inflight = undefined;
    await inflight;
  }

  /** Starts hashing the pending records, after the batch in flight (whose lines come first). */
  private async startBatch(): Promise<void> {
    const batch = this.pending;
    if (batch.length === 0) return;
    this.pending = [];
    await this.settle();
    const inflight = this.verifyBatch(batch);
    inflight.catch(() => {}); // awaited by the next settle(); not an unhandled rejection meanwhile
    this.inflight = inflight;
  }

  private async verifyBatch(batch: readonly PendingRecord[]): Promise<void> {
    // The record hashes cost about four times the heads: give them the larger share of cores.
    const [hashes, heads] = await Promise.all([
      recordHashes(
        this.header!.jobTag,
        batch.map((p) => p.record),
        RECORD_HASH_THREADS,
      ),
      chainHeads(
        batch.map((p) => [p.prevHead, p.record.hash] as const),
        1,
      ),
    ]);
    for (const [i, { record: r, line }] of batch.entries()) {
      const at = { line, seq: r.seq };
      let error: TraceError | undefined;
      if (r.hash !== hashes[i])
        error = new TraceError(
          "hash",
          `must equal Poseidon(jobTag, seq, tStart, tEnd, utilBps, memMiB, powerMw, energyMj, digest) = ${hashes[i]}`,
          at,
        );
      else if (r.head !== heads[i])
        error = new TraceError("head", `must equal Poseidon(previous head, hash) = ${heads[i]}`, at);
      if (error) {
        this.dropFrom(r.seq);
        throw error;
      }
    }
  }

  /** Takes record `seq` and every later one (and the seals over them) out of the checked trace. */
  private dropFrom(seq: number): void {
    this.unverified.push(...this.records.splice(seq));
    this.pending = [];
    while (this.segments.length > 0 && this.segments.at(-1)!.lastSeq >= seq) {
      this.segments.pop();
      this.seals.pop();
    }
  }

  private async pushLine(value: unknown, line: number): Promise<void> {
    this.lines = line;
    const type = typeof value === "object" && value !== null ? (value as { type?: unknown }).type : undefined;
    if (!this.header) {
      if (type !== "header")
        throw new TraceError("type", `must be "header" on the first line, got ${JSON.stringify(type)}`, {
          line,
        });
      this.checkHeader(value, line);
      return;
    }
    if (type === "record") await this.checkRecord(value, line);
    else if (type === "seal") await this.checkSeal(value, line);
    else if (type === "header")
      throw new TraceError("type", "header may only appear on the first line", { line });
    else
      throw new TraceError("type", `must be "header", "record" or "seal", got ${JSON.stringify(type)}`, {
        line,
      });
  }

  private checkHeader(value: unknown, line: number): void {
    const header = parseWith(headerSchema, value, line);
    const jobTag = computeJobTag(headerJobRef(header));
    if (header.jobTag !== jobTag) {
      throw new TraceError(
        "jobTag",
        "must equal keccak256(abi.encode(chainId, escrow, jobId, provider, terms.client, terms.token, " +
          `terms.price, terms.expiry)) mod r = ${jobTag}`,
        { line },
      );
    }
    const keyHash = workerKeyHash(header.workerKey);
    if (header.workerKeyHash !== keyHash) {
      throw new TraceError("workerKeyHash", `must equal Poseidon(workerKey.ax, workerKey.ay) = ${keyHash}`, {
        line,
      });
    }
    this.header = header;
    this.headerHash = headerSha256(value);
  }

  private async checkRecord(value: unknown, line: number): Promise<void> {
    const header = this.header!;
    const expectedSeq = this.records.length;
    const seq =
      typeof (value as { seq?: unknown }).seq === "number" ? (value as { seq: number }).seq : undefined;
    const r = parseWith(recordSchema, value, line, seq);
    const at = { line, seq: r.seq };
    if (r.seq !== expectedSeq)
      throw new TraceError(
        "seq",
        `must be ${expectedSeq} (records are numbered 0, 1, 2, … without gaps), got ${r.seq}`,
        at,
      );
    if (r.tEnd <= r.tStart)
      throw new TraceError("tEnd", `must be after tStart (${r.tStart}), got ${r.tEnd}`, at);
    if (r.tEnd - r.tStart > MAX_INTERVAL_MS) {
      throw new TraceError(
        "tEnd",
        `must be at most ${MAX_INTERVAL_MS} ms after tStart (interval too long: ${r.tEnd - r.tStart} ms)`,
        at,
      );
    }
    if (this.records.length - this.sealedCount >= header.segmentSize) {
      throw new TraceError(
        "seal",
        `must follow every ${header.segmentSize} records (the header's segmentSize); record ${r.seq} comes after ${header.segmentSize} unsealed records`,
        at,
      );
    }
    const prev = this.records.at(-1);
    if (prev && r.tStart < prev.tEnd) {
      throw new TraceError(
        "tStart",
        `must not be before the previous record's tEnd ${prev.tEnd} (records overlap), got ${r.tStart}`,
        at,
      );
    }
    if (!prev && r.tStart < header.startTime) {
      throw new TraceError(
        "tStart",
        `must not be before the header's startTime ${header.startTime}, got ${r.tStart}`,
        at,
      );
    }
    const digest = recordDigest({
      ...(r.seq === 0 ? { headerSha256: this.headerHash } : {}),
      outputSha256: r.outputSha256,
      ...(r.files ? { fileSha256s: r.files.map((f) => f.sha256) } : {}),
    });
    if (r.digest !== digest)
      throw new TraceError(
        "digest",
        `must equal the truncated SHA-256 of the record's output hashes = ${digest}`,
        at,
      );
    this.pending.push({ record: r, line, prevHead: this.head });
    this.head = r.head;
    this.records.push(r);
    if (this.pending.length >= HASH_BATCH) await this.startBatch();
  }

  private async checkSeal(value: unknown, line: number): Promise<void> {
    const header = this.header!;
    const s = parseWith(sealSchema, value, line);
    const at = { line, segment: s.segment };
    const pending = this.records.slice(this.sealedCount);
    if (s.segment !== this.segments.length)
      throw new TraceError(
        "segment",
        `must be ${this.segments.length} (segments are numbered 0, 1, 2, …), got ${s.segment}`,
        at,
      );
    if (pending.length === 0) throw new TraceError("seal", "must follow at least one unsealed record", at);
    const computed = segmentOfCheckedRecords(s.segment, this.sealedHead, pending);
    const claims: [keyof TraceSeal & keyof Segment, unknown, unknown][] = [
      ["firstSeq", s.firstSeq, computed.firstSeq],
      ["lastSeq", s.lastSeq, computed.lastSeq],
      ["prevHead", s.prevHead, computed.prevHead],
      ["newHead", s.newHead, computed.newHead],
      ["tFirst", s.tFirst, computed.tFirst],
      ["tLast", s.tLast, computed.tLast],
      ["usage", s.usage, computed.usage],
    ];
    for (const [field, claimed, actual] of claims) {
      if (claimed !== actual)
        throw new TraceError(field, `must be ${actual} for the records this seal covers, got ${claimed}`, at);
    }
    if (this.opts.verifySignatures && !(await verifySeal(header.workerKey, s.newHead, s.signature))) {
      throw new TraceError(
        "signature",
        "must be the worker key's EdDSA-Poseidon signature of Poseidon(SEAL_DOMAIN, newHead)",
        at,
      );
    }
    this.seals.push(s);
    this.segments.push(computed);
    this.sealedCount = this.records.length;
    this.sealedHead = computed.newHead;
  }

  /** What has been checked so far. */
  async result(): Promise<CheckedTrace> {
    if (!this.header) throw new TraceError("header", "is missing: the trace is empty", { line: 1 });
    await this.flush();
    return {
      header: this.header,
      headerSha256: this.headerHash,
      records: this.records,
      seals: this.seals,
      segments: this.segments,
      unsealedRecords: this.records.length - this.sealedCount,
      head: this.head,
    };
  }
}

/**
 * Reads and checks a trace file. A torn last line is an error unless `allowTornTail` (used
 * by `worker --resume`), in which case it is skipped and reported in `tornLine`.
 */
export async function readTrace(
  path: string,
  opts: CheckOptions & { allowTornTail?: boolean } = {},
): Promise<CheckedTrace> {
  const checker = new TraceChecker(opts);
  let tornLine: number | undefined;
  for await (const { line, text, torn } of readLines(path)) {
    if (torn) {
      if (opts.allowTornTail) {
        tornLine = line;
        break;
      }
      throw new TraceError("line", "is torn: the file ends without a newline (the writer stopped mid-line)", {
        line,
      });
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw new TraceError("line", "must be one JSON object", { line });
    }
    await checker.push(value, line);
  }
  const result = await checker.result();
  return tornLine === undefined ? result : { ...result, tornLine };
}

/** Checks a trace given as parsed lines (tests and in-memory traces). */
export async function checkTrace(lines: readonly unknown[], opts: CheckOptions = {}): Promise<CheckedTrace> {
  const checker = new TraceChecker(opts);
  for (const [i, value] of lines.entries()) await checker.push(value, i + 1);
  return checker.result();
}
