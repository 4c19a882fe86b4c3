import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CIRCUITS_DIR, circuitConfig, readManifest, TEST_SEGMENT_SIZE } from "../circuits/index.ts";
import { readR1csHeader, requiredPtauPower } from "../circuits/r1cs.ts";
import { inspectCircuit } from "../setup/compile.ts";
import { SEAL_DOMAIN } from "../trace/index.ts";
import { artifacts } from "./circuit-helpers.ts";

/**
 * Constraint counts of MeteredSegment(N) with --O2: FIXED + PER_RECORD * N. A change to the
 * circuit that moves them must update these numbers (and docs/circuit.md) on purpose.
 */
const FIXED = 4_835;
const PER_RECORD = 771;
const PINNED: Record<number, number> = { 8: 11_003, 64: 54_179 };

/** The four circomlib warnings seal.circom explains; anything else from --inspect fails. */
const EXPECTED_WARNINGS = [
  /^warning\[CA02\]: In template "CompConstant\(2736030358979909402780800718157159386076813972158567259200215660948447373040\)": Array of subcomponent input\/output signals num2bits\.out /,
  /^warning\[CA02\]: In template "CompConstant\(21888242871839275222246405745257275088548364400416034343698204186575808495616\)": Array of subcomponent input\/output signals num2bits\.out /,
  /^warning\[CA02\]: In template "EscalarMulAny\(254\)": Array of subcomponent input\/output signals segments\[1\]\.dbl /,
  /^warning\[CA02\]: In template "EscalarMulFix\(253,/,
];

const dir = mkdtempSync(join(tmpdir(), "meterproof-inspect-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("MeteredSegment constraint counts", () => {
  it.each(circuitConfig.sizes)(
    "size %i: pinned count, fits its powers of tau, and --inspect reports only the explained warnings",
    async (size) => {
      const { r1cs, warnings } = await inspectCircuit(size, join(dir, String(size)));
      const header = readR1csHeader(r1cs);
      expect(header.nConstraints).toBe(PINNED[size]);
      expect(header.nConstraints).toBe(FIXED + PER_RECORD * size);
      expect({ pubIn: header.nPubIn, pubOut: header.nPubOut }).toEqual({ pubIn: 5, pubOut: 0 });
      expect(requiredPtauPower(header)).toBeLessThanOrEqual(size === 64 ? 16 : 14);
      expect(warnings).toHaveLength(EXPECTED_WARNINGS.length);
      for (const pattern of EXPECTED_WARNINGS)
        expect(
          warnings.some((w) => pattern.test(w)),
          String(pattern),
        ).toBe(true);
    },
  );

  it("costs at most 800 constraints per record", () => {
    expect(PER_RECORD).toBeLessThanOrEqual(800);
    expect((PINNED[64]! - PINNED[8]!) / (64 - 8)).toBe(PER_RECORD);
  });

  it("built the test circuit with the pinned count, and its manifest says so", () => {
    expect(readR1csHeader(artifacts.r1cs).nConstraints).toBe(PINNED[TEST_SEGMENT_SIZE]);
    expect(readManifest(TEST_SEGMENT_SIZE).circuit.constraints).toBe(PINNED[TEST_SEGMENT_SIZE]);
  });

  it("uses the SEAL_DOMAIN of trace/constants.ts", () => {
    const source = readFileSync(join(CIRCUITS_DIR, "lib", "seal.circom"), "utf8");
    const match = /var SEAL_DOMAIN = (\d+);/.exec(source);
    expect(match?.[1]).toBe(SEAL_DOMAIN.toString());
    expect(SEAL_DOMAIN).toBe(BigInt("0x" + Buffer.from("meterproof.seal.v1", "ascii").toString("hex")));
  });
});
