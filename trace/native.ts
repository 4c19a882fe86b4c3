import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { packageRoot } from "./package-root.ts";

/**
 * meterproof's native addon (native/*.c, built by `npm install` through
 * scripts/build-native.mjs): Poseidon and Baby Jubjub arithmetic in C, several times faster
 * than circomlibjs' WebAssembly, for the auditor and the checkers that hash every record.
 */
export interface NativeAddon {
  /** Poseidon of 1–16 field elements. */
  poseidon(inputs: readonly bigint[]): bigint;
  /**
   * `inputs.length / arity` hashes of `arity` inputs each, spread over `threads` threads off
   * the JavaScript thread: the caller goes on while the batch is hashed.
   */
  poseidonManyAsync(arity: number, inputs: readonly bigint[], threads: number): Promise<bigint[]>;
  /** Whether k1·P1 + k2·P2 = Q on Baby Jubjub (points affine and on the curve, scalars < 2^512). */
  doubleMulEquals(
    k1: bigint,
    p1: readonly [bigint, bigint],
    k2: bigint,
    p2: readonly [bigint, bigint],
    q: readonly [bigint, bigint],
  ): boolean;
  /** k·P on Baby Jubjub in affine coordinates (P on the curve, 0 ≤ k < 2^512). */
  mul(k: bigint, p: readonly [bigint, bigint]): [bigint, bigint];
}

interface Binding {
  setup(t: number, roundsP: number, c: Buffer, s: Buffer, m: Buffer, p: Buffer): void;
  hash(inputs: readonly bigint[]): bigint;
  hashManyAsync(arity: number, inputs: readonly bigint[], threads: number): Promise<bigint[]>;
  doubleMulEquals(
    k1: bigint,
    p1x: bigint,
    p1y: bigint,
    k2: bigint,
    p2x: bigint,
    p2y: bigint,
    qx: bigint,
    qy: bigint,
  ): boolean;
  mul(k: bigint, px: bigint, py: bigint): [bigint, bigint];
}

interface OptConstants {
  C: string[][];
  S: string[][];
  M: string[][][];
  P: string[][][];
}

/** circomlib's partial rounds per width t = 2…17 (poseidon_opt.js). */
const ROUNDS_P = [56, 57, 56, 60, 60, 63, 64, 63, 60, 66, 60, 65, 70, 60, 64, 68];

const require = createRequire(import.meta.url);

/** Where `npm install` puts the built addon. */
export const NATIVE_ADDON_PATH = join(
  packageRoot(import.meta.url),
  "native",
  "build",
  "Release",
  "meterproof_native.node",
);

function toBuffer(values: readonly string[]): Buffer {
  const buf = Buffer.alloc(values.length * 32);
  values.forEach((hex, i) => {
    let v = BigInt(hex);
    for (let b = 0; b < 32; b++, v >>= 8n) buf[i * 32 + b] = Number(v & 0xffn);
  });
  return buf;
}

/**
 * Loads the addon and hands it circomlibjs' own optimized Poseidon constants (per width, on
 * first use), so the two implementations cannot drift apart. Returns undefined when the addon
 * was not built (no C compiler at install time); callers then use circomlibjs.
 */
export function loadNativeAddon(): NativeAddon | undefined {
  if (!existsSync(NATIVE_ADDON_PATH)) return undefined;
  const binding = require(NATIVE_ADDON_PATH) as Binding;
  const constantsPath = join(
    dirname(require.resolve("circomlibjs")),
    "..",
    "src",
    "poseidon_constants_opt.json",
  );
  let constants: OptConstants | undefined;
  const ready = new Set<number>();
  const ensure = (arity: number): void => {
    if (ready.has(arity)) return;
    const t = arity + 1;
    if (!Number.isInteger(arity) || t < 2 || t > ROUNDS_P.length + 1) {
      throw new RangeError(`poseidon takes 1 to ${ROUNDS_P.length} inputs, got ${arity}`);
    }
    constants ??= JSON.parse(readFileSync(constantsPath, "utf8")) as OptConstants;
    const k = t - 2;
    binding.setup(
      t,
      ROUNDS_P[k]!,
      toBuffer(constants.C[k]!),
      toBuffer(constants.S[k]!),
      toBuffer(constants.M[k]!.flat()),
      toBuffer(constants.P[k]!.flat()),
    );
    ready.add(arity);
  };
  return {
    poseidon(inputs) {
      ensure(inputs.length);
      return binding.hash(inputs);
    },
    poseidonManyAsync(arity, inputs, threads) {
      ensure(arity);
      return binding.hashManyAsync(arity, inputs, threads);
    },
    doubleMulEquals(k1, p1, k2, p2, q) {
      return binding.doubleMulEquals(k1, p1[0], p1[1], k2, p2[0], p2[1], q[0], q[1]);
    },
    mul(k, p) {
      return binding.mul(k, p[0], p[1]);
    },
  };
}

/**
 * The addon for this process, unless METERPROOF_NATIVE=0 asks for the portable code paths
 * (circomlibjs' WebAssembly Poseidon and BigInt curve arithmetic).
 */
export const nativeAddon: NativeAddon | undefined =
  process.env.METERPROOF_NATIVE === "0" ? undefined : loadNativeAddon();
