import { describe, expect, it } from "vitest";
import { progressReporter } from "../cli/progress.ts";

describe("progress on a log (stderr not a terminal)", () => {
  it("prints plain lines no more often than asked, and the last count at the end", () => {
    const lines: string[] = [];
    const p = progressReporter("proving", "segments", {
      tty: false,
      everyMs: 60_000,
      write: (l) => lines.push(l),
    });
    p.update({ done: 0, total: 4 });
    p.update({ done: 1, total: 4, etaMs: 3000 });
    p.update({ done: 2, total: 4, etaMs: 2000 });
    p.stop();
    // The first update prints at once; the next ones fall inside the interval; stop prints where it ended.
    expect(lines).toEqual([
      "meterproof: proving: 0/4 segments",
      "meterproof: proving: 2/4 segments, about 2 s left",
    ]);
    expect(p.done()).toBe(2);
  });

  it("prints every update when the interval has passed, and nothing for a single item", () => {
    const lines: string[] = [];
    const p = progressReporter("proving", "segments", {
      tty: false,
      everyMs: 0,
      write: (l) => lines.push(l),
    });
    for (let done = 0; done <= 3; done++) p.update({ done, total: 3 });
    p.stop();
    expect(lines).toEqual([0, 1, 2, 3].map((d) => `meterproof: proving: ${d}/3 segments`));
    const single: string[] = [];
    const one = progressReporter("proving", "segments", {
      tty: false,
      everyMs: 0,
      write: (l) => single.push(l),
    });
    one.update({ done: 1, total: 1 });
    one.stop();
    expect(single).toEqual([]);
  });
});
