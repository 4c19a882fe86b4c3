/**
 * The meterproof trace: formats, hashing, signing and segmenting. This module is the plain
 * model of what the `MeteredSegment` circuit computes; the worker, prover and verifier
 * import it and never each other.
 */
export * from "./constants.ts";
export * from "./errors.ts";
export * from "./field.ts";
export * from "./poseidon.ts";
export * from "./keys.ts";
export * from "./registration.ts";
export * from "./schema.ts";
export * from "./hashing.ts";
export * from "./segment.ts";
export * from "./units.ts";
export * from "./jsonl.ts";
export * from "./check.ts";
export * from "./builder.ts";
export * from "./bundle.ts";
