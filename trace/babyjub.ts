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

/** The neutral element (0, 1). */
export const IDENTITY_POINT: Affine = [0n, 1n];

function toAffine([x, y, z]: Extended): Affine {
  const zInv = modInverse(z);
  return [mod(x * zInv), mod(y * zInv)];
}

function modInverse(v: bigint): bigint {
  // Fermat: v^(p-2) = v^-1 for v != 0 mod p.
  let result = 1n;
  let base = mod(v);
  for (let e = P - 2n; e > 0n; e >>= 1n) {
    if (e & 1n) result = mod(result * base);
    base = mod(base * base);
  }
  return result;
}

/** p + q on Baby Jubjub (affine points on the curve). */
export function addPoints(p: Affine, q: Affine): Affine {
  return toAffine(add(toExtended(p), toExtended(q)));
}

/** k·p on Baby Jubjub for k >= 0 (an affine point on the curve). */
export function mulPoint(k: bigint, p: Affine): Affine {
  if (k < 0n) throw new RangeError(`scalar must be >= 0, got ${k}`);
  if (nativeAddon && k < 2n ** 512n) return nativeAddon.mul(k, p);
  return toAffine(doubleScalarMul(k, toExtended(p), 0n, IDENTITY));
}

/** Verdicts of `inPrimeOrderSubgroup` by key: a trace has one key for all its seals. */
const subgroupVerdicts = new Map<string, boolean>();
const SUBGROUP_CACHE_LIMIT = 1024;
let lastVerdict: { x: bigint; y: bigint; verdict: boolean } | undefined;

/**
 * Whether a point on the curve lies in the subgroup of prime order l (SUBGROUP_ORDER):
 * l·P is the identity. Baby Jubjub's group is Z_8 x Z_l; a key outside the order-l subgroup
 * is A + T with T of order 2, 4 or 8, and since EdDSA's equation multiplies the key by 8,
 * the holder of A's secret could sign for every such A + T (up to eight key hashes for one
 * secret). The circuit refuses them too (circuits/lib/subgroup.circom). About 0.2 ms on the
 * addon, 6 ms in BigInt; verdicts are cached per point, so a trace pays it once.
 */
export function inPrimeOrderSubgroup(point: Affine): boolean {
  // The key of the last call first: a trace's seals all have the same one.
  if (lastVerdict && lastVerdict.x === point[0] && lastVerdict.y === point[1]) return lastVerdict.verdict;
  if (!onCurve(point)) return false;
  const id = `${point[0]},${point[1]}`;
  let verdict = subgroupVerdicts.get(id);
  if (verdict === undefined) {
    verdict = nativeAddon
      ? (([x, y]) => x === 0n && y === 1n)(nativeAddon.mul(SUBGROUP_ORDER, point))
      : inPrimeOrderSubgroupBigInt(point);
    if (subgroupVerdicts.size >= SUBGROUP_CACHE_LIMIT) subgroupVerdicts.clear();
    subgroupVerdicts.set(id, verdict);
  }
  lastVerdict = { x: point[0], y: point[1], verdict };
  return verdict;
}

/** l·P = identity in BigInt arithmetic, for P on the curve (the addon's `mul` when it is missing). */
export function inPrimeOrderSubgroupBigInt(point: Affine): boolean {
  return equal(doubleScalarMul(SUBGROUP_ORDER, toExtended(point), 0n, IDENTITY), IDENTITY);
}

/**
 * Verifies an EdDSA-Poseidon signature (R8, S) of `message` under public key `pub`:
 * S < l, A and R8 on the curve, A not of small order, A in the prime-order subgroup, and
 * S·B8 = R8 + (8·H(R8, A, message))·A with H = Poseidon(R8x, R8y, Ax, Ay, message).
 * circomlibjs' verifyPoseidon lacks the subgroup rule; the circuit has it.
 */
export function verifyEddsaPoseidon(pub: Affine, message: bigint, r8: Affine, s: bigint): boolean {
  if (s < 0n || s >= SUBGROUP_ORDER) return false;
  if (!onCurve(pub) || !onCurve(r8) || message < 0n || message >= P) return false;
  // Like the circuit, refuse keys of small order (8·A with x = 0): with them any message verifies.
  if (double(double(double(toExtended(pub))))[0] === 0n) return false;
  // And keys outside the prime-order subgroup: A + T verifies whatever A's secret signs for it.
  if (!inPrimeOrderSubgroup(pub)) return false;
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
