/**
 * Phase 1 of the trusted setup: a powers-of-tau file. Production setups take a public
 * ceremony file by path. Development setups use a file that anyone can rebuild from a
 * public beacon (so anyone can forge proofs with it): the shared copy next to the
 * repository when present, else one generated once and cached outside the repository.
 */
import { randomBytes } from "node:crypto";
import { closeSync, existsSync, mkdirSync, openSync, readSync, renameSync, rmSync } from "node:fs";
import { homedir } from "node:os";
import { basename, join } from "node:path";
import { CircuitError, fileSha256 } from "../circuits/index.ts";
import { curves, powersOfTau } from "./snarkjs-api.ts";

/** SHA-256 of the deterministic development files (the same commands give the same bytes). */
export const DEV_PTAU_SHA256: Readonly<Record<number, string>> = {
  14: "62b82b903f83d6b54bf70479f7b5b44cac12dc740eac4125b45687a761a877e9",
  15: "d682bec0cc1ae58b0b1610932f2a038eceb933aa99cd4022597fc1d171389b39",
  16: "81781804af795c82ea3f0689c0818d61d51fbe360142427a3009d85fad1667bf",
};

/** The public beacon of the development phase 1: `powersoftau beacon <hash> 10`. */
export const DEV_PTAU_BEACON = "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
export const DEV_PTAU_BEACON_ITERATIONS_EXP = 10;

export type PtauSource = "given" | "shared-dev" | "cached-dev" | "generated-dev";

export interface ResolvedPtau {
  path: string;
  sha256: string;
  /** Its ceremony's power: it fits circuits of up to 2^power constraints. */
  power: number;
  source: PtauSource;
  /** True for development files: their toxic waste is public. */
  insecure: boolean;
}

export function devPtauName(power: number): string {
  return `insecure_dev_${power}.ptau`;
}

/** Where development files are cached: $METERPROOF_PTAU_CACHE, else ~/.cache/meterproof/ptau. */
export function devPtauCacheDir(): string {
  const override = process.env.METERPROOF_PTAU_CACHE;
  if (override) return override;
  const base = process.env.XDG_CACHE_HOME || join(homedir(), ".cache");
  return join(base, "meterproof", "ptau");
}

/** The shared development files next to the repository (`<repo>/../shared/ptau`), if any. */
export function sharedPtauDir(repoRoot: string): string {
  return join(repoRoot, "..", "shared", "ptau");
}

/**
 * Reads the power of a .ptau file from its header (section 1: n8, q, power, ceremonyPower).
 * Throws a CircuitError naming `field` when the file is not a BN254 powers of tau.
 */
export function readPtauPower(path: string, field = "--ptau"): number {
  if (!existsSync(path)) throw new CircuitError(field, `names a file that does not exist: ${path}`);
  const fd = openSync(path, "r");
  try {
    const head = Buffer.alloc(512);
    const n = readSync(fd, head, 0, head.length, 0);
    if (n < 12 || head.toString("ascii", 0, 4) !== "ptau")
      throw new CircuitError(field, `must be a powers-of-tau (.ptau) file: ${path}`);
    // Sections follow the 12-byte file header; the header section (type 1) comes first.
    let pos = 12;
    const sections = head.readUInt32LE(8);
    for (let i = 0; i < sections && pos + 12 <= n; i++) {
      const type = head.readUInt32LE(pos);
      const size = Number(head.readBigUInt64LE(pos + 4));
      if (type === 1) {
        const n8 = head.readUInt32LE(pos + 12);
        if (n8 !== 32)
          throw new CircuitError(
            field,
            `must be a BN254 powers of tau (32-byte field), got ${n8}-byte elements`,
          );
        return head.readUInt32LE(pos + 16 + n8);
      }
      pos += 12 + size;
    }
    throw new CircuitError(field, `has no header section: ${path}`);
  } finally {
    closeSync(fd);
  }
}

/** Largest development powers of tau looked for in the cache (2^28 is BN254's limit). */
const MAX_CACHED_POWER = 28;

/**
 * Finds the phase-1 file for a circuit that needs `requiredPower`: `given` when set (it
 * must be large enough), else a development file (shared, cached or generated now).
 * Generating one takes minutes (about 8 at 2^14 on two cores); `log` says so.
 */
export async function resolvePtau(args: {
  requiredPower: number;
  given?: string;
  repoRoot: string;
  log: (line: string) => void;
}): Promise<ResolvedPtau> {
  const { requiredPower, given, repoRoot, log } = args;
  if (given) {
    const power = readPtauPower(given);
    if (power < requiredPower) {
      throw new CircuitError(
        "--ptau",
        `must have power >= ${requiredPower} for this circuit, got a 2^${power} file: ${given}`,
      );
    }
    const sha256 = await fileSha256(given);
    // A development file passed by path is still a development file.
    const insecure = Object.values(DEV_PTAU_SHA256).includes(sha256);
    return { path: given, sha256, power, source: "given", insecure };
  }

  const sharedDir = sharedPtauDir(repoRoot);
  for (const power of Object.keys(DEV_PTAU_SHA256)
    .map(Number)
    .sort((a, b) => a - b)) {
    if (power < requiredPower) continue;
    const path = join(sharedDir, devPtauName(power));
    if (!existsSync(path)) continue;
    const sha256 = await fileSha256(path);
    if (sha256 === DEV_PTAU_SHA256[power])
      return { path, sha256, power, source: "shared-dev", insecure: true };
    log(`ignoring ${path}: sha256 ${sha256} is not the known ${DEV_PTAU_SHA256[power]}`);
  }

  const power = Math.max(requiredPower, 8);
  const cacheDir = devPtauCacheDir();
  const path = join(cacheDir, devPtauName(power));
  // Any cached development file at least this large serves (the key-possession circuit needs
  // 2^13 and reuses the segment circuit's 2^14 instead of spending minutes on its own).
  for (let p = power; p <= MAX_CACHED_POWER; p++) {
    const cached = join(cacheDir, devPtauName(p));
    if (!existsSync(cached)) continue;
    const sha256 = await fileSha256(cached);
    const known = DEV_PTAU_SHA256[p];
    if (known === undefined || sha256 === known)
      return { path: cached, sha256, power: p, source: "cached-dev", insecure: true };
    log(`ignoring ${cached}: sha256 ${sha256} is not the known ${known}`);
  }
  log(`generating the development powers of tau 2^${power} in ${cacheDir} (INSECURE; minutes, done once)`);
  await generateDevPtau(power, path);
  const sha256 = await fileSha256(path);
  const known = DEV_PTAU_SHA256[power];
  if (known !== undefined && sha256 !== known) {
    throw new CircuitError(
      basename(path),
      `was generated with sha256 ${sha256}, expected ${known}: is snarkjs still 0.7.6?`,
    );
  }
  return { path, sha256, power, source: "generated-dev", insecure: true };
}

/**
 * Builds a development powers of tau deterministically: a new accumulator, one public
 * beacon and `prepare phase2`, as `snarkjs powersoftau new/beacon/prepare phase2` do.
 * Writes to temporary files first so an interrupted run leaves no half file in the cache.
 */
export async function generateDevPtau(power: number, out: string): Promise<void> {
  const dir = join(out, "..");
  mkdirSync(dir, { recursive: true });
  const tmp = `${out}.${randomBytes(4).toString("hex")}.tmp`;
  const step0 = `${tmp}.0`;
  const step1 = `${tmp}.1`;
  try {
    const curve = await curves.getCurveFromName("bn128");
    await powersOfTau.newAccumulator(curve, power, step0);
    // No contribution name, as the snarkjs command line writes it: the bytes must match DEV_PTAU_SHA256.
    const ok = await powersOfTau.beacon(
      step0,
      step1,
      undefined,
      DEV_PTAU_BEACON,
      DEV_PTAU_BEACON_ITERATIONS_EXP,
    );
    if (ok === false) throw new CircuitError("powers of tau beacon", "was refused by snarkjs");
    await powersOfTau.preparePhase2(step1, tmp);
    renameSync(tmp, out);
  } finally {
    for (const f of [step0, step1, tmp]) rmSync(f, { force: true });
  }
}
