import type { CheckedTrace } from "./check.ts";
import {
  chainHead,
  commandSha256,
  computeJobTag,
  headerSha256,
  recordDigest,
  recordHash,
  type JobRef,
  type RecordFields,
} from "./hashing.ts";
import { FORMAT_VERSION } from "./constants.ts";
import { signSeal, type WorkerKey } from "./keys.ts";
import {
  headerSchema,
  MAX_EXPIRY_SECONDS,
  recordSchema,
  toJson,
  type TraceHeaderJson,
  type TraceRecordJson,
  type TraceSealJson,
} from "./schema.ts";
import { computeSegment, type MeteredRecord } from "./segment.ts";
import { TraceError } from "./errors.ts";

/** What a worker knows before the job starts: the job (with its terms) and how it is metered. */
export interface TraceJob extends JobRef {
  device: { class: string; name: string; uuidHash: string };
  sampler: "nvml" | "proc";
  intervalMs: number;
  segmentSize: number;
  command: string[];
  startTime: number;
}

/** One metered interval as a sampler reports it: a record's telemetry before seq and digest are assigned. */
export interface Measurement extends Omit<RecordFields, "seq" | "digest"> {
  /** SHA-256 (0x hex) of the job output produced in the interval. */
  outputSha256: string;
  /** Output files to fold into this record's digest (the last record). */
  files?: { path: string; sha256: string }[];
}

export type TraceLineJson = TraceHeaderJson | TraceRecordJson | TraceSealJson;

/**
 * Writes a trace: derives each record's digest, hash and head, and seals and signs a
 * segment every `segmentSize` records (and on `seal()`). Every line goes to `sink` (an
 * fsync'ed appender in the worker, an array in tests) as soon as it is final.
 */
export class TraceBuilder {
  readonly header: TraceHeaderJson;
  private readonly key: WorkerKey;
  private readonly sink: (line: TraceLineJson) => void;
  private readonly jobTag: bigint;
  private readonly headerHash: string;
  private pending: (MeteredRecord & { tEnd: number })[] = [];
  private nextSeq: number;
  private lastTEnd: number;
  private head: bigint;
  private sealedHead: bigint;
  private nextSegment: number;

  private constructor(args: {
    header: TraceHeaderJson;
    key: WorkerKey;
    sink: (line: TraceLineJson) => void;
    state?: {
      nextSeq: number;
      lastTEnd: number;
      head: bigint;
      sealedHead: bigint;
      nextSegment: number;
      pending: MeteredRecord[];
    };
  }) {
    this.header = args.header;
    this.key = args.key;
    this.sink = args.sink;
    const header = headerSchema.parse(args.header);
    this.jobTag = header.jobTag;
    this.headerHash = headerSha256(args.header);
    const s = args.state;
    this.nextSeq = s?.nextSeq ?? 0;
    this.lastTEnd = s?.lastTEnd ?? header.startTime;
    this.head = s?.head ?? 0n;
    this.sealedHead = s?.sealedHead ?? 0n;
    this.nextSegment = s?.nextSegment ?? 0;
    this.pending = s?.pending ?? [];
  }

  /** Starts a new trace and writes its header. */
  static start(job: TraceJob, key: WorkerKey, sink: (line: TraceLineJson) => void): TraceBuilder {
    const { expiry } = job.terms;
    if (expiry < 0n || expiry > BigInt(MAX_EXPIRY_SECONDS))
      throw new TraceError("terms.expiry", `must be unix seconds below 2^40, got ${expiry}`);
    const header = toJson({
      type: "header",
      version: FORMAT_VERSION,
      chainId: job.chainId,
      escrow: job.escrow,
      jobId: job.jobId,
      provider: job.provider,
      terms: {
        client: job.terms.client,
        token: job.terms.token,
        price: job.terms.price,
        expiry: Number(expiry),
      },
      jobTag: computeJobTag(job),
      workerKey: key.publicKey,
      workerKeyHash: key.keyHash,
      device: job.device,
      sampler: job.sampler,
      intervalMs: job.intervalMs,
      segmentSize: job.segmentSize,
      command: job.command,
      commandSha256: commandSha256(job.command),
      startTime: job.startTime,
    }) as TraceHeaderJson;
    headerSchema.parse(header); // refuse a bad job before anything is written
    const builder = new TraceBuilder({ header, key, sink });
    sink(header);
    return builder;
  }

  /** Continues a checked trace (after a crash) with the key that wrote it. */
  static resume(trace: CheckedTrace, key: WorkerKey, sink: (line: TraceLineJson) => void): TraceBuilder {
    if (trace.header.workerKeyHash !== key.keyHash) {
      throw new TraceError("--key", "must be the key that wrote the trace (workerKeyHash differs)");
    }
    const last = trace.records.at(-1);
    const sealedCount = trace.records.length - trace.unsealedRecords;
    return new TraceBuilder({
      header: toJson(trace.header) as TraceHeaderJson,
      key,
      sink,
      state: {
        nextSeq: trace.records.length,
        lastTEnd: last?.tEnd ?? trace.header.startTime,
        head: trace.head,
        sealedHead: trace.segments.at(-1)?.newHead ?? 0n,
        nextSegment: trace.segments.length,
        pending: trace.records.slice(sealedCount),
      },
    });
  }

  get recordCount(): number {
    return this.nextSeq;
  }
  get pendingCount(): number {
    return this.pending.length;
  }
  /** tEnd of the last record: the next record may not start before it. */
  get lastEnd(): number {
    return this.lastTEnd;
  }

  /** Appends one record; seals the segment when it reaches `segmentSize` records. */
  async addRecord(m: Measurement): Promise<TraceRecordJson> {
    const seq = this.nextSeq;
    if (m.tStart < this.lastTEnd) {
      throw new TraceError(
        "tStart",
        `must not be before the previous record's tEnd ${this.lastTEnd} (records overlap), got ${m.tStart}`,
        { seq },
      );
    }
    const digest = recordDigest({
      ...(seq === 0 ? { headerSha256: this.headerHash } : {}),
      outputSha256: m.outputSha256,
      ...(m.files ? { fileSha256s: m.files.map((f) => f.sha256) } : {}),
    });
    const fields = {
      seq,
      tStart: m.tStart,
      tEnd: m.tEnd,
      utilBps: m.utilBps,
      memMiB: m.memMiB,
      powerMw: m.powerMw,
      energyMj: m.energyMj,
      digest,
    };
    const draft = {
      type: "record" as const,
      ...fields,
      outputSha256: m.outputSha256,
      ...(m.files ? { files: m.files } : {}),
    };
    // Validate ranges before hashing so a bad sample names its field instead of failing in Poseidon.
    const parsed = recordSchema.safeParse(toJson({ ...draft, hash: 0n, head: 0n }));
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new TraceError(issue.path.join("."), issue.message, { seq });
    }
    if (m.tEnd <= m.tStart || m.tEnd - m.tStart > 65535) {
      throw new TraceError("tEnd", `must be 1 to 65535 ms after tStart ${m.tStart}, got ${m.tEnd}`, { seq });
    }
    const hash = recordHash(this.jobTag, fields);
    const head = chainHead(this.head, hash);
    const record = toJson({ ...draft, hash, head }) as TraceRecordJson;
    this.sink(record);
    this.nextSeq = seq + 1;
    this.lastTEnd = m.tEnd;
    this.head = head;
    this.pending.push({ seq, tStart: m.tStart, tEnd: m.tEnd, utilBps: m.utilBps, hash });
    if (this.pending.length >= this.header.segmentSize) await this.seal();
    return record;
  }

  /** Seals and signs the pending records as one segment; does nothing when none are pending. */
  async seal(): Promise<TraceSealJson | undefined> {
    if (this.pending.length === 0) return undefined;
    const segment = computeSegment(this.nextSegment, this.sealedHead, this.pending);
    const signature = await signSeal(this.key, segment.newHead);
    const seal = toJson({
      type: "seal",
      segment: segment.index,
      firstSeq: segment.firstSeq,
      lastSeq: segment.lastSeq,
      prevHead: segment.prevHead,
      newHead: segment.newHead,
      tFirst: segment.tFirst,
      tLast: segment.tLast,
      usage: segment.usage,
      signature,
    }) as TraceSealJson;
    this.sink(seal);
    this.pending = [];
    this.sealedHead = segment.newHead;
    this.nextSegment += 1;
    return seal;
  }
}
