import { describe, expect, it } from "vitest";
import {
  checkBundleTarget,
  chunks,
  groupIntoLanes,
  scheduleLane,
  SubmitPlanError,
  type BundleEntry,
} from "../chain/submit-plan.ts";
import { parseAmount, parseExpiry, toUnits } from "../cli/amounts.ts";
import type { ProofBundle } from "../trace/index.ts";

const ESCROW = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const PROVIDER = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC";

/** A lane's chain of heads: segment i goes from head(i) to head(i + 1), head(0) = 0. */
const head = (lane: bigint, i: number) => (i === 0 ? 0n : lane * 1000n + BigInt(i));

/** The parts of a bundle the plan reads (the rest does not matter to it). */
function entry(args: {
  job?: bigint;
  worker?: bigint;
  index: number;
  newHead?: bigint;
  escrow?: string;
  chainId?: bigint;
}): BundleEntry {
  const job = args.job ?? 1n;
  const worker = args.worker ?? 7n;
  const bundle = {
    job: {
      chainId: args.chainId ?? 31337n,
      escrow: args.escrow ?? ESCROW,
      jobId: job,
      provider: PROVIDER,
      jobTag: 100n + job,
      workerKeyHash: worker,
    },
    segment: {
      index: args.index,
      prevHead: head(worker, args.index),
      newHead: args.newHead ?? head(worker, args.index + 1),
    },
  } as unknown as ProofBundle;
  return { path: `j${job}-w${worker}-s${args.index}.json`, bundle };
}

const indices = (es: readonly BundleEntry[]) => es.map((e) => e.bundle.segment.index);

describe("submit plan", () => {
  it("groups bundles by job and worker, orders segments and drops exact duplicates", () => {
    const lanes = groupIntoLanes([
      entry({ job: 2n, index: 0 }),
      entry({ index: 2 }),
      entry({ index: 0 }),
      entry({ worker: 3n, index: 0 }),
      entry({ index: 1 }),
      entry({ index: 0 }),
    ]);
    expect(lanes.map((l) => [l.jobId, l.workerKeyHash, indices(l.segments)])).toEqual([
      [1n, 3n, [0]],
      [1n, 7n, [0, 1, 2]],
      [2n, 7n, [0]],
    ]);
  });

  it("refuses two different bundles for one segment", () => {
    expect(() => groupIntoLanes([entry({ index: 1 }), entry({ index: 1, newHead: 999n })])).toThrow(
      /segment 1 of job 1 for worker 7, as is j1-w7-s1.json, but with other heads/,
    );
  });

  it("refuses a bundle for another chain or escrow", () => {
    const target = { chainId: 31337n, escrow: ESCROW.toLowerCase() };
    expect(() => checkBundleTarget(entry({ index: 0 }), target)).not.toThrow();
    expect(() => checkBundleTarget(entry({ index: 0, chainId: 1n }), target)).toThrow(
      "is for chain 1, but the RPC endpoint is chain 31337",
    );
    expect(() => checkBundleTarget(entry({ index: 0, escrow: PROVIDER }), target)).toThrow(
      `is for escrow ${PROVIDER}, not ${ESCROW}`,
    );
  });

  it("skips what the lane accepted and submits the rest in order", () => {
    const [lane] = groupIntoLanes([0, 1, 2, 3].map((index) => entry({ index })));
    const fresh = scheduleLane(lane!, 0n);
    expect([indices(fresh.accepted), indices(fresh.pending), fresh.gap]).toEqual([
      [],
      [0, 1, 2, 3],
      undefined,
    ]);
    const midway = scheduleLane(lane!, head(7n, 2));
    expect([indices(midway.accepted), indices(midway.pending)]).toEqual([
      [0, 1],
      [2, 3],
    ]);
    const done = scheduleLane(lane!, head(7n, 4));
    expect([indices(done.accepted), indices(done.pending)]).toEqual([[0, 1, 2, 3], []]);
  });

  it("starts from the head when earlier bundles are not given", () => {
    const [lane] = groupIntoLanes([2, 3].map((index) => entry({ index })));
    const s = scheduleLane(lane!, head(7n, 2));
    expect([indices(s.accepted), indices(s.pending)]).toEqual([[], [2, 3]]);
  });

  it("stops at a missing segment and names it", () => {
    const [lane] = groupIntoLanes([0, 1, 3, 4].map((index) => entry({ index })));
    const s = scheduleLane(lane!, 0n);
    expect(indices(s.pending)).toEqual([0, 1]);
    expect(s.gap).toMatchObject({ index: 3, expectedPrevHead: head(7n, 2) });
    expect(indices(s.gap!.blocked)).toEqual([3, 4]);
    // Segment 0 missing on a fresh lane: nothing can go.
    const [late] = groupIntoLanes([1, 2].map((index) => entry({ index })));
    expect(indices(scheduleLane(late!, 0n).pending)).toEqual([]);
  });

  it("refuses a lane head that no given segment starts or ends at", () => {
    const [lane] = groupIntoLanes([0, 1].map((index) => entry({ index })));
    expect(() => scheduleLane(lane!, 123_456n)).toThrow(SubmitPlanError);
    expect(() => scheduleLane(lane!, 123_456n)).toThrow(
      /lane head on chain \(123456\) is neither the start nor the end/,
    );
  });

  it("cuts batches", () => {
    expect(chunks([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
    expect(chunks([], 3)).toEqual([]);
  });
});

describe("amounts and expiry", () => {
  it("reads whole tokens with the token's decimals, or base units", () => {
    expect(toUnits("--budget", parseAmount("--budget", "10"), 18)).toBe(10n * 10n ** 18n);
    expect(toUnits("--budget", parseAmount("--budget", "0.25"), 6)).toBe(250_000n);
    expect(toUnits("--budget", parseAmount("--budget", "2500units"), undefined)).toBe(2500n);
    expect(() => toUnits("--price", parseAmount("--price", "0.1234567"), 6)).toThrow(
      "--price 0.1234567 has 7 decimal places; the token has 6",
    );
    expect(() => toUnits("--price", parseAmount("--price", "1"), undefined)).toThrow(
      /base units \(e\.g\. 1units\)/,
    );
    for (const bad of ["-1", "1e18", "ten", "1.", "0x10"]) {
      expect(() => parseAmount("--budget", bad)).toThrow(/--budget must be an amount of whole tokens/);
    }
  });

  it("reads an expiry as unix seconds or a duration after the latest block", () => {
    expect(parseExpiry("--expiry", "+2h", 1000)).toBe(1000n + 7200n);
    expect(parseExpiry("--expiry", "+90s", 1000)).toBe(1090n);
    expect(parseExpiry("--expiry", "+1w", 0)).toBe(604_800n);
    expect(parseExpiry("--expiry", "5000", 1000)).toBe(5000n);
    expect(() => parseExpiry("--expiry", "1000", 1000)).toThrow("is not after the latest block's time");
    expect(() => parseExpiry("--expiry", "+0s", 1000)).toThrow("is not after the latest block's time");
    expect(() => parseExpiry("--expiry", "2h", 1000)).toThrow(/unix seconds or \+ and a duration/);
    expect(() => parseExpiry("--expiry", String(2n ** 64n), 1000)).toThrow("must fit in 64 bits");
  });
});
