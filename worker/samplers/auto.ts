import { WorkerError } from "../errors.ts";
import { NvmlSampler, type NvmlSamplerOptions } from "./nvml.ts";
import { ProcSampler, type ProcSamplerOptions } from "./proc.ts";
import type { Sampler } from "./types.ts";

export type SamplerChoice = "nvml" | "proc" | "auto";

export interface OpenSamplerOptions extends NvmlSamplerOptions, ProcSamplerOptions {
  sampler: SamplerChoice;
}

/**
 * Opens the sampler asked for. `auto` takes nvml when nvidia-smi answers for the GPU and
 * proc otherwise; `reason` says why nvml was not used.
 */
export async function openSampler(opts: OpenSamplerOptions): Promise<{ sampler: Sampler; reason?: string }> {
  if (opts.sampler === "proc") return { sampler: new ProcSampler(opts) };
  if (opts.sampler === "nvml") return { sampler: await NvmlSampler.open(opts) };
  if (opts.sampler !== "auto")
    throw new WorkerError(`--sampler must be nvml, proc or auto, got ${JSON.stringify(opts.sampler)}`);
  try {
    return { sampler: await NvmlSampler.open(opts) };
  } catch (err) {
    if (!(err instanceof WorkerError)) throw err;
    return { sampler: new ProcSampler(opts), reason: err.message };
  }
}
