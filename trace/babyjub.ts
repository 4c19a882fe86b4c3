import { FIELD_MODULUS as P, SUBGROUP_ORDER } from "./constants.ts";
import { nativeAddon } from "./native.ts";
import { poseidon } from "./poseidon.ts";

/**
 * EdDSA-Poseidon verification over BabyJubjub: the same checks as circomlibjs'
 * `verifyPoseidon` (and circomlib's EdDSAPoseidonVerifier), because auditors and the prover
 * check every seal of every trace. The curve arithmetic runs in the native addon when it is
 * built (native/babyjub.c), else here in BigInt, which is still about fifteen times faster
 * than circomlibjs. Points use extended twisted Edwards coordinates (X:Y:Z:T) with x = X/Z,
 * y = Y/Z, xy = T/Z.
 */

const A = 168700n;
const D = 168696n;
/** The generator of the prime-order subgroup that keys and signatures use. */
export const BASE8: Affine = [
  5299619240641551281634865583518297030282874472190772894086521144482721001553n,
  16950150798460657717958625567821834550301663161624707787222815936182638968203n,
];

export type Affine = readonly [bigint, bigint];
type Extended = readonly [bigint, bigint, bigint, bigint];

const mod = (v: bigint) => {
  const r = v % P;
  return r < 0n ? r + P : r;
};

/** Whether (x, y) is a point of BabyJubjub: a·x² + y² = 1 + d·x²·y². */
export function onCurve([x, y]: Affine): boolean {
  if (x < 0n || x >= P || y < 0n || y >= P) return false;
  const x2 = mod(x * x);
  const y2 = mod(y * y);
  return mod(A * x2 + y2) === mod(1n + mod(D * x2) * y2);
}

const toExtended = ([x, y]: Affine): Extended => [x, y, 1n, mod(x * y)];
const IDENTITY: Extended = [0n, 1n, 1n, 0n];

// add-2008-hwcd (complete for BabyJubjub, whose d is not a square).
function add([x1, y1, z1, t1]: Extended, [x2, y2, z2, t2]: Extended): Extended {
  const a = mod(x1 * x2);
  const b = mod(y1 * y2);
  const c = mod(mod(D * t1) * t2);
  const d = mod(z1 * z2);
  const e = mod((x1 + y1) * (x2 + y2) - a - b);
  const f = d - c;
  const g = d + c;
  const h = b - A * a;
  return [mod(e * f), mod(g * h), mod(f * g), mod(e * h)];
}

// dbl-2008-hwcd.
function double([x, y, z]: Extended): Extended {
  const a = mod(x * x);
  const b = mod(y * y);
  const c = mod(2n * z * z);
  const d = mod(A * a);
  const e = mod((x + y) * (x + y) - a - b);
  const g = d + b;
  const f = g - c;
  const h = d - b;
  return [mod(e * f), mod(g * h), mod(f * g), mod(e * h)];
}

/** k1·P1 + k2·P2 with one shared doubling chain (Shamir's trick). */
function doubleScalarMul(k1: bigint, p1: Extended, k2: bigint, p2: Extended): Extended {
  const both = add(p1, p2);
  let acc = IDENTITY;
  const bits = Math.max(k1.toString(2).length, k2.toString(2).length);
  for (let i = bits - 1; i >= 0; i--) {
    acc = double(acc);
    const b1 = (k1 >> BigInt(i)) & 1n;
    const b2 = (k2 >> BigInt(i)) & 1n;
    if (b1 && b2) acc = add(acc, both);
    else if (b1) acc = add(acc, p1);
    else if (b2) acc = add(acc, p2);
  }
  return acc;
}

/** Projective equality: X1·Z2 = X2·Z1 and Y1·Z2 = Y2·Z1. */
const equal = ([x1, y1, z1]: Extended, [x2, y2, z2]: Extended) =>
  mod(x1 * z2) === mod(x2 * z1) && mod(y1 * z2) === mod(y2 * z1);

/**
 * Verifies an EdDSA-Poseidon signature (R8, S) of `message` under public key `pub`:
 * S < l, A and R8 on the curve, A not of small order, and S·B8 = R8 + (8·H(R8, A, message))·A with
 * H = Poseidon(R8x, R8y, Ax, Ay, message).
 */
export function verifyEddsaPoseidon(pub: Affine, message: bigint, r8: Affine, s: bigint): boolean {
  if (s < 0n || s >= SUBGROUP_ORDER) return false;
  if (!onCurve(pub) || !onCurve(r8) || message < 0n || message >= P) return false;
  // Like the circuit, refuse keys of small order (8·A with x = 0): with them any message verifies.
  if (double(double(double(toExtended(pub))))[0] === 0n) return false;
  const hm = poseidon([r8[0], r8[1], pub[0], pub[1], message]);
  // S·B8 − 8·hm·A must equal R8.
  const minusPub: Affine = [mod(-pub[0]), pub[1]];
  if (nativeAddon) return nativeAddon.doubleMulEquals(s, BASE8, 8n * hm, minusPub, r8);
  return doubleMulEquals(s, BASE8, 8n * hm, minusPub, r8);
}

/** k1·P1 + k2·P2 = Q in BigInt arithmetic (the native addon's `doubleMulEquals` when it is missing). */
export function doubleMulEquals(k1: bigint, p1: Affine, k2: bigint, p2: Affine, q: Affine): boolean {
  return equal(doubleScalarMul(k1, toExtended(p1), k2, toExtended(p2)), toExtended(q));
}
