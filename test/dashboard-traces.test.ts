import { appendFileSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { TraceLibrary } from "../dashboard/trace-library.ts";
import { toJson, type TraceLineJson } from "../trace/index.ts";
import { buildLaneTrace, testWorkerKey } from "./helpers/segment-proof.ts";

// The dashboard's trace folder reader: only this deployment's traces and bundles, unusable files
// named with the reason (a trace that breaks off later is shown up to there, with a note on its
// lane), and a file read again when it grows.

const ESCROW = "0x8A791620dd6260079BF849Dc5567aDC3F2FdC318";
const OTHER_ESCROW = "0x5FbDB2315678afecb367f032d93F642f64180aa3";

async function traceLines(escrow: string, records: number): Promise<string[]> {
  const lines: TraceLineJson[] = [];
  await buildLaneTrace({
    chainId: 31337n,
    escrow,
    jobId: 4n,
    provider: "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
    terms: {
      client: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
      token: OTHER_ESCROW,
      price: 10n ** 18n,
      expiry: 2_000_000_000n,
    },
    key: await testWorkerKey("dashboard traces"),
    startMs: 1_900_000_000_000,
    intervalMs: 1000,
    records,
    segmentSize: 4,
    onLine: (l) => lines.push(l),
  });
  return lines.map((l) => JSON.stringify(toJson(l)));
}

describe("dashboard trace folder", () => {
  it("finds this deployment's traces and bundles and names the files it cannot read", async () => {
    const dir = mkdtempSync(join(tmpdir(), "meterproof-dashboard-traces-"));
    const mine = await traceLines(ESCROW, 6);
    mkdirSync(join(dir, "a", "b"), { recursive: true });
    writeFileSync(join(dir, "a", "job.trace"), mine.join("\n") + "\n");
    writeFileSync(join(dir, "other-escrow.jsonl"), (await traceLines(OTHER_ESCROW, 2)).join("\n") + "\n");
    writeFileSync(join(dir, "notes.trace"), "hello\n");
    writeFileSync(join(dir, "torn.trace"), mine.slice(0, 3).join("\n") + "\n" + mine[3]!.slice(0, 20));
    writeFileSync(join(dir, "deployment.json"), JSON.stringify({ kind: "meterproof-deployment" }));
    writeFileSync(
      join(dir, "a", "b", "bad-bundle.json"),
      JSON.stringify({ kind: "meterproof-segment-bundle" }),
    );
    // Deeper than four folders: not searched.
    mkdirSync(join(dir, "1", "2", "3", "4", "5"), { recursive: true });
    writeFileSync(join(dir, "1", "2", "3", "4", "5", "deep.trace"), "hello\n");

    const lib = new TraceLibrary({ dir, chainId: 31337n, escrow: ESCROW.toLowerCase() });
    const scan = await lib.scan();
    expect(scan.traces.map((t) => t.rel).sort()).toEqual(["a/job.trace", "torn.trace"]);
    const job = scan.traces.find((t) => t.rel === "a/job.trace")!;
    // 6 records sealed every 4: records and seals in order, and nothing wrong.
    expect(job.records.map((r) => r.seq)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(job.seals.map((s) => [s.firstSeq, s.lastSeq])).toEqual([
      [0, 3],
      [4, 5],
    ]);
    expect(job.problem).toBeUndefined();
    const torn = scan.traces.find((t) => t.rel === "torn.trace")!;
    expect(torn.records).toHaveLength(2);
    expect(torn.problem).toBe("line 4 is torn: the timeline stops before it");
    expect(scan.bundles).toEqual([]);
    expect(scan.problems.sort()).toEqual([
      "a/b/bad-bundle.json: not a valid bundle: version must be 2 (bundles of version 1 predate job terms in the tag: prove again)",
      "notes.trace: line 1 is not a meterproof trace header",
    ]);

    // The worker appends: the next scan reads the file again.
    appendFileSync(join(dir, "torn.trace"), mine[3]!.slice(20) + "\n");
    const again = await lib.scan();
    expect(again.traces.find((t) => t.rel === "torn.trace")!.records).toHaveLength(3);
    expect(again.traces.find((t) => t.rel === "torn.trace")!.problem).toBeUndefined();
  });
});
