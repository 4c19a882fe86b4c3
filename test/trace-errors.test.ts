import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import {
  FIELD_MODULUS,
  TraceBuilder,
  TraceError,
  checkTrace,
  readTrace,
  type TraceLineJson,
} from "../trace/index.ts";
import { cpuTestJob, syntheticTrace, testKey } from "./fixtures/traces.ts";

// Bad input gets an error that names the field and the rule.

type Line = Record<string, unknown>;
let lines: Line[];

beforeAll(async () => {
  lines = (await syntheticTrace({ records: 3, segmentSize: 4 })).lines as unknown as Line[];
});

async function errorOf(mutate: (lines: Line[]) => void): Promise<TraceError> {
  const copy = structuredClone(lines);
  mutate(copy);
  const err = await checkTrace(copy).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TraceError);
  return err as TraceError;
}

describe("trace errors name the field and the rule", () => {
  it.each([
    [
      "a field element at the modulus",
      (l: Line[]) => (l[2]!.digest = FIELD_MODULUS.toString()),
      "digest",
      /below the field modulus r/,
    ],
    ["a negative value", (l: Line[]) => (l[2]!.memMiB = -1), "memMiB", /must not be negative/],
    ["a negative decimal string", (l: Line[]) => (l[2]!.head = "-5"), "head", /must not be negative/],
    ["a non-integer", (l: Line[]) => (l[2]!.powerMw = 1.5), "powerMw", /must be an integer/],
    ["a non-decimal string", (l: Line[]) => (l[2]!.hash = "0x12"), "hash", /decimal integer string/],
    ["utilization over 10000", (l: Line[]) => (l[2]!.utilBps = 10001), "utilBps", /at most 10000/],
    [
      "an interval over 65535 ms",
      (l: Line[]) => (l[2]!.tEnd = (l[2]!.tStart as number) + 65536),
      "tEnd",
      /at most 65535 ms/,
    ],
    ["an empty interval", (l: Line[]) => (l[2]!.tEnd = l[2]!.tStart), "tEnd", /must be after tStart/],
    [
      "overlapping records",
      (l: Line[]) => (l[2]!.tStart = (l[1]!.tEnd as number) - 1),
      "tStart",
      /records overlap/,
    ],
    ["an unknown field", (l: Line[]) => (l[2]!.gpuTemp = 70), "line", /unknown fields gpuTemp/],
    ["a bad address", (l: Line[]) => (l[0]!.provider = "0x1234"), "provider", /20-byte hex address/],
    ["a wrong seq", (l: Line[]) => (l[2]!.seq = 5), "seq", /must be 1/],
  ])("%s", async (_what, mutate, field, rule) => {
    const err = await errorOf(mutate);
    expect(err.field).toBe(field);
    expect(err.rule).toMatch(rule);
    expect(err.message).toContain(field);
  });

  it("places the error at its line and record", async () => {
    const err = await errorOf((l) => (l[3]!.utilBps = 10001));
    expect(err.location).toEqual({ line: 4, seq: 2 });
    expect(err.message).toMatch(/^line 4 \(record 2\): utilBps must be at most 10000/);
  });
});

describe("reading a trace file", () => {
  const dir = mkdtempSync(join(tmpdir(), "meterproof-trace-"));
  const write = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  it("refuses a torn last line, and skips it only when asked", async () => {
    const text =
      lines.map((l) => JSON.stringify(l)).join("\n") + "\n" + JSON.stringify(lines[1]).slice(0, 40);
    const path = write("torn.jsonl", text);
    await expect(readTrace(path)).rejects.toThrow(/line 6: line is torn/);
    const t = await readTrace(path, { allowTornTail: true });
    expect(t.tornLine).toBe(6);
    expect(t.records).toHaveLength(3);
  });

  it("names a line that is not JSON", async () => {
    const path = write("garbage.jsonl", JSON.stringify(lines[0]) + "\n{not json\n");
    await expect(readTrace(path)).rejects.toThrow(/line 2: line must be one JSON object/);
  });

  it("refuses an empty file and a file without a header", async () => {
    await expect(readTrace(write("empty.jsonl", ""))).rejects.toThrow(/header is missing/);
    await expect(readTrace(write("nohdr.jsonl", JSON.stringify(lines[1]) + "\n"))).rejects.toThrow(
      /line 1: type must be "header"/,
    );
  });
});

describe("the builder refuses bad samples before writing them", () => {
  it("names the field of a bad measurement and writes nothing for it", async () => {
    const out: TraceLineJson[] = [];
    const b = TraceBuilder.start(cpuTestJob(2), await testKey(), (l) => out.push(l));
    const good = {
      tStart: 1000,
      tEnd: 2000,
      utilBps: 10,
      memMiB: 1,
      powerMw: 0,
      energyMj: 0,
      outputSha256: "0x" + "00".repeat(32),
    };
    await expect(b.addRecord({ ...good, utilBps: 10001 })).rejects.toThrow(/utilBps must be at most 10000/);
    await expect(b.addRecord({ ...good, tEnd: 1000 + 70_000 })).rejects.toThrow(/tEnd must be 1 to 65535 ms/);
    await b.addRecord(good);
    await expect(b.addRecord({ ...good, tStart: 1500, tEnd: 2500 })).rejects.toThrow(/records overlap/);
    expect(out).toHaveLength(2); // header and the one good record
    expect((await checkTrace(out)).records).toHaveLength(1);
  });
});

// Hashes and heads are recomputed in batches (up to a seal); the error must still be the
// one of the first broken line, whatever comes later in the batch.
describe("batched hash checks report the first broken line", () => {
  let longer: Line[];
  beforeAll(async () => {
    longer = (await syntheticTrace({ records: 20, segmentSize: 16 })).lines as unknown as Line[];
  });

  async function firstError(mutate: (lines: Line[]) => void, drop = 0): Promise<TraceError> {
    const copy = structuredClone(longer).slice(0, longer.length - drop);
    mutate(copy);
    const err: unknown = await checkTrace(copy).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(TraceError);
    return err as TraceError;
  }

  it("a wrong hash before a later line's schema error", async () => {
    const err = await firstError((l) => {
      l[3]!.energyMj = (l[3]!.energyMj as number) + 1;
      l[9]!.utilBps = 10001;
    });
    expect(err.field).toBe("hash");
    expect(err.location).toMatchObject({ line: 4, seq: 2 });
  });

  it("a wrong head before a later wrong hash", async () => {
    const err = await firstError((l) => {
      l[5]!.head = "1";
      l[8]!.memMiB = 7;
    });
    expect(err.field).toBe("head");
    expect(err.location).toMatchObject({ line: 6, seq: 4 });
  });

  it("a wrong hash in the records after the last seal, found when the trace ends", async () => {
    // Drop the final seal: records 16–19 are unsealed and only checked at the end.
    const err = await firstError((l) => (l.at(-2)!.powerMw = 1), 1);
    expect(err.field).toBe("hash");
    expect(err.location).toMatchObject({ seq: 18 });
  });
});
