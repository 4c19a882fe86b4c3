import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { sha256 } from "@noble/hashes/sha2.js";
import { describe, expect, it } from "vitest";
import { sha256Hex } from "../trace/index.ts";
import {
  IntervalAggregator,
  IntervalOutputHasher,
  WorkerError,
  cpuModelName,
  deviceClassFromGpuName,
  gpuDevice,
  intervalOutputSha256,
  parseNvidiaSmiLine,
  parseProcStat,
  readingToSample,
  type Sample,
} from "../worker/index.ts";
import { NVIDIA_SMI_FIXTURES } from "./worker-helpers.ts";

describe("nvidia-smi line parsing", () => {
  it("parses every recorded fixture line", () => {
    const files = readdirSync(NVIDIA_SMI_FIXTURES).filter((f) => f.endsWith(".csv"));
    expect(files.length).toBeGreaterThanOrEqual(5);
    for (const f of files) {
      for (const line of readFileSync(join(NVIDIA_SMI_FIXTURES, f), "utf8").trim().split("\n")) {
        const r = parseNvidiaSmiLine(line);
        expect(r.uuid).toMatch(/^GPU-[0-9a-f-]{36}$/);
      }
    }
  });

  it("reads an H100 line in nvidia-smi's units and converts it to bps, MiB, mW, mJ", () => {
    const r = parseNvidiaSmiLine(
      "GPU-5e1f3c52-8d0a-4f5b-9a3e-1c2b7d9e6f40, NVIDIA H100 80GB HBM3, 98, 71566, 648.55, 1843276422",
    );
    expect(r).toEqual({
      uuid: "GPU-5e1f3c52-8d0a-4f5b-9a3e-1c2b7d9e6f40",
      name: "NVIDIA H100 80GB HBM3",
      utilizationPercent: 98,
      memoryUsedMiB: 71566,
      powerDrawW: 648.55,
      totalEnergyMj: 1843276422,
    });
    expect(readingToSample(r, 5)).toEqual({
      t: 5,
      utilBps: 9800,
      memMiB: 71566,
      powerMw: 648550,
      energyMj: 1843276422,
    });
  });

  it("turns [N/A], [Not Supported] and other bracketed words into null", () => {
    const r = parseNvidiaSmiLine(
      "GPU-c3d2e1f0-a9b8-4c7d-9e6f-5a4b3c2d1e0f, NVIDIA GeForce RTX 3060 Laptop GPU, [N/A], [Unknown Error], [N/A], [Not Supported]",
    );
    expect(r).toMatchObject({
      utilizationPercent: null,
      memoryUsedMiB: null,
      powerDrawW: null,
      totalEnergyMj: null,
    });
    expect(readingToSample(r, 1)).toEqual({
      t: 1,
      utilBps: null,
      memMiB: null,
      powerMw: null,
      energyMj: null,
    });
  });

  it("rejects malformed lines naming the field", () => {
    const uuid = "GPU-5e1f3c52-8d0a-4f5b-9a3e-1c2b7d9e6f40";
    expect(() => parseNvidiaSmiLine(`${uuid}, NVIDIA H100 80GB HBM3, 98, 71566, 648.55`)).toThrow(
      /6 comma-separated fields/,
    );
    expect(() => parseNvidiaSmiLine(`${uuid}, NVIDIA H100 80GB HBM3, 98 %, 71566, 648.55, 1`)).toThrow(
      /utilization.gpu must be a non-negative number/,
    );
    expect(() => parseNvidiaSmiLine(`${uuid}, NVIDIA H100 80GB HBM3, 101, 71566, 648.55, 1`)).toThrow(
      /utilization.gpu must be at most 100/,
    );
    expect(() => parseNvidiaSmiLine(`${uuid}, NVIDIA H100 80GB HBM3, 98, -1, 648.55, 1`)).toThrow(
      /memory.used/,
    );
    expect(() => parseNvidiaSmiLine(`[N/A], NVIDIA H100 80GB HBM3, 98, 1, 648.55, 1`)).toThrow(
      /uuid must be present/,
    );
    expect(() =>
      parseNvidiaSmiLine("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver."),
    ).toThrow(WorkerError);
  });
});

describe("device identity", () => {
  it("derives the rate-card class from the GPU name", () => {
    const cases: [string, string][] = [
      ["NVIDIA H100 80GB HBM3", "H100"],
      ["NVIDIA H100 PCIe", "H100"],
      ["NVIDIA A100-SXM4-80GB", "A100"],
      ["NVIDIA A100-PCIE-40GB", "A100"],
      ["Tesla V100-SXM2-16GB", "V100"],
      ["Tesla P100-PCIE-16GB", "P100"],
      ["NVIDIA L40S", "L40S"],
      ["NVIDIA GeForce RTX 4090", "RTX 4090"],
      ["NVIDIA GeForce RTX 3060 Laptop GPU", "RTX 3060"],
      ["NVIDIA RTX A6000", "RTX A6000"],
      ["NVIDIA", "GPU"],
    ];
    for (const [name, cls] of cases) expect(deviceClassFromGpuName(name)).toBe(cls);
  });

  it("hashes the UUID as nvidia-smi prints it and honours --device-class", () => {
    const d = gpuDevice({ uuid: "GPU-5e1f3c52-8d0a-4f5b-9a3e-1c2b7d9e6f40", name: "NVIDIA H100 80GB HBM3" });
    expect(d).toEqual({
      class: "H100",
      name: "NVIDIA H100 80GB HBM3",
      uuidHash: sha256Hex("GPU-5e1f3c52-8d0a-4f5b-9a3e-1c2b7d9e6f40"),
    });
    expect(gpuDevice({ uuid: "GPU-1", name: "NVIDIA H100 NVL", deviceClass: "H100-NVL" }).class).toBe(
      "H100-NVL",
    );
    expect(() => gpuDevice({ uuid: "GPU-1", name: "x", deviceClass: "" })).toThrow(
      /--device-class must be 1 to 31/,
    );
    expect(() => gpuDevice({ uuid: "GPU-1", name: "x", deviceClass: "x".repeat(32) })).toThrow(
      /--device-class/,
    );
  });

  it("reads the CPU model from cpuinfo", () => {
    expect(cpuModelName("processor\t: 0\nmodel name\t: AMD EPYC 7763 64-Core Processor\n")).toBe(
      "AMD EPYC 7763 64-Core Processor",
    );
    expect(cpuModelName("Hardware\t: BCM2835\n")).toBe("BCM2835");
    expect(cpuModelName("")).toBe("unknown CPU");
  });
});

describe("/proc/<pid>/stat parsing", () => {
  const tail =
    "S 100 200 200 0 -1 4194304 98 0 0 0 17 3 5 7 20 0 1 0 53526 3133440 396 18446744073709551615 0";
  it("counts fields from the last parenthesis, so odd command names parse", () => {
    for (const comm of ["node", "a b", "x) S 1 2 (y", "()"]) {
      const s = parseProcStat(`4271 (${comm}) ${tail}`)!;
      expect(s).toEqual({
        pid: 4271,
        state: "S",
        ppid: 100,
        pgrp: 200,
        utime: 17,
        stime: 3,
        cutime: 5,
        cstime: 7,
        starttime: 53526,
        rss: 396,
      });
    }
  });
  it("refuses text that is not a stat line", () => {
    expect(parseProcStat("")).toBeUndefined();
    expect(parseProcStat("12 (x) S 1 2")).toBeUndefined();
  });
});

const s = (t: number, utilBps: number | null, extra: Partial<Sample> = {}): Sample => ({
  t,
  utilBps,
  memMiB: null,
  powerMw: null,
  energyMj: null,
  ...extra,
});

describe("interval aggregation", () => {
  it("weighs each reading by the time since the previous one and clips utilization to 10000", () => {
    const a = new IntervalAggregator({ tStart: 0, staleMs: 1000 });
    a.add(s(100, 10_000)); // covers 0..100
    a.add(s(400, 0)); // covers 100..400
    expect(a.close(400).utilBps).toBe(2500);
    a.add(s(500, 20_000)); // two busy cores on a CPU host
    expect(a.close(500).utilBps).toBe(10_000);
  });

  it("uses the final reading at the interval end and cuts weights at the interval start", () => {
    const a = new IntervalAggregator({ tStart: 0, staleMs: 1000 });
    a.add(s(50, 0));
    a.close(100, s(123, 4000)); // stamped 100: covers 50..100
    a.add(s(300, 8000)); // covers 100..300 only
    const v = a.close(300);
    expect(v.utilBps).toBe(8000);
    expect(v.samples).toBe(1);
  });

  it("repeats a fresh last reading in an interval without one, and reads 0 once it is stale", () => {
    const a = new IntervalAggregator({ tStart: 0, staleMs: 300 });
    a.add(s(100, 6000, { memMiB: 10, powerMw: 2000 }));
    a.close(200);
    expect(a.close(350)).toMatchObject({ utilBps: 6000, memMiB: 10, powerMw: 2000, samples: 0 });
    expect(a.close(450)).toMatchObject({ utilBps: 0, memMiB: 0, powerMw: 0, energyMj: 0 });
  });

  it("takes peak memory and the mean of the power readings there are", () => {
    const a = new IntervalAggregator({ tStart: 0, staleMs: 1000 });
    a.add(s(100, 1, { memMiB: 5, powerMw: 100_000 }));
    a.add(s(200, 1, { memMiB: 9, powerMw: null }));
    a.add(s(300, 1, { memMiB: 7, powerMw: 300_000 }));
    const v = a.close(300);
    expect(v.memMiB).toBe(9);
    expect(v.powerMw).toBe(200_000);
  });

  it("meters energy from the counter across intervals, and from power × time without one", () => {
    const a = new IntervalAggregator({ tStart: 0, staleMs: 1000 });
    a.add(s(100, 1, { powerMw: 500_000, energyMj: 1_000_000 }));
    a.add(s(200, 1, { powerMw: 500_000, energyMj: 1_050_000 }));
    expect(a.close(200).energyMj).toBe(50_000);
    a.add(s(300, 1, { powerMw: 500_000, energyMj: 1_100_000 }));
    expect(a.close(300).energyMj).toBe(50_000); // from the last reading of the previous interval
    // No counter: 250 W over 400 ms = 100 J.
    const b = new IntervalAggregator({ tStart: 0, staleMs: 1000 });
    b.add(s(200, 1, { powerMw: 250_000 }));
    b.add(s(400, 1, { powerMw: 250_000 }));
    expect(b.close(400).energyMj).toBe(100_000);
  });

  it("falls back to power × time when the energy counter runs backwards (driver reload)", () => {
    const a = new IntervalAggregator({ tStart: 0, staleMs: 1000 });
    a.add(s(100, 1, { powerMw: 100_000, energyMj: 9_000_000 }));
    a.add(s(200, 1, { powerMw: 100_000, energyMj: 10 }));
    expect(a.close(200).energyMj).toBe(20_000);
  });

  it("reads 0 for a field the device never reports", () => {
    const a = new IntervalAggregator({ tStart: 0, staleMs: 1000 });
    a.add(s(100, null));
    expect(a.close(100)).toEqual({ utilBps: 0, memMiB: 0, powerMw: 0, energyMj: 0, samples: 1 });
  });
});

describe("output hashing", () => {
  it("hashes stdout and stderr of an interval apart, whatever the chunking and interleaving", () => {
    const h = new IntervalOutputHasher();
    h.update("stdout", Buffer.from("hel"));
    h.update("stderr", Buffer.from("warn"));
    h.update("stdout", Buffer.from("lo\n"));
    expect(h.byteCount).toBe(10);
    const want = intervalOutputSha256(Buffer.from("hello\n"), Buffer.from("warn"));
    expect(h.take()).toBe(want);
    expect(want).toBe(
      "0x" +
        Buffer.from(
          sha256(Buffer.concat([sha256(Buffer.from("hello\n")), sha256(Buffer.from("warn"))])),
        ).toString("hex"),
    );
    // The next interval starts empty.
    expect(h.take()).toBe(intervalOutputSha256(new Uint8Array(), new Uint8Array()));
    expect(intervalOutputSha256(Buffer.from("a"), Buffer.from(""))).not.toBe(
      intervalOutputSha256(Buffer.from(""), Buffer.from("a")),
    );
  });
});
