import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { TraceError, checkTrace } from "../trace/index.ts";
import { syntheticTrace, testKey } from "./fixtures/traces.ts";

// Property tests: every kind of tampering is caught, and the error names the first line
// whose content no longer follows from what came before it.

type Line = Record<string, unknown>;
let original: Line[];
let foreign: Line[];

async function firstBadLine(lines: readonly unknown[]): Promise<number | "valid"> {
  try {
    await checkTrace(lines);
    return "valid";
  } catch (err) {
    if (!(err instanceof TraceError)) throw err;
    expect(err.location.line).toBeDefined();
    return err.location.line!;
  }
}

const clone = (lines: readonly Line[]): Line[] => structuredClone(lines) as Line[];

beforeAll(async () => {
  // 10 records in segments of 4: seals after records 3, 7 and 9.
  original = (await syntheticTrace({ records: 10, segmentSize: 4 })).lines as unknown as Line[];
  foreign = (await syntheticTrace({ records: 10, segmentSize: 4, key: await testKey(2), job: { jobId: 2n } }))
    .lines as unknown as Line[];
});

describe("tampering with a trace", () => {
  it("the untouched trace is valid", async () => {
    expect(await firstBadLine(original)).toBe("valid");
  });

  it("reordering two lines is caught at the first moved line", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 13 }), fc.integer({ min: 1, max: 13 }), async (i, j) => {
        fc.pre(i !== j);
        const lines = clone(original);
        [lines[i], lines[j]] = [lines[j]!, lines[i]!];
        expect(await firstBadLine(lines)).toBe(Math.min(i, j) + 1);
      }),
      { numRuns: 40 },
    );
  });

  it("dropping any line that has lines after it is caught where the gap shows", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 12 }), async (k) => {
        const lines = clone(original);
        lines.splice(k, 1);
        expect(await firstBadLine(lines)).toBe(k + 1);
      }),
      { numRuns: 13 },
    );
  });

  it("duplicating any line is caught at the copy", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 13 }), async (k) => {
        const lines = clone(original);
        lines.splice(k + 1, 0, structuredClone(lines[k]!));
        expect(await firstBadLine(lines)).toBe(k + 2);
      }),
      { numRuns: 14 },
    );
  });

  it("splicing in lines of another trace is caught at the first spliced line", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 13 }), fc.integer({ min: 1, max: 4 }), async (k, n) => {
        const lines = clone(original);
        const count = Math.min(n, lines.length - k);
        lines.splice(k, count, ...clone(foreign.slice(k, k + count)));
        expect(await firstBadLine(lines)).toBe(k + 1);
      }),
      { numRuns: 30 },
    );
  });

  it("changing any single field of a record or seal is caught at that line", async () => {
    const targets: [number, string][] = [];
    for (const [i, line] of original.entries()) {
      if (i === 0) continue;
      for (const field of Object.keys(line)) if (field !== "type") targets.push([i, field]);
    }
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...targets),
        fc.integer({ min: 1, max: 1000 }),
        async ([i, field], delta) => {
          const lines = clone(original);
          const line = lines[i]!;
          line[field] = tweak(line[field], delta);
          expect(await firstBadLine(lines)).toBe(i + 1);
        },
      ),
      { numRuns: 150 },
    );
  });

  it("changing any header field is caught at the header or at record 0, which hashes it", async () => {
    const fields = Object.keys(original[0]!).filter((f) => f !== "type" && f !== "version");
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...fields),
        fc.integer({ min: 1, max: 1000 }),
        async (field, delta) => {
          const lines = clone(original);
          lines[0]![field] = tweak(lines[0]![field], delta);
          expect([1, 2]).toContain(await firstBadLine(lines));
        },
      ),
      { numRuns: 60 },
    );
  });
});

/** A different value of the same JSON type (or a type change for objects). */
function tweak(value: unknown, delta: number): unknown {
  if (typeof value === "number") return value + delta;
  if (typeof value === "string") {
    if (/^[0-9]+$/.test(value)) return (BigInt(value) + BigInt(delta)).toString();
    if (/^0x[0-9a-fA-F]+$/.test(value)) {
      const last = parseInt(value.at(-1)!, 16);
      return value.slice(0, -1) + ((last + 1 + (delta % 15)) % 16).toString(16);
    }
    return value + "x";
  }
  if (Array.isArray(value)) return [...value, "extra"];
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>);
    const [k, v] = entries[delta % entries.length]!;
    return { ...(value as object), [k]: tweak(v, delta) };
  }
  return delta;
}
