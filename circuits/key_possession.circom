pragma circom 2.1.0;

include "circomlib/circuits/babyjub.circom";
include "circomlib/circuits/eddsaposeidon.circom";
include "circomlib/circuits/poseidon.circom";
include "lib/subgroup.circom";

/**
 * KeyPossession(): proves that whoever registers a worker key holds its secret.
 * WorkerRegistry.registerWorker takes this proof, so nobody can register (and earn with, or
 * squat) a key hash whose secret they do not have. The key signs a message bound to the
 * chain, the registry and the provider, so the proof cannot be replayed for another
 * provider, registry or chain.
 *
 * Public inputs, in this order (snarkjs publicSignals order; there are no outputs):
 * @input  workerKeyHash  Poseidon(Ax, Ay) of the key being registered
 * @input  binding        uint256(keccak256(abi.encode(chainId, registry, provider))) mod r
 *                        (trace/registration.ts `registrationBinding`; the registry computes it)
 *
 * Private inputs:
 * @input  Ax, Ay         the worker's public key (a Baby Jubjub point)
 * @input  S, R8x, R8y    its EdDSA-Poseidon signature of Poseidon(REGISTER_DOMAIN, binding)
 *
 * Proves:
 * - Poseidon(Ax, Ay) = workerKeyHash;
 * - A is on the curve and in the prime-order subgroup (InPrimeOrderSubgroup), and not of
 *   small order (circomlib's verifier): one secret cannot register several key hashes;
 * - R8 is on the curve;
 * - (R8, S) is a valid EdDSA-Poseidon signature by A of Poseidon(REGISTER_DOMAIN, binding),
 *   with S below the subgroup order (circomlib's EdDSAPoseidonVerifier; its `enabled` is the
 *   constant 1, never a witness value).
 *
 * REGISTER_DOMAIN is the ASCII string "meterproof.register.v1" read as a big-endian integer
 * (trace/constants.ts; a test checks the two agree). It differs from the seal's domain, so
 * a seal signature is never a registration and the other way round.
 * Assumptions: none on the inputs; callers (the registry) pass public inputs below r, which
 * the generated Solidity verifier enforces.
 * Every public input takes part in a constraint: workerKeyHash in the key-hash equality,
 * binding in the signed message.
 *
 * Cost (--O2): 4,711 constraints, the same as the segment's SealSignature: 4,217 for the
 * verifier, 2 x 240 (Poseidon(2)), 2 x 3 (on-curve) and 21 (InPrimeOrderSubgroup), less a
 * few that --O2 merges. Fits the 2^14 development powers of tau (it needs 2^13).
 * Pinned by test/circuit-key-possession.test.ts; see docs/circuit.md.
 */
template KeyPossession() {
    signal input workerKeyHash;
    signal input binding;
    signal input Ax;
    signal input Ay;
    signal input S;
    signal input R8x;
    signal input R8y;

    var REGISTER_DOMAIN = 40930017858725681173183669196603928594291205832865329;

    component computedKeyHash = Poseidon(2);
    computedKeyHash.inputs[0] <== Ax;
    computedKeyHash.inputs[1] <== Ay;
    workerKeyHash === computedKeyHash.out;

    component keyOnCurve = BabyCheck();
    keyOnCurve.x <== Ax;
    keyOnCurve.y <== Ay;
    component rOnCurve = BabyCheck();
    rOnCurve.x <== R8x;
    rOnCurve.y <== R8y;

    component message = Poseidon(2);
    message.inputs[0] <== REGISTER_DOMAIN;
    message.inputs[1] <== binding;

    component verifier = EdDSAPoseidonVerifier();
    verifier.enabled <== 1;
    verifier.Ax <== Ax;
    verifier.Ay <== Ay;
    verifier.S <== S;
    verifier.R8x <== R8x;
    verifier.R8y <== R8y;
    verifier.M <== message.out;

    // Last, so that a key outside the subgroup is reported here: the checks above accept
    // such a key when the signature was made for it.
    component keyInSubgroup = InPrimeOrderSubgroup();
    keyInSubgroup.x <== Ax;
    keyInSubgroup.y <== Ay;
}
