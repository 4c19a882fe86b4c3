import { H100_WEIGHT_BPS, USAGE_PER_GPU_SECOND } from "./constants.ts";

/** usage (bps·ms) as GPU-hours of one fully busy device. */
export function usageToGpuHours(usage: bigint): number {
  return Number(usage) / Number(USAGE_PER_GPU_SECOND) / 3600;
}

/**
 * Payout of a segment: usage × weight × price / (10^7 × 10^4 × 3600), rounded down, capped
 * by the remaining budget. `price` is token units per H100-equivalent hour, `weightBps`
 * the device class weight in H100-equivalent basis points. Mirrors `ComputeEscrow`.
 */
export function segmentPayout(args: {
  usage: bigint;
  weightBps: bigint;
  price: bigint;
  remainingBudget?: bigint;
}): bigint {
  const amount =
    (args.usage * args.weightBps * args.price) / (USAGE_PER_GPU_SECOND * H100_WEIGHT_BPS * 3600n);
  return args.remainingBudget !== undefined && amount > args.remainingBudget ? args.remainingBudget : amount;
}
