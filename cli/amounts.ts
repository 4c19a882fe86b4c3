/**
 * Token amounts and times as the on-chain commands take them. An amount is whole tokens
 * ("10", "0.25"), scaled by the token's decimals(), or base units with the suffix "units"
 * ("2500units"). An expiry is unix seconds or "+" and a duration after the latest block's time.
 */
import { formatUnits, parseUnits } from "ethers";
import { CliError } from "./output.ts";

/** A parsed amount: base units, or whole tokens still to scale by the token's decimals. */
export type AmountSpec = { units: bigint } | { tokens: string };

/** Checks the shape of an amount option; scaling needs the token (see toUnits). */
export function parseAmount(flag: string, text: string): AmountSpec {
  const t = text.trim();
  const units = /^([0-9]+)\s*units$/.exec(t);
  if (units) return { units: BigInt(units[1]!) };
  if (/^[0-9]+(\.[0-9]+)?$/.test(t)) return { tokens: t };
  throw new CliError(
    `${flag} must be an amount of whole tokens (e.g. 10 or 0.25) or of base units with the suffix "units" (e.g. 2500units), got ${JSON.stringify(text)}`,
  );
}

/** Base units of an amount, given the token's decimals (needed only for whole-token amounts). */
export function toUnits(flag: string, spec: AmountSpec, decimals: number | undefined): bigint {
  if ("units" in spec) return spec.units;
  if (decimals === undefined) {
    throw new CliError(
      `${flag} ${spec.tokens}: the token does not answer decimals(), so give the amount in base units (e.g. ${spec.tokens}units)`,
    );
  }
  const fraction = spec.tokens.split(".")[1] ?? "";
  if (fraction.length > decimals) {
    throw new CliError(
      `${flag} ${spec.tokens} has ${fraction.length} decimal places; the token has ${decimals}`,
    );
  }
  return parseUnits(spec.tokens, decimals);
}

/** Requires an amount above zero and at most `max`. */
export function checkAmountRange(flag: string, units: bigint, max: bigint, maxName: string): bigint {
  if (units <= 0n) throw new CliError(`${flag} must be above zero`);
  if (units > max) throw new CliError(`${flag} must be at most ${maxName} base units, got ${units}`);
  return units;
}

const DURATION_UNIT: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

/**
 * An expiry in unix seconds: "1767225600", or "+90s", "+30m", "+2h", "+7d", "+1w" after
 * `nowSeconds` (the latest block's time). It must lie after `nowSeconds`.
 */
export function parseExpiry(flag: string, text: string, nowSeconds: number): bigint {
  const t = text.trim();
  let expiry: bigint;
  const rel = /^\+([0-9]+)([smhdw])$/.exec(t);
  if (rel) expiry = BigInt(nowSeconds) + BigInt(rel[1]!) * BigInt(DURATION_UNIT[rel[2]!]!);
  else if (/^[0-9]+$/.test(t)) expiry = BigInt(t);
  else {
    throw new CliError(
      `${flag} must be unix seconds or + and a duration (e.g. +90s, +30m, +2h, +7d, +1w), got ${JSON.stringify(text)}`,
    );
  }
  if (expiry >= 1n << 64n) throw new CliError(`${flag} must fit in 64 bits, got ${expiry}`);
  if (expiry <= BigInt(nowSeconds)) {
    throw new CliError(
      `${flag} ${text} is not after the latest block's time (${nowSeconds}, ${new Date(nowSeconds * 1000).toISOString()})`,
    );
  }
  return expiry;
}

/** "2.5 CCR (2500000000000000000 units)", or just the units when decimals are unknown. */
export function formatAmount(units: bigint, token: { decimals?: number; symbol?: string }): string {
  if (token.decimals === undefined) return `${units} units`;
  return `${formatUnits(units, token.decimals)} ${token.symbol ?? "tokens"} (${units} units)`;
}
