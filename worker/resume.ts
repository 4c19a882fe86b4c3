import { closeSync, existsSync, fstatSync, ftruncateSync, fsyncSync, openSync, readSync } from "node:fs";
import { readTrace, type CheckedTrace, type JobTerms, type WorkerKey } from "../trace/index.ts";
import { WorkerError } from "./errors.ts";
import type { DeviceInfo, SamplerKind } from "./samplers/types.ts";

/** What the resumed run is about; it must be what the trace header says. */
export interface ResumeExpectation {
  chainId: bigint;
  escrow: string;
  jobId: bigint;
  provider: string;
  terms: JobTerms;
  command: readonly string[];
  sampler: SamplerKind;
  device: DeviceInfo;
  /** Set when the operator named a class (`--device-class`): it must then match too. */
  deviceClass?: string;
}

/** Cuts a file after its last newline; returns how many bytes were dropped. */
export function truncateAfterLastNewline(path: string): number {
  const fd = openSync(path, "r+");
  try {
    const size = fstatSync(fd).size;
    const buf = Buffer.alloc(64 * 1024);
    let end = size;
    while (end > 0) {
      const start = Math.max(0, end - buf.length);
      const n = readSync(fd, buf, 0, end - start, start);
      const at = buf.subarray(0, n).lastIndexOf(0x0a);
      if (at >= 0) {
        const keep = start + at + 1;
        ftruncateSync(fd, keep);
        fsyncSync(fd);
        return size - keep;
      }
      end = start;
    }
    ftruncateSync(fd, 0);
    fsyncSync(fd);
    return size;
  } finally {
    closeSync(fd);
  }
}

function mismatch(field: string, trace: unknown, given: unknown): WorkerError {
  return new WorkerError(
    `${field} must match the trace being resumed: the trace has ${String(trace)}, got ${String(given)}`,
  );
}

/** Terms as `--terms` takes them: CLIENT,TOKEN,PRICE,EXPIRY. */
function termsText(t: { client: string; token: string; price: bigint; expiry: bigint | number }): string {
  return `${t.client},${t.token},${t.price},${t.expiry}`;
}

/**
 * Opens an interrupted trace for `--resume`: checks every line, drops a torn last line (the
 * record being written when the worker stopped; the file is cut after the last complete
 * line), and checks that key, job, command, sampler and device are the ones it was started with.
 */
export async function prepareResume(
  path: string,
  key: WorkerKey,
  expect: ResumeExpectation,
): Promise<{ trace: CheckedTrace; droppedTornLine?: number; droppedBytes: number }> {
  if (!existsSync(path))
    throw new WorkerError(`--resume needs an existing trace, but ${path} does not exist`);
  const trace = await readTrace(path, { allowTornTail: true });
  const h = trace.header;
  if (h.workerKeyHash !== key.keyHash)
    throw mismatch("--key (its workerKeyHash)", h.workerKeyHash, key.keyHash);
  if (h.chainId !== expect.chainId) throw mismatch("--chain-id", h.chainId, expect.chainId);
  if (h.escrow.toLowerCase() !== expect.escrow.toLowerCase())
    throw mismatch("--escrow", h.escrow, expect.escrow);
  if (h.jobId !== expect.jobId) throw mismatch("--job", h.jobId, expect.jobId);
  if (h.provider.toLowerCase() !== expect.provider.toLowerCase())
    throw mismatch("--provider", h.provider, expect.provider);
  const t = h.terms;
  if (
    t.client.toLowerCase() !== expect.terms.client.toLowerCase() ||
    t.token.toLowerCase() !== expect.terms.token.toLowerCase() ||
    t.price !== expect.terms.price ||
    BigInt(t.expiry) !== expect.terms.expiry
  ) {
    throw mismatch("the job's terms (--terms, or the job on chain)", termsText(t), termsText(expect.terms));
  }
  if (JSON.stringify(h.command) !== JSON.stringify(expect.command)) {
    throw mismatch("the command", JSON.stringify(h.command), JSON.stringify(expect.command));
  }
  if (h.sampler !== expect.sampler) throw mismatch("--sampler", h.sampler, expect.sampler);
  if (h.device.uuidHash !== expect.device.uuidHash)
    throw mismatch("the device (uuidHash)", h.device.uuidHash, expect.device.uuidHash);
  if (expect.deviceClass !== undefined && h.device.class !== expect.deviceClass) {
    throw mismatch("--device-class", h.device.class, expect.deviceClass);
  }
  // Only now, with everything checked, is the file changed.
  const droppedBytes = trace.tornLine !== undefined ? truncateAfterLastNewline(path) : 0;
  return {
    trace,
    droppedBytes,
    ...(trace.tornLine !== undefined ? { droppedTornLine: trace.tornLine } : {}),
  };
}
