import { execFile } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  checkArtifactHashes,
  CircuitError,
  fileSha256,
  KEY_POSSESSION_SPEC,
  challengeSpec,
  segmentSpec,
  keyPossessionArtifacts,
  readManifest,
  readSpecManifest,
  REPO_ROOT,
  TEST_SEGMENT_SIZE,
} from "../circuits/index.ts";
// The segment-only checks call checkCircuitSetup; checkSetup (the CLI's, all three circuits) is
// covered where a test is about the set of circuits.
import { checkCircuitSetup, checkSetup, runSetup } from "../setup/index.ts";
import { releaseCurve } from "../setup/snarkjs-api.ts";
import {
  DEV_PTAU_SHA256,
  generateDevPtau,
  readPtauPower,
  resolvePtau,
  sharedPtauDir,
} from "../setup/ptau.ts";
import { artifacts } from "./circuit-helpers.ts";

const run = promisify(execFile);
const N = TEST_SEGMENT_SIZE;
const tmp = mkdtempSync(join(tmpdir(), "meterproof-setup-"));
afterAll(async () => {
  rmSync(tmp, { recursive: true, force: true });
  await releaseCurve();
});

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(
      process.execPath,
      [join(REPO_ROOT, "bin", "meterproof.js"), ...args],
      { cwd: REPO_ROOT },
    );
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/**
 * A copy of the size-8 setup, the key-possession setup and the size-8 challenge setup (every
 * artifact the manifests name, and the manifests) under a new root.
 */
function copySetup(name: string): string {
  const root = join(tmp, name);
  for (const rel of [
    ...Object.values(readManifest(N).artifacts).map((a) => a.path),
    "build/circuits/segment_8/manifest.json",
    ...Object.values(readSpecManifest(KEY_POSSESSION_SPEC).artifacts).map((a) => a.path),
    "build/circuits/key_possession/manifest.json",
    ...Object.values(readSpecManifest(challengeSpec(N)).artifacts).map((a) => a.path),
    "build/circuits/challenge_8/manifest.json",
  ]) {
    mkdirSync(dirname(join(root, rel)), { recursive: true });
    cpSync(join(REPO_ROOT, rel), join(root, rel));
  }
  return root;
}

/** Rewrites a manifest's pinned hash of one artifact to the file's current hash (a consistent forgery). */
async function repin(root: string, name: "vkey" | "verifier" | "batchVerifier"): Promise<void> {
  const path = join(root, "build/circuits/segment_8/manifest.json");
  const manifest = JSON.parse(readFileSync(path, "utf8")) as {
    artifacts: Record<string, { path: string; sha256: string }>;
  };
  manifest.artifacts[name]!.sha256 = await fileSha256(join(root, manifest.artifacts[name]!.path));
  writeFileSync(path, JSON.stringify(manifest, null, 2));
}

describe("meterproof setup", () => {
  it("reuses every stage whose inputs are unchanged", async () => {
    // The first run redoes what changed since the last setup (nothing, after globalSetup).
    await runSetup({ size: N });
    const before = readManifest(N);
    const result = await runSetup({ size: N });
    expect(result.stages.compile.reused).toBe(true);
    expect(result.stages.zkey.reused).toBe(true);
    expect(result.stages.export.reused).toBe(true);
    expect(result.manifest).toEqual(before);
    // The key-possession circuit is set up (or reused) with every size.
    expect(result.keyPossession?.stages).toMatchObject({
      compile: { reused: true },
      zkey: { reused: true },
      export: { reused: true },
    });
    expect(result.keyPossession?.manifest).toEqual(readSpecManifest(KEY_POSSESSION_SPEC));
  });

  it("writes a manifest that pins every artifact, with the protocol's public signals and an INSECURE flag", async () => {
    const manifest = readManifest(N);
    expect(manifest.circuit.publicSignals).toEqual([
      "jobTag",
      "workerKeyHash",
      "prevHead",
      "newHead",
      "meter",
    ]);
    expect(manifest.setup.insecure).toBe(true);
    expect(Object.values(DEV_PTAU_SHA256)).toContain(manifest.setup.ptau.sha256);
    expect(manifest.artifacts.verifier.path).toBe("contracts/generated/SegmentVerifier8.sol");
    expect(await checkArtifactHashes(N)).toEqual([]);
    const verifier = readFileSync(artifacts.verifier, "utf8");
    expect(verifier).toContain("contract SegmentGroth16Verifier8 {");
    expect(verifier).toContain("uint[5] calldata _pubSignals");
    expect(verifier).toContain(`sha256 ${manifest.artifacts.zkey.sha256}`);
    expect(manifest.circuit).toMatchObject({ name: "segment_8", template: "MeteredSegment", params: [8] });

    const keyManifest = readSpecManifest(KEY_POSSESSION_SPEC);
    expect(keyManifest.setup.insecure).toBe(true);
    expect(keyManifest.artifacts.verifier.path).toBe("contracts/generated/KeyPossessionVerifier.sol");
    expect(keyManifest.artifacts.zkey.path).toBe("build/circuits/key_possession/key_possession.zkey");
    const keyVerifier = readFileSync(keyPossessionArtifacts().verifier, "utf8");
    expect(keyVerifier).toContain("contract KeyPossessionGroth16Verifier {");
    expect(keyVerifier).toContain("uint[2] calldata _pubSignals");
  });

  it("--check passes on the built setup (exit 0) and fails without a manifest (exit 1)", async () => {
    const checked = await checkSetup({ size: N });
    expect(checked.problems).toEqual([]);
    expect(checked.keyPossession.ok).toBe(true);
    const ok = await cli("setup", "--check", "--size", String(N));
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain("match the zkeys pinned in their manifests");
    const missing = await cli("setup", "--check", "--size", "1023");
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("manifest.json is missing");
  });

  it("refuses a bad --size with exit 2", async () => {
    for (const size of ["0", "abc", "1025"]) {
      const r = await cli("setup", "--size", size);
      expect(r.code, size).toBe(2);
      expect(r.stderr).toMatch(/--size must be/);
    }
  });

  it("--check finds a changed verifier, even when the manifest was re-pinned to it", async () => {
    const root = copySetup("verifier");
    expect((await checkCircuitSetup(segmentSpec(N), root)).ok).toBe(true);
    const path = join(root, "contracts/generated/SegmentVerifier8.sol");
    const source = readFileSync(path, "utf8");
    writeFileSync(
      path,
      source.replace(
        /(uint256 constant alphax\s*=\s*\d*)(\d);/,
        (_m, head: string, d: string) => `${head}${(Number(d) + 1) % 10};`,
      ),
    );
    const changed = await checkCircuitSetup(segmentSpec(N), root);
    expect(changed.ok).toBe(false);
    expect(changed.problems.join("\n")).toMatch(/verifier .* has sha256/);
    await repin(root, "verifier");
    const repinned = await checkCircuitSetup(segmentSpec(N), root);
    expect(repinned.problems).toEqual([
      "verifier contracts/generated/SegmentVerifier8.sol is not the Solidity verifier of the zkey the manifest pins",
    ]);
  });

  it("--check finds a changed batch verifier, even when the manifest was re-pinned to it", async () => {
    const root = copySetup("batch-verifier");
    expect(readManifest(N, root).artifacts.batchVerifier?.path).toBe(
      "contracts/generated/SegmentBatchVerifier8.sol",
    );
    expect(readSpecManifest(KEY_POSSESSION_SPEC, root).artifacts.batchVerifier).toBeUndefined();
    const path = join(root, "contracts/generated/SegmentBatchVerifier8.sol");
    // A forged key constant: the contract would accept proofs of another key.
    writeFileSync(path, readFileSync(path, "utf8").replace(/(ALPHA_X = 0x[0-9a-f]*)([0-9a-f]);/, "$10;"));
    const changed = await checkCircuitSetup(segmentSpec(N), root);
    expect(changed.problems.join("\n")).toMatch(/batchVerifier .* has sha256/);
    await repin(root, "batchVerifier");
    expect((await checkCircuitSetup(segmentSpec(N), root)).problems).toEqual([
      "batchVerifier contracts/generated/SegmentBatchVerifier8.sol is not the batch verifier of the zkey the manifest pins",
    ]);
  });

  it("--check finds a changed verification key, even when the manifest was re-pinned to it", async () => {
    const root = copySetup("vkey");
    const path = join(root, "build/circuits/segment_8/verification_key.json");
    const vkey = JSON.parse(readFileSync(path, "utf8")) as { IC: string[][] };
    vkey.IC[5]![0] = vkey.IC[4]![0]!;
    writeFileSync(path, JSON.stringify(vkey, null, 2) + "\n");
    await repin(root, "vkey");
    const result = await checkCircuitSetup(segmentSpec(N), root);
    expect(result.problems).toEqual([
      "vkey build/circuits/segment_8/verification_key.json is not the verification key of the zkey the manifest pins",
    ]);
  });

  it("--check covers the key-possession circuit: a changed verifier or a missing manifest", async () => {
    const root = copySetup("key-possession");
    expect((await checkSetup({ size: N, root })).ok).toBe(true);
    const path = join(root, "contracts/generated/KeyPossessionVerifier.sol");
    writeFileSync(
      path,
      readFileSync(path, "utf8").replace("contract KeyPossessionGroth16Verifier", "contract X"),
    );
    const changed = await checkSetup({ size: N, root });
    expect(changed.ok).toBe(false);
    expect(changed.keyPossession.ok).toBe(false);
    expect(changed.problems.join("\n")).toMatch(
      /verifier contracts\/generated\/KeyPossessionVerifier\.sol has sha256/,
    );
    rmSync(join(root, "build/circuits/key_possession/manifest.json"));
    expect((await checkSetup({ size: N, root })).problems).toEqual([
      "build/circuits/key_possession/manifest.json is missing: run `meterproof setup`",
    ]);
  });

  it("--check covers the challenge circuit: a changed verifier or a missing manifest", async () => {
    const root = copySetup("challenge");
    expect((await checkSetup({ size: N, root })).challenge.ok).toBe(true);
    const path = join(root, "contracts/generated/ChallengeVerifier8.sol");
    writeFileSync(
      path,
      readFileSync(path, "utf8").replace(/(uint256 constant alphax\s*=\s*\d*)(\d);/, "$10;"),
    );
    const changed = await checkCircuitSetup(challengeSpec(N), root);
    expect(changed.ok).toBe(false);
    expect(changed.problems.join("\n")).toMatch(
      /verifier contracts\/generated\/ChallengeVerifier8\.sol has sha256/,
    );
    rmSync(join(root, "build/circuits/challenge_8/manifest.json"));
    expect((await checkSetup({ size: N, root })).problems).toEqual([
      "build/circuits/challenge_8/manifest.json is missing: run `meterproof setup --size 8`",
    ]);
  });

  it("--check finds a replaced or missing zkey", async () => {
    const root = copySetup("zkey");
    const zkey = join(root, "build/circuits/segment_8/segment_8.zkey");
    writeFileSync(zkey, "not a zkey");
    expect((await checkCircuitSetup(segmentSpec(N), root)).problems.join("\n")).toMatch(/zkey .* has sha256/);
    rmSync(zkey);
    expect((await checkCircuitSetup(segmentSpec(N), root)).problems.join("\n")).toMatch(/zkey .* is missing/);
  });
});

describe("setup hygiene", () => {
  it("phase 2, zkey verify and the exports close every file they open (no GC warnings on stderr)", async () => {
    // The key-possession circuit, compiled already: only phase 2, zkey verify and the
    // exports run again (about half a minute), in a child process that collects garbage
    // afterwards, when Node would report a file handle nobody closed.
    const root = join(tmp, "hygiene");
    const built = keyPossessionArtifacts();
    const copy = keyPossessionArtifacts(root);
    cpSync(built.dir, copy.dir, { recursive: true });
    rmSync(copy.zkey);
    const script = join(tmp, "hygiene.ts");
    writeFileSync(
      script,
      [
        `import { setTimeout as sleep } from "node:timers/promises";`,
        `import { KEY_POSSESSION_SPEC } from ${JSON.stringify(join(REPO_ROOT, "circuits", "index.ts"))};`,
        `import { checkCircuitSetup, setupCircuit } from ${JSON.stringify(join(REPO_ROOT, "setup", "index.ts"))};`,
        `const gc = async () => { for (let i = 0; i < 3; i++) { globalThis.gc(); await sleep(50); } };`,
        `const result = await setupCircuit(KEY_POSSESSION_SPEC, { root: process.argv[2] });`,
        `await gc();`,
        `const check = await checkCircuitSetup(KEY_POSSESSION_SPEC, process.argv[2]);`,
        `await gc();`,
        `process.stdout.write(JSON.stringify({ stages: result.stages, problems: check.problems }));`,
      ].join("\n"),
    );
    const { stdout, stderr } = await run(process.execPath, ["--expose-gc", script, root], {
      cwd: REPO_ROOT,
      timeout: 300_000,
    });
    const out = JSON.parse(stdout) as {
      stages: Record<string, { reused: boolean }>;
      problems: string[];
    };
    expect(out.stages).toMatchObject({
      compile: { reused: true },
      zkey: { reused: false },
      export: { reused: false },
    });
    expect(out.problems).toEqual([]);
    expect(stderr).not.toMatch(/Closing file descriptor/);
    expect(stderr).not.toMatch(/DEP0137/);
  });
});

describe("powers of tau", () => {
  let small: string;
  beforeAll(async () => {
    small = join(tmp, "dev_8.ptau");
    await generateDevPtau(8, small);
  });

  it("generates development files deterministically", async () => {
    const again = join(tmp, "dev_8_again.ptau");
    await generateDevPtau(8, again);
    expect(await fileSha256(again)).toBe(await fileSha256(small));
    expect(readPtauPower(small)).toBe(8);
  });

  it("refuses a given file too small for the circuit, or not a ptau at all, naming --ptau", async () => {
    const log = (): void => {};
    await expect(resolvePtau({ requiredPower: 14, given: small, repoRoot: REPO_ROOT, log })).rejects.toThrow(
      /--ptau must have power >= 14/,
    );
    await expect(
      resolvePtau({ requiredPower: 8, given: artifacts.r1cs, repoRoot: REPO_ROOT, log }),
    ).rejects.toThrow(CircuitError);
    await expect(
      resolvePtau({ requiredPower: 8, given: join(tmp, "nope.ptau"), repoRoot: REPO_ROOT, log }),
    ).rejects.toThrow(/does not exist/);
    const given = await resolvePtau({ requiredPower: 8, given: small, repoRoot: REPO_ROOT, log });
    expect(given).toMatchObject({ source: "given", power: 8, insecure: false });
  });

  const shared = join(sharedPtauDir(REPO_ROOT), "insecure_dev_14.ptau");
  it.skipIf(!existsSync(shared))(
    "uses the shared development file when present and marks it insecure, even when given by path",
    async () => {
      const log = (): void => {};
      expect(await resolvePtau({ requiredPower: 14, repoRoot: REPO_ROOT, log })).toMatchObject({
        source: "shared-dev",
        power: 14,
        insecure: true,
      });
      expect(await resolvePtau({ requiredPower: 14, given: shared, repoRoot: REPO_ROOT, log })).toMatchObject(
        { source: "given", insecure: true },
      );
    },
  );
});
