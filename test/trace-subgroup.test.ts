/**
 * Keys outside Baby Jubjub's prime-order subgroup. The curve's group is Z_8 x Z_l: a key A
 * plus a point T of order 2, 4 or 8 passes every check circomlib's EdDSAPoseidonVerifier
 * makes (on the curve, not of small order) and verifies signatures made with A's secret,
 * since the verifier's equation only sees 8·A' = 8·A. One secret would then stand behind up
 * to eight key hashes. trace/babyjub.ts (and the circuits) must refuse such keys.
 */
import { describe, expect, it } from "vitest";
import {
  BASE8,
  IDENTITY_POINT,
  addPoints,
  doubleMulEquals,
  inPrimeOrderSubgroup,
  inPrimeOrderSubgroupBigInt,
  mulPoint,
  onCurve,
  verifyEddsaPoseidon,
  type Affine,
} from "../trace/babyjub.ts";
import { nativeAddon } from "../trace/native.ts";
import {
  FIELD_MODULUS,
  SUBGROUP_ORDER,
  poseidon,
  sealMessage,
  signSeal,
  verifySeal,
  workerKeyFromSecret,
  workerKeyHash,
} from "../trace/index.ts";
import { keyPlusTorsion, signForKey, signingScalar, TORSION } from "./helpers/torsion.ts";

const P = FIELD_MODULUS;
const eq = (a: Affine, b: Affine): boolean => a[0] === b[0] && a[1] === b[1];

/** The smallest k >= 1 with k·T = identity (T of small order). */
function orderOf(t: Affine): number {
  let acc = t;
  for (let k = 1; k <= 8; k++) {
    if (eq(acc, IDENTITY_POINT)) return k;
    acc = addPoints(acc, t);
  }
  return Infinity;
}

/** signForKey as [R8, S]. */
function signFor(secret: Uint8Array, claimed: Affine, message: bigint): { r8: Affine; s: bigint } {
  const sig = signForKey(secret, claimed, message);
  return { r8: [sig.r8x, sig.r8y], s: sig.s };
}

/** The verification before keys had to be in the subgroup (circomlib's checks, nothing more). */
function verifyWithoutSubgroupCheck(pub: Affine, message: bigint, r8: Affine, s: bigint): boolean {
  if (s >= SUBGROUP_ORDER || !onCurve(pub) || !onCurve(r8)) return false;
  const eightA = mulPoint(8n, pub);
  if (eightA[0] === 0n) return false;
  const h = poseidon([r8[0], r8[1], pub[0], pub[1], message]);
  return doubleMulEquals(s, BASE8, 8n * h, [(P - pub[0]) % P, pub[1]], r8);
}

describe("small-order points", () => {
  it("T2 = (0, -1) has order 2; l times a random point has order 8", () => {
    expect(onCurve(TORSION.t2)).toBe(true);
    expect(orderOf(TORSION.t2)).toBe(2);
    expect(onCurve(TORSION.t8)).toBe(true);
    expect(orderOf(TORSION.t8)).toBe(8);
    // Both stay outside the prime-order subgroup.
    expect(inPrimeOrderSubgroupBigInt(TORSION.t2)).toBe(false);
    expect(inPrimeOrderSubgroupBigInt(TORSION.t8)).toBe(false);
  });
});

describe("keys outside the prime-order subgroup", () => {
  const secret = new Uint8Array(32).fill(7);
  const message = 123_456_789n;

  it("a real key is in the subgroup, on both the BigInt and the addon paths", async () => {
    const key = await workerKeyFromSecret(secret);
    const a: Affine = [key.publicKey.ax, key.publicKey.ay];
    expect(inPrimeOrderSubgroupBigInt(a)).toBe(true);
    expect(inPrimeOrderSubgroup(a)).toBe(true);
    if (nativeAddon) expect(nativeAddon.mul(SUBGROUP_ORDER, a)).toEqual([0n, 1n]);
    expect(mulPoint(signingScalar(secret) >> 3n, BASE8)).toEqual(a);
  });

  it.each(["t2", "t4", "t8"] as const)(
    "A + %s: verified a signature by A's secret before, is refused now (while A still verifies)",
    async (name) => {
      const key = await workerKeyFromSecret(secret);
      const a: Affine = [key.publicKey.ax, key.publicKey.ay];
      const shifted = keyPlusTorsion(a, TORSION[name]);
      expect(onCurve(shifted)).toBe(true);
      // A different key, so a different key hash, for the same secret.
      expect(workerKeyHash({ ax: shifted[0], ay: shifted[1] })).not.toBe(key.keyHash);

      const forged = signFor(secret, shifted, message);
      expect(verifyWithoutSubgroupCheck(shifted, message, forged.r8, forged.s)).toBe(true);
      expect(inPrimeOrderSubgroupBigInt(shifted)).toBe(false);
      expect(inPrimeOrderSubgroup(shifted)).toBe(false);
      if (nativeAddon) expect(nativeAddon.mul(SUBGROUP_ORDER, shifted)).not.toEqual([0n, 1n]);
      expect(verifyEddsaPoseidon(shifted, message, forged.r8, forged.s)).toBe(false);
      // Through the seal API too.
      const sealed = signFor(secret, shifted, sealMessage(77n));
      expect(
        await verifySeal({ ax: shifted[0], ay: shifted[1] }, 77n, {
          r8x: sealed.r8[0],
          r8y: sealed.r8[1],
          s: sealed.s,
        }),
      ).toBe(false);

      // The same construction for the plain key is an ordinary signature, and verifies.
      const plain = signFor(secret, a, message);
      expect(verifyEddsaPoseidon(a, message, plain.r8, plain.s)).toBe(true);
      expect(await verifySeal(key.publicKey, 77n, await signSeal(key, 77n))).toBe(true);
    },
  );

  it("answers the same for a key seen before (the verdict is cached) and for many keys", async () => {
    const key = await workerKeyFromSecret(secret);
    const a: Affine = [key.publicKey.ax, key.publicKey.ay];
    const shifted = keyPlusTorsion(a, TORSION.t8);
    for (let i = 0; i < 3; i++) {
      expect(inPrimeOrderSubgroup(a)).toBe(true);
      expect(inPrimeOrderSubgroup(shifted)).toBe(false);
    }
    for (let i = 1n; i <= 20n; i++) {
      const p = mulPoint(i * 1_000_003n, BASE8);
      expect(inPrimeOrderSubgroup(p)).toBe(true);
      expect(inPrimeOrderSubgroup(addPoints(p, TORSION.t2))).toBe(false);
    }
  });
});
