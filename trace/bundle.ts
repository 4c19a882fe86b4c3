import { z } from "zod";
import { baseFieldString, fieldString, uint256String, uintNumber } from "./schema.ts";

/**
 * A proof bundle: one proven segment, everything a verifier or the escrow needs. Written by
 * the prover, read by `meterproof verify`, `submit` and the auditor. Field elements are
 * decimal strings on disk.
 */
const hex32 = z.string().regex(/^0x[0-9a-f]{64}$/, "must be 0x followed by 64 lowercase hex digits");
const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, "must be a 20-byte hex address");
// Proof points are over the base field q (larger than the scalar field r of the signals).
const g1 = z.array(baseFieldString).length(3, "must have 3 projective coordinates");
const g2 = z
  .array(z.array(baseFieldString).length(2, "must have 2 limbs"))
  .length(3, "must have 3 projective coordinates");

export const bundleSchema = z.strictObject({
  kind: z.literal("meterproof-segment-bundle"),
  // Version 2: the job carries the terms its tag commits to.
  version: z.literal(2, {
    error: "must be 2 (bundles of version 1 predate job terms in the tag: prove again)",
  }),
  /** Circuit id = segment size N of the MeteredSegment(N) circuit that proved it. */
  circuitId: uintNumber(2 ** 32 - 1, "a uint32").refine((v) => v > 0, { message: "must be positive" }),
  /** SHA-256 of the verification key file the proof was made for. */
  vkeySha256: hex32,
  job: z.strictObject({
    chainId: uint256String,
    escrow: address,
    jobId: uint256String,
    provider: address,
    /** The job's terms, which jobTag commits to (as in the trace header). */
    terms: z.strictObject({
      client: address,
      token: address,
      price: uint256String,
      expiry: uintNumber(2 ** 40 - 1, "unix seconds below 2^40"),
    }),
    jobTag: fieldString,
    workerKeyHash: fieldString,
    deviceClass: z.string(),
  }),
  segment: z.strictObject({
    index: uintNumber(Number.MAX_SAFE_INTEGER, "a safe integer"),
    firstSeq: uintNumber(Number.MAX_SAFE_INTEGER, "a safe integer"),
    lastSeq: uintNumber(Number.MAX_SAFE_INTEGER, "a safe integer"),
    prevHead: fieldString,
    newHead: fieldString,
    tFirst: uintNumber(Number.MAX_SAFE_INTEGER, "a unix time in ms"),
    tLast: uintNumber(Number.MAX_SAFE_INTEGER, "a unix time in ms"),
    usage: uint256String,
  }),
  /** [jobTag, workerKeyHash, prevHead, newHead, meter], the circuit's public inputs in order. */
  publicSignals: z
    .array(fieldString)
    .length(5, "must have 5 entries: jobTag, workerKeyHash, prevHead, newHead, meter"),
  proof: z.strictObject({
    pi_a: g1,
    pi_b: g2,
    pi_c: g1,
    protocol: z.literal("groth16"),
    curve: z.literal("bn128"),
  }),
  /** Arguments of `ComputeEscrow.submitSegment(jobId, submission)`. */
  calldata: z.strictObject({
    jobId: uint256String,
    circuitId: uintNumber(2 ** 32 - 1, "a uint32"),
    workerKeyHash: fieldString,
    prevHead: fieldString,
    newHead: fieldString,
    meter: fieldString,
    /** [a0, a1, b00, b01, b10, b11, c0, c1] as the Solidity verifier takes them. */
    proof: z.array(baseFieldString).length(8, "must have 8 entries"),
  }),
  /** Where the segment came from: the trace's header hash ties the bundle to one trace. */
  trace: z.strictObject({ headerSha256: hex32 }),
});

export type ProofBundle = z.output<typeof bundleSchema>;
export type ProofBundleJson = z.input<typeof bundleSchema>;

/** The bundle format as a JSON Schema document (draft 2020-12), for integrators. */
export function bundleJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(bundleSchema, { io: "input", unrepresentable: "any" }) as Record<string, unknown>;
}

/** A snarkjs Groth16 proof as JSON. */
export interface Groth16ProofJson {
  pi_a: string[];
  pi_b: string[][];
  pi_c: string[];
  protocol: string;
  curve: string;
}

/**
 * The proof as the Solidity verifier takes it, flattened: [a0, a1, b00, b01, b10, b11, c0, c1]
 * with each G2 coordinate's limbs swapped (snarkjs `exportSolidityCallData` order).
 */
export function solidityProof(proof: Groth16ProofJson): string[] {
  const { pi_a: a, pi_b: b, pi_c: c } = proof;
  return [a[0]!, a[1]!, b[0]![1]!, b[0]![0]!, b[1]![1]!, b[1]![0]!, c[0]!, c[1]!];
}
