/** Protocol constants shared by the worker, prover, verifier, circuit and contracts (DESIGN.md). */

/** Order of the BN254 scalar field: every Poseidon input and public signal is below it. */
export const FIELD_MODULUS = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;

/** BN254's base field modulus q: Groth16 proof coordinates (G1, G2 limbs) are below it. */
export const BASE_FIELD_MODULUS =
  21888242871839275222246405745257275088696311157297823662689037894645226208583n;

/** Order of the prime-order subgroup of BabyJubjub; EdDSA `S` must be below it. */
export const SUBGROUP_ORDER = 2736030358979909402780800718157159386076813972158567259200215660948447373041n;

/**
 * Trace format version written in every header. Version 2 added the job's terms to the
 * header, and its jobTag commits to them; version 1 traces are refused (trace/schema.ts).
 */
export const FORMAT_VERSION = 2;

/** Longest interval one record may cover, in milliseconds (16 bits in the circuit). */
export const MAX_INTERVAL_MS = 65535;

/** Utilization is in basis points: 10000 = fully busy. */
export const MAX_UTIL_BPS = 10000;

/** Times are unix milliseconds below 2^64 (range-checked to 64 bits in the circuit). */
export const TIME_BITS = 64;

/** Bit widths of the telemetry fields; the model refuses larger values so a trace stays sane. */
export const MEM_MIB_BITS = 32;
export const POWER_MW_BITS = 32;
export const ENERGY_MJ_BITS = 48;

/**
 * Domain separator of the seal signature: the worker signs Poseidon(SEAL_DOMAIN, newHead).
 * It is the ASCII string "meterproof.seal.v1" read as a big-endian integer.
 */
export const SEAL_DOMAIN = BigInt("0x" + Buffer.from("meterproof.seal.v1", "ascii").toString("hex"));

/**
 * Domain separator of the worker registration signature: to prove it holds a worker key, the
 * worker signs Poseidon(REGISTER_DOMAIN, binding) (trace/registration.ts, circuits/
 * key_possession.circom). It is the ASCII string "meterproof.register.v1" read as a big-endian
 * integer; differing from SEAL_DOMAIN, a seal signature is never a registration.
 */
export const REGISTER_DOMAIN = BigInt("0x" + Buffer.from("meterproof.register.v1", "ascii").toString("hex"));

/** usage of one fully busy GPU-second, in bps·ms. */
export const USAGE_PER_GPU_SECOND = 10_000_000n;

/** Weight of an H100 in the rate card: weights are H100-equivalent basis points. */
export const H100_WEIGHT_BPS = 10_000n;
