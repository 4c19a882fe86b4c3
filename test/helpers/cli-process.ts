/**
 * A long-running `meterproof` command in a child process (the provider agent, a prover host),
 * with its JSON log lines collected as they come so a test can wait for one and kill the process
 * at that moment.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const BIN = fileURLToPath(new URL("../../bin/meterproof.js", import.meta.url));

export type LogLine = Record<string, unknown> & { msg?: string };

export class CliProcess {
  readonly child: ChildProcess;
  readonly lines: LogLine[] = [];
  readonly stderr: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly waiters = new Set<() => void>();

  constructor(args: readonly string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}) {
    this.child = spawn(process.execPath, [BIN, ...args], {
      env: opts.env ?? process.env,
      ...(opts.cwd ? { cwd: opts.cwd } : {}),
      stdio: ["ignore", "pipe", "pipe"],
    });
    createInterface({ input: this.child.stdout! }).on("line", (text) => {
      try {
        this.lines.push(JSON.parse(text) as LogLine);
      } catch {
        this.lines.push({ msg: text });
      }
      for (const w of this.waiters) w();
    });
    createInterface({ input: this.child.stderr! }).on("line", (text) => this.stderr.push(text));
    this.exited = new Promise((resolve) =>
      this.child.once("exit", (code, signal) => {
        for (const w of this.waiters) w();
        resolve({ code, signal });
      }),
    );
  }

  /** Resolves with the first log line (already seen or to come) for which `match` holds. */
  waitFor(match: (line: LogLine) => boolean, timeoutMs: number, what = "log line"): Promise<LogLine> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const hit = this.lines.find(match);
        if (hit) {
          done();
          resolve(hit);
        } else if (this.child.exitCode !== null || this.child.signalCode !== null) {
          done();
          reject(new Error(`process exited before ${what}; stderr: ${this.stderr.slice(-20).join("\n")}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(
          new Error(
            `no ${what} within ${timeoutMs} ms; last lines: ${JSON.stringify(this.lines.slice(-5))}; stderr: ${this.stderr.slice(-10).join("\n")}`,
          ),
        );
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  /** kill -9 of the process itself (not its children: they must notice on their own). */
  async kill9(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill("SIGKILL");
    await this.exited;
  }

  /** SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}
