import { readFileSync } from "node:fs";
import { availableParallelism, hostname } from "node:os";
import { sha256Hex } from "../trace/index.ts";
import { WorkerError } from "./errors.ts";
import type { DeviceInfo } from "./samplers/types.ts";

/** A device class is stored on chain as a short string: 1 to 31 printable ASCII characters. */
const DEVICE_CLASS = /^[\x20-\x7e]{1,31}$/;

/** Brand words that say nothing about the model. */
const BRAND_WORDS = new Set(["NVIDIA", "GEFORCE", "TESLA", "QUADRO"]);

/**
 * The rate-card class of a GPU from the name nvidia-smi reports: the model without brand,
 * form factor or memory size. "NVIDIA H100 80GB HBM3" → "H100", "NVIDIA A100-SXM4-80GB" →
 * "A100", "Tesla V100-SXM2-16GB" → "V100", "NVIDIA GeForce RTX 4090" → "RTX 4090".
 */
export function deviceClassFromGpuName(name: string): string {
  const words = name
    .trim()
    .split(/\s+/)
    .filter((w) => w.length > 0 && !BRAND_WORDS.has(w.toUpperCase()));
  const first = words[0];
  if (!first) return "GPU";
  // "RTX 4090", "RTX A6000", "GTX 1080": the series word alone is not a model.
  const model =
    /^(RTX|GTX)$/i.test(first) && words[1] ? `${first} ${words[1]!.split("-")[0]}` : first.split("-")[0]!;
  const cleaned = model.replace(/[^\x20-\x7e]/g, "").slice(0, 31);
  return cleaned.length > 0 ? cleaned : "GPU";
}

/** Checks a device class given by the operator (`--device-class`). */
export function checkDeviceClass(value: string): string {
  if (!DEVICE_CLASS.test(value))
    throw new WorkerError(
      `--device-class must be 1 to 31 printable ASCII characters, got ${JSON.stringify(value)}`,
    );
  return value;
}

/** `uuidHash` of a GPU: SHA-256 of its UUID exactly as nvidia-smi prints it ("GPU-…"). */
export function gpuUuidHash(uuid: string): string {
  return sha256Hex(uuid);
}

export function gpuDevice(args: { uuid: string; name: string; deviceClass?: string }): DeviceInfo {
  return {
    class:
      args.deviceClass !== undefined ? checkDeviceClass(args.deviceClass) : deviceClassFromGpuName(args.name),
    name: args.name.slice(0, 256),
    uuidHash: gpuUuidHash(args.uuid),
  };
}

function readFirst(paths: readonly string[]): string | undefined {
  for (const path of paths) {
    try {
      const text = readFileSync(path, "utf8").trim();
      if (text.length > 0) return text;
    } catch {
      // try the next one
    }
  }
  return undefined;
}

/** The stable identity of a CPU host: its machine id, or its host name when it has none. */
export function machineIdentity(): string {
  return readFirst(["/etc/machine-id", "/var/lib/dbus/machine-id"]) ?? `host:${hostname()}`;
}

/** The CPU model name from /proc/cpuinfo ("model name", or "Hardware"/"cpu model" on some ARM and MIPS kernels). */
export function cpuModelName(cpuinfo = readFirst(["/proc/cpuinfo"]) ?? ""): string {
  const m = /^(?:model name|Hardware|cpu model)\s*:\s*(.+)$/m.exec(cpuinfo);
  return m?.[1]?.trim() ?? "unknown CPU";
}

/**
 * The device of a CPU-only host: class "CPU" (overridable), the CPU model and core count,
 * and `uuidHash = SHA-256("cpu:" + machine id)`.
 */
export function cpuDevice(args: { deviceClass?: string } = {}): DeviceInfo {
  return {
    class: args.deviceClass !== undefined ? checkDeviceClass(args.deviceClass) : "CPU",
    name: `${cpuModelName()} (${availableParallelism()} cores)`.slice(0, 256),
    uuidHash: sha256Hex(`cpu:${machineIdentity()}`),
  };
}
