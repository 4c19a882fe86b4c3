import { execFile, spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { gpuDevice } from "../device.ts";
import { WorkerError } from "../errors.ts";
import {
  NVIDIA_SMI_QUERY_ARGS,
  parseNvidiaSmiLine,
  readingToSample,
  unavailableFields,
  type NvidiaSmiReading,
} from "../nvidia-smi-parse.ts";
import type { DeviceInfo, Sampler, SamplerStartArgs } from "./types.ts";

export interface NvmlSamplerOptions {
  /** GPU to meter: an index, UUID or PCI bus id, as nvidia-smi `-i` takes it (default "0"). */
  gpu?: string;
  deviceClass?: string;
  /** The nvidia-smi program (default "nvidia-smi", found on PATH). */
  command?: string;
  /** Environment for nvidia-smi (default: this process's). */
  env?: NodeJS.ProcessEnv;
  /** How long the first query may take, in ms (default 10000: a cold driver is slow). */
  probeTimeoutMs?: number;
}

/** Runs nvidia-smi once and returns the one GPU it reports; throws a WorkerError saying why it cannot. */
export function queryNvidiaSmi(opts: NvmlSamplerOptions = {}): Promise<NvidiaSmiReading> {
  const command = opts.command ?? "nvidia-smi";
  const args = [...NVIDIA_SMI_QUERY_ARGS, "-i", opts.gpu ?? "0"];
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      { env: opts.env ?? process.env, timeout: opts.probeTimeoutMs ?? 10_000, encoding: "utf8" },
      (err, stdout, stderr) => {
        if (err) {
          const said = (stderr || stdout).trim().split("\n")[0] ?? "";
          reject(
            new WorkerError(
              `${command} ${args.join(" ")} failed (${(err as NodeJS.ErrnoException).code ?? err.message})${said ? `: ${said}` : ""}`,
            ),
          );
          return;
        }
        const lines = stdout.split("\n").filter((l) => l.trim().length > 0);
        if (lines.length !== 1) {
          reject(
            new WorkerError(
              `${command} must report exactly one GPU for -i ${opts.gpu ?? "0"}, got ${lines.length} lines`,
            ),
          );
          return;
        }
        try {
          resolve(parseNvidiaSmiLine(lines[0]!));
        } catch (e) {
          reject(e);
        }
      },
    );
  });
}

/**
 * Meters one NVIDIA GPU through nvidia-smi. One long-running `nvidia-smi … -lms <period>`
 * prints a line per period, so sampling costs no process start per sample; if it dies it
 * is restarted after a second. Each line is stamped when it arrives.
 */
export class NvmlSampler implements Sampler {
  readonly kind = "nvml" as const;
  readonly device: DeviceInfo;
  /** The GPU as first seen; every later line must be the same GPU. */
  readonly uuid: string;
  private readonly opts: NvmlSamplerOptions;
  private child: ChildProcess | undefined;
  private stopping = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private readonly warned = new Set<string>();

  private constructor(opts: NvmlSamplerOptions, first: NvidiaSmiReading) {
    this.opts = opts;
    this.uuid = first.uuid;
    this.device = gpuDevice({
      uuid: first.uuid,
      name: first.name,
      ...(opts.deviceClass !== undefined ? { deviceClass: opts.deviceClass } : {}),
    });
  }

  /** Queries nvidia-smi once to learn the GPU (and that nvidia-smi works). */
  static async open(opts: NvmlSamplerOptions = {}): Promise<NvmlSampler> {
    return new NvmlSampler(opts, await queryNvidiaSmi(opts));
  }

  start(args: SamplerStartArgs): void {
    this.stopping = false;
    this.spawnReader(args);
  }

  private warnOnce(key: string, message: string, onWarning: (m: string) => void): void {
    if (this.warned.has(key)) return;
    this.warned.add(key);
    onWarning(message);
  }

  private spawnReader(args: SamplerStartArgs): void {
    const command = this.opts.command ?? "nvidia-smi";
    const child = spawn(
      command,
      [...NVIDIA_SMI_QUERY_ARGS, "-i", this.opts.gpu ?? "0", "-lms", String(args.periodMs)],
      {
        env: this.opts.env ?? process.env,
        stdio: ["ignore", "pipe", "ignore"],
      },
    );
    this.child = child;
    const lines = createInterface({ input: child.stdout! });
    lines.on("line", (line) => {
      if (line.trim().length === 0) return;
      const t = Date.now();
      let reading: NvidiaSmiReading;
      try {
        reading = parseNvidiaSmiLine(line);
      } catch (e) {
        this.warnOnce(
          `parse:${(e as Error).message}`,
          `skipped a line nvidia-smi printed: ${(e as Error).message}`,
          args.onWarning,
        );
        return;
      }
      if (reading.uuid !== this.uuid) {
        this.warnOnce(
          "uuid",
          `skipped lines for GPU ${reading.uuid}: this worker meters ${this.uuid}`,
          args.onWarning,
        );
        return;
      }
      for (const field of unavailableFields(reading)) {
        this.warnOnce(
          `na:${field}`,
          `nvidia-smi reports ${field} as not available; see docs/worker.md for how records treat it`,
          args.onWarning,
        );
      }
      args.onSample(readingToSample(reading, t));
    });
    const restart = (why: string) => {
      if (this.stopping || this.child !== child) return;
      this.child = undefined;
      args.onWarning(`nvidia-smi stopped (${why}); restarting it in 1 s`);
      this.restartTimer = setTimeout(() => this.spawnReader(args), 1000);
    };
    child.on("error", (err) => restart(err.message));
    child.on("exit", (code, signal) => restart(signal ?? `exit code ${code}`));
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once("exit", () => resolve());
      child.kill("SIGTERM");
    });
  }
}
