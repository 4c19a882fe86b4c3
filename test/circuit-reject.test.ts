/**
 * Segments that break one rule each. Unless a test says otherwise, the bad segment is
 * hashed, chained and signed by the registered key with heads and meter computed as the
 * circuit computes them (circuitModel), so the only thing that can reject it is the rule
 * under test; the failing template and line are asserted, not just "it failed".
 */
import { describe, expect, it } from "vitest";
import { SUBGROUP_ORDER, sealMessage, workerKeyHash } from "../trace/index.ts";
import {
  N,
  cloneInput,
  failedAt,
  inputOf,
  keyA,
  keyB,
  lineOf,
  makeTrace,
  rawRecords,
  signedInput,
  witnessError,
  type RawRecord,
} from "./circuit-helpers.ts";
import { keyPlusTorsion, signForKey, TORSION } from "./helpers/torsion.ts";

const SEGMENT = "metered_segment.circom";
const EDDSA = "circomlib/circuits/eddsaposeidon.circom";

async function expectFailure(input: Record<string, unknown>, template: string, line?: number): Promise<void> {
  const failure = failedAt(await witnessError(input));
  expect(failure, "the witness must be rejected").toBeDefined();
  expect(failure!.chain.join(" < ")).toContain(template);
  if (line !== undefined) expect(failure!.chain).toContain(`${template}:${line}`);
}

/** Records with one changed by `edit` (a copy). */
function edited(count: number, index: number, edit: (r: RawRecord) => void): RawRecord[] {
  const records = rawRecords(count);
  edit(records[index]!);
  return records;
}

describe("MeteredSegment rejects", () => {
  it("accepts the unedited segments these tests start from (utilization 10000 and 0, intervals 1 and 65535, gap 0)", async () => {
    const records = rawRecords(N);
    expect(records.map((r) => r.utilBps)).toContain(10_000n);
    expect(records.map((r) => r.tEnd - r.tStart)).toEqual(expect.arrayContaining([1n, 65_535n]));
    expect(await witnessError(await signedInput({ records }))).toBeUndefined();
    expect(await witnessError(await signedInput({ records: records.slice(0, 1) }))).toBeUndefined();
  });

  it("utilization 10001, and a negative utilization", async () => {
    await expectFailure(
      await signedInput({ records: edited(3, 1, (r) => void (r.utilBps = 10_001n)) }),
      "UtilBps",
    );
    await expectFailure(
      await signedInput({ records: edited(3, 0, (r) => void (r.utilBps = -1n)) }),
      "UtilBps",
    );
  });

  it("tEnd equal to tStart, and tEnd before tStart", async () => {
    await expectFailure(
      await signedInput({ records: edited(3, 1, (r) => void (r.tEnd = r.tStart)) }),
      "NonZeroIfEnabled",
    );
    await expectFailure(
      await signedInput({ records: edited(1, 0, (r) => void (r.tEnd = r.tStart)) }),
      "NonZeroIfEnabled",
    );
    await expectFailure(
      await signedInput({ records: edited(3, 2, (r) => void (r.tEnd = r.tStart - 1n)) }),
      "BoundedInterval",
    );
  });

  it("an interval over MAX_INTERVAL_MS (65536 ms)", async () => {
    const records = rawRecords(3);
    records[2]!.tEnd = records[2]!.tStart + 65_536n;
    await expectFailure(await signedInput({ records }), "BoundedInterval");
  });

  it("overlapping records (tStart 1 ms before the previous tEnd)", async () => {
    const records = rawRecords(4);
    const shift = records[2]!.tStart - records[1]!.tEnd + 1n;
    records[2]!.tStart -= shift;
    records[2]!.tEnd -= shift;
    await expectFailure(await signedInput({ records }), "GatedGap");
  });

  it("a gap of 2^64 ms or more between records", async () => {
    const records = rawRecords(2);
    records[1]!.tStart += 2n ** 64n;
    records[1]!.tEnd += 2n ** 64n;
    await expectFailure(await signedInput({ records }), "GatedGap");
  });

  it("non-monotone enabled flags (1, 0, 1)", async () => {
    const records = rawRecords(3);
    await expectFailure(
      await signedInput({ records, enabled: [1n, 0n, 1n, 0n, 0n, 0n, 0n, 0n] }),
      "MeteredSegment",
      lineOf(SEGMENT, "enabled[i] * (enabled[i] - enabled[i - 1]) === 0"),
    );
  });

  it("non-boolean enabled flags (2 after 1; 2 in slot 0)", async () => {
    // Slot 1 has a 1 ms interval, so 2 x (tEnd - tStart) still passes the range checks.
    const records = rawRecords(2);
    await expectFailure(
      await signedInput({ records, enabled: [1n, 2n, 0n, 0n, 0n, 0n, 0n, 0n] }),
      "MeteredSegment",
      lineOf(SEGMENT, "enabled[i] * (enabled[i] - enabled[i - 1]) === 0"),
    );
    await expectFailure(
      await signedInput({ records: rawRecords(1), enabled: [2n, 0n, 0n, 0n, 0n, 0n, 0n, 0n] }),
      "MeteredSegment",
      lineOf(SEGMENT, "enabled[0] === 1"),
    );
  });

  it("no enabled record", async () => {
    await expectFailure(
      await signedInput({ records: rawRecords(2), enabled: Array<bigint>(N).fill(0n) }),
      "MeteredSegment",
      lineOf(SEGMENT, "enabled[0] === 1"),
    );
  });

  it("a prevHead other than the one the records chain from", async () => {
    const trace = await makeTrace({ records: N + 2 });
    const input = cloneInput(inputOf(trace, 1));
    expect(await witnessError(input)).toBeUndefined();
    for (const prevHead of [
      "0",
      (trace.segments[1]!.prevHead + 1n).toString(),
      trace.segments[1]!.newHead.toString(),
    ]) {
      await expectFailure(
        { ...input, prevHead },
        "MeteredSegment",
        lineOf(SEGMENT, "newHead === links[N - 1].head"),
      );
    }
  });

  const fields = ["tStart", "tEnd", "utilBps", "memMiB", "powerMw", "energyMj", "digest"] as const;
  it.each(fields.flatMap((field) => [0, 2].map((slot) => [field, slot] as const)))(
    "record field %s of slot %i changed by one (meter kept consistent, signed head kept)",
    async (field, slot) => {
      const records = rawRecords(3);
      const signed = await signedInput({ records });
      const changed = edited(3, slot, (r) => void (r[field] += 1n));
      const forged = {
        ...(await signedInput({ records: changed })),
        newHead: signed.newHead,
        S: signed.S,
        R8x: signed.R8x,
        R8y: signed.R8y,
      };
      await expectFailure(forged, "MeteredSegment", lineOf(SEGMENT, "newHead === links[N - 1].head"));
    },
  );

  it("firstSeq or jobTag changed (records renumbered or moved to another job)", async () => {
    const signed = await signedInput({ records: rawRecords(3), firstSeq: 16n });
    expect(await witnessError(signed)).toBeUndefined();
    const newHeadLine = lineOf(SEGMENT, "newHead === links[N - 1].head");
    await expectFailure({ ...signed, firstSeq: "17" }, "MeteredSegment", newHeadLine);
    await expectFailure({ ...signed, jobTag: "123456790" }, "MeteredSegment", newHeadLine);
  });

  it("a firstSeq of 2^64 or more", async () => {
    await expectFailure(
      await signedInput({ records: rawRecords(2), firstSeq: 2n ** 64n }),
      "MeteredSegment",
      lineOf(SEGMENT, "seqBits.in <== firstSeq"),
    );
  });

  it("a signature by another key", async () => {
    const records = rawRecords(3);
    // Signed by B, claimed as A's (A's key and hash).
    await expectFailure(await signedInput({ records, signer: await keyB }), "EdDSAPoseidonVerifier");
    // B's key and valid signature, but A's workerKeyHash in public.
    const byB = await signedInput({ records, key: await keyB });
    await expectFailure(
      { ...byB, workerKeyHash: (await keyA).keyHash.toString() },
      "SealSignature",
      lineOf("lib/seal.circom", "workerKeyHash === keyHash.out"),
    );
  });

  it.each(["t2", "t8"] as const)(
    "a key plus a point of small order (%s), signed by the key's secret for it (one secret, eight key hashes)",
    async (name) => {
      const key = await keyA;
      const records = rawRecords(3);
      const plain = await signedInput({ records });
      expect(await witnessError(plain)).toBeUndefined();
      const shifted = keyPlusTorsion([key.publicKey.ax, key.publicKey.ay], TORSION[name]);
      const sig = signForKey(key.privateKey, shifted, sealMessage(BigInt(plain.newHead)));
      const forged = {
        ...plain,
        workerKeyHash: workerKeyHash({ ax: shifted[0], ay: shifted[1] }).toString(),
        Ax: shifted[0].toString(),
        Ay: shifted[1].toString(),
        S: sig.s.toString(),
        R8x: sig.r8x.toString(),
        R8y: sig.r8y.toString(),
      };
      // The key hash, on-curve checks and circomlib's verifier all accept it (they run
      // first); the subgroup check, last in SealSignature, refuses it.
      await expectFailure(forged, "InPrimeOrderSubgroup", lineOf("lib/subgroup.circom", "x === dbl3.xout"));
      expect(failedAt(await witnessError(forged))!.chain.join(" < ")).toContain("SealSignature");
    },
  );

  it("a signature whose S is at or above the subgroup order (S + l verifies the same equation)", async () => {
    const input = await signedInput({ records: rawRecords(3) });
    const lifted = { ...input, S: (BigInt(input.S) + SUBGROUP_ORDER).toString() };
    await expectFailure(lifted, "EdDSAPoseidonVerifier", lineOf(EDDSA, "compConstant.out*enabled === 0"));
  });

  it("a signature point R8 off the curve", async () => {
    const input = await signedInput({ records: rawRecords(3) });
    await expectFailure({ ...input, R8x: (BigInt(input.R8x) + 1n).toString() }, "BabyCheck");
  });

  it("usage, tFirst or tLast off by one in the meter", async () => {
    const input = await signedInput({ records: rawRecords(N) });
    const meterLine = lineOf(SEGMENT, "meter === computedTFirst");
    for (const delta of [1n, -1n, 2n ** 64n, -(2n ** 64n), 2n ** 128n, -(2n ** 128n)]) {
      await expectFailure(
        { ...input, meter: (BigInt(input.meter) + delta).toString() },
        "MeteredSegment",
        meterLine,
      );
    }
  });

  it("times of 2^64 or more (aliasing into the packed meter)", async () => {
    // Every time shifted by 2^64: intervals and gaps are unchanged, tFirst is not a 64-bit time.
    const shifted = rawRecords(3).map((r) => ({
      ...r,
      tStart: r.tStart + 2n ** 64n,
      tEnd: r.tEnd + 2n ** 64n,
    }));
    await expectFailure(
      await signedInput({ records: shifted }),
      "MeteredSegment",
      lineOf(SEGMENT, "tFirstBits.in <== computedTFirst"),
    );
    // Only the last tEnd reaches 2^64.
    const late = [{ ...rawRecords(1)[0]!, tStart: 2n ** 64n - 10n, tEnd: 2n ** 64n }];
    await expectFailure(
      await signedInput({ records: late }),
      "MeteredSegment",
      lineOf(SEGMENT, "tLastBits.in <== computedTLast"),
    );
    // A "negative" start (r - 5) with a 10 ms interval that wraps to tEnd = 5.
    const negative = [{ ...rawRecords(1)[0]!, tStart: -5n, tEnd: 5n }];
    await expectFailure(
      await signedInput({ records: negative }),
      "MeteredSegment",
      lineOf(SEGMENT, "tFirstBits.in <== computedTFirst"),
    );
  });
});
