import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as snarkjs from "snarkjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { circuitArtifacts, TEST_SEGMENT_SIZE } from "../circuits/index.ts";
import { loadProvingCircuit } from "../prover/load-circuit.ts";
import { proveTrace, type ProvingCircuit } from "../prover/prove-trace.ts";
import { bundleSchema, type ProofBundleJson, type TraceLineJson } from "../trace/index.ts";
import { loadVerificationKeys } from "../verifier/load-keys.ts";
import { closeVerifier, verifyBundle, type VerificationKey } from "../verifier/verify-bundle.ts";
import { ensureTestCircuit } from "./global-setup.ts";
import { syntheticTrace } from "./fixtures/traces.ts";
import { runCli } from "./helpers/cli.ts";

const N = TEST_SEGMENT_SIZE;
const dir = mkdtempSync(join(tmpdir(), "meterproof-prover-"));
let circuit: ProvingCircuit;
let keys: Map<number, VerificationKey>;
let lines: TraceLineJson[];
const keyFor = (id: number) => keys.get(id);

function writeTrace(name: string, ls: readonly unknown[]): string {
  const path = join(dir, name);
  writeFileSync(path, ls.map((l) => JSON.stringify(l) + "\n").join(""));
  return path;
}
const readBundle = (path: string) => JSON.parse(readFileSync(path, "utf8")) as ProofBundleJson;

beforeAll(async () => {
  await ensureTestCircuit();
  circuit = await loadProvingCircuit(N);
  keys = (await loadVerificationKeys([N])).keys;
  // 2 full segments and a short last one.
  lines = (await syntheticTrace({ records: 2 * N + 3, segmentSize: N })).lines;
});

afterAll(async () => {
  await closeVerifier();
});

describe("prove → verify", () => {
  let outDir: string;
  let written: string[];

  beforeAll(async () => {
    outDir = join(dir, "bundles");
    const progress: number[] = [];
    const result = await proveTrace({
      tracePath: writeTrace("t.jsonl", lines),
      outDir,
      circuit,
      jobs: 2,
      onProgress: (p) => progress.push(p.done),
    });
    written = result.written;
    expect(result).toMatchObject({ segments: 3, alreadyProven: 0 });
    expect(progress).toEqual([0, 1, 2, 3]);
  });

  it("writes one valid bundle per segment that verifies", async () => {
    expect(readdirSync(outDir).sort()).toEqual([
      "segment-000000.json",
      "segment-000001.json",
      "segment-000002.json",
    ]);
    for (const path of written) {
      const verdict = await verifyBundle(readBundle(path), keyFor);
      expect(verdict).toMatchObject({ ok: true });
      expect(bundleSchema.safeParse(readBundle(path)).success).toBe(true);
    }
    const last = readBundle(written[2]!);
    expect(last.segment).toMatchObject({ index: 2, firstSeq: 2 * N, lastSeq: 2 * N + 2 });
  });

  it("proves only the new segments of a grown trace", async () => {
    const grown = (await syntheticTrace({ records: 3 * N + 1, segmentSize: N })).lines;
    // The grown trace shares its first 2 segments; its third is now full, so that bundle differs.
    const outGrown = join(dir, "grown");
    const first = await proveTrace({
      tracePath: writeTrace("g1.jsonl", grown.slice(0, 1 + 2 * (N + 1))),
      outDir: outGrown,
      circuit,
    });
    expect(first.written).toHaveLength(2);
    const before = readFileSync(first.written[0]!, "utf8");
    const second = await proveTrace({ tracePath: writeTrace("g2.jsonl", grown), outDir: outGrown, circuit });
    expect(second).toMatchObject({ alreadyProven: 2, segments: 4 });
    expect(second.written.map((p) => p.slice(-19))).toEqual(["segment-000002.json", "segment-000003.json"]);
    expect(readFileSync(first.written[0]!, "utf8")).toBe(before);
  });

  it("fails verification of a changed public signal, naming the reason", async () => {
    const b = readBundle(written[0]!);
    for (let i = 0; i < 5; i++) {
      const tampered = structuredClone(b);
      tampered.publicSignals[i] = (BigInt(tampered.publicSignals[i]!) + 1n).toString();
      const verdict = await verifyBundle(tampered, keyFor);
      expect(verdict).toMatchObject({
        ok: false,
        reason: expect.stringMatching(/metadata disagrees with the public signals/),
      });
    }
    // Changing the signal and the metadata together leaves only the proof to object.
    const consistent = structuredClone(b);
    consistent.publicSignals[3] = (BigInt(b.publicSignals[3]!) + 1n).toString();
    consistent.segment.newHead = consistent.publicSignals[3]!;
    consistent.calldata.newHead = consistent.publicSignals[3]!;
    expect(await verifyBundle(consistent, keyFor)).toEqual({
      ok: false,
      reason: expect.stringMatching(/does not verify/),
    });
  });

  it("fails a bundle whose metadata disagrees with its public signals", async () => {
    const b = readBundle(written[1]!);
    b.segment.usage = (BigInt(b.segment.usage) + 1n).toString();
    expect(await verifyBundle(b, keyFor)).toEqual({
      ok: false,
      reason: expect.stringMatching(/segment meter \(tFirst, tLast, usage\)/),
    });
    const c = readBundle(written[1]!);
    c.calldata.proof[0] = "1";
    expect(await verifyBundle(c, keyFor)).toEqual({
      ok: false,
      reason: expect.stringMatching(/calldata.proof/),
    });
  });

  it("fails a proof from another zkey", async () => {
    const b = readBundle(written[0]!);
    const otherKey: VerificationKey = { ...keys.get(N)!, vkeySha256: "0x" + "11".repeat(32) };
    expect(await verifyBundle(b, () => otherKey)).toEqual({
      ok: false,
      reason: expect.stringMatching(/another verification key/),
    });
    // A proof made with another zkey but labelled with ours does not verify.
    const vkey = structuredClone(keys.get(N)!.vkey) as { vk_delta_2: string[][] };
    vkey.vk_delta_2 = (keys.get(N)!.vkey as { vk_gamma_2: string[][] }).vk_gamma_2;
    expect(await verifyBundle(b, () => ({ ...keys.get(N)!, vkey }))).toEqual({
      ok: false,
      reason: expect.stringMatching(/does not verify/),
    });
  });

  it("verify CLI exits 0 only when all hold, and says which and why", () => {
    const ok = runCli(["verify", ...written]);
    expect(ok.status).toBe(0);
    expect(ok.stdout.match(/^ok /gm)).toHaveLength(3);
    const bad = readBundle(written[0]!);
    bad.publicSignals[4] = "5";
    const badPath = join(dir, "bad-bundle.json");
    writeFileSync(badPath, JSON.stringify(bad));
    const r = runCli(["verify", written[1]!, badPath]);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/FAIL .*bad-bundle.json: metadata disagrees/);
    expect(r.stderr).toMatch(/1 of 2 bundles failed verification/);
  });
});

describe("prove refuses bad input and leaves no partial bundle", () => {
  it("refuses a trace with a bad hash, head or signature", async () => {
    for (const [name, mutate] of [
      ["hash", (l: Record<string, unknown>[]) => (l[3]!.hash = "12345")],
      ["head", (l: Record<string, unknown>[]) => (l[3]!.head = "12345")],
      ["signature", (l: Record<string, unknown>[]) => ((l[N + 1]!.signature as { s: string }).s = "12345")],
    ] as const) {
      const ls = structuredClone(lines) as unknown as Record<string, unknown>[];
      mutate(ls);
      const outDir = join(dir, `refuse-${name}`);
      await expect(
        proveTrace({ tracePath: writeTrace(`${name}.jsonl`, ls), outDir, circuit }),
      ).rejects.toThrow(new RegExp(`${name} must`));
      expect(existsSync(outDir) ? readdirSync(outDir) : []).toEqual([]);
    }
  });

  it("refuses an unsealed tail", async () => {
    const unsealed = (await syntheticTrace({ records: N + 2, segmentSize: N, sealTail: false })).lines;
    const outDir = join(dir, "refuse-unsealed");
    await expect(
      proveTrace({ tracePath: writeTrace("unsealed.jsonl", unsealed), outDir, circuit }),
    ).rejects.toThrow(/2 records after its last seal/);
    expect(existsSync(outDir) ? readdirSync(outDir) : []).toEqual([]);
  });

  it("the CLI proves a trace and reports what it wrote", () => {
    const r = runCli(["prove", writeTrace("cli.jsonl", lines), "--out", join(dir, "cli-out")]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/3 segments proven, 0 already had bundles/);
  });

  it("refuses artifacts that differ from the manifest", async () => {
    // A copy of the build, so tests proving in parallel never see a tampered file.
    const root = join(dir, "copy");
    const paths = circuitArtifacts(N);
    const copy = circuitArtifacts(N, root);
    cpSync(paths.dir, copy.dir, { recursive: true });
    cpSync(paths.verifier, copy.verifier);
    cpSync(paths.batchVerifier!, copy.batchVerifier!);
    await expect(loadProvingCircuit(N, root)).resolves.toMatchObject({ size: N });
    writeFileSync(copy.wasm, Buffer.concat([readFileSync(copy.wasm), Buffer.from([0])]));
    await expect(loadProvingCircuit(N, root)).rejects.toThrow(
      /differ from the setup manifest: wasm .* has sha256/,
    );
  });
});

describe("the prover process", () => {
  it("exits cleanly after proving (no hanging threads)", () => {
    // A process kept alive by a thread is killed at the timeout: then signal is SIGTERM.
    const r = runCli(
      ["prove", writeTrace("exit.jsonl", lines), "--out", join(dir, "exit-out"), "--jobs", "2"],
      { timeout: 120_000 },
    );
    expect(r.status).toBe(0);
    expect(r.signal ?? null).toBe(null);
  });
});

// snarkjs is imported so the curve it builds in this process is the one closeVerifier ends.
void snarkjs;
