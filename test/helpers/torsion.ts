/**
 * Small-order points of Baby Jubjub, to build keys outside the prime-order subgroup: the
 * group is Z_8 x Z_l, so l·P has order dividing 8 for every point P, and exactly 8 when P
 * generates the whole group.
 */
import { randomBytes } from "node:crypto";
import { blake512 } from "@noble/hashes/blake1.js";
import { addPoints, BASE8, IDENTITY_POINT, mulPoint, type Affine } from "../../trace/babyjub.ts";
import { FIELD_MODULUS, poseidon, SUBGROUP_ORDER, type SealSignature } from "../../trace/index.ts";

/** circomlibjs' `babyJub.Generator`, of order 8·l (8·Generator = Base8). */
export const GENERATOR: Affine = [
  995203441582195749578291179787384436505546430278305826713579947235728471134n,
  5472060717959818805561601436314318772137091100104008585924551046643952123905n,
];

const eq = (a: Affine, b: Affine): boolean => a[0] === b[0] && a[1] === b[1];

/** A point of order exactly 8: l times a random point of the curve, retried until its order is 8. */
function orderEightPoint(): Affine {
  if (!eq(mulPoint(8n, GENERATOR), BASE8)) throw new Error("GENERATOR is not circomlibjs' generator");
  for (;;) {
    const k = BigInt("0x" + randomBytes(32).toString("hex"));
    const t = mulPoint(SUBGROUP_ORDER, mulPoint(k, GENERATOR));
    // Order 8 exactly: 4·T is not yet the identity (8·T always is).
    if (!eq(mulPoint(4n, t), IDENTITY_POINT) && eq(mulPoint(8n, t), IDENTITY_POINT)) return t;
  }
}

const t8 = orderEightPoint();

/** Points of order 2 ((0, -1)), 4 and 8. */
export const TORSION: Readonly<Record<"t2" | "t4" | "t8", Affine>> = {
  t2: [0n, FIELD_MODULUS - 1n],
  t4: mulPoint(2n, t8),
  t8,
};

/** A key shifted by a small-order point: on the curve, not of small order, outside the subgroup. */
export function keyPlusTorsion(key: Affine, torsion: Affine): Affine {
  return addPoints(key, torsion);
}

/** The signing scalar s of a 32-byte secret (pruned BLAKE-512, as circomlibjs): its key is (s >> 3)·B8. */
export function signingScalar(secret: Uint8Array): bigint {
  const digest = blake512(secret);
  digest[0]! &= 0xf8;
  digest[31]! &= 0x7f;
  digest[31]! |= 0x40;
  let s = 0n;
  for (let i = 31; i >= 0; i--) s = (s << 8n) | BigInt(digest[i]!);
  return s;
}

/**
 * The forgery that keys outside the subgroup allow: with the secret of A, sign `message`
 * for the key A' = A + T (T of order dividing 8). R8 = r·B8 and S = r + h'·s with
 * h' = Poseidon(R8, A', message); then S·B8 = R8 + h'·s·B8 = R8 + 8·h'·A = R8 + 8·h'·A',
 * because s = 8·(s >> 3) and 8·T = 0: exactly EdDSA-Poseidon's equation for A'.
 */
export function signForKey(secret: Uint8Array, claimed: Affine, message: bigint): SealSignature {
  const r = BigInt("0x" + randomBytes(40).toString("hex")) % SUBGROUP_ORDER;
  const [r8x, r8y] = mulPoint(r, BASE8);
  const h = poseidon([r8x, r8y, claimed[0], claimed[1], message]);
  return { r8x, r8y, s: (r + h * signingScalar(secret)) % SUBGROUP_ORDER };
}
