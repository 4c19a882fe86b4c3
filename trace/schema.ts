import { isAddress } from "ethers";
import { z } from "zod";
import type { JobRef } from "./hashing.ts";
import {
  BASE_FIELD_MODULUS,
  ENERGY_MJ_BITS,
  FIELD_MODULUS,
  FORMAT_VERSION,
  MAX_INTERVAL_MS,
  MAX_UTIL_BPS,
  MEM_MIB_BITS,
  POWER_MW_BITS,
} from "./constants.ts";

/**
 * Runtime schemas of the three line types of a trace (DESIGN.md, "The trace"). Field
 * elements and other values that may exceed 2^53 are decimal strings on disk and bigints
 * in memory; every rule's message says what is allowed so errors can name field and rule.
 */

const decimal = (max: bigint, maxName: string) =>
  z.string({ error: "must be a decimal integer string" }).transform((v, ctx) => {
    // Parsed once: the auditor reads three of these per record.
    if (/^[0-9]+$/.test(v)) {
      const n = BigInt(v);
      if (n < max) return n;
      ctx.addIssue({ code: "custom", message: `must be below ${maxName}, got ${v}` });
    } else if (/^-[0-9]+$/.test(v)) {
      ctx.addIssue({ code: "custom", message: `must not be negative, got ${v}` });
    } else {
      ctx.addIssue({ code: "custom", message: `must be a decimal integer string, got ${JSON.stringify(v)}` });
    }
    return z.NEVER;
  });

/** A BN254 scalar field element, as a decimal string. */
export const fieldString = decimal(FIELD_MODULUS, "the field modulus r");
/** A BN254 base field element (a proof coordinate), as a decimal string. */
export const baseFieldString = decimal(BASE_FIELD_MODULUS, "the base field modulus q");
/** A uint256, as a decimal string. */
export const uint256String = decimal(1n << 256n, "2^256");

/** A non-negative safe integer below `max + 1`. */
export const uintNumber = (max: number, rule = `at most ${max}`) =>
  z
    .number({ error: "must be a number" })
    .refine((v) => Number.isInteger(v), { message: "must be an integer" })
    .refine((v) => v >= 0, { message: "must not be negative" })
    .refine((v) => v <= max, { message: `must be ${rule}` });

const timeMs = uintNumber(Number.MAX_SAFE_INTEGER, "a unix time in ms below 2^53");
const hex32 = z.string().regex(/^0x[0-9a-f]{64}$/, "must be 0x followed by 64 lowercase hex digits");
const address = z
  .string()
  .regex(/^0x[0-9a-fA-F]{40}$/, "must be a 20-byte hex address")
  .refine((v) => isAddress(v), { message: "must have a valid EIP-55 checksum (or be all lower case)" });

/** Why a version-1 trace cannot be used: said once, in the checker's and the worker's errors. */
export const VERSION_1_REFUSAL =
  "is 1: a version-1 trace's jobTag does not commit to the job's terms (client, token, price, expiry), so the " +
  `escrow cannot pay for it; only version ${FORMAT_VERSION} traces are accepted`;

/**
 * The job's terms as the escrow stores them (IComputeEscrow.Job), which the jobTag commits to:
 * without them, whoever gets the same job id (after a reorg, or before the job is mined)
 * could be paid for the trace at their own token and price.
 */
/** Latest job expiry the escrow accepts (uint40 unix seconds). */
export const MAX_EXPIRY_SECONDS = 2 ** 40 - 1;

export const termsSchema = z.strictObject(
  {
    client: address,
    token: address,
    /** Token units per H100-equivalent hour. */
    price: uint256String,
    /** End of the job's life, unix seconds (the escrow refuses an expiry past 2^40 - 1). */
    expiry: uintNumber(MAX_EXPIRY_SECONDS, "unix seconds below 2^40"),
  },
  { error: "must be the job's terms {client, token, price, expiry}" },
);

export const headerSchema = z.strictObject({
  type: z.literal("header"),
  version: z.literal(FORMAT_VERSION, {
    error: (issue) => (issue.input === 1 ? VERSION_1_REFUSAL : `must be ${FORMAT_VERSION}`),
  }),
  chainId: uint256String,
  escrow: address,
  jobId: uint256String,
  provider: address,
  terms: termsSchema,
  jobTag: fieldString,
  workerKey: z.strictObject({ ax: fieldString, ay: fieldString }),
  workerKeyHash: fieldString,
  device: z.strictObject({
    // A device class is stored on chain as a bytes32 string, so at most 31 ASCII bytes.
    class: z.string().regex(/^[\x20-\x7e]{1,31}$/, "must be 1 to 31 printable ASCII characters"),
    name: z.string().max(256, "must be at most 256 characters"),
    uuidHash: hex32,
  }),
  sampler: z.enum(["nvml", "proc"], { error: 'must be "nvml" or "proc"' }),
  intervalMs: uintNumber(MAX_INTERVAL_MS).refine((v) => v > 0, { message: "must be positive" }),
  segmentSize: uintNumber(1024).refine((v) => v > 0, { message: "must be positive" }),
  command: z.array(z.string()).min(1, "must name at least one argument"),
  commandSha256: hex32,
  startTime: timeMs,
});

const fileDigest = z.strictObject({ path: z.string().min(1, "must not be empty"), sha256: hex32 });

export const recordSchema = z.strictObject({
  type: z.literal("record"),
  seq: uintNumber(Number.MAX_SAFE_INTEGER, "a safe integer"),
  tStart: timeMs,
  tEnd: timeMs,
  utilBps: uintNumber(MAX_UTIL_BPS),
  memMiB: uintNumber(2 ** MEM_MIB_BITS - 1, `below 2^${MEM_MIB_BITS}`),
  powerMw: uintNumber(2 ** POWER_MW_BITS - 1, `below 2^${POWER_MW_BITS}`),
  energyMj: uintNumber(2 ** ENERGY_MJ_BITS - 1, `below 2^${ENERGY_MJ_BITS}`),
  /** SHA-256(SHA-256(stdout) ‖ SHA-256(stderr)) of the job's output during the interval (hashing.ts). */
  outputSha256: hex32,
  /** Output files hashed into the last record (worker `--output`). */
  files: z.array(fileDigest).optional(),
  digest: fieldString,
  hash: fieldString,
  head: fieldString,
});

export const sealSchema = z.strictObject({
  type: z.literal("seal"),
  segment: uintNumber(Number.MAX_SAFE_INTEGER, "a safe integer"),
  firstSeq: uintNumber(Number.MAX_SAFE_INTEGER, "a safe integer"),
  lastSeq: uintNumber(Number.MAX_SAFE_INTEGER, "a safe integer"),
  prevHead: fieldString,
  newHead: fieldString,
  tFirst: timeMs,
  tLast: timeMs,
  usage: uint256String,
  signature: z.strictObject({ r8x: fieldString, r8y: fieldString, s: fieldString }),
});

export type TraceHeader = z.output<typeof headerSchema>;
export type TraceTermsJson = z.input<typeof termsSchema>;
export type TraceRecord = z.output<typeof recordSchema>;
export type TraceSeal = z.output<typeof sealSchema>;
export type TraceLine = TraceHeader | TraceRecord | TraceSeal;

/** JSON shapes as written on disk (bigints as decimal strings). */
export type TraceHeaderJson = z.input<typeof headerSchema>;
export type TraceRecordJson = z.input<typeof recordSchema>;
export type TraceSealJson = z.input<typeof sealSchema>;

/** Turns in-memory bigints into the decimal strings of the file format, recursively. */
export function toJson<T>(value: T): unknown {
  return JSON.parse(JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v)));
}

/** What a header's jobTag is computed from (`computeJobTag`). */
export function headerJobRef(header: TraceHeader): JobRef {
  return {
    chainId: header.chainId,
    escrow: header.escrow,
    jobId: header.jobId,
    provider: header.provider,
    terms: {
      client: header.terms.client,
      token: header.terms.token,
      price: header.terms.price,
      expiry: BigInt(header.terms.expiry),
    },
  };
}
