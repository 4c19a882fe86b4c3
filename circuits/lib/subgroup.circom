pragma circom 2.1.0;

include "circomlib/circuits/babyjub.circom";

/*
 * Membership of Baby Jubjub's prime-order subgroup. The curve's group is Z_8 x Z_l (cofactor
 * 8, l = SUBGROUP_ORDER in trace/constants.ts). A key A outside the order-l subgroup is
 * A0 + T with T a non-zero point of order 2, 4 or 8, and EdDSA's equation S·B8 = R8 + 8·h·A
 * cannot tell A from A0 (8·T = 0): one secret would then sign for up to eight public keys,
 * and so for eight different key hashes. Keys must therefore be in the order-l subgroup.
 */

/** Baby Jubjub's a and d (circomlib babyjub.circom). */
function babyjubA() {
    return 168700;
}

function babyjubD() {
    return 168696;
}

/**
 * The affine sum of two points on Baby Jubjub, with the same (complete) formulas as
 * circomlib's BabyAdd. A witness computation only: it adds no constraint.
 */
function babyAddHint(x1, y1, x2, y2) {
    var a = babyjubA();
    var d = babyjubD();
    var beta = x1 * y2;
    var gamma = y1 * x2;
    var delta = (-a * x1 + y1) * (x2 + y2);
    var tau = beta * gamma;
    var out[2];
    out[0] = (beta + gamma) / (1 + d * tau);
    out[1] = (delta + a * beta - gamma) / (1 - d * tau);
    return out;
}

/**
 * k·(x, y) on Baby Jubjub for a constant k below 2^253 (double and add, most significant
 * bit first). A witness computation only: it adds no constraint.
 */
function babyMulHint(k, x, y) {
    var acc[2] = [0, 1];
    for (var i = 252; i >= 0; i--) {
        acc = babyAddHint(acc[0], acc[1], acc[0], acc[1]);
        if (((k >> i) & 1) == 1) {
            acc = babyAddHint(acc[0], acc[1], x, y);
        }
    }
    return acc;
}

/**
 * InPrimeOrderSubgroup: proves that the point (x, y) lies in Baby Jubjub's subgroup of
 * prime order l, by exhibiting a point B on the curve with 8·B = (x, y).
 *
 * @input  x, y  a point; the caller proves it is on the curve (BabyCheck)
 * No outputs.
 *
 * Why it is sound: the group is Z_8 x Z_l, so 8·B lies in the order-l subgroup for every B
 * on the curve; conversely every point P of that subgroup is 8·B for B = (8^-1 mod l)·P.
 * B is a hint (`<--`), computed in the witness generator as (8^-1 mod l)·(x, y); it is
 * pinned by BabyCheck (B on the curve, so that BabyAdd's complete formulas hold and its
 * division hints are pinned) and by the two equalities 8·B = (x, y). For a point outside
 * the subgroup the hint gives 8·B = the point's order-l part, and no other B can do better.
 *
 * The identity (0, 1) is in the subgroup and passes; callers that must refuse it (EdDSA
 * keys) rely on circomlib's EdDSAPoseidonVerifier, which refuses every point of small order.
 *
 * Cost (--O2): 21 constraints (BabyCheck 3, three BabyDbl of 6 each; the two equalities
 * are linear and merged). The direct check l·(x, y) = identity with EscalarMulAny(251) and
 * the constant bits of l costs 1,781.
 */
template InPrimeOrderSubgroup() {
    signal input x;
    signal input y;

    // (8^-1 mod l): 8 * INV8 = 1 mod l.
    var INV8 = 2394026564107420727433200628387514462817212225638746351800188703329891451411;
    var hint[2] = babyMulHint(INV8, x, y);
    signal Bx;
    signal By;
    Bx <-- hint[0];
    By <-- hint[1];

    component onCurve = BabyCheck();
    onCurve.x <== Bx;
    onCurve.y <== By;

    component dbl1 = BabyDbl();
    dbl1.x <== Bx;
    dbl1.y <== By;
    component dbl2 = BabyDbl();
    dbl2.x <== dbl1.xout;
    dbl2.y <== dbl1.yout;
    component dbl3 = BabyDbl();
    dbl3.x <== dbl2.xout;
    dbl3.y <== dbl2.yout;

    x === dbl3.xout;
    y === dbl3.yout;
}
