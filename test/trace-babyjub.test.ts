import { randomBytes } from "node:crypto";
import { buildEddsa } from "circomlibjs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { onCurve, verifyEddsaPoseidon } from "../trace/babyjub.ts";
import { FIELD_MODULUS, SUBGROUP_ORDER } from "../trace/index.ts";

// The verifier (native curve code, or BigInt with METERPROOF_NATIVE=0) must agree with
// circomlibjs on valid and invalid signatures.
describe("EdDSA-Poseidon verification", () => {
  it("agrees with circomlibjs on random keys, messages and tampering", async () => {
    const ed = await buildEddsa();
    await fc.assert(
      fc.asyncProperty(
        fc.bigInt({ min: 0n, max: FIELD_MODULUS - 1n }),
        fc.integer({ min: 0, max: 5 }),
        async (msg, tamper) => {
          const prv = new Uint8Array(randomBytes(32));
          const sig = ed.signPoseidon(prv, ed.F.e(msg));
          const A = ed.prv2pub(prv);
          const pub = [ed.F.toObject(A[0]), ed.F.toObject(A[1])] as const;
          let r8 = [ed.F.toObject(sig.R8[0]), ed.F.toObject(sig.R8[1])] as const;
          let s = sig.S;
          let m = msg;
          if (tamper === 1) m = (msg + 1n) % FIELD_MODULUS;
          if (tamper === 2) s = (s + 1n) % SUBGROUP_ORDER;
          if (tamper === 3) r8 = [r8[0], (r8[1] + 1n) % FIELD_MODULUS];
          if (tamper === 4) s = s + SUBGROUP_ORDER; // the malleable twin: circomlib rejects S >= l
          const expected = tamper === 0 || tamper === 5;
          expect(verifyEddsaPoseidon(pub, m, r8, s)).toBe(expected);
          if (tamper !== 3 && tamper !== 4) {
            expect(ed.verifyPoseidon(ed.F.e(m), { R8: [ed.F.e(r8[0]), ed.F.e(r8[1])], S: s }, A)).toBe(
              expected,
            );
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  it("refuses points off the curve and out-of-field coordinates", () => {
    const base8 = [
      5299619240641551281634865583518297030282874472190772894086521144482721001553n,
      16950150798460657717958625567821834550301663161624707787222815936182638968203n,
    ] as const;
    expect(onCurve(base8)).toBe(true);
    expect(onCurve([base8[0], base8[1] + 1n])).toBe(false);
    expect(onCurve([base8[0] + FIELD_MODULUS, base8[1]])).toBe(false);
    expect(verifyEddsaPoseidon([0n, 1n], 5n, base8, 1n)).toBe(false);
  });
});
