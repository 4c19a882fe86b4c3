/** The `provider` section of meterproof.config.json and the batch rule, without a chain. */
import { describe, expect, it } from "vitest";
import { parseProjectConfig } from "../cli/project-config.ts";
import type { BundleEntry } from "../chain/submit-plan.ts";
import { providerSettings } from "../provider/config.ts";
import { batchDue } from "../provider/submit-step.ts";

const settingsOf = (provider: unknown) =>
  providerSettings(parseProjectConfig("/srv/p/meterproof.config.json", JSON.stringify({ provider })));

describe("provider config section", () => {
  it("fills the defaults and resolves paths against the config file's folder", () => {
    const s = settingsOf({
      jobs: [{ trace: "traces/job-7.jsonl" }, { trace: "/data/job-8.trace", bundles: "b8" }],
      withdraw: { threshold: "1000" },
    });
    expect(s.stateDir).toBe("/srv/p/provider-state");
    expect(s.jobs).toEqual([
      { trace: "/srv/p/traces/job-7.jsonl", name: "job-7", bundles: "/srv/p/provider-state/bundles/job-7" },
      { trace: "/data/job-8.trace", name: "job-8", bundles: "/srv/p/b8" },
    ]);
    expect(s.batch).toEqual({ segments: 16, maxWaitSeconds: 300, maxPerTx: 16 });
    expect(s.withdraw).toEqual({ threshold: 1000n });
    expect(s.queue).toBeUndefined();
  });

  it("resolves a run job's key file and keeps its options", () => {
    const s = settingsOf({
      jobs: [{ trace: "t.jsonl", run: { job: "9", key: "keys/gpu0.key", command: ["python", "train.py"] } }],
    });
    expect(s.jobs[0]!.run).toEqual({
      job: "9",
      key: "/srv/p/keys/gpu0.key",
      command: ["python", "train.py"],
      options: [],
    });
  });

  it.each([
    [{}, /provider\.jobs .*expected array/],
    [{ jobs: [] }, /provider\.jobs Too small/],
    [{ jobs: [{ trace: "a" }], batch: { segments: 0 } }, /provider\.batch\.segments Too small/],
    [{ jobs: [{ trace: "a" }], batch: { segments: 16, maxPerTx: 999 } }, /provider\.batch\.maxPerTx Too big/],
    [
      { jobs: [{ trace: "a" }], withdraw: { threshold: "1e18" } },
      /provider\.withdraw\.threshold must be a decimal integer string/,
    ],
    [{ jobs: [{ trace: "a" }], metricsPort: 70000 }, /provider\.metricsPort Too big/],
    [{ jobs: [{ trace: "a" }], extra: 1 }, /provider has unknown fields extra/],
    [
      { jobs: [{ trace: "a" }, { trace: "./a" }] },
      /provider\.jobs\.1\.trace names \/srv\/p\/a a second time/,
    ],
    [
      { jobs: [{ trace: "a", run: { job: "x", key: "k", command: ["c"] } }] },
      /provider\.jobs\.0\.run\.job must be a decimal job id/,
    ],
  ])("refuses %j naming the field and the rule", (section, message) => {
    expect(() => settingsOf(section)).toThrow(message);
  });

  it("says so when the section is missing", () => {
    const config = parseProjectConfig("/srv/p/meterproof.config.json", "{}");
    expect(() => providerSettings(config)).toThrow(/has no "provider" section/);
  });
});

describe("batch rule: K segments or T seconds", () => {
  const ready = (tLast: number) => ({ bundle: { segment: { tLast } } }) as unknown as BundleEntry;
  const rule = { segments: 3, maxWaitSeconds: 60, maxPerTx: 16 };
  it("waits while fewer than K are ready and the oldest is younger than T", () => {
    expect(batchDue([], rule, 1_000_000)).toBe(false);
    expect(batchDue([ready(990_000), ready(995_000)], rule, 1_000_000)).toBe(false);
  });
  it("sends at K ready, or when the oldest ready one waited T", () => {
    expect(batchDue([ready(999_000), ready(999_500), ready(999_900)], rule, 1_000_000)).toBe(true);
    expect(batchDue([ready(940_000)], rule, 1_000_000)).toBe(true);
  });
});
