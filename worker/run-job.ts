import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { resolve as resolvePath } from "node:path";
import { constants as osConstants } from "node:os";
import type { Readable, Writable } from "node:stream";
import {
  JsonlAppender,
  MAX_INTERVAL_MS,
  TraceBuilder,
  type JobRef,
  type TraceLineJson,
  type TraceSealJson,
  type WorkerKey,
} from "../trace/index.ts";
import { IntervalAggregator, type IntervalValues } from "./aggregate.ts";
import { WorkerError } from "./errors.ts";
import { fileSha256, IntervalOutputHasher } from "./output-hasher.ts";
import { prepareResume } from "./resume.ts";
import type { Sampler } from "./samplers/types.ts";

export interface RunJobOptions {
  key: WorkerKey;
  /** The job the trace is bound to, with the terms its jobTag commits to (as the escrow holds them). */
  job: JobRef;
  /** The job's command line: program and arguments. */
  command: string[];
  /** The trace file (JSON Lines). A new run refuses an existing file; `resume` continues one. */
  tracePath: string;
  /** An opened sampler (see samplers/auto.ts); its device goes into the header. */
  sampler: Sampler;
  /** Record length in ms (default 10000, at most 65535). */
  intervalMs?: number;
  /** Sample period in ms (default 100). */
  sampleMs?: number;
  /** Records per sealed segment (default 64, the production circuit size). */
  segmentSize?: number;
  /** Files whose SHA-256 goes into the last record (`--output`). */
  outputs?: string[];
  /** Continue an interrupted trace instead of starting one. */
  resume?: boolean;
  /** The class the operator asked for; checked against the trace on resume. */
  deviceClass?: string;
  /** Where the job's output is passed through (default: this process's stdout and stderr). */
  stdout?: Writable;
  stderr?: Writable;
  /** The job's stdin (default "inherit"). */
  stdin?: "inherit" | "ignore";
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  onWarning?: (message: string) => void;
  /** Called once each seal line is on disk (progress for the operator). */
  onSeal?: (seal: TraceSealJson) => void;
}

export interface RunJobResult {
  /** The job's exit code; 128 + n when signal n ended it (as shells report it). */
  exitCode: number;
  signal: NodeJS.Signals | null;
  /** Records this run wrote, and the seq of the first of them. */
  records: number;
  firstSeq: number;
  /** Seals this run wrote. */
  seals: number;
  /** Set on resume: how many records the trace already had, and the torn line dropped, if any. */
  resumed?: { records: number; droppedTornLine?: number };
  /** Output files hashed into the last record, and those that could not be read. */
  files: { path: string; sha256: string }[];
  missingOutputs: string[];
}

/** A running job. */
export interface JobHandle {
  readonly pid: number;
  /** Settles once the last record and seal are on disk. */
  readonly done: Promise<RunJobResult>;
  /** Sends a signal to the job's whole process group (SIGINT/SIGTERM forwarding). */
  kill(signal?: NodeJS.Signals): void;
}

/** A job the worker could not start: `exitCode` is what a shell would return (127 not found, 126 not runnable). */
export class JobStartError extends WorkerError {
  readonly exitCode: number;
  constructor(message: string, exitCode: number) {
    super(message);
    this.exitCode = exitCode;
  }
}

function checkRange(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max)
    throw new WorkerError(`${name} must be an integer from ${min} to ${max}, got ${value}`);
  return value;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Copies a child's output stream to `dest` unchanged while hashing it, honouring back-pressure. */
function passThrough(src: Readable, dest: Writable, onChunk: (chunk: Buffer) => void): void {
  src.on("data", (chunk: Buffer) => {
    onChunk(chunk);
    if (!dest.write(chunk)) {
      src.pause();
      dest.once("drain", () => src.resume());
    }
  });
}

function spawnJob(opts: RunJobOptions): Promise<ChildProcess> {
  const [program, ...args] = opts.command;
  if (program === undefined) throw new WorkerError("the command must name a program to run (after --)");
  // Own process group: signals reach the whole job, and the proc sampler finds its processes by group.
  const child = spawn(program, args, {
    stdio: [opts.stdin ?? "inherit", "pipe", "pipe"],
    detached: true,
    cwd: opts.cwd,
    env: opts.env ?? process.env,
  });
  return new Promise((resolve, reject) => {
    child.once("spawn", () => resolve(child));
    child.once("error", (err: NodeJS.ErrnoException) => {
      const code = err.code === "ENOENT" ? 127 : 126;
      reject(new JobStartError(`cannot run ${JSON.stringify(program)}: ${err.code ?? err.message}`, code));
    });
  });
}

/**
 * Runs a job under the worker: spawns it, passes its output through while hashing it, samples
 * the device every `sampleMs`, appends one record per `intervalMs` (each fsync'ed), seals a
 * segment every `segmentSize` records and at the end. See docs/worker.md.
 */
export async function startJob(opts: RunJobOptions): Promise<JobHandle> {
  let intervalMs = checkRange("--interval-ms", opts.intervalMs ?? 10_000, 1, MAX_INTERVAL_MS);
  const sampleMs = checkRange("--sample-ms", opts.sampleMs ?? 100, 10, MAX_INTERVAL_MS);
  const segmentSize = checkRange("--segment", opts.segmentSize ?? 64, 1, 1024);
  const sampler = opts.sampler;
  const onWarning = opts.onWarning ?? (() => {});

  let resumed:
    { trace: Awaited<ReturnType<typeof prepareResume>>["trace"]; droppedTornLine?: number } | undefined;
  if (opts.resume) {
    resumed = await prepareResume(opts.tracePath, opts.key, {
      ...opts.job,
      command: opts.command,
      sampler: sampler.kind,
      device: sampler.device,
      ...(opts.deviceClass !== undefined ? { deviceClass: opts.deviceClass } : {}),
    });
    if (resumed.droppedTornLine !== undefined) {
      onWarning(
        `dropped the torn last line ${resumed.droppedTornLine} of ${opts.tracePath} (the record being written when the worker stopped)`,
      );
    }
    // A resumed trace keeps its header's record length (and segment size, which the builder takes from it).
    intervalMs = resumed.trace.header.intervalMs;
    // Never overlap the trace's last record, even if the clock went back.
    const lastEnd = resumed.trace.records.at(-1)?.tEnd ?? resumed.trace.header.startTime;
    if (Date.now() < lastEnd) await sleep(lastEnd - Date.now());
  } else if (existsSync(opts.tracePath)) {
    throw new WorkerError(
      `--out ${opts.tracePath} already exists: pass --resume to continue it, or name a new file`,
    );
  }

  const child = await spawnJob(opts);
  const pid = child.pid!;
  const killGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-pid, signal);
    } catch {
      child.kill(signal);
    }
  };

  let appender: JsonlAppender;
  let builder: TraceBuilder;
  try {
    if (!resumed) writeFileSync(opts.tracePath, "", { flag: "wx", mode: 0o644 });
    appender = new JsonlAppender(opts.tracePath);
    const sink = (line: TraceLineJson) => {
      appender.append(line);
      if (line.type === "seal") opts.onSeal?.(line);
    };
    builder = resumed
      ? TraceBuilder.resume(resumed.trace, opts.key, sink)
      : TraceBuilder.start(
          {
            ...opts.job,
            device: sampler.device,
            sampler: sampler.kind,
            intervalMs,
            segmentSize,
            command: opts.command,
            startTime: Date.now(),
          },
          opts.key,
          sink,
        );
  } catch (err) {
    killGroup("SIGKILL");
    throw err;
  }
  const firstSeq = builder.recordCount;
  const t0 = resumed ? Math.max(Date.now(), builder.lastEnd) : builder.lastEnd; // lastEnd = header startTime when fresh

  const hasher = new IntervalOutputHasher();
  passThrough(child.stdout!, opts.stdout ?? process.stdout, (c) => hasher.update("stdout", c));
  passThrough(child.stderr!, opts.stderr ?? process.stderr, (c) => hasher.update("stderr", c));
  const closed = new Promise<void>((resolve) => child.once("close", () => resolve()));

  const agg = new IntervalAggregator({ tStart: t0, staleMs: Math.max(3 * sampleMs, 1000) });
  sampler.start({ pid, periodMs: sampleMs, onSample: (s) => agg.add(s), onWarning });

  // Records are written one at a time, in order; the first write error stops the job.
  let queue: Promise<void> = Promise.resolve();
  let fatal: unknown;
  let written = 0;
  let seals = 0;
  const enqueue = (fn: () => Promise<unknown>) => {
    queue = queue.then(async () => {
      if (fatal === undefined) await fn();
    });
    queue.catch((err: unknown) => {
      if (fatal !== undefined) return;
      fatal = err;
      killGroup("SIGTERM");
    });
  };
  const writeRecords = (
    tStart: number,
    tEnd: number,
    v: IntervalValues,
    outputSha256: string,
    files?: { path: string; sha256: string }[],
  ) => {
    enqueue(async () => {
      // A span longer than a record may cover (the host slept) becomes several records.
      for (let s = tStart; s < tEnd; s += MAX_INTERVAL_MS) {
        const e = Math.min(s + MAX_INTERVAL_MS, tEnd);
        const last = e === tEnd;
        const before = builder.pendingCount;
        await builder.addRecord({
          tStart: s,
          tEnd: e,
          utilBps: v.utilBps,
          memMiB: v.memMiB,
          powerMw: v.powerMw,
          energyMj: Math.round((v.energyMj * (e - s)) / (tEnd - tStart)),
          outputSha256: last ? outputSha256 : new IntervalOutputHasher().take(),
          ...(last && files ? { files } : {}),
        });
        written += 1;
        if (builder.pendingCount <= before) seals += 1;
      }
    });
  };

  let timer: NodeJS.Timeout | undefined;
  const schedule = () => {
    timer = setTimeout(onBoundary, Math.max(1, agg.intervalStart + intervalMs - Date.now()));
  };
  const onBoundary = () => {
    const now = Date.now();
    // Timers may fire a millisecond early: a record is never cut before its full interval.
    if (now < agg.intervalStart + intervalMs) {
      schedule();
      return;
    }
    if (now > agg.intervalStart) {
      const tStart = agg.intervalStart;
      const values = agg.close(now, sampler.sampleNow?.(now));
      writeRecords(tStart, now, values, hasher.take());
    }
    schedule();
  };
  schedule();

  const done = new Promise<RunJobResult>((resolve, reject) => {
    child.once("exit", (code, signal) => {
      // Measure at once: the job's time ends now, whatever output is still in the pipes.
      clearTimeout(timer);
      const tStart = agg.intervalStart;
      const tEnd = Math.max(Date.now(), tStart + 1);
      const values = agg.close(tEnd, sampler.sampleNow?.(tEnd));
      const exitCode = code ?? 128 + (signal ? (osConstants.signals[signal] ?? 0) : 0);
      void (async () => {
        await sampler.stop();
        // Output still buffered in the pipes belongs to the last record; a daemon that keeps them open gets 1 s.
        let grace: NodeJS.Timeout | undefined;
        await Promise.race([closed, new Promise((r) => (grace = setTimeout(r, 1000)))]);
        clearTimeout(grace);
        child.stdout!.destroy();
        child.stderr!.destroy();
        const files: { path: string; sha256: string }[] = [];
        const missingOutputs: string[] = [];
        for (const path of opts.outputs ?? []) {
          try {
            // Relative paths are the job's: they resolve against its working directory.
            files.push({ path, sha256: await fileSha256(resolvePath(opts.cwd ?? process.cwd(), path)) });
          } catch (err) {
            missingOutputs.push(path);
            onWarning(
              `--output ${path} could not be hashed (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); it is not in the trace`,
            );
          }
        }
        writeRecords(tStart, tEnd, values, hasher.take(), files.length > 0 ? files : undefined);
        enqueue(async () => {
          if (await builder.seal()) seals += 1;
        });
        await queue.catch(() => {});
        appender.close();
        if (fatal !== undefined) throw fatal;
        return {
          exitCode,
          signal,
          records: written,
          firstSeq,
          seals,
          ...(resumed
            ? {
                resumed: {
                  records: resumed.trace.records.length,
                  ...(resumed.droppedTornLine !== undefined
                    ? { droppedTornLine: resumed.droppedTornLine }
                    : {}),
                },
              }
            : {}),
          files,
          missingOutputs,
        };
      })().then(resolve, reject);
    });
  });

  return { pid, done, kill: killGroup };
}
