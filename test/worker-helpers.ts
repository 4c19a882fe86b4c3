import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import type { JobRef, TraceRecordJson } from "../trace/index.ts";
import { TEST_ESCROW, TEST_PROVIDER, TEST_TERMS } from "./fixtures/traces.ts";

/** Folder holding the nvidia-smi test double; put it first on PATH. */
export const FAKE_BIN = fileURLToPath(new URL("./fixtures/bin", import.meta.url));
export const NVIDIA_SMI_FIXTURES = fileURLToPath(new URL("./fixtures/nvidia-smi", import.meta.url));

export const JOB: JobRef = {
  chainId: 31337n,
  escrow: TEST_ESCROW,
  jobId: 7n,
  provider: TEST_PROVIDER,
  terms: TEST_TERMS,
};

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `meterproof-${prefix}-`));
}

/** An environment where `nvidia-smi` is the test double replaying `fixture`. */
export function fakeNvidiaSmiEnv(fixture: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    PATH: `${FAKE_BIN}:${process.env.PATH ?? ""}`,
    FAKE_NVIDIA_SMI_FIXTURE: join(NVIDIA_SMI_FIXTURES, fixture),
    ...extra,
  };
}

/** A stream that keeps what is written to it. */
export class Collect extends Writable {
  chunks: Buffer[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.chunks.push(chunk);
    cb();
  }
  text(): string {
    return Buffer.concat(this.chunks).toString("utf8");
  }
}

/** The parsed lines of a trace file. */
export function traceLines(path: string): { type: string }[] {
  return readFileSync(path, "utf8")
    .split("\n")
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as { type: string });
}

export function traceRecords(path: string): TraceRecordJson[] {
  return traceLines(path).filter((l) => l.type === "record") as TraceRecordJson[];
}

/** CPU-milliseconds a list of records meters: Σ (tEnd − tStart) × utilBps / 10000. */
export function meteredMs(records: readonly TraceRecordJson[]): number {
  return records.reduce((s, r) => s + ((r.tEnd - r.tStart) * r.utilBps) / 10_000, 0);
}

/** A node one-liner that keeps one core busy for `ms`, then prints its own CPU and wall time as JSON. */
export function busyScript(ms: number): string {
  return (
    `const t0 = Date.now(); while (Date.now() - t0 < ${ms}) {} const u = process.cpuUsage();` +
    `console.log(JSON.stringify({ cpuMs: (u.user + u.system) / 1000, wallMs: Date.now() - t0 }))`
  );
}
