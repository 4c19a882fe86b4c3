/**
 * Batched Groth16 verification off chain: many proofs of one verification key checked with
 * one multi-pairing (n + 3 Miller loops and one final exponentiation instead of 4n and n),
 * the same random-linear-combination equation as the on-chain batch verifier
 * (setup/batch-verifier.ts, docs/contracts.md "Batch verification"):
 *   Π_j e(-r_j·A_j, B_j) · e((Σ r_j)·α, β) · e(Σ_j r_j·L_j, γ) · e(Σ_j r_j·C_j, δ) = 1.
 * Off chain the verifier picks the 128-bit coefficients itself, from crypto.randomBytes, after
 * it has every proof: a batch with an invalid proof passes with probability at most 2^-128.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { parseGroth16Vkey } from "../setup/batch-verifier.ts";
import { BASE_FIELD_MODULUS, FIELD_MODULUS } from "../trace/constants.ts";
import { bn128 } from "../setup/snarkjs-api.ts";
import {
  checkBundleProof,
  checkBundleStatement,
  type BundleVerdict,
  type VerificationKey,
} from "./verify-bundle.ts";
import type { ProofBundle } from "../trace/index.ts";

/** One Groth16 statement: a snarkjs proof (affine or projective coordinates) and its public signals. */
export interface Groth16Statement {
  proof: {
    pi_a: readonly (bigint | string)[];
    pi_b: readonly (readonly (bigint | string)[])[];
    pi_c: readonly (bigint | string)[];
  };
  publicSignals: readonly (bigint | string)[];
}

/** A fresh nonzero 128-bit coefficient from the operating system's random source. */
export function randomCoefficient(): bigint {
  for (;;) {
    const r = BigInt("0x" + randomBytes(16).toString("hex"));
    if (r !== 0n) return r;
  }
}

/**
 * Checks n Groth16 proofs of one verification key with one multi-pairing. Returns true when the
 * combined equation holds, false when it does not or when a statement is malformed (a signal
 * not below r, a coordinate not below q, A or C off the curve, B off the curve or outside the
 * G2 subgroup: batching is only sound for points of the prime-order groups). `coefficients`
 * are fresh random 128-bit values unless given (tests give fixed ones to show why they must not
 * be predictable).
 */
export async function batchVerifyGroth16(args: {
  vkey: unknown;
  statements: readonly Groth16Statement[];
  coefficients?: readonly bigint[];
}): Promise<boolean> {
  const vk = parseGroth16Vkey(args.vkey);
  const n = args.statements.length;
  if (n === 0) throw new RangeError("batchVerifyGroth16: the batch must hold at least one proof");
  const coefficients = args.coefficients ?? args.statements.map(() => randomCoefficient());
  if (coefficients.length !== n)
    throw new RangeError(`batchVerifyGroth16: ${coefficients.length} coefficients for ${n} proofs`);
  const curve = await bn128();
  const { G1, G2 } = curve;
  const big = (v: bigint | string): bigint => BigInt(v);
  const inBase = (vs: readonly bigint[]) => vs.every((v) => v >= 0n && v < BASE_FIELD_MODULUS);
  const g1Of = (p: readonly (bigint | string)[]): Uint8Array | undefined => {
    const c = p.map(big);
    return c.length === 3 && inBase(c) ? G1.fromObject(c) : undefined;
  };
  const g2Of = (p: readonly (readonly (bigint | string)[])[]): Uint8Array | undefined => {
    const c = p.map((limbs) => limbs.map(big));
    return c.length === 3 && c.every((l) => l.length === 2 && inBase(l)) ? G2.fromObject(c) : undefined;
  };

  const pairs: Uint8Array[] = [];
  let sumR = 0n;
  const sumS: bigint[] = new Array<bigint>(vk.nPublic).fill(0n);
  let sumC = G1.zero;
  for (let j = 0; j < n; j++) {
    const { proof, publicSignals } = args.statements[j]!;
    const r = coefficients[j]!;
    const signals = publicSignals.map(big);
    if (signals.length !== vk.nPublic || !signals.every((s) => s >= 0n && s < FIELD_MODULUS)) return false;
    const a = g1Of(proof.pi_a);
    const b = g2Of(proof.pi_b);
    const c = g1Of(proof.pi_c);
    if (!a || !b || !c || !G1.isValid(a) || !G1.isValid(c) || !G2.isValid(b)) return false;
    // BN254's G1 has cofactor 1; G2's does not, and off the subgroup the pairing is not
    // linear in its first argument, which the combination relies on.
    if (!G2.isZero(G2.timesScalar(b, curve.r))) return false;
    pairs.push(G1.neg(G1.timesScalar(a, r)), b);
    sumC = G1.add(sumC, G1.timesScalar(c, r));
    sumR += r;
    for (let i = 0; i < vk.nPublic; i++) sumS[i] = (sumS[i]! + r * signals[i]!) % FIELD_MODULUS;
  }
  sumR %= FIELD_MODULUS;
  const times = (p: Uint8Array, s: bigint): Uint8Array => (s === 0n ? G1.zero : G1.timesScalar(p, s));
  let sumL = times(G1.fromObject(vk.IC[0]!.map(big)), sumR);
  for (let i = 0; i < vk.nPublic; i++)
    sumL = G1.add(sumL, times(G1.fromObject(vk.IC[i + 1]!.map(big)), sumS[i]!));
  const g2 = (p: readonly (readonly string[])[]) => G2.fromObject(p.map((l) => l.map(big)));
  return curve.pairingEq(
    ...pairs,
    times(G1.fromObject(vk.vk_alpha_1.map(big)), sumR),
    g2(vk.vk_beta_2),
    sumL,
    g2(vk.vk_gamma_2),
    sumC,
    g2(vk.vk_delta_2),
  );
}

/** One bundle's result from verifyBundles. */
export type BundleResult = BundleVerdict & {
  /** The path given, or `bundle #i` for a bundle given as an object. */
  source: string;
  /**
   * How its proof was decided: `batch` (in one pairing check with `batchSize` - 1 others, which
   * held), `single` (alone: the only one of its circuit, or its batch failed and every member
   * was checked alone), `none` (refused before the proof: file, format, key or metadata).
   */
  check: "batch" | "single" | "none";
  /** Bundles in the pairing check that decided it (1 for a single check, 0 for none). */
  batchSize: number;
};

export interface VerifyBundlesOptions {
  /** Smallest group checked in a batch; smaller groups are checked one by one (default 2). */
  minBatch?: number;
  /** Draws the batch coefficients (default randomCoefficient: 128 bits of crypto.randomBytes). */
  coefficient?: () => bigint;
}

/**
 * Checks many proof bundles (paths, or parsed bundle JSON) against the pinned verification keys,
 * with the result verifyBundle would give for each, in input order. Bundles that pass the
 * statement checks (format, key, metadata) are grouped by circuit id and each group's proofs are
 * checked with one multi-pairing and fresh random coefficients. When a group's check fails,
 * every bundle in it is checked alone, so each failing bundle is named with its reason.
 */
export async function verifyBundles(
  inputs: readonly unknown[],
  keys: ReadonlyMap<number, VerificationKey> | ((circuitId: number) => VerificationKey | undefined),
  opts: VerifyBundlesOptions = {},
): Promise<BundleResult[]> {
  const keyFor = typeof keys === "function" ? keys : (id: number) => keys.get(id);
  const minBatch = Math.max(2, opts.minBatch ?? 2);
  const results: BundleResult[] = new Array<BundleResult>(inputs.length);
  const groups = new Map<number, { index: number; bundle: ProofBundle; key: VerificationKey }[]>();
  inputs.forEach((input, index) => {
    const source = typeof input === "string" ? input : `bundle #${index}`;
    let json: unknown = input;
    if (typeof input === "string") {
      try {
        json = JSON.parse(readFileSync(input, "utf8"));
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        const reason = code === "ENOENT" ? "no such file" : "not a JSON file";
        results[index] = { ok: false, reason, source, check: "none", batchSize: 0 };
        return;
      }
    }
    const statement = checkBundleStatement(json, keyFor);
    if (!statement.ok) {
      results[index] = { ...statement, source, check: "none", batchSize: 0 };
      return;
    }
    const group = groups.get(statement.bundle.circuitId) ?? [];
    group.push({ index, bundle: statement.bundle, key: statement.key });
    groups.set(statement.bundle.circuitId, group);
  });

  for (const group of groups.values()) {
    const sourceOf = (i: number) => {
      const input = inputs[i];
      return typeof input === "string" ? input : `bundle #${i}`;
    };
    if (group.length >= minBatch) {
      const ok = await batchVerifyGroth16({
        vkey: group[0]!.key.vkey,
        statements: group.map(({ bundle }) => ({ proof: bundle.proof, publicSignals: bundle.publicSignals })),
        coefficients: group.map(() => (opts.coefficient ?? randomCoefficient)()),
      });
      if (ok) {
        for (const { index, bundle } of group) {
          results[index] = {
            ok: true,
            bundle,
            source: sourceOf(index),
            check: "batch",
            batchSize: group.length,
          };
        }
        continue;
      }
    }
    for (const { index, bundle, key } of group) {
      const verdict = await checkBundleProof(bundle, key);
      results[index] = { ...verdict, source: sourceOf(index), check: "single", batchSize: 1 };
    }
  }
  return results;
}
