import * as snarkjs from "snarkjs";
import { bundleSchema, computeJobTag, packMeter, solidityProof, type ProofBundle } from "../trace/index.ts";

/** The verification key of one circuit, as pinned by its setup manifest. */
export interface VerificationKey {
  circuitId: number;
  vkey: unknown;
  vkeySha256: string;
}

export type BundleVerdict = { ok: true; bundle: ProofBundle } | { ok: false; reason: string };

/**
 * Checks a proof bundle without a chain: its format, that its metadata and Solidity call
 * data say the same as its public signals, that it was made for the pinned verification
 * key, and that the Groth16 proof verifies. The first failed check is the reason.
 * (verifyBundles in verifier/batch-verify.ts checks many with one pairing check.)
 */
export async function verifyBundle(
  json: unknown,
  keyFor: (circuitId: number) => VerificationKey | undefined,
): Promise<BundleVerdict> {
  const statement = checkBundleStatement(json, keyFor);
  if (!statement.ok) return statement;
  return checkBundleProof(statement.bundle, statement.key);
}

/**
 * Every check of verifyBundle but the pairing: format, key, metadata. What passes has a
 * bundle and the key to check its proof with.
 */
export function checkBundleStatement(
  json: unknown,
  keyFor: (circuitId: number) => VerificationKey | undefined,
): { ok: true; bundle: ProofBundle; key: VerificationKey } | { ok: false; reason: string } {
  const parsed = bundleSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return { ok: false, reason: `malformed bundle: ${issue.path.join(".") || "(root)"} ${issue.message}` };
  }
  const b = parsed.data;
  const key = keyFor(b.circuitId);
  if (!key)
    return { ok: false, reason: `no verification key for circuit ${b.circuitId} in the setup manifest` };
  if (b.vkeySha256 !== key.vkeySha256) {
    return {
      ok: false,
      reason: `made for another verification key: vkeySha256 ${b.vkeySha256}, the manifest pins ${key.vkeySha256}`,
    };
  }
  const mismatch = metadataMismatch(b);
  if (mismatch) return { ok: false, reason: `metadata disagrees with the public signals: ${mismatch}` };
  return { ok: true, bundle: b, key };
}

/** The Groth16 check of one bundle that passed checkBundleStatement (snarkjs groth16.verify). */
export async function checkBundleProof(b: ProofBundle, key: VerificationKey): Promise<BundleVerdict> {
  const valid = await snarkjs.groth16.verify(key.vkey, b.publicSignals.map(String), toSnarkjsProof(b));
  if (!valid)
    return {
      ok: false,
      reason: proofFailure(b.circuitId),
    };
  return { ok: true, bundle: b };
}

/** The reason given when a bundle's proof does not verify. */
export function proofFailure(circuitId: number): string {
  return `the proof does not verify against circuit ${circuitId}'s verification key`;
}

/** Names the first field where the bundle's metadata or call data contradicts its public signals. */
function metadataMismatch(b: ProofBundle): string | undefined {
  const [jobTag, workerKeyHash, prevHead, newHead, meter] = b.publicSignals as [
    bigint,
    bigint,
    bigint,
    bigint,
    bigint,
  ];
  const s = b.segment;
  const checks: [string, unknown, unknown][] = [
    [
      "job.jobTag (recomputed from chainId, escrow, jobId, provider and terms)",
      computeJobTag({ ...b.job, terms: { ...b.job.terms, expiry: BigInt(b.job.terms.expiry) } }),
      b.job.jobTag,
    ],
    ["job.jobTag", b.job.jobTag, jobTag],
    ["job.workerKeyHash", b.job.workerKeyHash, workerKeyHash],
    ["segment.prevHead", s.prevHead, prevHead],
    ["segment.newHead", s.newHead, newHead],
    [
      "segment meter (tFirst, tLast, usage)",
      packMeter({ tFirst: s.tFirst, tLast: s.tLast, usage: s.usage }),
      meter,
    ],
    ["calldata.jobId", b.calldata.jobId, b.job.jobId],
    ["calldata.circuitId", b.calldata.circuitId, b.circuitId],
    ["calldata.workerKeyHash", b.calldata.workerKeyHash, workerKeyHash],
    ["calldata.prevHead", b.calldata.prevHead, prevHead],
    ["calldata.newHead", b.calldata.newHead, newHead],
    ["calldata.meter", b.calldata.meter, meter],
    ["calldata.proof", b.calldata.proof.join(), solidityProof(toSnarkjsProof(b)).join()],
  ];
  for (const [field, actual, expected] of checks) {
    if (actual !== expected) return `${field} is ${String(actual)}, expected ${String(expected)}`;
  }
  if (s.lastSeq < s.firstSeq || s.lastSeq - s.firstSeq + 1 > b.circuitId) {
    return `segment covers records ${s.firstSeq}..${s.lastSeq}, not 1 to ${b.circuitId} records`;
  }
  return undefined;
}

/** The bundle's proof as snarkjs takes it. */
export function toSnarkjsProof(b: ProofBundle): snarkjs.Groth16Proof {
  const str = (v: bigint) => v.toString();
  return {
    pi_a: b.proof.pi_a.map(str),
    pi_b: b.proof.pi_b.map((p) => p.map(str)),
    pi_c: b.proof.pi_c.map(str),
    protocol: b.proof.protocol,
    curve: b.proof.curve,
  };
}

/** Ends snarkjs' curve threads so the process can exit. */
export { releaseCurve as closeVerifier } from "../setup/snarkjs-api.ts";
