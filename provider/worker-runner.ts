/**
 * Starts `meterproof worker run` for the jobs the config asks the agent to run itself, and keeps
 * each one started exactly once across agent restarts. A worker runs detached under a small
 * shell that writes its exit code to `<stateDir>/runs/<name>.exit` when it ends, so the outcome
 * is recorded even when the agent is dead at that moment. On every round: an exit file means the
 * job is over (nothing is started again); a live pid means it runs; neither (the host
 * rebooted) means it is started again with `--resume`, which continues the trace.
 */
import { spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface WorkerLaunch {
  /** Names the run's files under <stateDir>/runs/. */
  name: string;
  trace: string;
  /** `worker run` options before `--out` (key, job, escrow, provider, rpc, sampler …). */
  options: string[];
  command: string[];
}

export type WorkerState = { state: "running"; pid: number } | { state: "exited"; code: number };

export class WorkerRunner {
  private readonly dir: string;
  private readonly bin: string;
  private readonly log: (event: string, fields: Record<string, unknown>) => void;

  constructor(args: {
    stateDir: string;
    bin: string;
    log: (event: string, fields: Record<string, unknown>) => void;
  }) {
    this.dir = join(args.stateDir, "runs");
    this.bin = args.bin;
    this.log = args.log;
    mkdirSync(this.dir, { recursive: true });
  }

  /** Starts the worker unless it runs or has ended; returns its state. */
  ensure(w: WorkerLaunch): WorkerState {
    const exitFile = join(this.dir, `${w.name}.exit`);
    if (existsSync(exitFile)) return { state: "exited", code: Number(readFileSync(exitFile, "utf8").trim()) };
    const pidFile = join(this.dir, `${w.name}.pid`);
    if (existsSync(pidFile)) {
      const pid = Number(readFileSync(pidFile, "utf8").trim());
      if (alive(pid)) return { state: "running", pid };
    }
    const resume = existsSync(w.trace);
    const args = [
      "worker",
      "run",
      ...w.options,
      "--out",
      w.trace,
      ...(resume ? ["--resume"] : []),
      "--",
      ...w.command,
    ];
    const out = openSync(join(this.dir, `${w.name}.log`), "a");
    // The shell outlives the agent and records the exit code; its first argument is the exit file.
    const child = spawn(
      "/bin/sh",
      [
        "-c",
        'f=$1; shift; c=0; "$@" || c=$?; echo $c > "$f.tmp" && mv "$f.tmp" "$f"',
        "sh",
        exitFile,
        process.execPath,
        this.bin,
        ...args,
      ],
      { detached: true, stdio: ["ignore", out, out] },
    );
    closeSync(out);
    child.unref();
    writeFileSync(pidFile, `${child.pid}\n`);
    this.log("worker started", { name: w.name, pid: child.pid, trace: w.trace, resume });
    return { state: "running", pid: child.pid! };
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
