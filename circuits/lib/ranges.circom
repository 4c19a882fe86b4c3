pragma circom 2.1.0;

include "circomlib/circuits/bitify.circom";

/*
 * Range checks of the values that enter the meter's arithmetic. Each one is gated by the
 * record's `enabled` flag so that disabled slots may be filled with zeros.
 */

/**
 * NonZeroIfEnabled: proves `in != 0` when `enabled` is 1.
 *
 * @input  enabled  0 or 1 (the caller proves it boolean)
 * @input  in       a field element; must be 0 when `enabled` is 0 (callers gate it)
 * Assumptions: `in` is already `enabled * x`, so a disabled slot has in = 0 and passes.
 * Cost: 1 constraint. Its only hint `inv` is pinned by `in * inv === enabled`: when
 * enabled, inv must be in's inverse, which exists only for in != 0. When disabled, inv
 * is free and has no effect on any other signal.
 */
template NonZeroIfEnabled() {
    signal input enabled;
    signal input in;

    signal inv;
    inv <-- in != 0 ? 1 / in : 0;
    in * inv === enabled;
}

/**
 * BoundedInterval: the length of a record's interval, `tEnd - tStart`, which must lie in
 * [1, 65535] (MAX_INTERVAL_MS) for an enabled record.
 *
 * @input  enabled  0 or 1 (proven boolean by the caller)
 * @input  tStart, tEnd  field elements (bounded to 64 bits by the segment's telescoping argument)
 * @output interval  enabled * (tEnd - tStart), proven to be in [1, 65535] when enabled, else 0
 * Cost: 18 constraints (Num2Bits(16): 16 boolean checks and 1 sum merged with the gating
 * product; 1 for the non-zero proof).
 */
template BoundedInterval() {
    signal input enabled;
    signal input tStart;
    signal input tEnd;
    signal output interval;

    interval <== enabled * (tEnd - tStart);
    // 16 bits: 0 <= interval <= 65535 = MAX_INTERVAL_MS.
    component bits = Num2Bits(16);
    bits.in <== interval;
    _ <== bits.out;
    // interval != 0, so tEnd > tStart.
    component positive = NonZeroIfEnabled();
    positive.enabled <== enabled;
    positive.in <== interval;
}

/**
 * GatedGap: the idle time between the previous record's end and this record's start,
 * which must be non-negative (records never overlap) and below 2^64.
 *
 * @input  enabled  0 or 1 (proven boolean by the caller)
 * @input  prevEnd  tEnd of the previous record
 * @input  tStart   tStart of this record
 * @output gap      enabled * (tStart - prevEnd), proven to be in [0, 2^64) when enabled, else 0
 * Cost: 65 constraints (Num2Bits(64), its sum merged with the gating product).
 */
template GatedGap() {
    signal input enabled;
    signal input prevEnd;
    signal input tStart;
    signal output gap;

    gap <== enabled * (tStart - prevEnd);
    component bits = Num2Bits(64);
    bits.in <== gap;
    _ <== bits.out;
}

/**
 * UtilBps: proves 0 <= utilBps <= 10000 (MAX_UTIL_BPS).
 *
 * @input  in  utilization in basis points
 * Both `in` and `10000 - in` must fit in 14 bits (2^14 = 16384 > 10000); the second check
 * cannot wrap around the field because the first bounds `in` below 2^14.
 * Not gated: a disabled slot carries utilBps = 0, which passes.
 * Cost: 28 constraints with --O2 (two Num2Bits(14), whose sums are linear and merged).
 */
template UtilBps() {
    signal input in;

    component low = Num2Bits(14);
    low.in <== in;
    _ <== low.out;
    component high = Num2Bits(14);
    high.in <== 10000 - in;
    _ <== high.out;
}
