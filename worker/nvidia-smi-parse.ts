import type { Sample } from "./samplers/types.ts";
import { WorkerError } from "./errors.ts";

/** The fields the nvml sampler asks nvidia-smi for, in this order. */
export const NVIDIA_SMI_FIELDS = [
  "uuid",
  "name",
  "utilization.gpu",
  "memory.used",
  "power.draw",
  "total_energy_consumption",
] as const;

/** Arguments of one nvidia-smi query in the machine-readable form (no header, no units). */
export const NVIDIA_SMI_QUERY_ARGS = [
  `--query-gpu=${NVIDIA_SMI_FIELDS.join(",")}`,
  "--format=csv,noheader,nounits",
];

/** One line of `nvidia-smi --query-gpu=… --format=csv,noheader,nounits`, values in nvidia-smi's units. */
export interface NvidiaSmiReading {
  uuid: string;
  name: string;
  /** Percent of the last sample period in which a kernel ran (0–100), null when [N/A]. */
  utilizationPercent: number | null;
  /** MiB. */
  memoryUsedMiB: number | null;
  /** Watts. */
  powerDrawW: number | null;
  /** Millijoules since the driver was loaded (NVML nvmlDeviceGetTotalEnergyConsumption). */
  totalEnergyMj: number | null;
}

/** nvidia-smi writes a bracketed word instead of a value it cannot give: [N/A], [Not Supported], [Unknown Error]… */
const UNAVAILABLE = /^\[[^\]]*\]$/;
const NUMBER = /^[0-9]+(\.[0-9]+)?$/;

function numberField(field: string, text: string): number | null {
  if (UNAVAILABLE.test(text)) return null;
  if (!NUMBER.test(text))
    throw new WorkerError(
      `nvidia-smi ${field} must be a non-negative number or [N/A], got ${JSON.stringify(text)}`,
    );
  return Number(text);
}

function textField(field: string, text: string): string {
  if (text.length === 0 || UNAVAILABLE.test(text))
    throw new WorkerError(`nvidia-smi ${field} must be present, got ${JSON.stringify(text)}`);
  return text;
}

/** Parses one line; throws a WorkerError naming the field when it is malformed. */
export function parseNvidiaSmiLine(line: string): NvidiaSmiReading {
  const parts = line
    .trim()
    .split(",")
    .map((p) => p.trim());
  if (parts.length !== NVIDIA_SMI_FIELDS.length) {
    throw new WorkerError(
      `nvidia-smi line must have ${NVIDIA_SMI_FIELDS.length} comma-separated fields (${NVIDIA_SMI_FIELDS.join(", ")}), got ${parts.length}: ${JSON.stringify(line)}`,
    );
  }
  const [uuid, name, util, mem, power, energy] = parts as [string, string, string, string, string, string];
  const utilizationPercent = numberField("utilization.gpu", util);
  if (utilizationPercent !== null && utilizationPercent > 100) {
    throw new WorkerError(`nvidia-smi utilization.gpu must be at most 100 (percent), got ${util}`);
  }
  return {
    uuid: textField("uuid", uuid),
    name: textField("name", name),
    utilizationPercent,
    memoryUsedMiB: numberField("memory.used", mem),
    powerDrawW: numberField("power.draw", power),
    totalEnergyMj: numberField("total_energy_consumption", energy),
  };
}

/** A reading in the worker's units (bps, MiB, mW, mJ), stamped `t`. */
export function readingToSample(r: NvidiaSmiReading, t: number): Sample {
  return {
    t,
    utilBps: r.utilizationPercent === null ? null : Math.round(r.utilizationPercent * 100),
    memMiB: r.memoryUsedMiB === null ? null : Math.round(r.memoryUsedMiB),
    powerMw: r.powerDrawW === null ? null : Math.round(r.powerDrawW * 1000),
    energyMj: r.totalEnergyMj === null ? null : Math.round(r.totalEnergyMj),
  };
}

/** Names of the fields a reading lacks, for one warning per field. */
export function unavailableFields(r: NvidiaSmiReading): string[] {
  const missing: string[] = [];
  if (r.utilizationPercent === null) missing.push("utilization.gpu");
  if (r.memoryUsedMiB === null) missing.push("memory.used");
  if (r.powerDrawW === null) missing.push("power.draw");
  if (r.totalEnergyMj === null) missing.push("total_energy_consumption");
  return missing;
}
