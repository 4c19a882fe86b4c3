import { readFile, readdir, stat } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import {
  bundleSchema,
  headerSchema,
  readLines,
  recordSchema,
  sealSchema,
  type TraceHeader,
  type TraceRecord,
  type TraceSeal,
} from "../trace/index.ts";

/** How deep below the traces folder files are looked for, and how many files at most. */
const MAX_DEPTH = 4;
const MAX_FILES = 5000;

/**
 * A trace file read for display: records and seals as they stand, not verified (the audit
 * verifies). `problem` says where reading stopped when a line is not a valid record or seal.
 */
export interface TraceFile {
  path: string;
  /** Path below the traces folder, with "/" separators. */
  rel: string;
  header: TraceHeader;
  records: TraceRecord[];
  seals: TraceSeal[];
  problem?: string;
}

/** A proof bundle on disk: which job, lane and segment it proves. */
export interface BundleFile {
  path: string;
  rel: string;
  jobId: bigint;
  workerKeyHash: bigint;
  segment: number;
  newHead: bigint;
}

export interface TraceScan {
  traces: TraceFile[];
  bundles: BundleFile[];
  /** Files that look like traces or bundles but cannot be read, with the reason. */
  problems: string[];
}

interface Cached<T> {
  mtimeMs: number;
  size: number;
  value?: T;
  problem?: string;
}

/**
 * The trace files (`*.trace`, `*.jsonl`) and proof bundles (`*.json` of kind
 * meterproof-segment-bundle) below one folder that belong to one deployment (chain id and
 * escrow). Files are read again only when their size or modification time changes.
 */
export class TraceLibrary {
  readonly dir: string;
  private readonly chainId: bigint;
  private readonly escrow: string;
  private readonly traceCache = new Map<string, Cached<TraceFile>>();
  private readonly bundleCache = new Map<string, Cached<BundleFile>>();

  constructor(args: { dir: string; chainId: bigint; escrow: string }) {
    this.dir = args.dir;
    this.chainId = args.chainId;
    this.escrow = args.escrow.toLowerCase();
  }

  async scan(): Promise<TraceScan> {
    const out: TraceScan = { traces: [], bundles: [], problems: [] };
    for (const path of await this.files()) {
      const info = await stat(path).catch(() => undefined);
      if (!info) continue;
      const isTrace = /\.(trace|jsonl)$/.test(path);
      const cache = isTrace ? this.traceCache : this.bundleCache;
      let entry = cache.get(path) as Cached<TraceFile | BundleFile> | undefined;
      if (!entry || entry.mtimeMs !== info.mtimeMs || entry.size !== info.size) {
        const read = isTrace ? await this.readTrace(path) : await this.readBundle(path);
        entry = { mtimeMs: info.mtimeMs, size: info.size, ...read };
        cache.set(path, entry as Cached<never>);
      }
      if (entry.problem) out.problems.push(`${this.rel(path)}: ${entry.problem}`);
      if (entry.value && isTrace) out.traces.push(entry.value as TraceFile);
      else if (entry.value) out.bundles.push(entry.value as BundleFile);
    }
    return out;
  }

  private rel(path: string): string {
    return relative(this.dir, path).split(sep).join("/");
  }

  private mine(chainId: bigint, escrow: string): boolean {
    return chainId === this.chainId && escrow.toLowerCase() === this.escrow;
  }

  private async files(): Promise<string[]> {
    const found: string[] = [];
    const walk = async (dir: string, depth: number): Promise<void> => {
      const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
      for (const e of entries) {
        if (found.length >= MAX_FILES || e.name.startsWith(".") || e.name === "node_modules") continue;
        const path = join(dir, e.name);
        if (e.isDirectory() && depth < MAX_DEPTH) await walk(path, depth + 1);
        else if (e.isFile() && /\.(trace|jsonl|json)$/.test(e.name)) found.push(path);
      }
    };
    await walk(this.dir, 0);
    return found.sort();
  }

  private async readTrace(path: string): Promise<{ value?: TraceFile; problem?: string }> {
    let file: TraceFile | undefined;
    try {
      for await (const { line, text, torn } of readLines(path)) {
        const value = parseJson(text);
        if (!file) {
          const header = headerSchema.safeParse(value);
          if (!header.success) return { problem: "line 1 is not a meterproof trace header" };
          if (!this.mine(header.data.chainId, header.data.escrow)) return {};
          file = { path, rel: this.rel(path), header: header.data, records: [], seals: [] };
          continue;
        }
        const record = recordSchema.safeParse(value);
        const seal = record.success ? undefined : sealSchema.safeParse(value);
        if (torn || (!record.success && !seal?.success)) {
          file.problem = `line ${line} is ${torn ? "torn" : "not a valid record or seal"}: the timeline stops before it`;
          break;
        }
        if (record.success) file.records.push(record.data);
        else if (seal?.success) file.seals.push(seal.data);
      }
    } catch (err) {
      return { problem: `cannot be read (${(err as Error).message})` };
    }
    return file ? { value: file } : { problem: "is empty" };
  }

  private async readBundle(path: string): Promise<{ value?: BundleFile; problem?: string }> {
    const json = parseJson(await readFile(path, "utf8").catch(() => ""));
    // Other JSON files (a deployment file, a manifest) are no concern of the dashboard.
    if ((json as { kind?: unknown } | undefined)?.kind !== "meterproof-segment-bundle") return {};
    const parsed = bundleSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      return { problem: `not a valid bundle: ${issue.path.join(".")} ${issue.message}` };
    }
    const b = parsed.data;
    if (!this.mine(b.job.chainId, b.job.escrow)) return {};
    return {
      value: {
        path,
        rel: this.rel(path),
        jobId: b.job.jobId,
        workerKeyHash: b.job.workerKeyHash,
        segment: b.segment.index,
        newHead: b.segment.newHead,
      },
    };
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
