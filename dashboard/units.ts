import { formatUnits } from "ethers";
import { usageToGpuHours } from "../trace/index.ts";
import type { TokenInfo } from "./chain-index.ts";

/** A token amount as the page shows it: base units, and token units with the symbol. */
export interface Amount {
  raw: string;
  text: string;
  token: string;
}

export function amount(raw: bigint, token: TokenInfo | undefined, address: string): Amount {
  const symbol = token?.symbol ?? `units of ${address.slice(0, 10)}…`;
  const text =
    token?.decimals !== undefined ? `${formatUnits(raw, token.decimals)} ${symbol}` : `${raw} ${symbol}`;
  return { raw: raw.toString(), text, token: address };
}

/**
 * Whether a device class meters a CPU rather than a GPU. The rate card's CPU class is named
 * "CPU" (chain/deploy.ts); classes whose name starts with it count as CPU too. Their hours are
 * CPU-hours on the page, never GPU-hours.
 */
export function isCpuClass(deviceClass: string): boolean {
  return /^cpu/i.test(deviceClass);
}

/** Hours of one fully busy device for a usage (bps·ms), labelled by the kind of device. */
export interface DeviceHours {
  hours: number;
  unit: "GPU-hours" | "CPU-hours";
}

export function deviceHours(usage: bigint, deviceClass: string): DeviceHours {
  return { hours: usageToGpuHours(usage), unit: isCpuClass(deviceClass) ? "CPU-hours" : "GPU-hours" };
}

/** H100-equivalent hours: what the price is per (usage × weight / 10^4). */
export function h100Hours(usage: bigint, weightBps: number): number {
  return (usageToGpuHours(usage) * weightBps) / 10_000;
}
