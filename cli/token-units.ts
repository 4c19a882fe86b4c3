/**
 * How the read-only commands (status, balance, job list, worker list, audit) print amounts and
 * hours. People read token units with the symbol ("12.5 CCR"); `--raw` prints base units
 * ("12500000000000000000 units CCR"); JSON always has both. Hours are named after the device
 * class they count ("CPU-hours"), and H100-equivalent hours say the weight that made them.
 */
import { formatUnits, type Provider } from "ethers";
import { attachContract } from "../contracts/index.ts";
import { USAGE_PER_GPU_SECOND, H100_WEIGHT_BPS } from "../trace/index.ts";

/** An ERC-20 as printed: decimals and symbol undefined when the token does not answer them. */
export interface TokenMeta {
  address: string;
  decimals?: number;
  symbol?: string;
}

/** decimals() and symbol() of each token, read once per address. */
export async function readTokens(
  provider: Provider,
  addresses: Iterable<string>,
): Promise<Map<string, TokenMeta>> {
  const out = new Map<string, TokenMeta>();
  await Promise.all(
    [...new Set(addresses)].map(async (address) => {
      const token = attachContract("ComputeCredit", address, provider);
      const [decimals, symbol] = await Promise.all([
        token.decimals().then(Number, () => undefined),
        token.symbol().catch(() => undefined),
      ]);
      out.set(address, {
        address,
        ...(decimals !== undefined ? { decimals } : {}),
        ...(symbol !== undefined ? { symbol } : {}),
      });
    }),
  );
  return out;
}

/** The token's name in output: its symbol, else its address. */
export function tokenName(token: TokenMeta): string {
  return token.symbol ?? token.address;
}

/** "12.5 CCR", or with `raw` (or a token without decimals()) "12500000000000000000 units CCR". */
export function formatTokens(units: bigint, token: TokenMeta, raw = false): string {
  if (raw || token.decimals === undefined) return `${units} units ${tokenName(token)}`;
  return `${formatUnits(units, token.decimals)} ${tokenName(token)}`;
}

/** An amount in JSON: base units (a decimal string through toJsonText) and token units beside them. */
export function amountJson(
  units: bigint,
  token: TokenMeta,
): { units: bigint; tokens?: string; symbol?: string } {
  return {
    units,
    ...(token.decimals !== undefined ? { tokens: formatUnits(units, token.decimals) } : {}),
    ...(token.symbol !== undefined ? { symbol: token.symbol } : {}),
  };
}

/** Hours of one fully busy device in `usage` (bps·ms). */
export function deviceHours(usage: bigint): number {
  return Number(usage) / Number(USAGE_PER_GPU_SECOND) / 3600;
}

/** Hours of an H100 worth `usage` on a device of weight `weightBps` (H100 = 10000). */
export function h100EquivalentHours(usage: bigint, weightBps: bigint): number {
  return deviceHours((usage * weightBps) / H100_WEIGHT_BPS);
}

/** "0.0123" with four decimals, or three significant digits below 0.0001. */
export function formatHours(hours: number): string {
  return hours === 0 || hours >= 0.0001 ? hours.toFixed(4) : hours.toExponential(2);
}

/**
 * Hours of usage in the device class's own unit and in H100-equivalents, saying the weight:
 * "0.0222 CPU-hours = 0.0002 H100-equivalent hours at weight 100 bps".
 */
export function formatUsage(usage: bigint, deviceClass: string, weightBps: bigint): string {
  const own = `${formatHours(deviceHours(usage))} ${deviceClass}-hours`;
  if (deviceClass === "H100" && weightBps === H100_WEIGHT_BPS) return `${own} (weight ${weightBps} bps)`;
  return `${own} = ${formatHours(h100EquivalentHours(usage, weightBps))} H100-equivalent hours at weight ${weightBps} bps`;
}
