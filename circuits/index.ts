/**
 * Where the built `MeteredSegment` circuits live. This is the one module through which
 * TypeScript finds circuit artifacts (r1cs, wasm, zkey, verification key, Solidity verifier
 * and the manifest that pins their hashes); `meterproof setup --size N` produces them.
 */
import { createHash } from "node:crypto";
import { createReadStream, existsSync, readFileSync } from "node:fs";
import { dirname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import configJson from "./circuits.json" with { type: "json" };

/** The repository root: artifacts are found relative to it. */
export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
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
});

/** circuits.json: the segment circuit's source file, template, public signals and sizes. */
export const circuitConfig = configSchema.parse(configJson).segment;

/** The circuit's public inputs in publicSignals order (DESIGN.md); the contracts build the same array. */
export const SEGMENT_PUBLIC_SIGNALS = circuitConfig.publicSignals as readonly string[];
/** Segment size that tests set up (fits the 2^14 development powers of tau). */
export const TEST_SEGMENT_SIZE = circuitConfig.testSize;
/** Default production segment size (fits a 2^16 powers of tau). */
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

/** Paths of everything `setup --size N` builds for one segment size. */
export interface CircuitArtifacts {
  size: number;
  /** build/circuits/segment_{N}/ */
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
  /** contracts/generated/SegmentVerifier{N}.sol */
  verifier: string;
  /** Contract declared in the verifier file. */
  contractName: string;
}

/** The artifact paths for segment size `size` under repository root `root`. */
export function circuitArtifacts(size: number, root = REPO_ROOT): CircuitArtifacts {
  checkSegmentSize(size, "size");
  const name = `segment_${size}`;
  const dir = join(root, "build", "circuits", name);
  return {
    size,
    dir,
    main: join(dir, `${name}.circom`),
    r1cs: join(dir, `${name}.r1cs`),
    sym: join(dir, `${name}.sym`),
    wasm: join(dir, `${name}_js`, `${name}.wasm`),
    zkey: join(dir, `${name}.zkey`),
    vkey: join(dir, "verification_key.json"),
    manifest: join(dir, "manifest.json"),
    stages: join(dir, "stages.json"),
    verifier: join(root, "contracts", "generated", `SegmentVerifier${size}.sol`),
    contractName: `SegmentGroth16Verifier${size}`,
  };
}

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, "must be 64 lowercase hex digits");
const artifactSchema = z.strictObject({ path: z.string(), sha256: sha256Hex });

export const manifestSchema = z.strictObject({
  kind: z.literal("meterproof-circuit-manifest"),
  version: z.literal(1),
  circuit: z.strictObject({
    template: z.string(),
    size: z.number().int().positive(),
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
  }),
});

/** manifest.json of one setup: what was built, from what, and the SHA-256 of every artifact. */
export type CircuitManifest = z.infer<typeof manifestSchema>;
export type ArtifactName = keyof CircuitManifest["artifacts"];

/** Reads and validates the manifest of segment size `size`. */
export function readManifest(size: number, root = REPO_ROOT): CircuitManifest {
  const paths = circuitArtifacts(size, root);
  if (!existsSync(paths.manifest)) {
    throw new CircuitError(
      relativePath(root, paths.manifest),
      `is missing: run \`meterproof setup --size ${size}\``,
    );
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
      issue.message,
    );
  }
  if (parsed.data.circuit.size !== size) {
    throw new CircuitError(
      relativePath(root, paths.manifest),
      `is for size ${parsed.data.circuit.size}, not ${size}`,
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
  const manifest = readManifest(size, root);
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
