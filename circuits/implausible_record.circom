pragma circom 2.1.0;

include "circomlib/circuits/bitify.circom";
include "circomlib/circuits/comparators.circom";
include "lib/record.circom";

/**
 * ImplausibleRecord(N): proves that an accepted segment of at most N records holds a record
 * whose energy cannot be its power over its interval (docs/trust-model.md, "Plausibility
 * challenges"). Anyone holding the trace can prove it; PlausibilityChallenge checks the proof
 * against a segment still in its challenge window and slashes the worker key.
 *
 * @param N  slots; covers every segment of 1..N records, so one circuit of the network's
 *           largest segment size serves all its sizes
 *
 * Public inputs, in this order (snarkjs publicSignals order; there are no outputs):
 * @input  jobTag        the segment's job tag (as in MeteredSegment)
 * @input  prevHead      head before the segment's first record
 * @input  newHead       head after its last record: together with prevHead, the accepted segment
 * @input  loBps, hiBps  the plausible band of energy / (power × time), in bps (e.g. 5000, 15000)
 * @input  slackMicroJ   absolute allowance for rounding (µJ) on both sides of the band
 * @input  reporter      the challenger's address: binds the proof to who gets the reward,
 *                       so a copied transaction pays nobody else
 *
 * Private inputs: enabled[N], firstSeq, tStart, tEnd, utilBps, memMiB, powerMw, energyMj,
 * digest (exactly MeteredSegment's record inputs), and sel[N], a one-hot choice of the record.
 *
 * Proves:
 * - enabled is 1...1 0...0 with slot 0 set, and the enabled records hash and chain from
 *   prevHead to newHead under jobTag (RecordLink, as MeteredSegment): they are the segment's
 *   records, which the worker key signed (Poseidon is collision resistant);
 * - sel is one-hot on an enabled slot;
 * - the chosen record, with interval dt = tEnd - tStart (ms, in [1, 65535] by RecordLink),
 *   power P (mW) and energy E (mJ), breaks the rule: in µJ, with expected = P · dt and
 *   actual = 1000 · E,
 *       10000 · actual > hiBps · expected + 10000 · slackMicroJ        (too much energy), or
 *       10000 · actual + 10000 · slackMicroJ < loBps · expected        (too little), or
 *   P ≥ 2^32 or E ≥ 2^48 (outside the trace format's ranges, which no honest worker signs).
 *
 * Soundness of the comparison: P and E are decomposed canonically (Num2Bits_strict), so the
 * range flags are exact; when both are in range the compared sums are below 2^82 and the
 * parameters are range-checked here (loBps, hiBps < 2^32, slackMicroJ < 2^48), so the
 * 96-bit comparators never see a wrapped value.
 *
 * Cost (--O2): 1,343 + 711 * N constraints for N >= 2 (N = 1: 2,050): 711 per slot (RecordLink
 * 705, the choice 5, the enabled flag 1) and 1,343 per circuit (two strict decompositions 2 x
 * ~390, two 96-bit comparisons, the parameters' ranges 112). N = 8: 7,031; N = 64: 46,847
 * (2^16); N = 128: 92,351 (2^17, as the segment circuit of that size). Pinned by
 * test/circuit-challenge.test.ts.
 */
template ImplausibleRecord(N) {
    assert(N >= 1);

    signal input jobTag;
    signal input prevHead;
    signal input newHead;
    signal input loBps;
    signal input hiBps;
    signal input slackMicroJ;
    signal input reporter;

    signal input enabled[N];
    signal input firstSeq;
    signal input tStart[N];
    signal input tEnd[N];
    signal input utilBps[N];
    signal input memMiB[N];
    signal input powerMw[N];
    signal input energyMj[N];
    signal input digest[N];
    signal input sel[N];

    // Enabled flags: 1...1 0...0 with at least slot 0 set (as MeteredSegment).
    enabled[0] === 1;
    for (var i = 1; i < N; i++) {
        enabled[i] * (enabled[i] - enabled[i - 1]) === 0;
    }

    component links[N];
    signal pickedPower[N];
    signal pickedEnergy[N];
    signal pickedInterval[N];
    signal pickedEnabled[N];
    var power = 0;
    var energy = 0;
    var interval = 0;
    var selSum = 0;
    var selEnabled = 0;
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
        _ <== links[i].usage;

        sel[i] * (sel[i] - 1) === 0;
        pickedPower[i] <== sel[i] * powerMw[i];
        pickedEnergy[i] <== sel[i] * energyMj[i];
        pickedInterval[i] <== sel[i] * links[i].interval;
        pickedEnabled[i] <== sel[i] * enabled[i];
        power += pickedPower[i];
        energy += pickedEnergy[i];
        interval += pickedInterval[i];
        selSum += sel[i];
        selEnabled += pickedEnabled[i];
    }
    newHead === links[N - 1].head;
    // One slot chosen, and it is enabled (its interval is then the proven tEnd - tStart).
    selSum === 1;
    selEnabled === 1;

    // Range flags of the chosen power and energy, from their canonical bits.
    component powerBits = Num2Bits_strict();
    powerBits.in <== power;
    component energyBits = Num2Bits_strict();
    energyBits.in <== energy;
    var powerHigh = 0;
    for (var b = 32; b < 254; b++) powerHigh += powerBits.out[b];
    var energyHigh = 0;
    for (var b = 48; b < 254; b++) energyHigh += energyBits.out[b];
    component powerInRange = IsZero();
    powerInRange.in <== powerHigh;
    component energyInRange = IsZero();
    energyInRange.in <== energyHigh;
    signal inRange <== powerInRange.out * energyInRange.out;

    // The low bits: equal to P and E when in range; bounded either way, so the products below
    // stay far from the field size.
    var powerLow = 0;
    for (var b = 0; b < 32; b++) powerLow += powerBits.out[b] * 2 ** b;
    var energyLow = 0;
    for (var b = 0; b < 48; b++) energyLow += energyBits.out[b] * 2 ** b;

    component loBits = Num2Bits(32);
    loBits.in <== loBps;
    _ <== loBits.out;
    component hiBits = Num2Bits(32);
    hiBits.in <== hiBps;
    _ <== hiBits.out;
    component slackBits = Num2Bits(48);
    slackBits.in <== slackMicroJ;
    _ <== slackBits.out;

    signal expected <== powerLow * interval;
    signal actual10k <== energyLow * 1000 * 10000;
    signal hiBound <== hiBps * expected;
    signal loBound <== loBps * expected;

    component tooMuch = LessThan(96);
    tooMuch.in[0] <== hiBound + slackMicroJ * 10000;
    tooMuch.in[1] <== actual10k;
    component tooLittle = LessThan(96);
    tooLittle.in[0] <== actual10k + slackMicroJ * 10000;
    tooLittle.in[1] <== loBound;

    // Broken when out of range, or in range and outside the band.
    signal outside <== tooMuch.out + tooLittle.out - tooMuch.out * tooLittle.out;
    signal broken <== 1 - inRange + inRange * outside;
    broken === 1;

    // Bind the reporter into the proof (a public input must take part in a constraint).
    signal reporterSquare <== reporter * reporter;
    _ <== reporterSquare;
}
