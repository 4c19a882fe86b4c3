import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The Node-API Poseidon in native/poseidon.c (built by `npm install`, see scripts/build-native.mjs). */
export interface NativePoseidon {
  /** Poseidon of 1–16 field elements. */
  hash(inputs: readonly bigint[]): bigint;
  /** `inputs.length / arity` hashes of `arity` inputs each, spread over `threads` threads. */
  hashMany(arity: number, inputs: readonly bigint[], threads: number): bigint[];
}

interface Addon {
  setup(t: number, roundsP: number, c: Buffer, s: Buffer, m: Buffer, p: Buffer): void;
  hash(inputs: readonly bigint[]): bigint;
  hashMany(arity: number, inputs: readonly bigint[], threads: number): bigint[];
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
export const NATIVE_ADDON_PATH = join(
  dirname(fileURLToPath(import.meta.url)),
  "..",
  "native",
  "build",
  "Release",
  "poseidon.node",
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
 * Loads the native Poseidon and gives it circomlibjs' own optimized constants, so the two
 * implementations cannot drift apart. Returns undefined when the addon was not built (no C
 * compiler at install time); callers then use circomlibjs' WebAssembly Poseidon.
 */
export function loadNativePoseidon(): NativePoseidon | undefined {
  if (!existsSync(NATIVE_ADDON_PATH)) return undefined;
  const addon = require(NATIVE_ADDON_PATH) as Addon;
  const constantsPath = join(dirname(require.resolve("circomlibjs")), "..", "src", "poseidon_constants_opt.json");
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
    addon.setup(
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
    hash(inputs) {
      ensure(inputs.length);
      return addon.hash(inputs);
    },
    hashMany(arity, inputs, threads) {
      ensure(arity);
      return addon.hashMany(arity, inputs, threads);
    },
  };
}
