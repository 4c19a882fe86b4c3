import { describe, expect, it } from "vitest";
import { runDemo } from "../cli/demo/run-demo.ts";
import { segmentPayout } from "../trace/index.ts";

// The same flow as `npm run demo`, shorter: a real CPU job under the worker, proven,
// submitted, paid, refunded and audited on the in-process Hardhat chain.
describe("the demo flow", () => {
  it("runs end to end and the books balance", async () => {
    const lines: string[] = [];
    const s = await runDemo({ workSeconds: 9, intervalMs: 1000, segmentSize: 4, log: (l) => lines.push(l) });
    expect(lines.filter((l) => /^\d\/9 /.test(l))).toHaveLength(9);
    expect(s.records).toBeGreaterThanOrEqual(9);
    expect(s.segments).toBe(Math.ceil(s.records / 4));
    expect(s.bundlesVerified).toBe(s.segments);
    // A busy core meters up to 10000 bps; other test files share the two cores, so only a
    // loose floor is asserted here (test/worker-proc.test.ts checks the sampler's accuracy).
    expect(s.gpuHours).toBeGreaterThan((9 * 0.15) / 3600);
    expect(s.gpuHours).toBeLessThanOrEqual((s.records * 1.5) / 3600); // records are about 1 s long
    expect(s.audit.ok).toBe(true);
    expect(s.audit.counts.fail).toBe(0);
    expect(s.withdrawn).toBe(s.payout);
    expect(s.payout + s.refund).toBe(s.budget);
    // Payout = usage × CPU weight (100 bps) × price, rounded down per segment.
    expect(s.payout).toBeLessThanOrEqual(
      segmentPayout({ usage: s.usage, weightBps: 100n, price: 100n * 10n ** 18n }),
    );
    expect(s.payout).toBeGreaterThan(0n);
    expect(s.gas.perSegment).toBeLessThan(350_000n);
  }, 300_000);
});
