import { appendFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { computeJobTag, readTrace, type WorkerKey } from "../trace/index.ts";
import {
  JobStartError,
  ProcSampler,
  WorkerError,
  fileSha256,
  intervalOutputSha256,
  startJob,
  type RunJobOptions,
} from "../worker/index.ts";
import { testKey } from "./fixtures/traces.ts";
import { Collect, JOB, tempDir, traceLines, traceRecords } from "./worker-helpers.ts";

const dir = tempDir("worker-run");
let key: WorkerKey;
let otherKey: WorkerKey;
beforeAll(async () => {
  key = await testKey(5);
  otherKey = await testKey(6);
});

function options(out: string, command: string[], extra: Partial<RunJobOptions> = {}): RunJobOptions {
  return {
    key,
    job: JOB,
    command,
    tracePath: out,
    sampler: new ProcSampler({ raplPath: null }),
    intervalMs: 200,
    sampleMs: 50,
    segmentSize: 3,
    stdin: "ignore",
    stdout: new Collect(),
    stderr: new Collect(),
    cwd: dir,
    ...extra,
  };
}

async function run(out: string, command: string[], extra: Partial<RunJobOptions> = {}) {
  const opts = options(out, command, extra);
  const handle = await startJob(opts);
  const result = await handle.done;
  return { result, stdout: (opts.stdout as Collect).text(), stderr: (opts.stderr as Collect).text() };
}

describe("worker run", () => {
  it("passes output and exit code through and hashes the output into the record", async () => {
    const out = join(dir, "pass.jsonl");
    const { result, stdout, stderr } = await run(out, [
      "sh",
      "-c",
      "printf 'to stdout\\n'; printf 'to stderr' >&2; exit 7",
    ]);
    expect(result.exitCode).toBe(7);
    expect(result.signal).toBeNull();
    expect([stdout, stderr]).toEqual(["to stdout\n", "to stderr"]);
    const records = traceRecords(out);
    expect(records).toHaveLength(1);
    expect(records[0]!.outputSha256).toBe(
      intervalOutputSha256(Buffer.from("to stdout\n"), Buffer.from("to stderr")),
    );
    const trace = await readTrace(out);
    expect(trace.header.command).toEqual([
      "sh",
      "-c",
      "printf 'to stdout\\n'; printf 'to stderr' >&2; exit 7",
    ]);
    expect(trace.header.sampler).toBe("proc");
    expect(trace.header.device.class).toBe("CPU");
    expect(trace.header.terms).toEqual({ ...JOB.terms, expiry: Number(JOB.terms.expiry) });
    expect(trace.header.jobTag).toBe(computeJobTag(JOB));
    expect(trace.unsealedRecords).toBe(0);
  });

  it("writes contiguous records of at most one interval, sealed every segmentSize records and at the end", async () => {
    const out = join(dir, "contiguous.jsonl");
    const { result } = await run(out, ["sleep", "1.5"]);
    expect(result.exitCode).toBe(0);
    const trace = await readTrace(out);
    const rs = trace.records;
    expect(rs.length).toBeGreaterThanOrEqual(7);
    expect(rs[0]!.tStart).toBe(trace.header.startTime);
    for (const [i, r] of rs.entries()) {
      expect(r.seq).toBe(i);
      expect(r.tEnd - r.tStart).toBeGreaterThan(0);
      if (i > 0) expect(r.tStart).toBe(rs[i - 1]!.tEnd);
    }
    // Every record but the last is cut by the timer at about 200 ms (never more than a sample late).
    for (const r of rs.slice(0, -1)) expect(r.tEnd - r.tStart).toBeGreaterThanOrEqual(200);
    expect(trace.seals.map((s) => s.lastSeq - s.firstSeq + 1).slice(0, -1)).toEqual(
      Array(trace.seals.length - 1).fill(3),
    );
    expect(trace.unsealedRecords).toBe(0);
    expect(result.records).toBe(rs.length);
    expect(result.seals).toBe(trace.seals.length);
  });

  it("reports a job killed by a signal as 128 + n and still seals the trace", async () => {
    const out = join(dir, "signal.jsonl");
    const opts = options(out, ["sleep", "30"]);
    const handle = await startJob(opts);
    await new Promise((r) => setTimeout(r, 500));
    handle.kill("SIGTERM");
    const result = await handle.done;
    expect(result.signal).toBe("SIGTERM");
    expect(result.exitCode).toBe(143);
    const trace = await readTrace(out);
    expect(trace.unsealedRecords).toBe(0);
    expect(trace.records.at(-1)!.tEnd - trace.header.startTime).toBeLessThan(10_000);
  });

  it("hashes --output files into the last record only, and names those it cannot read", async () => {
    const out = join(dir, "outputs.jsonl");
    const warnings: string[] = [];
    const { result } = await run(out, ["sh", "-c", "sleep 0.3; printf 'model weights' > model.bin"], {
      outputs: ["model.bin", "missing.bin"],
      onWarning: (m) => warnings.push(m),
    });
    expect(result.missingOutputs).toEqual(["missing.bin"]);
    expect(warnings.join("\n")).toMatch(/--output missing.bin could not be hashed \(ENOENT\)/);
    const sha = await fileSha256(join(dir, "model.bin"));
    expect(result.files).toEqual([{ path: "model.bin", sha256: sha }]);
    const records = traceRecords(out);
    expect(records.length).toBeGreaterThanOrEqual(2);
    expect(records.at(-1)!.files).toEqual([{ path: "model.bin", sha256: sha }]);
    expect(records.slice(0, -1).every((r) => r.files === undefined)).toBe(true);
    await readTrace(out); // the digest check covers the file hash
  });

  it("refuses to overwrite a trace, and reports a command that cannot start like a shell", async () => {
    const out = join(dir, "exists.jsonl");
    writeFileSync(out, "keep me\n");
    await expect(startJob(options(out, ["true"]))).rejects.toThrow(/already exists: pass --resume/);
    expect(readFileSync(out, "utf8")).toBe("keep me\n");
    const err = await startJob(options(join(dir, "nope.jsonl"), ["/no/such/program"])).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(JobStartError);
    expect((err as JobStartError).exitCode).toBe(127);
  });

  it("refuses intervals and sample periods out of range", async () => {
    await expect(startJob(options(join(dir, "x.jsonl"), ["true"], { intervalMs: 65_536 }))).rejects.toThrow(
      /--interval-ms must be an integer from 1 to 65535/,
    );
    await expect(startJob(options(join(dir, "x.jsonl"), ["true"], { sampleMs: 5 }))).rejects.toThrow(
      /--sample-ms/,
    );
    await expect(startJob(options(join(dir, "x.jsonl"), ["true"], { segmentSize: 0 }))).rejects.toThrow(
      /--segment/,
    );
  });
});

describe("worker run --resume", () => {
  it("drops a torn last line, keeps every complete record and continues seq, time and sealing", async () => {
    const out = join(dir, "resume.jsonl");
    // segmentSize 3 and 4 records: one sealed segment and one record left unsealed.
    const first = await startJob(options(out, ["sleep", "30"]));
    while (traceRecords(out).length < 4) await new Promise((r) => setTimeout(r, 20));
    first.kill("SIGKILL");
    await first.done;
    // Simulate a crash: keep the header and the first 4 records (+ the seal after record 2) and a torn fifth.
    const lines = readFileSync(out, "utf8")
      .split("\n")
      .filter((l) => l.length > 0);
    const keep = lines.slice(0, lines.findIndex((l) => l.includes('"seq":3')) + 1);
    writeFileSync(out, keep.map((l) => l + "\n").join(""));
    appendFileSync(out, '{"type":"record","seq":4,"tSta');
    const before = readFileSync(out, "utf8");
    // A resume that does not match the header changes nothing, not even the torn line.
    await expect(startJob(options(out, ["sleep", "0.5"], { resume: true }))).rejects.toThrow(
      /the command must match the trace being resumed/,
    );
    expect(readFileSync(out, "utf8")).toBe(before);

    const warnings: string[] = [];
    const resumed = await startJob(
      options(out, ["sleep", "30"], { resume: true, onWarning: (m) => warnings.push(m) }),
    );
    expect(warnings.join("\n")).toMatch(/dropped the torn last line 7/);
    expect(readFileSync(out, "utf8")).toBe(before.slice(0, before.lastIndexOf("\n") + 1));
    setTimeout(() => resumed.kill("SIGTERM"), 700);
    const r = await resumed.done;
    expect(r.resumed).toEqual({ records: 4, droppedTornLine: 7 });
    expect(r.firstSeq).toBe(4);
    const after = readFileSync(out, "utf8");
    expect(after.startsWith(keep.join("\n") + "\n")).toBe(true);
    const trace = await readTrace(out);
    expect(trace.records[4]!.seq).toBe(4);
    expect(trace.records[4]!.tStart).toBeGreaterThanOrEqual(trace.records[3]!.tEnd);
    expect(trace.unsealedRecords).toBe(0);
    // Record 3 (unsealed at the crash) is sealed with the new records: segment 1 starts at seq 3.
    expect(trace.seals[1]!.firstSeq).toBe(3);
  });

  it("refuses another key, job, terms, device class or a missing trace", async () => {
    const out = join(dir, "resume-checks.jsonl");
    await run(out, ["true"]);
    const before = readFileSync(out, "utf8");
    await expect(startJob(options(out, ["true"], { resume: true, key: otherKey }))).rejects.toThrow(
      /--key \(its workerKeyHash\) must match/,
    );
    await expect(
      startJob(options(out, ["true"], { resume: true, job: { ...JOB, jobId: 8n } })),
    ).rejects.toThrow(/--job must match the trace being resumed: the trace has 7, got 8/);
    await expect(
      startJob(options(out, ["true"], { resume: true, job: { ...JOB, chainId: 1n } })),
    ).rejects.toThrow(/--chain-id must match/);
    const cheaper = { ...JOB, terms: { ...JOB.terms, price: JOB.terms.price - 1n } };
    await expect(startJob(options(out, ["true"], { resume: true, job: cheaper }))).rejects.toThrow(
      `the job's terms (--terms, or the job on chain) must match the trace being resumed: the trace has ` +
        `${JOB.terms.client},${JOB.terms.token},${JOB.terms.price},${JOB.terms.expiry}, got ` +
        `${JOB.terms.client},${JOB.terms.token},${JOB.terms.price - 1n},${JOB.terms.expiry}`,
    );
    await expect(startJob(options(out, ["true"], { resume: true, deviceClass: "H100" }))).rejects.toThrow(
      /--device-class must match/,
    );
    await expect(startJob(options(join(dir, "absent.jsonl"), ["true"], { resume: true }))).rejects.toThrow(
      WorkerError,
    );
    expect(readFileSync(out, "utf8")).toBe(before);
    expect(traceLines(out).filter((l) => l.type === "record")).toHaveLength(1);
  });

  it("refuses a trace whose complete lines do not check out", async () => {
    const out = join(dir, "resume-bad.jsonl");
    await run(out, ["true"]);
    const text = readFileSync(out, "utf8").replace(/"utilBps":\d+/, '"utilBps":10001');
    writeFileSync(out, text);
    await expect(startJob(options(out, ["true"], { resume: true }))).rejects.toThrow(
      /utilBps must be at most 10000/,
    );
  });
});
