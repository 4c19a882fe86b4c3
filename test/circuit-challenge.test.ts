import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as snarkjs from "snarkjs";
import { afterAll, describe, expect, it } from "vitest";
import { challengeArtifacts, challengeSpec, readSpecManifest } from "../circuits/index.ts";
import { readR1csHeader, requiredPtauPower } from "../circuits/r1cs.ts";
import {
  DEFAULT_ENERGY_RULE,
  challengeInputFromSegment,
  challengeWitnessInput,
  energyViolation,
  implausibleRecords,
  proveChallenge,
  type ChallengeWitnessInput,
} from "../challenge/index.ts";
import { inspectSpec } from "../setup/compile.ts";
import { TraceError, type CheckedTrace } from "../trace/index.ts";
import { closeProver } from "./helpers/segment-proof.ts";
import {
  EMPTY_RECORD,
  N,
  inputOf,
  makeTrace,
  signedInput,
  witness,
  type RawRecord,
} from "./circuit-helpers.ts";

/**
 * ImplausibleRecord(8): the circuit agrees with the TypeScript energy rule on both sides of
 * every bound, accepts only a chosen, enabled record of the committed segment, and its proofs
 * bind the challenger.
 */

const paths = challengeArtifacts(N);
const REPORTER = "0x90F79bf6EB2c4f870365E785982E1f101E93b906";
const OTHER = "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65";
const rule = DEFAULT_ENERGY_RULE;

const dir = mkdtempSync(join(tmpdir(), "meterproof-challenge-"));
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await closeProver();
});

/** Whether the circuit accepts `input` (computes a witness that satisfies every constraint). */
const accepts = (input: ChallengeWitnessInput) =>
  witness(input, paths).then(
    () => true,
    () => false,
  );

/** One record at 1 W for 1 s (power × time = 1,000 mJ) with the given energy and power. */
function record(i: number, energyMj: bigint, powerMw = 1_000n): RawRecord {
  const tStart = 1_750_000_000_000n + BigInt(i) * 2_000n;
  return {
    ...EMPTY_RECORD,
    tStart,
    tEnd: tStart + 1_000n,
    utilBps: 5_000n,
    powerMw,
    energyMj,
    digest: BigInt(i),
  };
}

/** ImplausibleRecord's input for raw records, choosing `slot`. */
async function inputFor(records: readonly RawRecord[], slot: number): Promise<ChallengeWitnessInput> {
  return challengeInputFromSegment(await signedInput({ records }), slot, rule, REPORTER);
}

describe("ImplausibleRecord(8)", () => {
  it("has the pinned constraint count, seven public inputs, and only circomlib's explained warnings", async () => {
    const header = readR1csHeader(paths.r1cs);
    expect(header.nConstraints).toBe(7_031);
    expect(header.nConstraints).toBe(1_343 + 711 * N);
    expect({ pubIn: header.nPubIn, pubOut: header.nPubOut }).toEqual({ pubIn: 7, pubOut: 0 });
    expect(requiredPtauPower(header)).toBe(13);
    expect(readSpecManifest(challengeSpec(N)).circuit.constraints).toBe(7_031);
    const { warnings } = await inspectSpec(challengeSpec(N), dir);
    // AliasCheck's and LessThan's unused bits: circomlib's own, harmless by construction.
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(
      /^warning\[CA02\]: In template "CompConstant\(21888242871839275222246405745257275088548364400416034343698204186575808495616\)"/,
    );
    expect(warnings[1]).toMatch(/^warning\[CA02\]: In template "LessThan\(96\)"/);
  });

  it("agrees with the TypeScript rule on both sides of every bound", async () => {
    // At 1 W for 1 s, power × time is 1,000 mJ; the band is 500–1,500 mJ widened by 40 mJ.
    const cases: [energy: bigint, power: bigint, broken: boolean][] = [
      [1_540n, 1_000n, false],
      [1_541n, 1_000n, true],
      [460n, 1_000n, false],
      [459n, 1_000n, true],
      [1_000n, 1_000n, false],
      [40n, 0n, false], // no power: only the allowance
      [41n, 0n, true],
      [0n, 0n, false],
    ];
    const records = cases.map(([e, p], i) => record(i, e, p));
    for (const [i, [, , broken]] of cases.entries()) {
      const r = records[i]!;
      const ts = energyViolation(
        {
          seq: i,
          tStart: Number(r.tStart),
          tEnd: Number(r.tEnd),
          powerMw: Number(r.powerMw),
          energyMj: Number(r.energyMj),
        },
        rule,
      );
      expect(ts !== undefined, `TypeScript verdict on case ${i}`).toBe(broken);
      expect(await accepts(await inputFor(records, i)), `circuit verdict on case ${i}`).toBe(broken);
    }
  });

  it("proves values outside the trace format's ranges implausible", async () => {
    for (const [energy, power] of [
      [2n ** 48n, 0n],
      [0n, 2n ** 32n],
      [2n ** 200n, 1_000n],
    ] as const) {
      const records = [record(0, energy, power)];
      expect(await accepts(await inputFor(records, 0))).toBe(true);
      expect(
        energyViolation({ seq: 0, tStart: 0, tEnd: 1000, powerMw: Number(power), energyMj: Number(energy) })
          ?.kind,
      ).toBe("out-of-range");
    }
    // Just inside: 2^48 - 1 mJ at 2^32 - 1 mW is too much energy for one second, not out of range.
    const edge = energyViolation({
      seq: 0,
      tStart: 0,
      tEnd: 1000,
      powerMw: 2 ** 32 - 1,
      energyMj: 2 ** 48 - 1,
    });
    expect(edge?.kind).toBe("too-much");
    expect(await accepts(await inputFor([record(0, 2n ** 48n - 1n, 2n ** 32n - 1n)], 0))).toBe(true);
  });

  it("refuses a record that is not the committed segment's, a disabled or second choice, and a wrong head", async () => {
    const records = [record(0, 1_000n), record(1, 5_000n), record(2, 1_000n)];
    const good = await inputFor(records, 1);
    expect(await accepts(good)).toBe(true);
    const edited = (f: (i: ChallengeWitnessInput) => void) => {
      const copy = structuredClone(good);
      f(copy);
      return accepts(copy);
    };
    // The chosen record's energy changed after the worker signed the head.
    expect(await edited((i) => (i.energyMj[1] = "1000"))).toBe(false);
    // A disabled slot holding an implausible value: it is not part of the chain.
    expect(
      await edited((i) => {
        i.energyMj[5] = "999999";
        i.powerMw[5] = "1000";
        i.tEnd[5] = "1000";
        i.sel = i.sel.map((_, k) => (k === 5 ? "1" : "0"));
      }),
    ).toBe(false);
    // Two records chosen, or none.
    expect(await edited((i) => (i.sel[0] = "1"))).toBe(false);
    expect(await edited((i) => (i.sel = i.sel.map(() => "0")))).toBe(false);
    // Another segment's heads.
    expect(await edited((i) => (i.prevHead = "1"))).toBe(false);
    expect(await edited((i) => (i.newHead = (BigInt(i.newHead) + 1n).toString()))).toBe(false);
    // Enabled flags with a hole (as MeteredSegment, 1...1 0...0).
    expect(await edited((i) => (i.enabled[1] = "0"))).toBe(false);
    // A rule outside the circuit's ranges.
    expect(await edited((i) => (i.hiBps = (2n ** 32n).toString()))).toBe(false);
  });

  describe("on a signed trace", () => {
    let trace: CheckedTrace;

    it("finds the implausible records and proves one, bound to its challenger", async () => {
      // makeTrace's records: 700 W with about 7,000 J each, over intervals of 10 s, 1 ms,
      // 65.5 s, 10 s and 0.5 s: the second, third and fifth are implausible.
      trace = await makeTrace({ records: 5 });
      expect(implausibleRecords(trace.records, rule).map((v) => [v.seq, v.kind])).toEqual([
        [1, "too-much"],
        [2, "too-little"],
        [4, "too-much"],
      ]);
      const { input } = challengeWitnessInput({
        trace,
        segment: 0,
        seq: 2,
        size: N,
        rule,
        reporter: REPORTER,
      });
      const segment = inputOf(trace);
      expect([input.jobTag, input.prevHead, input.newHead]).toEqual([
        segment.jobTag,
        segment.prevHead,
        segment.newHead,
      ]);

      const proof = await proveChallenge({ trace, segment: 0, seq: 2, size: N, rule, reporter: REPORTER });
      expect(proof.publicSignals).toEqual([
        BigInt(segment.jobTag),
        BigInt(segment.prevHead),
        BigInt(segment.newHead),
        5_000n,
        15_000n,
        40_000n,
        BigInt(REPORTER),
      ]);
      const vkey = JSON.parse(readFileSync(paths.vkey, "utf8")) as object;
      const snark = (await snarkjs.groth16.fullProve(input, paths.wasm, paths.zkey)) as {
        proof: snarkjs.Groth16Proof;
        publicSignals: string[];
      };
      expect(await snarkjs.groth16.verify(vkey, snark.publicSignals, snark.proof)).toBe(true);
      const stolen = [...snark.publicSignals];
      stolen[6] = BigInt(OTHER).toString();
      expect(await snarkjs.groth16.verify(vkey, stolen, snark.proof)).toBe(false);
    });

    it("refuses to build a challenge of a plausible record, another segment's record or a bad reporter", () => {
      const target = { trace, segment: 0, size: N, rule, reporter: REPORTER };
      expect(() => challengeWitnessInput({ ...target, seq: 0 })).toThrow(TraceError);
      expect(() => challengeWitnessInput({ ...target, seq: 0 })).toThrow(
        /seq must name a record that breaks the energy rule/,
      );
      expect(() => challengeWitnessInput({ ...target, seq: 7 })).toThrow(
        /seq must be a record of segment 0 \(seq 0\.\.4\)/,
      );
      expect(() => challengeWitnessInput({ ...target, seq: 1, segment: 3 })).toThrow(
        /segment must be one of/,
      );
      expect(() => challengeWitnessInput({ ...target, seq: 1, reporter: "0x12" })).toThrow(
        /reporter must be an address/,
      );
      expect(() => challengeWitnessInput({ ...target, seq: 1, rule: { ...rule, loBps: 10_001 } })).toThrow(
        /rule\.loBps must be an integer from 0 to 10000/,
      );
      // More records than the circuit: refused before any witness is computed.
      expect(() => challengeWitnessInput({ ...target, seq: 1, size: 4 })).toThrow(/must number 1 to 4/);
    });
  });
});
