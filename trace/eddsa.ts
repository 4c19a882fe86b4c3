import { blake512 } from "@noble/hashes/blake1.js";
import { buildEddsa, type Eddsa } from "circomlibjs";
import { BASE8, type Affine } from "./babyjub.ts";
import { SUBGROUP_ORDER } from "./constants.ts";
import { nativeAddon } from "./native.ts";
import { poseidon } from "./poseidon.ts";

/**
 * EdDSA-Poseidon key derivation and signing, byte for byte as circomlibjs' eddsa.js does
 * them (and so as circomlib's EdDSAPoseidonVerifier expects): BLAKE-512 of the 32-byte
 * secret, pruned; the public key (s >> 3)·B8; a deterministic nonce r = BLAKE-512(second
 * half of that digest ‖ message) mod l; R8 = r·B8 and S = r + Poseidon(R8, A, message)·s mod l.
 *
 * With the native addon the curve arithmetic runs in C (native/babyjub.c), which spares a
 * worker the second it takes to build circomlibjs' EdDSA; without it circomlibjs does it.
 * Tests check that both give the same keys and signatures.
 */

let eddsaPromise: Promise<Eddsa> | undefined;
/** circomlibjs' EdDSA over Baby Jubjub, built on first use (it takes about a second). */
function circomlibEddsa(): Promise<Eddsa> {
  eddsaPromise ??= buildEddsa();
  return eddsaPromise;
}

/** An EdDSA-Poseidon signature: R8 and S. */
export interface Signature {
  r8: [bigint, bigint];
  s: bigint;
}

function littleEndian(bytes: Uint8Array): bigint {
  let v = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i]!);
  return v;
}

function littleEndian32(v: bigint): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++, v >>= 8n) out[i] = Number(v & 0xffn);
  return out;
}

/** The pruned BLAKE-512 digest of a secret and the signing scalar s it holds. */
function expand(secret: Uint8Array): { digest: Uint8Array; s: bigint } {
  const digest = blake512(secret);
  digest[0]! &= 0xf8;
  digest[31]! &= 0x7f;
  digest[31]! |= 0x40;
  return { digest, s: littleEndian(digest.subarray(0, 32)) };
}

/** The Baby Jubjub public key (Ax, Ay) of a 32-byte secret. */
export async function publicKeyOf(secret: Uint8Array): Promise<[bigint, bigint]> {
  if (nativeAddon) return nativeAddon.mul(expand(secret).s >> 3n, BASE8);
  const ed = await circomlibEddsa();
  const [ax, ay] = ed.prv2pub(secret);
  return [ed.F.toObject(ax), ed.F.toObject(ay)];
}

/**
 * Signs a field element with EdDSA-Poseidon under a 32-byte secret whose public key
 * (`publicKeyOf(secret)`, which a WorkerKey holds) is `pub`: it enters the challenge hash.
 */
export async function signPoseidonWith(secret: Uint8Array, pub: Affine, message: bigint): Promise<Signature> {
  if (nativeAddon) {
    const { digest, s } = expand(secret);
    const nonce = new Uint8Array(64);
    nonce.set(digest.subarray(32, 64), 0);
    nonce.set(littleEndian32(message), 32);
    const r = littleEndian(blake512(nonce)) % SUBGROUP_ORDER;
    const r8 = nativeAddon.mul(r, BASE8);
    const hm = poseidon([r8[0], r8[1], pub[0], pub[1], message]);
    return { r8, s: (r + hm * s) % SUBGROUP_ORDER };
  }
  const ed = await circomlibEddsa();
  const sig = ed.signPoseidon(secret, ed.F.e(message));
  return { r8: [ed.F.toObject(sig.R8[0]), ed.F.toObject(sig.R8[1])], s: sig.S };
}
