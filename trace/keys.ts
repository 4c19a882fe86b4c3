import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { z } from "zod";
import { verifyEddsaPoseidon } from "./babyjub.ts";
import { SEAL_DOMAIN } from "./constants.ts";
import { publicKeyOf, signPoseidonWith } from "./eddsa.ts";
import { TraceError } from "./errors.ts";
import { poseidon } from "./poseidon.ts";

/** A BabyJubjub public key (affine point) in decimal-string-free bigint form. */
export interface PublicKey {
  ax: bigint;
  ay: bigint;
}

/** An EdDSA-Poseidon signature as circomlib's EdDSAPoseidonVerifier takes it. */
export interface SealSignature {
  r8x: bigint;
  r8y: bigint;
  s: bigint;
}

/** A worker's signing key: 32 secret bytes, with the public key and its hash derived from them. */
export interface WorkerKey {
  privateKey: Uint8Array;
  publicKey: PublicKey;
  /** Poseidon(Ax, Ay): the key's identity on chain. */
  keyHash: bigint;
}

/** `workerKeyHash = Poseidon(Ax, Ay)`. */
export function workerKeyHash(pub: PublicKey): bigint {
  return poseidon([pub.ax, pub.ay]);
}

/** Derives the public key and key hash of 32 secret bytes. */
export async function workerKeyFromSecret(privateKey: Uint8Array): Promise<WorkerKey> {
  if (privateKey.length !== 32)
    throw new TraceError("privateKey", `must be 32 bytes, got ${privateKey.length}`);
  const [ax, ay] = await publicKeyOf(privateKey);
  const publicKey = { ax, ay };
  return { privateKey, publicKey, keyHash: workerKeyHash(publicKey) };
}

/** A new random worker key. */
export function generateWorkerKey(): Promise<WorkerKey> {
  return workerKeyFromSecret(new Uint8Array(randomBytes(32)));
}

/** The message a worker signs to seal a segment: Poseidon(SEAL_DOMAIN, newHead). */
export function sealMessage(newHead: bigint): bigint {
  return poseidon([SEAL_DOMAIN, newHead]);
}

/** Signs a field element with EdDSA-Poseidon. */
export async function signPoseidon(key: WorkerKey, message: bigint): Promise<SealSignature> {
  const { r8, s } = await signPoseidonWith(key.privateKey, [key.publicKey.ax, key.publicKey.ay], message);
  return { r8x: r8[0], r8y: r8[1], s };
}

/**
 * Verifies an EdDSA-Poseidon signature the way circomlib's EdDSAPoseidonVerifier does,
 * including the rule that S is below the subgroup order (signature malleability). Uses the
 * BigInt implementation in babyjub.ts; tests check it against circomlibjs.
 */
export async function verifyPoseidon(pub: PublicKey, message: bigint, sig: SealSignature): Promise<boolean> {
  return verifyEddsaPoseidon([pub.ax, pub.ay], message, [sig.r8x, sig.r8y], sig.s);
}

/** Signs the seal of a segment whose chain ends at `newHead`. */
export function signSeal(key: WorkerKey, newHead: bigint): Promise<SealSignature> {
  return signPoseidon(key, sealMessage(newHead));
}

/** Checks a seal signature against a worker public key. */
export function verifySeal(pub: PublicKey, newHead: bigint, sig: SealSignature): Promise<boolean> {
  return verifyPoseidon(pub, sealMessage(newHead), sig);
}

const keyFileSchema = z.object({
  kind: z.literal("meterproof-worker-key"),
  version: z.literal(1),
  privateKey: z.string().regex(/^0x[0-9a-f]{64}$/, "must be 0x followed by 64 lowercase hex digits"),
  publicKey: z.object({ ax: z.string(), ay: z.string() }),
  keyHash: z.string(),
});

/** Writes a worker key file with mode 0600; refuses to overwrite an existing file. */
export function saveWorkerKey(path: string, key: WorkerKey): void {
  const body = {
    kind: "meterproof-worker-key",
    version: 1,
    privateKey: "0x" + Buffer.from(key.privateKey).toString("hex"),
    publicKey: { ax: key.publicKey.ax.toString(), ay: key.publicKey.ay.toString() },
    keyHash: key.keyHash.toString(),
  };
  if (existsSync(path)) throw new TraceError("--out", `refuses to overwrite the existing file ${path}`);
  // flag "wx" fails if the file appeared meanwhile, so a key is never silently replaced.
  writeFileSync(path, JSON.stringify(body, null, 2) + "\n", { mode: 0o600, flag: "wx" });
}

/** Reads a worker key file and checks that its public key matches its secret. */
export async function loadWorkerKey(path: string): Promise<WorkerKey> {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new TraceError("key file", `must be readable JSON (${(err as Error).message})`);
  }
  const parsed = keyFileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new TraceError(`key file ${issue.path.join(".") || "(root)"}`, issue.message);
  }
  const key = await workerKeyFromSecret(Buffer.from(parsed.data.privateKey.slice(2), "hex"));
  if (key.keyHash.toString() !== parsed.data.keyHash) {
    throw new TraceError("key file keyHash", "does not match the private key");
  }
  return key;
}
