import { TraceError } from "./errors.ts";

/** Reads 32 bytes as a big-endian integer truncated to its first 248 bits (31 bytes): always a field element. */
export function truncateTo248(bytes: Uint8Array): bigint {
  if (bytes.length < 31)
    throw new TraceError("digest", `input must have at least 31 bytes, got ${bytes.length}`);
  return BigInt("0x" + Buffer.from(bytes.subarray(0, 31)).toString("hex"));
}
