import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { AbiCoder, keccak256 } from "ethers";
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
    [
      "a header without terms",
      (l: Line[]) => delete l[0]!.terms,
      "terms",
      /must be the job's terms \{client, token, price, expiry\}/,
    ],
    [
      "a bad client address",
      (l: Line[]) => ((l[0]!.terms as Line).client = "0x1234"),
      "terms.client",
      /20-byte hex address/,
    ],
    [
      "a price that is not a decimal string",
      (l: Line[]) => ((l[0]!.terms as Line).price = 5),
      "terms.price",
      /decimal integer string/,
    ],
    [
      "an expiry in milliseconds",
      (l: Line[]) => ((l[0]!.terms as Line).expiry = 2_000_000_000_000),
      "terms.expiry",
      /unix seconds below 2\^40/,
    ],
    [
      "unknown fields in the terms",
      (l: Line[]) => ((l[0]!.terms as Line).budget = "1"),
      "terms",
      /unknown fields budget/,
    ],
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

describe("the header's jobTag commits to the job's terms", () => {
  const TAG_RULE =
    /^line 1: jobTag must equal keccak256\(abi\.encode\(chainId, escrow, jobId, provider, terms\.client, terms\.token, terms\.price, terms\.expiry\)\) mod r = [0-9]+$/;

  it("refuses a tag computed without the terms (the version-1 rule)", async () => {
    const err = await errorOf((l) => {
      const h = l[0]!;
      const encoded = AbiCoder.defaultAbiCoder().encode(
        ["uint256", "address", "uint256", "address"],
        [h.chainId, h.escrow, h.jobId, h.provider],
      );
      h.jobTag = (BigInt(keccak256(encoded)) % FIELD_MODULUS).toString();
    });
    expect(err.field).toBe("jobTag");
    expect(err.message).toMatch(TAG_RULE);
  });

  it.each([
    ["price", (t: Line) => (t.price = (BigInt(t.price as string) + 1n).toString())],
    ["token", (t: Line) => (t.token = "0x0000000000000000000000000000000000000001")],
    ["client", (t: Line) => (t.client = "0x0000000000000000000000000000000000000002")],
    ["expiry", (t: Line) => (t.expiry = (t.expiry as number) + 1)],
  ])("refuses a header whose %s was changed after the tag was computed", async (_field, change) => {
    const err = await errorOf((l) => change(l[0]!.terms as Line));
    expect(err.field).toBe("jobTag");
    expect(err.message).toMatch(TAG_RULE);
  });

  it("refuses a version-1 header, saying why", async () => {
    const err = await errorOf((l) => {
      l[0]!.version = 1;
      delete l[0]!.terms;
    });
    expect(err.field).toBe("version");
    expect(err.message).toBe(
      "line 1: version is 1: a version-1 trace's jobTag does not commit to the job's terms (client, token, " +
        "price, expiry), so the escrow cannot pay for it; only version 2 traces are accepted",
    );
    const other = await errorOf((l) => (l[0]!.version = 3));
    expect(other.message).toBe("line 1: version must be 2");
  });

  it("the builder refuses an expiry the header cannot hold", async () => {
    const job = cpuTestJob(2);
    const key = await testKey();
    const lines: TraceLineJson[] = [];
    expect(() =>
      TraceBuilder.start({ ...job, terms: { ...job.terms, expiry: 1n << 40n } }, key, (l) => lines.push(l)),
    ).toThrow(/terms\.expiry must be unix seconds below 2\^40, got 1099511627776/);
    expect(lines).toHaveLength(0);
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
