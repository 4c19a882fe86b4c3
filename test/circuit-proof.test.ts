import { readFileSync } from "node:fs";
import * as snarkjs from "snarkjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SEGMENT_PUBLIC_SIGNALS } from "../circuits/index.ts";
import { releaseCurve } from "../setup/snarkjs-api.ts";
import { FIELD_MODULUS, packMeter } from "../trace/index.ts";
import { artifacts, inputOf, makeTrace } from "./circuit-helpers.ts";

let vkey: unknown;
let proof: snarkjs.Groth16Proof;
let publicSignals: string[];
let expected: string[];

beforeAll(async () => {
  vkey = JSON.parse(readFileSync(artifacts.vkey, "utf8"));
  const trace = await makeTrace({ records: 5 });
  const segment = trace.segments[0]!;
  expected = [
    trace.header.jobTag,
    trace.header.workerKeyHash,
    segment.prevHead,
    segment.newHead,
    packMeter(segment),
  ].map(String);
  ({ proof, publicSignals } = await snarkjs.groth16.fullProve(
    inputOf(trace),
    artifacts.wasm,
    artifacts.zkey,
  ));
});

afterAll(releaseCurve);

describe("Groth16 proofs of MeteredSegment(8)", () => {
  it("prove a segment; the public signals are [jobTag, workerKeyHash, prevHead, newHead, meter]", async () => {
    expect(publicSignals).toEqual(expected);
    expect(await snarkjs.groth16.verify(vkey, publicSignals, proof)).toBe(true);
  });

  it.each(SEGMENT_PUBLIC_SIGNALS.map((name, i) => [name, i] as const))(
    "fail to verify when %s changes",
    async (_name, i) => {
      for (const delta of [1n, FIELD_MODULUS - 1n]) {
        const tampered = [...publicSignals];
        tampered[i] = ((BigInt(tampered[i]!) + delta) % FIELD_MODULUS).toString();
        expect(await snarkjs.groth16.verify(vkey, tampered, proof)).toBe(false);
      }
    },
  );

  it("fail to verify when two public signals swap, or with another segment's signals", async () => {
    const swapped = [...publicSignals];
    [swapped[2], swapped[3]] = [swapped[3]!, swapped[2]!];
    expect(await snarkjs.groth16.verify(vkey, swapped, proof)).toBe(false);
    const other = await makeTrace({ records: 6 });
    const s = other.segments[0]!;
    const otherSignals = [
      other.header.jobTag,
      other.header.workerKeyHash,
      s.prevHead,
      s.newHead,
      packMeter(s),
    ].map(String);
    expect(await snarkjs.groth16.verify(vkey, otherSignals, proof)).toBe(false);
  });

  it("fail to verify a proof with a changed point", async () => {
    const bad = { ...proof, pi_a: [proof.pi_c[0]!, proof.pi_c[1]!, "1"] };
    expect(await snarkjs.groth16.verify(vkey, publicSignals, bad)).toBe(false);
  });
});
