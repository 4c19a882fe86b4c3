/**
 * Where the built circuits live: `MeteredSegment(N)`, one per segment size N, and
 * `KeyPossession()`, the worker registration proof that every size shares. This is the one
 * module through which TypeScript finds circuit artifacts (r1cs, wasm, zkey, verification
 * key, Solidity verifier and the manifest that pins their hashes); `meterproof setup --size N`
 * produces them for segment size N and for the key-possession circuit.
 */
import { createHash } from "node:crypto";
import { createReadStream, existsSync, readFileSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { z } from "zod";
import { packageRoot } from "../trace/package-root.ts";
import configJson from "./circuits.json" with { type: "json" };

/**
 * The repository root (the installed package's folder when meterproof runs from node_modules):
 * artifacts are found relative to it.
 */
export const REPO_ROOT = packageRoot(import.meta.url);
/** The folder holding the circom sources and circuits.json. */
export const CIRCUITS_DIR = join(REPO_ROOT, "circuits");

const configSchema = z.object({
  segment: z.object({
    file: z.string(),
    template: z.string(),
    publicSignals: z.array(z.string()),
    sizes: z.array(z.number().int().positive()),
    testSize: z.number().int().positive(),
    defaultSize: z.number().int().positive(),
    maxSize: z.number().int().positive(),
  }),
  keyPossession: z.object({
    file: z.string(),
    template: z.string(),
    params: z.array(z.number().int()),
    publicSignals: z.array(z.string()),
  }),
  challenge: z.object({
    file: z.string(),
    template: z.string(),
    publicSignals: z.array(z.string()),
  }),
});

const config = configSchema.parse(configJson);

/** circuits.json: the segment circuit's source file, template, public signals and sizes. */
export const circuitConfig = config.segment;
/** circuits.json: the key-possession circuit's source file, template, parameters and public signals. */
export const keyPossessionConfig = config.keyPossession;

/** The circuit's public inputs in publicSignals order (DESIGN.md); the contracts build the same array. */
export const SEGMENT_PUBLIC_SIGNALS = circuitConfig.publicSignals as readonly string[];
/** Segment size that tests set up (fits the 2^14 development powers of tau). */
export const TEST_SEGMENT_SIZE = circuitConfig.testSize;
/** Default production segment size (128 records of 30 s; needs a 2^17 powers of tau: docs/segment-size.md). */
export const DEFAULT_SEGMENT_SIZE = circuitConfig.defaultSize;
/** Largest size `setup` accepts: the trace header's segmentSize limit. */
export const MAX_SEGMENT_SIZE = circuitConfig.maxSize;

/** A problem with the circuit artifacts, naming the file or option and the rule. */
export class CircuitError extends Error {
  override readonly name = "CircuitError";
  readonly field: string;
  readonly rule: string;
  constructor(field: string, rule: string) {
    super(`${field} ${rule}`);
    this.field = field;
    this.rule = rule;
  }
}

/** Checks a circuit id (segment size) and returns it. */
export function checkSegmentSize(size: unknown, field = "--size"): number {
  if (typeof size !== "number" || !Number.isInteger(size) || size < 1 || size > MAX_SEGMENT_SIZE) {
    throw new CircuitError(field, `must be an integer from 1 to ${MAX_SEGMENT_SIZE}, got ${String(size)}`);
  }
  return size;
}

/**
 * One circuit that `setup` builds: everything that differs between the segment circuits and
 * the key-possession circuit. Setup, the manifest and the artifact paths follow from it.
 */
export interface CircuitSpec {
  /** Folder under build/circuits/ and the stem of every artifact: `segment_8`, `key_possession`. */
  name: string;
  /** circom source under circuits/ that declares the template. */
  file: string;
  template: string;
  /** Template parameters of the main component (N for MeteredSegment, none for KeyPossession). */
  params: readonly number[];
  /** Public inputs in publicSignals order; the circuit has no outputs. */
  publicSignals: readonly string[];
  /** File under contracts/generated/ that holds the exported Solidity verifier. */
  verifierFile: string;
  /** Contract declared in that file. */
  contractName: string;
  /** File under contracts/generated/ of the batch verifier (segment circuits only). */
  batchVerifierFile?: string;
  /** Contract declared in that file. */
  batchContractName?: string;
  /** The command that builds it, for error messages. */
  setupCommand: string;
}

/** The spec of MeteredSegment(size). */
export function segmentSpec(size: number): CircuitSpec {
  checkSegmentSize(size, "size");
  return {
    name: `segment_${size}`,
    file: circuitConfig.file,
    template: circuitConfig.template,
    params: [size],
    publicSignals: circuitConfig.publicSignals,
    verifierFile: `SegmentVerifier${size}.sol`,
    contractName: `SegmentGroth16Verifier${size}`,
    batchVerifierFile: `SegmentBatchVerifier${size}.sol`,
    batchContractName: `SegmentGroth16BatchVerifier${size}`,
    setupCommand: `meterproof setup --size ${size}`,
  };
}

/** Public inputs of KeyPossession(), in order: `[workerKeyHash, binding]`. */
export const KEY_POSSESSION_PUBLIC_SIGNALS = keyPossessionConfig.publicSignals as readonly string[];

/**
 * The spec of KeyPossession(): the proof a provider gives WorkerRegistry.registerWorker that
 * it holds the worker key (circuits/key_possession.circom). One circuit for every segment
 * size: `meterproof setup` builds it along with the segment circuit.
 */
export const KEY_POSSESSION_SPEC: CircuitSpec = {
  name: "key_possession",
  file: keyPossessionConfig.file,
  template: keyPossessionConfig.template,
  params: keyPossessionConfig.params,
  publicSignals: keyPossessionConfig.publicSignals,
  verifierFile: "KeyPossessionVerifier.sol",
  contractName: "KeyPossessionGroth16Verifier",
  setupCommand: "meterproof setup",
};

/** circuits.json: the plausibility challenge circuit's source file, template and public signals. */
export const challengeConfig = config.challenge;
/** Public inputs of ImplausibleRecord(N), in order (PlausibilityChallenge builds the same array). */
export const CHALLENGE_PUBLIC_SIGNALS = challengeConfig.publicSignals as readonly string[];

/**
 * The spec of ImplausibleRecord(size): the proof that an accepted segment of at most `size`
 * records holds a record whose energy is not its power over its interval
 * (circuits/implausible_record.circom). `meterproof setup --size N` builds it with the segment
 * circuit; the network deploys the one of its largest segment size.
 */
export function challengeSpec(size: number): CircuitSpec {
  checkSegmentSize(size, "size");
  return {
    name: `challenge_${size}`,
    file: challengeConfig.file,
    template: challengeConfig.template,
    params: [size],
    publicSignals: challengeConfig.publicSignals,
    verifierFile: `ChallengeVerifier${size}.sol`,
    contractName: `ImplausibleRecordGroth16Verifier${size}`,
    setupCommand: `meterproof setup --size ${size}`,
  };
}

/** The artifact paths of the challenge circuit of segment size `size`. */
export function challengeArtifacts(size: number, root = REPO_ROOT): CircuitArtifacts {
  return specArtifacts(challengeSpec(size), root);
}

/** Paths of everything setup builds for one circuit. */
export interface CircuitArtifacts {
  spec: CircuitSpec;
  /** build/circuits/{name}/ */
  dir: string;
  /** Generated main component (not in git). */
  main: string;
  r1cs: string;
  sym: string;
  wasm: string;
  zkey: string;
  vkey: string;
  manifest: string;
  /** Reuse stamps of the setup stages. */
  stages: string;
  /** contracts/generated/SegmentVerifier{N}.sol, contracts/generated/KeyPossessionVerifier.sol */
  verifier: string;
  /** Contract declared in the verifier file. */
  contractName: string;
  /** contracts/generated/SegmentBatchVerifier{N}.sol; absent for the key-possession circuit. */
  batchVerifier?: string;
  /** Contract declared in the batch verifier file. */
  batchContractName?: string;
}

/** The artifact paths of a circuit under repository root `root`. */
export function specArtifacts(spec: CircuitSpec, root = REPO_ROOT): CircuitArtifacts {
  const name = spec.name;
  const dir = join(root, "build", "circuits", name);
  return {
    spec,
    dir,
    main: join(dir, `${name}.circom`),
    r1cs: join(dir, `${name}.r1cs`),
    sym: join(dir, `${name}.sym`),
    wasm: join(dir, `${name}_js`, `${name}.wasm`),
    zkey: join(dir, `${name}.zkey`),
    vkey: join(dir, "verification_key.json"),
    manifest: join(dir, "manifest.json"),
    stages: join(dir, "stages.json"),
    verifier: join(root, "contracts", "generated", spec.verifierFile),
    contractName: spec.contractName,
    ...(spec.batchVerifierFile && spec.batchContractName
      ? {
          batchVerifier: join(root, "contracts", "generated", spec.batchVerifierFile),
          batchContractName: spec.batchContractName,
        }
      : {}),
  };
}

/** The artifact paths for segment size `size` under repository root `root`. */
export function circuitArtifacts(size: number, root = REPO_ROOT): CircuitArtifacts {
  return specArtifacts(segmentSpec(size), root);
}

/**
 * The artifact paths of the key-possession circuit (zkey, wasm, vkey, verifier, manifest, …)
 * under repository root `root`.
 */
export function keyPossessionArtifacts(root = REPO_ROOT): CircuitArtifacts {
  return specArtifacts(KEY_POSSESSION_SPEC, root);
}

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, "must be 64 lowercase hex digits");
const artifactSchema = z.strictObject({ path: z.string(), sha256: sha256Hex });

export const manifestSchema = z.strictObject({
  kind: z.literal("meterproof-circuit-manifest"),
  /** 2: the circuit is named (`segment_8`, `key_possession`) with its template parameters. */
  version: z.literal(2),
  circuit: z.strictObject({
    /** CircuitSpec name: the build folder. */
    name: z.string(),
    template: z.string(),
    params: z.array(z.number().int()),
    publicSignals: z.array(z.string()),
    constraints: z.number().int().nonnegative(),
    wires: z.number().int().positive(),
    /** Smallest powers-of-tau exponent that fits the circuit. */
    requiredPower: z.number().int().positive(),
  }),
  setup: z.strictObject({
    /** True when phase 1 is a development powers of tau: anyone can forge proofs. */
    insecure: z.boolean(),
    ptau: z.strictObject({
      file: z.string(),
      sha256: sha256Hex,
      power: z.number().int().positive(),
      source: z.enum(["given", "shared-dev", "cached-dev", "generated-dev"]),
    }),
    contribution: z.string(),
    beacon: z.strictObject({ hash: z.string(), iterationsExp: z.number().int() }),
    circom2: z.string(),
    snarkjs: z.string(),
    createdAt: z.string(),
  }),
  /** Hashes of what the artifacts were made from; setup reuses work while they are unchanged. */
  inputs: z.strictObject({ sources: sha256Hex, compile: sha256Hex, zkey: sha256Hex }),
  artifacts: z.strictObject({
    r1cs: artifactSchema,
    wasm: artifactSchema,
    zkey: artifactSchema,
    vkey: artifactSchema,
    verifier: artifactSchema,
    /** The batch verifier (segment circuits; setup/batch-verifier.ts writes it from the vkey). */
    batchVerifier: artifactSchema.optional(),
  }),
});

/** manifest.json of one setup: what was built, from what, and the SHA-256 of every artifact. */
export type CircuitManifest = z.infer<typeof manifestSchema>;
export type ArtifactName = keyof CircuitManifest["artifacts"];

/** Reads and validates the manifest of segment size `size`. */
export function readManifest(size: number, root = REPO_ROOT): CircuitManifest {
  return readSpecManifest(segmentSpec(size), root);
}

/** Reads and validates the manifest of a circuit. */
export function readSpecManifest(spec: CircuitSpec, root = REPO_ROOT): CircuitManifest {
  const paths = specArtifacts(spec, root);
  if (!existsSync(paths.manifest)) {
    throw new CircuitError(relativePath(root, paths.manifest), `is missing: run \`${spec.setupCommand}\``);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(paths.manifest, "utf8"));
  } catch (err) {
    throw new CircuitError(
      relativePath(root, paths.manifest),
      `must be readable JSON (${(err as Error).message})`,
    );
  }
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new CircuitError(
      `${relativePath(root, paths.manifest)} ${issue.path.join(".") || "(root)"}`,
      `${issue.message}: run \`${spec.setupCommand}\``,
    );
  }
  if (parsed.data.circuit.name !== spec.name) {
    throw new CircuitError(
      relativePath(root, paths.manifest),
      `is for ${parsed.data.circuit.name}, not ${spec.name}`,
    );
  }
  return parsed.data;
}

/** SHA-256 of a file as 64 lowercase hex digits (streamed: zkeys are large). */
export async function fileSha256(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** A path relative to the repository root, with forward slashes (as manifests store it). */
export function relativePath(root: string, path: string): string {
  return relative(root, path).split(sep).join("/");
}

/**
 * Compares every artifact of a setup with the hash its manifest pins. Returns one line
 * per problem (missing file or changed hash); an empty list means all match.
 */
export async function checkArtifactHashes(size: number, root = REPO_ROOT): Promise<string[]> {
  return checkSpecArtifactHashes(segmentSpec(size), root);
}

/** checkArtifactHashes for any circuit. */
export async function checkSpecArtifactHashes(spec: CircuitSpec, root = REPO_ROOT): Promise<string[]> {
  const manifest = readSpecManifest(spec, root);
  const problems: string[] = [];
  for (const [name, artifact] of Object.entries(manifest.artifacts)) {
    const path = join(root, artifact.path);
    if (!existsSync(path)) {
      problems.push(`${name} ${artifact.path} is missing`);
      continue;
    }
    const actual = await fileSha256(path);
    if (actual !== artifact.sha256) {
      problems.push(`${name} ${artifact.path} has sha256 ${actual}, the manifest pins ${artifact.sha256}`);
    }
  }
  return problems;
}
