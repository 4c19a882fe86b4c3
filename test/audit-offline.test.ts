import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { segmentPayout, type TraceLineJson } from "../trace/index.ts";
import { auditTrace, type AcceptedSegment, type ChainView } from "../verifier/audit.ts";
import { syntheticTrace } from "./fixtures/traces.ts";
import { checkTrace } from "../trace/index.ts";

const dir = mkdtempSync(join(tmpdir(), "meterproof-audit-"));
let lines: TraceLineJson[];

function writeTrace(name: string, ls: readonly unknown[]): string {
  const path = join(dir, name);
  writeFileSync(path, ls.map((l) => JSON.stringify(l) + "\n").join(""));
  return path;
}

/** A chain view in which every sealed segment was accepted and paid by the rate card. */
async function honestChain(ls: readonly unknown[]): Promise<ChainView> {
  const t = await checkTrace(ls);
  const view: ChainView = {
    jobTag: t.header.jobTag,
    pricePerH100Hour: 10n ** 18n,
    accepted: [],
    maxClockSkewMs: 30_000,
  };
  let remaining = 10n ** 18n;
  for (const s of t.segments) {
    const payout = segmentPayout({
      usage: s.usage,
      weightBps: 10_000n,
      price: view.pricePerH100Hour,
      remainingBudget: remaining,
    });
    const a: AcceptedSegment = {
      jobId: t.header.jobId,
      workerKeyHash: t.header.workerKeyHash,
      circuitId: 8,
      prevHead: s.prevHead,
      newHead: s.newHead,
      tFirst: s.tFirst,
      tLast: s.tLast,
      usage: s.usage,
      payout,
      remainingBefore: remaining,
      weightBps: 10_000n,
      blockTimestamp: Math.ceil(s.tLast / 1000) + 12,
      txHash: `0x${"0".repeat(63)}${s.index}`,
    };
    view.accepted.push(a);
    remaining -= payout;
  }
  return view;
}

beforeAll(async () => {
  lines = (await syntheticTrace({ records: 12, segmentSize: 4 })).lines;
});

describe("auditTrace without a chain", () => {
  it("passes a clean trace", async () => {
    const report = await auditTrace(writeTrace("clean.jsonl", lines));
    expect(report.counts.fail).toBe(0);
    expect(report.counts.warn).toBe(0);
    expect(report.ok).toBe(true);
    expect(report.summary).toMatchObject({ records: 12, segments: 3 });
  });

  it("fails a record changed after sealing, naming it", async () => {
    const ls = structuredClone(lines) as unknown as Record<string, unknown>[];
    ls[6]!.utilBps = 10000;
    const report = await auditTrace(writeTrace("changed.jsonl", ls));
    expect(report.ok).toBe(false);
    expect(report.findings.find((f) => f.status === "fail")).toMatchObject({
      check: "integrity",
      line: 7,
      seq: 4,
    });
    // Records after the broken one still count and still get the plausibility checks.
    expect(report.summary.records).toBe(12);
  });

  it("fails a changed record in the unsealed tail, naming it", async () => {
    const ls = structuredClone(lines.slice(0, -1)) as unknown as Record<string, unknown>[];
    ls.at(-2)!.memMiB = 1;
    const report = await auditTrace(writeTrace("tail.jsonl", ls));
    expect(report.findings.filter((f) => f.status === "fail")).toEqual([
      expect.objectContaining({ check: "integrity", line: ls.length - 1, seq: 10 }),
    ]);
    expect(report.summary.records).toBe(12);
  });

  it("fails energy that is impossible for the reported power", async () => {
    const { lines: bad } = await syntheticTrace({
      records: 4,
      segmentSize: 4,
      sample: (seq) => ({
        utilBps: 9000,
        memMiB: 1000,
        powerMw: 400_000,
        energyMj: seq === 2 ? 40_000_000 : 4_000_000,
      }),
    });
    const report = await auditTrace(writeTrace("energy.jsonl", bad));
    expect(report.ok).toBe(false);
    expect(report.findings.filter((f) => f.status === "fail")).toEqual([
      expect.objectContaining({ check: "energy", seq: 2 }),
    ]);
  });

  it("warns on idle power at high utilization, gaps and repeated output", async () => {
    const { lines: odd } = await syntheticTrace({
      records: 4,
      segmentSize: 4,
      gapMs: 60_000,
      sample: () => ({ utilBps: 9000, memMiB: 1000, powerMw: 5_000, energyMj: 50_000 }),
    });
    const ls = structuredClone(odd) as unknown as Record<string, unknown>[];
    const report = await auditTrace(writeTrace("odd.jsonl", ls));
    expect(report.ok).toBe(true);
    const warned = new Set(report.findings.filter((f) => f.status === "warn").map((f) => f.check));
    expect(warned).toEqual(new Set(["idle-power", "gaps"]));
  });
});

describe("auditTrace against a chain view", () => {
  it("passes when every event matches", async () => {
    const report = await auditTrace(writeTrace("chain-ok.jsonl", lines), await honestChain(lines));
    expect(report.ok).toBe(true);
    expect(report.summary.onChainSegments).toBe(3);
  });

  it("fails an event that differs from its seal, a wrong payout, and a segment missing from the trace", async () => {
    const view = await honestChain(lines);
    view.accepted[0]!.usage += 1n;
    view.accepted[1]!.payout += 1n;
    view.accepted.push({ ...view.accepted[2]!, prevHead: 12345n, newHead: 67890n, payout: 0n });
    const report = await auditTrace(writeTrace("chain-bad.jsonl", lines), view);
    const fails = report.findings.filter((f) => f.status === "fail");
    expect(fails).toEqual([
      expect.objectContaining({
        check: "chain",
        segment: 0,
        message: expect.stringMatching(/usage .* on chain/),
      }),
      expect.objectContaining({ check: "payout", segment: 1 }),
      expect.objectContaining({ check: "chain", message: expect.stringMatching(/missing from the trace/) }),
    ]);
  });

  it("fails a segment that ends after the block that accepted it", async () => {
    const view = await honestChain(lines);
    view.accepted[2]!.blockTimestamp = Math.floor(view.accepted[2]!.tFirst / 1000);
    const report = await auditTrace(writeTrace("chain-time.jsonl", lines), view);
    expect(report.findings.filter((f) => f.status === "fail")).toEqual([
      expect.objectContaining({ check: "block-time", segment: 2 }),
    ]);
  });

  it("warns about sealed segments not yet on chain", async () => {
    const view = await honestChain(lines);
    view.accepted.pop();
    const report = await auditTrace(writeTrace("chain-partial.jsonl", lines), view);
    expect(report.ok).toBe(true);
    expect(report.findings).toContainEqual(
      expect.objectContaining({
        check: "chain",
        status: "warn",
        message: expect.stringMatching(/segment 2/),
      }),
    );
  });
});

describe("meterproof audit (CLI)", () => {
  it("exits 0 on a clean trace, 1 on a mismatch, 2 on bad input", async () => {
    const { runCli } = await import("./helpers/cli.ts");
    const clean = runCli(["audit", writeTrace("cli-clean.jsonl", lines)]);
    expect(clean.status).toBe(0);
    expect(clean.stdout).toMatch(/result: ok/);
    const ls = structuredClone(lines) as unknown as Record<string, unknown>[];
    ls[3]!.memMiB = 1;
    const bad = runCli(["audit", writeTrace("cli-bad.jsonl", ls), "--json"]);
    expect(bad.status).toBe(1);
    expect(JSON.parse(bad.stdout)).toMatchObject({
      ok: false,
      findings: expect.arrayContaining([expect.objectContaining({ check: "integrity", line: 4 })]),
    });
    expect(runCli(["audit", join(dir, "missing.jsonl")]).status).toBe(2);
    const noRpc = runCli(["audit", writeTrace("cli-rpc.jsonl", lines), "--rpc", "http://127.0.0.1:9"]);
    expect(noRpc.status).toBe(2);
    // The same words as every chain command.
    expect(noRpc.stderr).toContain("cannot reach the JSON-RPC endpoint --rpc http://127.0.0.1:9");
  });
});

describe("repeated output", () => {
  it("warns when an interval repeats another's output, but not for quiet intervals", async () => {
    const { TraceBuilder, EMPTY_OUTPUT_SHA256, intervalOutputSha256 } = await import("../trace/index.ts");
    const { cpuTestJob, testKey } = await import("./fixtures/traces.ts");
    const out: unknown[] = [];
    const b = TraceBuilder.start(cpuTestJob(8), await testKey(), (l) => out.push(l));
    const same = intervalOutputSha256(new TextEncoder().encode("epoch 1 loss 0.5\n"), new Uint8Array(0));
    const outputs = [EMPTY_OUTPUT_SHA256, EMPTY_OUTPUT_SHA256, same, EMPTY_OUTPUT_SHA256, same];
    for (const [i, outputSha256] of outputs.entries()) {
      await b.addRecord({
        tStart: 1000 + i * 1000,
        tEnd: 2000 + i * 1000,
        utilBps: 5000,
        memMiB: 1,
        powerMw: 0,
        energyMj: 0,
        outputSha256,
      });
    }
    await b.seal();
    const report = await auditTrace(writeTrace("repeat.jsonl", out));
    expect(report.findings.filter((f) => f.status === "warn")).toEqual([
      expect.objectContaining({
        check: "repeated-digest",
        seq: 4,
        message: expect.stringMatching(/same output as record 2/),
      }),
    ]);
  });
});
