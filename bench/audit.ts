import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildPoseidon } from "circomlibjs";
import { syntheticTrace } from "../test/fixtures/traces.ts";
import { BASE8, doubleMulEquals } from "../trace/babyjub.ts";
import { nativeAddon } from "../trace/native.ts";
import { auditTrace } from "../verifier/audit.ts";
import { fmt, median, RUNS, timeRuns, type BenchRow, type BenchSection } from "./lib.ts";

/** One GPU-day of 10-second records. */
const RECORDS = 8640;
const SEGMENT_SIZE = 64;

/**
 * Auditor replay speed: a full audit (every record hash, head, seal and signature, and the
 * plausibility checks) of a one-day trace, with the native addon and without it, and the
 * hashing and signature primitives it rests on.
 */
export async function benchAudit(): Promise<BenchSection> {
  const dir = mkdtempSync(join(tmpdir(), "meterproof-bench-audit-"));
  try {
    const { lines } = await syntheticTrace({ records: RECORDS, segmentSize: SEGMENT_SIZE });
    const path = join(dir, "trace.jsonl");
    writeFileSync(path, lines.map((l) => JSON.stringify(l) + "\n").join(""));
    const seals = Math.ceil(RECORDS / SEGMENT_SIZE);
    const rows: BenchRow[] = [];
    if (nativeAddon) {
      await auditTrace(path); // warm up
      const cpu: number[] = [];
      const ms = median(
        await timeRuns(RUNS, async () => {
          const before = process.cpuUsage();
          const report = await auditTrace(path);
          const used = process.cpuUsage(before);
          cpu.push((used.user + used.system) / 1000);
          if (!report.ok) throw new Error("benchmark trace failed its audit");
        }),
      );
      rows.push(
        {
          metric: "records per second",
          value: fmt((RECORDS / ms) * 1000, "records/s"),
          note: "target ≥ 10,000",
        },
        { metric: "time per record", value: fmt((ms * 1000) / RECORDS, "µs") },
        {
          metric: "CPU per record (all threads)",
          value: fmt((median(cpu) * 1000) / RECORDS, "µs"),
          note: `${(median(cpu) / ms).toFixed(2)} cores busy on average`,
        },
      );
    } else {
      rows.push({ metric: "records per second", value: "n/a", note: "the native addon is not built" });
    }
    const portableMs = portableAuditMs(path);
    rows.push(
      {
        metric: "records per second without the addon",
        value: fmt((RECORDS / portableMs) * 1000, "records/s"),
        note: "METERPROOF_NATIVE=0: circomlibjs WebAssembly Poseidon, BigInt curve code",
      },
      { metric: "trace replayed", value: `${RECORDS.toLocaleString("en-US")} records, ${seals} seals` },
      ...(await primitiveRows()),
    );
    return {
      title: "Auditor replay",
      rows,
      notes: [
        `A synthetic one-day trace (${RECORDS.toLocaleString("en-US")} records of 10 s, a seal every ${SEGMENT_SIZE}) audited offline; median of ${RUNS} runs each.`,
        "Each record costs a 9-input and a 2-input Poseidon and a SHA-256; each seal an EdDSA-Poseidon verification. The trace checker hashes 512 records at a time on every core, off the JavaScript thread, while it parses the next ones (docs/native.md).",
      ],
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Median audit time on the portable code paths, in a child process (the choice is made at load). */
function portableAuditMs(path: string): number {
  const script = `
    import { auditTrace } from "./verifier/audit.ts";
    const path = ${JSON.stringify(path)};
    await auditTrace(path);
    const times = [];
    for (let i = 0; i < ${RUNS}; i++) {
      const t0 = performance.now();
      await auditTrace(path);
      times.push(performance.now() - t0);
    }
    console.log(JSON.stringify(times));
  `;
  const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], {
    cwd: new URL("..", import.meta.url),
    env: { ...process.env, METERPROOF_NATIVE: "0" },
    encoding: "utf8",
  });
  return median(JSON.parse(out.trim().split("\n").at(-1)!) as number[]);
}

/** Microseconds per call of `fn`, median of RUNS batches of `n` calls. */
async function perCall(n: number, fn: () => unknown): Promise<number> {
  for (let i = 0; i < Math.min(n, 50); i++) fn();
  return (
    (median(
      await timeRuns(RUNS, () => {
        for (let i = 0; i < n; i++) fn();
      }),
    ) *
      1000) /
    n
  );
}

async function primitiveRows(): Promise<BenchRow[]> {
  const wasm = await buildPoseidon();
  const inputs9 = Array.from({ length: 9 }, (_, i) => BigInt(i) * 0x1234567890abcdefn + 7n);
  const inputs2 = inputs9.slice(0, 2);
  const rows: BenchRow[] = [];
  for (const inputs of [inputs9, inputs2]) {
    const wasmUs = await perCall(500, () => wasm(inputs));
    const nativeUs = nativeAddon ? await perCall(2000, () => nativeAddon!.poseidon(inputs)) : undefined;
    rows.push({
      metric: `Poseidon, ${inputs.length} inputs`,
      value: nativeUs === undefined ? "n/a" : fmt(nativeUs, "µs"),
      note: `circomlibjs WebAssembly: ${fmt(wasmUs, "µs")}`,
    });
  }
  // The cost of an EdDSA-Poseidon verification: S·B8 − 8·h·A = R8 on Baby Jubjub.
  const k1 = (1n << 250n) + 12345n;
  const k2 = 8n * ((1n << 253n) + 999n);
  const bigintUs = await perCall(20, () => doubleMulEquals(k1, BASE8, k2, BASE8, BASE8));
  const nativeUs = nativeAddon
    ? await perCall(500, () => nativeAddon!.doubleMulEquals(k1, BASE8, k2, BASE8, BASE8))
    : undefined;
  rows.push({
    metric: "EdDSA-Poseidon verification (curve part)",
    value: nativeUs === undefined ? "n/a" : fmt(nativeUs, "µs"),
    note: `BigInt: ${fmt(bigintUs, "µs")}`,
  });
  return rows;
}
