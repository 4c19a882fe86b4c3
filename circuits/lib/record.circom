pragma circom 2.1.0;

include "circomlib/circuits/poseidon.circom";
include "ranges.circom";

/**
 * RecordLink: one slot of a segment. Hashes the record, extends the head chain when the
 * slot is enabled, and meters its usage.
 *
 * @input  enabled   0 or 1 (proven boolean and monotone by MeteredSegment)
 * @input  jobTag    the segment's public job tag (binds the record to chain, escrow, job, provider)
 * @input  prevHead  head after the previous slot (the segment's prevHead for slot 0)
 * @input  seq, tStart, tEnd, utilBps, memMiB, powerMw, energyMj, digest  the record's fields
 * @output head      Poseidon(prevHead, hash) when enabled, else prevHead
 * @output interval  enabled * (tEnd - tStart), in [1, 65535] when enabled, else 0
 * @output usage     interval * utilBps: the record's metered usage in bps·ms, 0 when disabled
 *
 * hash = Poseidon(jobTag, seq, tStart, tEnd, utilBps, memMiB, powerMw, energyMj, digest),
 * exactly trace/hashing.ts `recordHash`; head as trace/hashing.ts `chainHead`.
 * Assumptions: the caller proves `enabled` boolean, and bounds tStart and tEnd to 64 bits
 * (MeteredSegment's telescoping argument). memMiB, powerMw, energyMj and digest enter only
 * the hash, never arithmetic, so they need no range check: the hash chain binds them to the
 * head the worker signed.
 * Cost (--O2): 417 (Poseidon(9)) + 240 (Poseidon(2)) + 1 (head select) + 18 (interval)
 * + 28 (utilBps) + 1 (usage) = 705 constraints.
 */
template RecordLink() {
    signal input enabled;
    signal input jobTag;
    signal input prevHead;
    signal input seq;
    signal input tStart;
    signal input tEnd;
    signal input utilBps;
    signal input memMiB;
    signal input powerMw;
    signal input energyMj;
    signal input digest;
    signal output head;
    signal output interval;
    signal output usage;

    component recordHash = Poseidon(9);
    recordHash.inputs[0] <== jobTag;
    recordHash.inputs[1] <== seq;
    recordHash.inputs[2] <== tStart;
    recordHash.inputs[3] <== tEnd;
    recordHash.inputs[4] <== utilBps;
    recordHash.inputs[5] <== memMiB;
    recordHash.inputs[6] <== powerMw;
    recordHash.inputs[7] <== energyMj;
    recordHash.inputs[8] <== digest;

    component chained = Poseidon(2);
    chained.inputs[0] <== prevHead;
    chained.inputs[1] <== recordHash.out;

    // head = enabled ? chained : prevHead
    head <== prevHead + enabled * (chained.out - prevHead);

    component bounded = BoundedInterval();
    bounded.enabled <== enabled;
    bounded.tStart <== tStart;
    bounded.tEnd <== tEnd;
    interval <== bounded.interval;

    component util = UtilBps();
    util.in <== utilBps;

    usage <== interval * utilBps;
}
