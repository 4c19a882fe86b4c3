/**
 * Forged witnesses: `<--` assigns a value without a constraint, so each hint must be pinned
 * by a constraint that a different value breaks. These tests take an honest witness, change
 * one signal, and check the r1cs directly (no witness calculator, which would recompute it).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { FIELD_MODULUS } from "../trace/index.ts";
import {
  N,
  inputOf,
  makeTrace,
  r1csOf,
  signalIndex,
  violatedConstraints,
  witness,
} from "./circuit-helpers.ts";

let full: bigint[];
let partial: bigint[];
let names: Map<string, number>;
/** wire → indices of the constraints it appears in */
let uses: Map<number, number[]>;

beforeAll(async () => {
  full = await witness(inputOf(await makeTrace({ records: N })));
  partial = await witness(inputOf(await makeTrace({ records: 3 })));
  names = signalIndex();
  uses = new Map();
  r1csOf().constraints.forEach((c, i) => {
    for (const lc of [c.a, c.b, c.c]) {
      for (const wire of lc.keys()) {
        const list = uses.get(wire) ?? [];
        if (list.at(-1) !== i) list.push(i);
        uses.set(wire, list);
      }
    }
  });
});

function forged(w: readonly bigint[], wire: number, value: bigint): bigint[] {
  const out = [...w];
  out[wire] = ((value % FIELD_MODULUS) + FIELD_MODULUS) % FIELD_MODULUS;
  return out;
}

/** Whether changing `wire` to `value` (others unchanged) breaks a constraint; checks only the constraints using it. */
function breaks(w: readonly bigint[], wire: number, value: bigint): boolean {
  const r1cs = r1csOf();
  const f = forged(w, wire, value);
  const sub = { ...r1cs, constraints: (uses.get(wire) ?? []).map((i) => r1cs.constraints[i]!) };
  return violatedConstraints(f, sub).length > 0;
}

/** Wires of the named signals matching `pattern` (after --O2, some names share or lost their wire). */
function wiresOf(pattern: RegExp): number[] {
  return [...new Set([...names].filter(([name]) => pattern.test(name)).map(([, wire]) => wire))];
}

/** Every `<--` hint in the circuit (ours and circomlib's), with the signals it assigns. */
const HINTS: [string, RegExp][] = [
  ["Num2Bits in BoundedInterval (interval < 2^16)", /^main\.links\[\d+\]\.bounded\.bits\.out\[\d+\]$/],
  ["Num2Bits in GatedGap (gap < 2^64)", /^main\.gaps\[\d+\]\.bits\.out\[\d+\]$/],
  ["Num2Bits in UtilBps (utilBps < 2^14)", /^main\.links\[\d+\]\.util\.low\.out\[\d+\]$/],
  ["Num2Bits in UtilBps (10000 - utilBps < 2^14)", /^main\.links\[\d+\]\.util\.high\.out\[\d+\]$/],
  ["Num2Bits of firstSeq", /^main\.seqBits\.out\[\d+\]$/],
  ["Num2Bits of tFirst", /^main\.tFirstBits\.out\[\d+\]$/],
  ["Num2Bits of tLast", /^main\.tLastBits\.out\[\d+\]$/],
  ["NonZeroIfEnabled inv (tEnd > tStart)", /^main\.links\[\d+\]\.bounded\.positive\.inv$/],
  [
    "Num2Bits of S in EdDSAPoseidonVerifier (S < subgroup order)",
    /^main\.seal\.verifier\.compConstant\.in\[\d+\]$/,
  ],
  ["Num2Bits in CompConstant", /^main\.seal\.verifier\.compConstant\.num2bits\.out\[\d+\]$/],
  ["Num2Bits_strict of the EdDSA challenge hash", /^main\.seal\.verifier\.h2bits\.out\[\d+\]$/],
  ["IsZero inv (public key not of low order)", /^main\.seal\.verifier\.isZero\.inv$/],
  ["IsZero inv in EscalarMulAny", /^main\.seal\.verifier\.mulAny\.zeropoint\.inv$/],
  ["BabyAdd xout, yout", /^main\.seal\.verifier\.(addRight|dbl[123])\.(xout|yout)$/],
  [
    "MontgomeryAdd lamda",
    /^main\.seal\.verifier\.(mulAny\.segments\[\d+\]\.bits\[\d+\]\.adder|mulFix\.segments\[\d+\]\.adders\[\d+\])\.lamda$/,
  ],
  [
    "MontgomeryDouble lamda",
    /^main\.seal\.verifier\.mulAny\.(segments\[\d+\]\.bits\[\d+\]\.doubler|doublers\[\d+\])\.lamda$/,
  ],
  ["Montgomery2Edwards out", /^main\.seal\.verifier\.mulAny\.m2e\[\d+\]\.out\[\d+\]$/],
  ["InPrimeOrderSubgroup B = (8^-1 mod l)·A", /^main\.seal\.keyInSubgroup\.(Bx|By)$/],
  ["BabyAdd xout, yout in InPrimeOrderSubgroup", /^main\.seal\.keyInSubgroup\.dbl[123]\.(xout|yout)$/],
];

describe("forged witnesses", () => {
  it("start from honest witnesses that satisfy the r1cs", () => {
    expect(violatedConstraints(full)).toEqual([]);
    expect(violatedConstraints(partial)).toEqual([]);
  });

  it("every public input takes part in a constraint", () => {
    for (const name of ["jobTag", "workerKeyHash", "prevHead", "newHead", "meter"]) {
      const wire = names.get(`main.${name}`)!;
      expect(uses.get(wire)?.length ?? 0, name).toBeGreaterThan(0);
      expect(breaks(full, wire, full[wire]! + 1n), name).toBe(true);
    }
  });

  it.each(HINTS)("%s: every hinted signal is pinned", (_what, pattern) => {
    const wires = wiresOf(pattern);
    expect(wires.length, `no kept signal matches ${pattern}`).toBeGreaterThan(0);
    for (const wire of wires) {
      const honest = full[wire]!;
      // A flipped bit for bits; a neighbouring value otherwise.
      const other = honest === 0n || honest === 1n ? 1n - honest : honest + 1n;
      expect(breaks(full, wire, other), `wire ${wire} (${pattern}) accepts ${other}`).toBe(true);
    }
  });

  it("a bit forged to 2 that keeps the sum is refused by its boolean constraint", () => {
    // gap = sum bits[k] 2^k: bits[k] = 2, bits[k+1] = 0 has the same sum as bits[k] = 0, bits[k+1] = 1.
    const bit = (k: number) => names.get(`main.gaps[3].bits.out[${k}]`);
    const k = Array.from({ length: 62 }, (_, i) => i + 1).find((i) => {
      const lo = bit(i);
      const hi = bit(i + 1);
      return lo !== undefined && hi !== undefined && full[lo] === 0n && full[hi] === 1n;
    });
    expect(k, "no 0,1 bit pair to forge").toBeDefined();
    const f = forged(forged(full, bit(k!)!, 2n), bit(k! + 1)!, 0n);
    expect(violatedConstraints(f).length).toBeGreaterThan(0);
  });

  /**
   * The only hints no constraint pins are harmless by construction:
   * - ForceEqualIfEnabled (the EdDSA equation check) feeds `in[1] - in[0]` to IsZero and
   *   requires out = 1; an honest witness has in = 0, where out = 1 - in * inv = 1 for any
   *   inv. A non-zero `in` (a bad signature) cannot reach out = 1: IsZero's in * out === 0.
   * - NonZeroIfEnabled's inv in a disabled slot, where in = 0 and `in * inv === enabled = 0`
   *   holds for any inv; inv enters no other constraint.
   */
  const freeByDesign = (disabledSlots: number[]): number[] =>
    [
      names.get("main.seal.verifier.eqCheckX.isz.inv")!,
      names.get("main.seal.verifier.eqCheckY.isz.inv")!,
      ...disabledSlots.map((i) => names.get(`main.links[${i}].bounded.positive.inv`)!),
    ].sort((a, b) => a - b);

  function freeWires(w: readonly bigint[]): number[] {
    const free: number[] = [];
    for (let wire = 1; wire < w.length; wire++) if (!breaks(w, wire, w[wire]! + 1n)) free.push(wire);
    return free;
  }

  it("every other wire of a full segment's witness is pinned by the others", () => {
    expect(freeWires(full)).toEqual(freeByDesign([]));
  });

  it("in a partly filled segment, the inv hints of disabled slots are free too", () => {
    expect(freeWires(partial)).toEqual(freeByDesign([3, 4, 5, 6, 7]));
  });
});
