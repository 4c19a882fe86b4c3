import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { loadWorkerKey } from "../trace/index.ts";
import { syntheticTrace, TEST_CLIENT, TEST_TERMS, TEST_TOKEN } from "./fixtures/traces.ts";
import { runCli } from "./helpers/cli.ts";

const dir = mkdtempSync(join(tmpdir(), "meterproof-cli-"));
let traceText: string;

beforeAll(async () => {
  const { lines } = await syntheticTrace({ records: 10, segmentSize: 4 });
  traceText = lines.map((l) => JSON.stringify(l) + "\n").join("");
});

describe("meterproof keygen", () => {
  it("writes a 0600 key file that loads, and refuses to overwrite it", async () => {
    const out = join(dir, "worker.key");
    const first = runCli(["keygen", "--out", out]);
    expect(first.status).toBe(0);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    const key = await loadWorkerKey(out);
    expect(first.stdout).toContain(key.keyHash.toString());
    const before = readFileSync(out, "utf8");
    const second = runCli(["keygen", "--out", out]);
    expect(second.status).toBe(2);
    expect(second.stderr).toMatch(/refuses to overwrite/);
    expect(readFileSync(out, "utf8")).toBe(before);
  });

  it("prints help for every command", () => {
    for (const args of [
      ["--help"],
      ["keygen", "--help"],
      ["trace", "--help"],
      ["trace", "inspect", "--help"],
    ]) {
      const r = runCli(args);
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/^Usage: meterproof/);
    }
  });
});

describe("meterproof trace inspect", () => {
  it("summarizes a valid trace", () => {
    const path = join(dir, "ok.jsonl");
    writeFileSync(path, traceText);
    const r = runCli(["trace", "inspect", path, "--json"]);
    expect(r.status).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary).toMatchObject({ ok: true, records: 10, segments: 3, unsealedRecords: 0 });
    expect(summary.terms).toEqual({
      client: TEST_CLIENT,
      token: TEST_TOKEN,
      price: TEST_TERMS.price.toString(),
      expiry: Number(TEST_TERMS.expiry),
    });
    expect(summary.jobTag).toBe(JSON.parse(traceText.split("\n")[0]!).jobTag);
    // Synthetic records are 10 s long at 60–100% utilization.
    expect(summary.gpuHours).toBeGreaterThan((10 * 10 * 0.6) / 3600);
    expect(summary.gpuHours).toBeLessThan((10 * 10) / 3600);
    const text = runCli(["trace", "inspect", path]);
    expect(text.stdout).toMatch(/ok \(every hash, head and seal checks out\)/);
    expect(text.stdout).toMatch(/segments\s+3/);
    expect(text.stdout).toContain(`client     ${TEST_CLIENT}\n  token      ${TEST_TOKEN}\n`);
    expect(text.stdout).toContain(`price      ${TEST_TERMS.price} base units per H100-equivalent hour`);
    expect(text.stdout).toContain("expiry     2033-05-18T03:33:20.000Z (unix 2000000000)");
  });

  it("exits 1 on a version-1 trace, saying why it cannot be paid", () => {
    const lines = traceText.split("\n");
    const header = JSON.parse(lines[0]!);
    delete header.terms;
    header.version = 1;
    lines[0] = JSON.stringify(header);
    const path = join(dir, "v1.jsonl");
    writeFileSync(path, lines.join("\n"));
    const r = runCli(["trace", "inspect", path]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      /line 1: version is 1: a version-1 trace's jobTag does not commit to the job's terms .* the escrow cannot pay for it/,
    );
  });

  it("exits 1 naming the first bad line", () => {
    const lines = traceText.split("\n");
    const rec = JSON.parse(lines[4]!);
    rec.utilBps = rec.utilBps === 10000 ? 9999 : rec.utilBps + 1;
    lines[4] = JSON.stringify(rec);
    const path = join(dir, "bad.jsonl");
    writeFileSync(path, lines.join("\n"));
    const r = runCli(["trace", "inspect", path]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/line 5 \(record 3\): hash must equal/);
  });

  it("exits 1 on a torn last line and 2 on a missing file", () => {
    const path = join(dir, "torn.jsonl");
    writeFileSync(path, traceText + '{"type":"record","seq":10');
    const torn = runCli(["trace", "inspect", path]);
    expect(torn.status).toBe(1);
    expect(torn.stderr).toMatch(/line 15: line is torn/);
    const missing = runCli(["trace", "inspect", join(dir, "nope.jsonl")]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/no such file/);
  });
});
