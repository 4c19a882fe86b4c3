import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseEther } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readJobChainView } from "../chain/audit-view.ts";
import { submissionFromBundle, toSubmissionInput } from "../chain/submission.ts";
import { loadProvingCircuit } from "../prover/load-circuit.ts";
import { proveTrace } from "../prover/prove-trace.ts";
import {
  TraceBuilder,
  sha256Hex,
  segmentPayout,
  type ProofBundleJson,
  type TraceLineJson,
} from "../trace/index.ts";
import { auditTrace, type ChainView } from "../verifier/audit.ts";
import { closeVerifier } from "../verifier/verify-bundle.ts";
import {
  baseFixture,
  createJobAt,
  jobTerms,
  registerWorker,
  T0,
  type BaseFixture,
} from "./helpers/escrow-fixture.ts";
import { testWorkerKey } from "./helpers/segment-proof.ts";

// The auditor against a real chain: a job proven and paid on the in-process Hardhat network,
// then audited with the honest trace and with traces that disagree with the chain.

const dir = mkdtempSync(join(tmpdir(), "meterproof-audit-chain-"));
const START = T0 + 1000; // job creation time (s); unique to this file
let f: BaseFixture;
let view: ChainView;
let honest: TraceLineJson[];
let equivocating: TraceLineJson[];

async function lanes(
  key: Awaited<ReturnType<typeof testWorkerKey>>,
  jobId: bigint,
  utilOf: (seq: number) => number,
) {
  const lines: TraceLineJson[] = [];
  const b = TraceBuilder.start(
    {
      chainId: f.chainId,
      escrow: f.escrowAddress,
      jobId,
      provider: f.provider.address,
      terms: jobTerms(f, { expiry: START + 86_400 }),
      device: { class: "H100", name: "NVIDIA H100 80GB HBM3", uuidHash: sha256Hex("GPU-audit") },
      sampler: "nvml",
      intervalMs: 10_000,
      segmentSize: 8,
      command: ["train"],
      startTime: START * 1000 + 500,
    },
    key,
    (l) => lines.push(l),
  );
  let t = START * 1000 + 1000;
  for (let seq = 0; seq < 12; seq++) {
    const utilBps = utilOf(seq);
    const powerMw = 100_000 + utilBps * 50;
    await b.addRecord({
      tStart: t,
      tEnd: t + 10_000,
      utilBps,
      memMiB: 1000,
      powerMw,
      energyMj: powerMw * 10,
      outputSha256: sha256Hex(`o${seq}`),
    });
    t += 10_000;
  }
  await b.seal();
  return lines;
}

function write(name: string, lines: readonly unknown[]): string {
  const path = join(dir, name);
  writeFileSync(path, lines.map((l) => JSON.stringify(l) + "\n").join(""));
  return path;
}

beforeAll(async () => {
  f = await baseFixture();
  const key = await testWorkerKey("auditor");
  await registerWorker(f, f.provider, key);
  const jobId = await createJobAt(f, {
    at: START,
    provider: f.provider.address,
    budget: parseEther("100"),
    expiry: START + 86_400,
  });
  honest = await lanes(key, jobId, (seq) => 6000 + seq * 100);
  // Same key, job and first segment; the second segment claims other utilization, signed again.
  equivocating = await lanes(key, jobId, (seq) => (seq < 8 ? 6000 + seq * 100 : 9999));

  const { written } = await proveTrace({
    tracePath: write("honest.jsonl", honest),
    outDir: join(dir, "bundles"),
    circuit: await loadProvingCircuit(8),
  });
  const submissions = written.map((p) =>
    toSubmissionInput(
      submissionFromBundle(JSON.parse(readFileSync(p, "utf8")) as ProofBundleJson).submission,
    ),
  );
  await f.chain.setNextTimestamp(START + 300);
  await (
    await f.d.escrow
      .connect(f.provider)
      .submitSegments(submissions.map((submission) => ({ jobId, submission })))
  ).wait();
  view = await readJobChainView({
    provider: f.connection.ethers.provider,
    escrow: f.escrowAddress,
    jobId,
  });
});

afterAll(async () => {
  await closeVerifier();
  await f?.connection.close();
});

describe("audit against the chain", () => {
  it("reads the accepted segments with the state that determined their payouts", () => {
    expect(view.accepted).toHaveLength(2);
    for (const a of view.accepted) {
      expect(a.weightBps).toBe(10_000n);
      expect(a.payout).toBe(
        segmentPayout({
          usage: a.usage,
          weightBps: a.weightBps,
          price: view.pricePerH100Hour,
          remainingBudget: a.remainingBefore,
        }),
      );
    }
    expect(view.accepted[1]!.remainingBefore).toBe(parseEther("100") - view.accepted[0]!.payout);
  });

  it("passes the honest trace", async () => {
    const report = await auditTrace(write("audit-honest.jsonl", honest), view);
    expect(report.findings.filter((x) => x.status !== "pass")).toEqual([]);
    expect(report).toMatchObject({ ok: true, summary: { onChainSegments: 2, records: 12 } });
  });

  it("names a record changed after proving", async () => {
    const changed = structuredClone(honest) as unknown as Record<string, unknown>[];
    changed[4]!.utilBps = 10_000;
    const report = await auditTrace(write("audit-changed.jsonl", changed), view);
    expect(report.ok).toBe(false);
    expect(report.findings.find((x) => x.status === "fail")).toMatchObject({
      check: "integrity",
      line: 5,
      seq: 3,
    });
  });

  it("names a seal whose on-chain event differs", async () => {
    const report = await auditTrace(write("audit-equivocating.jsonl", equivocating), view);
    const fails = report.findings.filter((x) => x.status === "fail");
    expect(fails).toEqual([
      expect.objectContaining({
        check: "chain",
        segment: 1,
        message: expect.stringMatching(/newHead .* on chain/),
      }),
    ]);
  });

  it("names a segment proven on chain but missing from the trace", async () => {
    const truncated = honest.slice(0, 1 + 8 + 1); // header, 8 records, first seal
    const report = await auditTrace(write("audit-truncated.jsonl", truncated), view);
    const fails = report.findings.filter((x) => x.status === "fail");
    expect(fails).toEqual([
      expect.objectContaining({ check: "chain", message: expect.stringMatching(/missing from the trace/) }),
    ]);
  });
});
