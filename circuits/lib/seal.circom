pragma circom 2.1.0;

include "circomlib/circuits/babyjub.circom";
include "circomlib/circuits/eddsaposeidon.circom";
include "circomlib/circuits/poseidon.circom";
include "subgroup.circom";

/**
 * SealSignature: proves that the key whose hash is `workerKeyHash` signed the segment's
 * head, i.e. EdDSA-Poseidon over Poseidon(SEAL_DOMAIN, newHead), as trace/keys.ts `signSeal`.
 *
 * @input  workerKeyHash  public: Poseidon(Ax, Ay) of the registered worker key
 * @input  newHead        public: head of the segment's last enabled record
 * @input  Ax, Ay         the worker's public key (a BabyJubjub point)
 * @input  S, R8x, R8y    the signature
 *
 * SEAL_DOMAIN is the ASCII string "meterproof.seal.v1" read as a big-endian integer
 * (trace/constants.ts; a test checks the two agree).
 * circomlib's EdDSAPoseidonVerifier checks S < subgroup order and A != low-order point;
 * its `enabled` input is the constant 1, never a witness value. A and R8 are also checked
 * to lie on the curve, and A to lie in the prime-order subgroup (InPrimeOrderSubgroup), as
 * trace/babyjub.ts `verifyEddsaPoseidon` does: otherwise a secret that signs for A also
 * signs for A + T with T of order 2, 4 or 8 (8·T = 0 in the verifier's equation), and one
 * secret would stand behind up to eight worker key hashes.
 * Assumptions: none on the inputs; every one is checked here.
 * Cost (--O2): 4,711 constraints: 4,217 for the verifier, 2 x 240 (Poseidon(2)),
 * 2 x 3 (on-curve) and 21 (InPrimeOrderSubgroup), less a few that --O2 merges.
 *
 * `circom --inspect` reports four CA02 warnings ("signals that do not appear in any
 * constraint of the father component"), all inside circomlib templates this one uses, and
 * all harmless (test/circuit-constraints.test.ts pins that these are the only warnings):
 * - CompConstant(subgroup order - 1) and CompConstant(r - 1) (the latter in AliasCheck, in
 *   Num2Bits_strict): each decomposes a sum with Num2Bits(135) and uses only bit 127; the
 *   other bits exist to range-check the sum, which Num2Bits constrains itself.
 * - EscalarMulAny(254) and EscalarMulFix(253, BASE8): the last window's doubled point,
 *   `segments[1].dbl`, would feed a next window that does not exist.
 */
template SealSignature() {
    signal input workerKeyHash;
    signal input newHead;
    signal input Ax;
    signal input Ay;
    signal input S;
    signal input R8x;
    signal input R8y;

    var SEAL_DOMAIN = 9529762402811479096576494443652393280108081;

    component keyHash = Poseidon(2);
    keyHash.inputs[0] <== Ax;
    keyHash.inputs[1] <== Ay;
    workerKeyHash === keyHash.out;

    component keyOnCurve = BabyCheck();
    keyOnCurve.x <== Ax;
    keyOnCurve.y <== Ay;
    component rOnCurve = BabyCheck();
    rOnCurve.x <== R8x;
    rOnCurve.y <== R8y;

    component message = Poseidon(2);
    message.inputs[0] <== SEAL_DOMAIN;
    message.inputs[1] <== newHead;

    component verifier = EdDSAPoseidonVerifier();
    verifier.enabled <== 1;
    verifier.Ax <== Ax;
    verifier.Ay <== Ay;
    verifier.S <== S;
    verifier.R8x <== R8x;
    verifier.R8y <== R8y;
    verifier.M <== message.out;

    // Last, so that a key outside the subgroup is reported here and not earlier: every
    // check above accepts such a key when the signature was made for it.
    component keyInSubgroup = InPrimeOrderSubgroup();
    keyInSubgroup.x <== Ax;
    keyInSubgroup.y <== Ay;
}
