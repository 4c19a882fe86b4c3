import type { Filter, Log } from "ethers";
import { describe, expect, it } from "vitest";
import { getLogsInRange, isLogQueryTooBig, mapConcurrent } from "../chain/logs.ts";

// Public RPC endpoints cap getLogs by block range or result count; the auditor reads a job's
// whole history from --from-block (0 by default), so it must split what a node refuses.

/** A node with one log per block that refuses ranges wider than `maxSpan` blocks. */
function cappedNode(maxSpan: number, message = "query returned more than 10000 results") {
  const calls: [number, number][] = [];
  return {
    calls,
    getLogs: (f: Filter): Promise<Log[]> => {
      const from = Number(f.fromBlock);
      const to = Number(f.toBlock);
      calls.push([from, to]);
      if (to - from + 1 > maxSpan) return Promise.reject(new Error(message));
      return Promise.resolve(
        Array.from({ length: to - from + 1 }, (_, i) => ({ blockNumber: from + i }) as unknown as Log),
      );
    },
  };
}

describe("getLogsInRange", () => {
  it("splits a refused range until the node answers, and keeps chain order", async () => {
    const node = cappedNode(10);
    const logs = await getLogsInRange(node, {}, 0, 999);
    expect(logs.map((l) => l.blockNumber)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    // Halving: every answered range is within the cap, and the work stays near linear.
    expect(node.calls.length).toBeLessThan(400);
  });

  it("asks once when the node takes the whole range", async () => {
    const node = cappedNode(Infinity);
    expect(await getLogsInRange(node, {}, 5, 9)).toHaveLength(5);
    expect(node.calls).toEqual([[5, 9]]);
    expect(await getLogsInRange(node, {}, 9, 5)).toEqual([]);
  });

  it("throws any other error at once, and a refusal of a single block", async () => {
    const down = cappedNode(0, "connect ECONNREFUSED 127.0.0.1:8545");
    await expect(getLogsInRange(down, {}, 0, 1000)).rejects.toThrow(/ECONNREFUSED/);
    expect(down.calls).toHaveLength(1);
    const tiny = cappedNode(0);
    await expect(getLogsInRange(tiny, {}, 0, 3)).rejects.toThrow(/more than 10000 results/);
  });
});

describe("isLogQueryTooBig", () => {
  it.each([
    "query returned more than 10000 results",
    "Log response size exceeded. You can make eth_getLogs requests with up to a 2K block range",
    "eth_getLogs block range is too large",
    "exceed maximum block range: 50000",
    "query exceeds max results 20000",
    "limit exceeded",
    "block range too wide",
  ])("recognizes %j", (message) => {
    expect(isLogQueryTooBig(new Error(message))).toBe(true);
    // ethers wraps the node's answer in `error` or `info`.
    expect(
      isLogQueryTooBig(Object.assign(new Error("could not coalesce error"), { error: { message } })),
    ).toBe(true);
    expect(
      isLogQueryTooBig(
        Object.assign(new Error("could not coalesce error"), { info: { error: { message } } }),
      ),
    ).toBe(true);
  });

  it.each(["connect ECONNREFUSED", "invalid params", "execution reverted", "rate limited, retry later"])(
    "does not take %j for a size limit",
    (message) => {
      expect(isLogQueryTooBig(new Error(message))).toBe(false);
    },
  );
});

describe("mapConcurrent", () => {
  it("keeps input order with at most `limit` calls in flight", async () => {
    let inFlight = 0;
    let most = 0;
    const out = await mapConcurrent([5, 1, 4, 2, 3, 0, 6], 3, async (n) => {
      most = Math.max(most, ++inFlight);
      await new Promise((r) => setTimeout(r, n));
      inFlight--;
      return n * 10;
    });
    expect(out).toEqual([50, 10, 40, 20, 30, 0, 60]);
    expect(most).toBe(3);
    expect(await mapConcurrent([], 3, () => Promise.resolve(1))).toEqual([]);
  });
});
