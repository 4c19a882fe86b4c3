import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SEGMENT_PUBLIC_SIGNALS } from "../circuits/index.ts";
import { traceSegmentWitnessInput } from "../prover/witness-input.ts";
import { packMeter, TraceError } from "../trace/index.ts";
import {
  N,
  inputOf,
  keyA,
  makeTrace,
  signalIndex,
  witness,
  witnessError,
  cloneInput,
} from "./circuit-helpers.ts";

/** The public signals the circuit's witness carries (wires 1..5), as the model computes them. */
async function publicOf(input: Record<string, unknown>): Promise<bigint[]> {
  const w = await witness(input);
  return w.slice(1, 1 + SEGMENT_PUBLIC_SIGNALS.length);
}

describe("MeteredSegment witness against the trace model", () => {
  it.each([1, N - 1, N])("agrees with the model for a segment of %i enabled records", async (count) => {
    const trace = await makeTrace({ records: count });
    const segment = trace.segments[0]!;
    const input = inputOf(trace);
    expect(input.enabled.filter((e) => e === "1")).toHaveLength(count);
    expect(await witnessError(input)).toBeUndefined();
    const key = await keyA;
    expect(await publicOf(input)).toEqual([
      trace.header.jobTag,
      key.keyHash,
      0n,
      segment.newHead,
      packMeter(segment),
    ]);
  });

  it("agrees with the model for a later segment, chained from a non-zero prevHead", async () => {
    const trace = await makeTrace({ records: 2 * N + 3 });
    expect(trace.segments).toHaveLength(3);
    for (const index of [1, 2]) {
      const segment = trace.segments[index]!;
      expect(segment.prevHead).not.toBe(0n);
      const input = traceSegmentWitnessInput(trace, index, N);
      expect(input.firstSeq).toBe(String(index * N));
      const pub = await publicOf(input);
      expect(pub[2]).toBe(segment.prevHead);
      expect(pub[3]).toBe(segment.newHead);
      expect(pub[4]).toBe(packMeter(segment));
    }
  });

  it("agrees with the model on random traces (fast-check)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            length: fc.integer({ min: 1, max: 65_535 }),
            gap: fc.integer({ min: 0, max: 10 ** 9 }),
            utilBps: fc.integer({ min: 0, max: 10_000 }),
          }),
          { minLength: 1, maxLength: N },
        ),
        fc.integer({ min: 0, max: 2 ** 52 }),
        async (samples, startTime) => {
          const trace = await makeTrace({ records: 0, startTime, samples });
          const segment = trace.segments[0]!;
          const pub = await publicOf(inputOf(trace));
          expect(pub[3]).toBe(segment.newHead);
          expect(pub[4]).toBe(packMeter(segment));
        },
      ),
      { numRuns: 8 },
    );
  });

  it("declares the public inputs in the protocol order, as the first witness wires", () => {
    const index = signalIndex();
    expect(SEGMENT_PUBLIC_SIGNALS).toEqual(["jobTag", "workerKeyHash", "prevHead", "newHead", "meter"]);
    SEGMENT_PUBLIC_SIGNALS.forEach((name, i) => expect(index.get(`main.${name}`)).toBe(i + 1));
  });

  it("ignores what disabled slots hold, so the prover may fill them with zeros", async () => {
    const trace = await makeTrace({ records: 3 });
    const input = cloneInput(inputOf(trace));
    input.memMiB[5] = "12345";
    input.digest[7] = "999";
    input.tStart[6] = "77";
    expect(await witnessError(input)).toBeUndefined();
  });
});

describe("segmentWitnessInput", () => {
  it("maps the records of the seal into slots and disables the rest", async () => {
    const trace = await makeTrace({ records: 3 });
    const input = inputOf(trace);
    const r = trace.records;
    expect(input.enabled).toEqual(["1", "1", "1", "0", "0", "0", "0", "0"]);
    expect(input.tStart.slice(0, 3)).toEqual(r.map((x) => String(x.tStart)));
    expect(input.tEnd.slice(3)).toEqual(["0", "0", "0", "0", "0"]);
    expect(input.digest[2]).toBe(r[2]!.digest.toString());
    expect(input.S).toBe(trace.seals[0]!.signature.s.toString());
  });

  it("refuses a segment larger than the circuit, and an unknown segment", async () => {
    const trace = await makeTrace({ records: N + 1, segmentSize: N + 1 });
    expect(() => traceSegmentWitnessInput(trace, 0, N)).toThrow(TraceError);
    expect(() => traceSegmentWitnessInput(trace, 0, N)).toThrow(/records must number 1 to 8/);
    expect(() => traceSegmentWitnessInput(trace, 1, N + 1)).toThrow(
      /segment must be one of the trace's 1 sealed segments/,
    );
  });
});
