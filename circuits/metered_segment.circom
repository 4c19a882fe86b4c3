pragma circom 2.1.0;

include "circomlib/circuits/bitify.circom";
include "lib/ranges.circom";
include "lib/record.circom";
include "lib/seal.circom";

/**
 * MeteredSegment(N): proves one sealed segment of 1..N trace records (DESIGN.md, "The circuit").
 *
 * @param N  slots per segment (the circuit id); a segment fills slots 0..k-1, k in [1, N]
 *
 * Public inputs, in this order (snarkjs publicSignals order; there are no outputs):
 * @input  jobTag         keccak256(abi.encode(chainId, escrow, jobId, provider, client, token,
 *                        price, expiry)) mod r: binds the segment to one job and its terms
 * @input  workerKeyHash  Poseidon(Ax, Ay) of the key that signed the seal
 * @input  prevHead       head before the segment's first record (0 at the start of a lane)
 * @input  newHead        head after its last record: the signed value
 * @input  meter          tFirst + tLast * 2^64 + usage * 2^128
 *
 * Private inputs:
 * @input  enabled[N]     1 for the slots holding records, then 0 (1...1 0...0, slot 0 set)
 * @input  firstSeq       seq of the first record; record i has seq firstSeq + i, so
 *                        sequence numbers are consecutive by construction
 * @input  tStart[N], tEnd[N], utilBps[N], memMiB[N], powerMw[N], energyMj[N], digest[N]
 *                        the records' fields; disabled slots may hold anything in range,
 *                        zeros by convention (prover/witness-input.ts)
 * @input  Ax, Ay, S, R8x, R8y  worker public key and EdDSA-Poseidon seal signature
 *
 * Proves:
 * - enabled is boolean and monotone with enabled[0] = 1: enabled[i] * (enabled[i] -
 *   enabled[i-1]) = 0 gives enabled[i] in {0, enabled[i-1]}, which by induction from
 *   enabled[0] = 1 is exactly 1...1 0...0;
 * - each enabled record hashes and chains from prevHead to newHead (RecordLink);
 * - 1 <= tEnd - tStart <= 65535, 0 <= tStart[i] - tEnd[i-1] < 2^64 (no overlap), utilBps <= 10000;
 * - tFirst = tStart[0], tLast = tEnd of the last enabled record, usage = sum (tEnd - tStart) * utilBps;
 * - the worker key hashing to workerKeyHash, a point of the prime-order subgroup, signed
 *   Poseidon(SEAL_DOMAIN, newHead) (SealSignature).
 *
 * Why every time is a 64-bit integer although only tFirst and tLast are range-checked:
 * tLast is computed as tFirst + sum(interval[i]) + sum(gap[i]) over enabled slots (the sum
 * telescopes to the last enabled tEnd). Each interval is below 2^16 and each gap below 2^64,
 * so the sum of the at most 2N terms is an integer below 2N * 2^64, far below the field
 * modulus r (~2^254): no term can wrap. With tFirst and tLast both proven below 2^64, every
 * partial sum, i.e. every tStart[i] and tEnd[i] of an enabled record, is an integer in
 * [tFirst, tLast], increasing along the segment. Disabled slots' times enter only their
 * (ignored) hash. Hence meter's three parts are in range (usage < N * 2^30) and the packing
 * tFirst + tLast * 2^64 + usage * 2^128 < r is injective.
 *
 * firstSeq is range-checked to 64 bits so that firstSeq + i never wraps; seq is otherwise
 * bound through the record hash to the signed head.
 *
 * Every public input takes part in a constraint: jobTag in each record hash, workerKeyHash
 * and newHead in SealSignature (newHead also equals the chained head), prevHead in the first
 * chain hash, meter in the packing equation.
 *
 * Cost (--O2): 4,835 + 771 * N constraints: 771 per slot (RecordLink 705, GatedGap 65,
 * enabled flag 1) and 4,835 per segment (SealSignature 4,711, three Num2Bits(64) 195, less
 * slot 0's absent gap and a few merged). N = 8: 11,003; N = 64: 54,179. Pinned by
 * test/circuit-constraints.test.ts; see docs/circuit.md.
 */
template MeteredSegment(N) {
    assert(N >= 1);
    // Usage is at most N * 65535 * 10000 < N * 2^30: it must stay below 2^126 for the packing.
    assert(N < 2 ** 64);

    signal input jobTag;
    signal input workerKeyHash;
    signal input prevHead;
    signal input newHead;
    signal input meter;

    signal input enabled[N];
    signal input firstSeq;
    signal input tStart[N];
    signal input tEnd[N];
    signal input utilBps[N];
    signal input memMiB[N];
    signal input powerMw[N];
    signal input energyMj[N];
    signal input digest[N];
    signal input Ax;
    signal input Ay;
    signal input S;
    signal input R8x;
    signal input R8y;

    // Enabled flags: 1...1 0...0 with at least slot 0 set.
    enabled[0] === 1;
    for (var i = 1; i < N; i++) {
        enabled[i] * (enabled[i] - enabled[i - 1]) === 0;
    }

    component seqBits = Num2Bits(64);
    seqBits.in <== firstSeq;
    _ <== seqBits.out;

    component links[N];
    component gaps[N];
    var computedUsage = 0;
    var elapsed = 0;
    for (var i = 0; i < N; i++) {
        links[i] = RecordLink();
        links[i].enabled <== enabled[i];
        links[i].jobTag <== jobTag;
        links[i].prevHead <== i == 0 ? prevHead : links[i - 1].head;
        links[i].seq <== firstSeq + i;
        links[i].tStart <== tStart[i];
        links[i].tEnd <== tEnd[i];
        links[i].utilBps <== utilBps[i];
        links[i].memMiB <== memMiB[i];
        links[i].powerMw <== powerMw[i];
        links[i].energyMj <== energyMj[i];
        links[i].digest <== digest[i];
        computedUsage += links[i].usage;
        elapsed += links[i].interval;
        if (i > 0) {
            gaps[i] = GatedGap();
            gaps[i].enabled <== enabled[i];
            gaps[i].prevEnd <== tEnd[i - 1];
            gaps[i].tStart <== tStart[i];
            elapsed += gaps[i].gap;
        }
    }
    newHead === links[N - 1].head;

    signal computedTFirst <== tStart[0];
    signal computedTLast <== tStart[0] + elapsed;
    component tFirstBits = Num2Bits(64);
    tFirstBits.in <== computedTFirst;
    component tLastBits = Num2Bits(64);
    tLastBits.in <== computedTLast;
    _ <== tFirstBits.out;
    _ <== tLastBits.out;

    meter === computedTFirst + computedTLast * 2 ** 64 + computedUsage * 2 ** 128;

    component seal = SealSignature();
    seal.workerKeyHash <== workerKeyHash;
    seal.newHead <== newHead;
    seal.Ax <== Ax;
    seal.Ay <== Ay;
    seal.S <== S;
    seal.R8x <== R8x;
    seal.R8y <== R8y;
}
