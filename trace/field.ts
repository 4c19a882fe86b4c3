import { FIELD_MODULUS } from "./constants.ts";
import { TraceError } from "./errors.ts";

/**
 * Parses a value that must be an integer in [0, 2^bits) (or below the field modulus when
 * `bits` is "field"). Accepts bigint, safe-integer numbers and decimal strings; anything
 * else is refused with an error naming `field` and the rule.
 */
export function toUint(field: string, value: unknown, bits: number | "field"): bigint {
  let v: bigint;
  if (typeof value === "bigint") v = value;
  else if (typeof value === "number") {
    if (!Number.isInteger(value)) throw new TraceError(field, `must be an integer, got ${value}`);
    if (!Number.isSafeInteger(value))
      throw new TraceError(field, `must be a decimal string above 2^53, got ${value}`);
    v = BigInt(value);
  } else if (typeof value === "string") {
    if (!/^-?[0-9]+$/.test(value))
      throw new TraceError(field, `must be a decimal integer string, got ${JSON.stringify(value)}`);
    v = BigInt(value);
  } else {
    throw new TraceError(field, `must be an integer, got ${value === null ? "null" : typeof value}`);
  }
  if (v < 0n) throw new TraceError(field, `must not be negative, got ${v}`);
  if (bits === "field") {
    if (v >= FIELD_MODULUS) throw new TraceError(field, `must be below the field modulus r, got ${v}`);
  } else if (v >= 1n << BigInt(bits)) {
    throw new TraceError(field, `must be below 2^${bits}, got ${v}`);
  }
  return v;
}

/** A field element as the decimal string the trace and snarkjs use. */
export function fieldToString(v: bigint): string {
  return v.toString(10);
}

/** Reads 32 bytes as a big-endian integer truncated to its first 248 bits (31 bytes): always a field element. */
export function truncateTo248(bytes: Uint8Array): bigint {
  if (bytes.length < 31)
    throw new TraceError("digest", `input must have at least 31 bytes, got ${bytes.length}`);
  return BigInt("0x" + Buffer.from(bytes.subarray(0, 31)).toString("hex"));
}
