/**
 * `meterproof setup`: turns a circuit into proving and verifying keys and a Solidity
 * verifier, and pins their hashes in a manifest. `runSetup({ size })` does it for
 * `MeteredSegment(N)` and for `KeyPossession()`, which every segment size shares; both go
 * through the one pipeline `setupCircuit`, driven by the circuit's CircuitSpec. Stages
 * whose inputs did not change since the last run are reused (their input hashes and output
 * hashes are kept in build/circuits/{name}/stages.json).
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { z } from "zod";
import {
  CircuitError,
  KEY_POSSESSION_SPEC,
  REPO_ROOT,
  challengeSpec,
  checkSegmentSize,
  checkSpecArtifactHashes,
  fileSha256,
  manifestSchema,
  readSpecManifest,
  relativePath,
  segmentSpec,
  specArtifacts,
  type CircuitArtifacts,
  type CircuitManifest,
  type CircuitSpec,
} from "../circuits/index.ts";
import { readR1csHeader, requiredPtauPower } from "../circuits/r1cs.ts";
import { COMPILE_FLAGS, circom2Version, compileCircuit, snarkjsVersion, sourcesSha256 } from "./compile.ts";
import {
  DEFAULT_PHASE2_BEACON,
  PHASE2_BEACON_ITERATIONS_EXP,
  PHASE2_CONTRIBUTION_NAME,
  runPhase2,
  solidityVerifier,
  verificationKeyJson,
} from "./phase2.ts";
import { batchVerifierSource, batchVerifierGeneratorSha256 } from "./batch-verifier.ts";
import { resolvePtau, type ResolvedPtau } from "./ptau.ts";
import { withDirLock } from "./lock.ts";
import { releaseCurve } from "./snarkjs-api.ts";

export { DEFAULT_PHASE2_BEACON } from "./phase2.ts";
export { devPtauCacheDir, sharedPtauDir, DEV_PTAU_SHA256 } from "./ptau.ts";

/** Options of one circuit's setup. */
export interface CircuitSetupOptions {
  /** A phase-1 ceremony file; without it a development (INSECURE) file is used. */
  ptau?: string;
  /** Hex of the final phase-2 beacon (default DEFAULT_PHASE2_BEACON). */
  beacon?: string;
  /** Repository root to build under (tests use a copy). */
  root?: string;
  /** Redo every stage even when its inputs are unchanged. */
  force?: boolean;
  /** Receives one line per stage, each starting with the circuit's name (`[segment_8] `). */
  log?: (line: string) => void;
}

export interface SetupOptions extends CircuitSetupOptions {
  /** Segment size N (the circuit id). */
  size: number;
  /** Also set up (or reuse) the key-possession circuit; default true. */
  keyPossession?: boolean;
  /** Also set up (or reuse) the plausibility challenge circuit of the same size; default true. */
  challenge?: boolean;
}

export type StageName = "compile" | "zkey" | "export";

/** What one circuit's setup built or reused. */
export interface CircuitSetupResult {
  manifest: CircuitManifest;
  paths: CircuitArtifacts;
  ptau: ResolvedPtau;
  /** Which stages were reused, and how long each took (ms). */
  stages: Record<StageName, { reused: boolean; ms: number }>;
}

/** The segment circuit's setup (its fields), the key-possession circuit's and the challenge circuit's. */
export interface SetupResult extends CircuitSetupResult {
  /** Absent only when `keyPossession: false` was asked for. */
  keyPossession?: CircuitSetupResult;
  /** Absent only when `challenge: false` was asked for. */
  challenge?: CircuitSetupResult;
}

const stageSchema = z.object({ key: z.string(), outputs: z.record(z.string(), z.string()) });
const stagesSchema = z.object({
  compile: stageSchema.optional(),
  zkey: stageSchema.optional(),
  export: stageSchema.optional(),
});
type Stages = z.infer<typeof stagesSchema>;

function readStages(path: string): Stages {
  if (!existsSync(path)) return {};
  const parsed = stagesSchema.safeParse(JSON.parse(readFileSync(path, "utf8")));
  return parsed.success ? parsed.data : {};
}

function keyOf(value: unknown): string {
  return createHash("sha256").update(JSON.stringify(value)).digest("hex");
}

/** A stage is fresh when its inputs hash to the same key and every output still has its recorded hash. */
async function stageFresh(
  root: string,
  stage: z.infer<typeof stageSchema> | undefined,
  key: string,
): Promise<boolean> {
  if (!stage || stage.key !== key) return false;
  for (const [path, sha256] of Object.entries(stage.outputs)) {
    const abs = join(root, path);
    if (!existsSync(abs) || (await fileSha256(abs)) !== sha256) return false;
  }
  return true;
}

async function stageRecord(root: string, key: string, files: string[]): Promise<z.infer<typeof stageSchema>> {
  const outputs: Record<string, string> = {};
  for (const f of files) outputs[relativePath(root, f)] = await fileSha256(f);
  return { key, outputs };
}

function checkBeacon(beacon: string): string {
  if (!/^([0-9a-fA-F]{2}){1,255}$/.test(beacon))
    throw new CircuitError("--beacon", `must be 1 to 255 bytes of hex, got ${JSON.stringify(beacon)}`);
  return beacon.toLowerCase();
}

/**
 * `meterproof setup --size N`: runs (or reuses) the setup of MeteredSegment(N), then that of
 * KeyPossession() (shared by every size; skipped with `keyPossession: false`) and that of
 * ImplausibleRecord(N) (skipped with `challenge: false`).
 */
export async function runSetup(opts: SetupOptions): Promise<SetupResult> {
  const { size, keyPossession = true, challenge = true, ...common } = opts;
  const segment: SetupResult = await setupCircuit(segmentSpec(checkSegmentSize(size)), common);
  if (keyPossession) segment.keyPossession = await setupCircuit(KEY_POSSESSION_SPEC, common);
  if (challenge) segment.challenge = await setupCircuit(challengeSpec(size), common);
  return segment;
}

/** Runs (or reuses) compile, phase 2 and the exports for one circuit, and writes its manifest. */
export async function setupCircuit(
  spec: CircuitSpec,
  opts: CircuitSetupOptions = {},
): Promise<CircuitSetupResult> {
  const root = opts.root ?? REPO_ROOT;
  const log = (line: string): void => (opts.log ?? (() => {}))(`[${spec.name}] ${line}`);
  const beacon = checkBeacon(opts.beacon ?? DEFAULT_PHASE2_BEACON);
  const paths = specArtifacts(spec, root);
  mkdirSync(paths.dir, { recursive: true });
  return withDirLock(
    paths.dir,
    () => setupLocked({ opts, spec, root, log, beacon, paths }),
    () => log(`waiting for another setup of ${spec.name} to finish`),
  );
}

async function setupLocked(args: {
  opts: CircuitSetupOptions;
  spec: CircuitSpec;
  root: string;
  log: (line: string) => void;
  beacon: string;
  paths: CircuitArtifacts;
}): Promise<CircuitSetupResult> {
  const { opts, spec, root, log, beacon, paths } = args;
  const stages = readStages(paths.stages);
  const saveStages = (): void => writeFileSync(paths.stages, JSON.stringify(stages, null, 2) + "\n");
  const timing = {} as CircuitSetupResult["stages"];
  const title = `${spec.template}(${spec.params.join(", ")})`;

  try {
    // 1. compile
    const sources = sourcesSha256();
    const compileKey = keyOf({
      sources,
      file: spec.file,
      params: spec.params,
      template: spec.template,
      pub: spec.publicSignals,
      circom2: circom2Version(),
      flags: COMPILE_FLAGS,
    });
    let t0 = performance.now();
    const compileReused = !opts.force && (await stageFresh(root, stages.compile, compileKey));
    if (!compileReused) {
      log(`compile: ${title} with ${circom2Version()} ${COMPILE_FLAGS.join(" ")}`);
      delete stages.compile;
      saveStages();
      await compileCircuit(paths);
      stages.compile = await stageRecord(root, compileKey, [paths.r1cs, paths.wasm, paths.sym]);
      saveStages();
    }
    timing.compile = { reused: compileReused, ms: performance.now() - t0 };
    const header = readR1csHeader(paths.r1cs);
    if (header.nPubIn !== spec.publicSignals.length || header.nPubOut !== 0) {
      throw new CircuitError(
        relativePath(root, paths.r1cs),
        `must have ${spec.publicSignals.length} public inputs and no outputs, has ${header.nPubIn} and ${header.nPubOut}`,
      );
    }
    const requiredPower = requiredPtauPower(header);
    log(
      `compile: ${compileReused ? "reused (inputs unchanged), " : ""}${header.nConstraints} constraints for ${title}, needs 2^${requiredPower}`,
    );

    // 2. phase 1 file
    const ptau = await resolvePtau({
      requiredPower,
      ...(opts.ptau ? { given: opts.ptau } : {}),
      repoRoot: REPO_ROOT,
      log,
    });
    log(
      `ptau: ${ptau.path} (2^${ptau.power}, ${ptau.source}, sha256 ${ptau.sha256})${ptau.insecure ? " INSECURE development file" : ""}`,
    );

    // 3. phase 2
    const r1csSha = stages.compile!.outputs[relativePath(root, paths.r1cs)]!;
    const zkeyKey = keyOf({ r1cs: r1csSha, ptau: ptau.sha256, snarkjs: snarkjsVersion(), beacon });
    t0 = performance.now();
    const zkeyReused = !opts.force && (await stageFresh(root, stages.zkey, zkeyKey));
    if (!zkeyReused) {
      log("zkey: phase 2 (new zkey, one contribution, final beacon, zkey verify)");
      delete stages.zkey;
      delete stages.export;
      saveStages();
      await runPhase2({ paths, ptau: ptau.path, beacon, progress: log });
      stages.zkey = await stageRecord(root, zkeyKey, [paths.zkey]);
      saveStages();
    }
    timing.zkey = { reused: zkeyReused, ms: performance.now() - t0 };
    log(
      `zkey: ${zkeyReused ? "reused (r1cs and ptau unchanged)" : `verified in ${((performance.now() - t0) / 1000).toFixed(1)} s`}`,
    );

    // 4. exports
    const zkeySha = stages.zkey!.outputs[relativePath(root, paths.zkey)]!;
    const exportKey = keyOf({
      zkey: zkeySha,
      snarkjs: snarkjsVersion(),
      contract: paths.contractName,
      // The batch verifier is written by our own generator: a change to it exports again.
      ...(paths.batchVerifier
        ? { batchContract: paths.batchContractName, batchGenerator: batchVerifierGeneratorSha256() }
        : {}),
    });
    t0 = performance.now();
    const exportReused = !opts.force && (await stageFresh(root, stages.export, exportKey));
    if (!exportReused) {
      const vkeyJson = await verificationKeyJson(paths.zkey);
      writeFileSync(paths.vkey, vkeyJson);
      mkdirSync(dirname(paths.verifier), { recursive: true });
      writeFileSync(paths.verifier, await solidityVerifier({ zkey: paths.zkey, zkeySha256: zkeySha, paths }));
      const exported = [paths.vkey, paths.verifier];
      if (paths.batchVerifier) {
        writeFileSync(
          paths.batchVerifier,
          batchVerifierSource({ vkey: JSON.parse(vkeyJson), zkeySha256: zkeySha, paths }),
        );
        exported.push(paths.batchVerifier);
      }
      stages.export = await stageRecord(root, exportKey, exported);
      saveStages();
    }
    timing.export = { reused: exportReused, ms: performance.now() - t0 };
    log(
      `export: ${exportReused ? "reused " : ""}${relativePath(root, paths.vkey)}, ${relativePath(root, paths.verifier)} (${paths.contractName})` +
        (paths.batchVerifier
          ? `, ${relativePath(root, paths.batchVerifier)} (${paths.batchContractName})`
          : ""),
    );

    // 5. manifest
    const artifact = (path: string, stage: z.infer<typeof stageSchema>) => {
      const rel = relativePath(root, path);
      return { path: rel, sha256: stage.outputs[rel]! };
    };
    const manifest: CircuitManifest = {
      kind: "meterproof-circuit-manifest",
      version: 2,
      circuit: {
        name: spec.name,
        template: spec.template,
        params: [...spec.params],
        publicSignals: [...spec.publicSignals],
        constraints: header.nConstraints,
        wires: header.nWires,
        requiredPower,
      },
      setup: {
        insecure: ptau.insecure,
        ptau: { file: basename(ptau.path), sha256: ptau.sha256, power: ptau.power, source: ptau.source },
        contribution: PHASE2_CONTRIBUTION_NAME,
        beacon: { hash: beacon, iterationsExp: PHASE2_BEACON_ITERATIONS_EXP },
        circom2: circom2Version(),
        snarkjs: snarkjsVersion(),
        createdAt: new Date().toISOString(),
      },
      inputs: { sources, compile: compileKey, zkey: zkeyKey },
      artifacts: {
        r1cs: artifact(paths.r1cs, stages.compile!),
        wasm: artifact(paths.wasm, stages.compile!),
        zkey: artifact(paths.zkey, stages.zkey!),
        vkey: artifact(paths.vkey, stages.export!),
        verifier: artifact(paths.verifier, stages.export!),
        ...(paths.batchVerifier ? { batchVerifier: artifact(paths.batchVerifier, stages.export!) } : {}),
      },
    };
    const previous = existsSync(paths.manifest)
      ? manifestSchema.safeParse(JSON.parse(readFileSync(paths.manifest, "utf8")))
      : undefined;
    // Keep the manifest (and its creation time) when nothing it records has changed.
    const sameAsBefore =
      previous?.success &&
      JSON.stringify({ ...previous.data, setup: { ...previous.data.setup, createdAt: "" } }) ===
        JSON.stringify({ ...manifest, setup: { ...manifest.setup, createdAt: "" } });
    if (sameAsBefore) manifest.setup.createdAt = previous.data.setup.createdAt;
    else writeFileSync(paths.manifest, JSON.stringify(manifest, null, 2) + "\n");
    log(`manifest: ${relativePath(root, paths.manifest)}${sameAsBefore ? " (unchanged)" : ""}`);
    return { manifest, paths, ptau, stages: timing };
  } finally {
    await releaseCurve();
  }
}

export interface CheckResult {
  ok: boolean;
  manifest?: CircuitManifest;
  /** One line per mismatch; empty when ok. */
  problems: string[];
}

/**
 * `setup --check --size N`: checkCircuitSetup of MeteredSegment(N), KeyPossession() and
 * ImplausibleRecord(N). `manifest` is the segment circuit's; `problems` lists all three
 * circuits' (each names its files).
 */
export async function checkSetup(opts: {
  size: number;
  root?: string;
}): Promise<CheckResult & { keyPossession: CheckResult; challenge: CheckResult }> {
  const size = checkSegmentSize(opts.size);
  const segment = await checkCircuitSetup(segmentSpec(size), opts.root);
  const keyPossession = await checkCircuitSetup(KEY_POSSESSION_SPEC, opts.root);
  const challenge = await checkCircuitSetup(challengeSpec(size), opts.root);
  const problems = [...segment.problems, ...keyPossession.problems, ...challenge.problems];
  return { ...segment, ok: problems.length === 0, problems, keyPossession, challenge };
}

/**
 * The check of one circuit: the artifacts must have the hashes the manifest pins, and the
 * verification key and Solidity verifier must be exactly what the pinned zkey exports.
 */
export async function checkCircuitSetup(spec: CircuitSpec, root = REPO_ROOT): Promise<CheckResult> {
  let manifest: CircuitManifest;
  try {
    manifest = readSpecManifest(spec, root);
  } catch (err) {
    if (err instanceof CircuitError) return { ok: false, problems: [err.message] };
    throw err;
  }
  const problems = await checkSpecArtifactHashes(spec, root);
  if (JSON.stringify(manifest.circuit.publicSignals) !== JSON.stringify(spec.publicSignals)) {
    problems.push(
      `${spec.name} manifest publicSignals ${manifest.circuit.publicSignals.join(",")} differ from circuits.json ${spec.publicSignals.join(",")}`,
    );
  }
  const zkey = join(root, manifest.artifacts.zkey.path);
  if (existsSync(zkey) && (await fileSha256(zkey)) === manifest.artifacts.zkey.sha256) {
    try {
      const paths = specArtifacts(spec, root);
      const vkeyPath = join(root, manifest.artifacts.vkey.path);
      const expectedVkey = await verificationKeyJson(zkey);
      if (
        !existsSync(vkeyPath) ||
        JSON.stringify(JSON.parse(readFileSync(vkeyPath, "utf8"))) !==
          JSON.stringify(JSON.parse(expectedVkey))
      ) {
        problems.push(
          `vkey ${manifest.artifacts.vkey.path} is not the verification key of the zkey the manifest pins`,
        );
      }
      const verifierPath = join(root, manifest.artifacts.verifier.path);
      const expectedVerifier = await solidityVerifier({
        zkey,
        zkeySha256: manifest.artifacts.zkey.sha256,
        paths,
      });
      if (!existsSync(verifierPath) || readFileSync(verifierPath, "utf8") !== expectedVerifier) {
        problems.push(
          `verifier ${manifest.artifacts.verifier.path} is not the Solidity verifier of the zkey the manifest pins`,
        );
      }
      if (paths.batchVerifier) {
        const pinned = manifest.artifacts.batchVerifier;
        const expectedBatch = batchVerifierSource({
          vkey: JSON.parse(expectedVkey),
          zkeySha256: manifest.artifacts.zkey.sha256,
          paths,
        });
        if (!pinned) {
          problems.push(`${spec.name} manifest pins no batch verifier: run \`${spec.setupCommand}\``);
        } else if (
          !existsSync(join(root, pinned.path)) ||
          readFileSync(join(root, pinned.path), "utf8") !== expectedBatch
        ) {
          problems.push(
            `batchVerifier ${pinned.path} is not the batch verifier of the zkey the manifest pins`,
          );
        }
      }
    } finally {
      await releaseCurve();
    }
  }
  return { ok: problems.length === 0, manifest, problems };
}
