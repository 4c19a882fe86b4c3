/**
 * Batch verification: gas of SegmentGroth16BatchVerifier8.verifyBatch for n = 1 … 32 proofs
 * (from receipts, on the in-process Hardhat network, real size-8 proofs), and off-chain
 * verification of 64 bundles batched (verifyBundles) against one by one (verifyBundle).
 * The 64 proofs are those of test/helpers/batch-proofs.ts, proven once and cached under
 * build/test-proofs/.
 */
import { deployBatchVerifier, deployVerifier } from "../contracts/index.ts";
import { batchLane } from "../test/helpers/batch-proofs.ts";
import { connectHardhat } from "../test/helpers/hardhat.ts";
import { closeProver } from "../test/helpers/segment-proof.ts";
import { verifyBundles } from "../verifier/batch-verify.ts";
import { closeVerifier, verifyBundle, type VerificationKey } from "../verifier/verify-bundle.ts";
import { fmt, median, RUNS, timeRuns, type BenchSection } from "./lib.ts";

/** Batch sizes measured. */
export const BATCH_SIZES = [1, 4, 8, 16, 32] as const;

/**
 * What the precompiles alone cost for a batch of n (EIP-1108 prices): one pairing check of
 * n + 3 pairs (45,000 + 34,000 each), 2n + 7 ecMul (6,000 each), n + 5 ecAdd (150 each).
 */
export function batchVerifyFloor(n: number): number {
  return 45_000 + 34_000 * (n + 3) + 6_000 * (2 * n + 7) + 150 * (n + 5);
}

export interface BatchGasFigures {
  /** The single generated verifier's verifyProof, whole transaction. */
  single: bigint;
  /** verifyBatch of n proofs, whole transaction (21,000 base and calldata included). */
  batches: { n: number; gas: bigint; perProof: bigint; floor: number }[];
}

/** Deploys the size-8 verifiers on a fresh Hardhat network and measures one transaction per batch size. */
export async function measureBatchVerifyGas(
  sizes: readonly number[] = BATCH_SIZES,
): Promise<BatchGasFigures> {
  const connection = await connectHardhat();
  try {
    const signer = (await connection.ethers.getSigners())[0]!;
    const single = await deployVerifier(8, signer);
    const batch = await deployBatchVerifier(8, signer);
    const lane = await batchLane();
    const proofs = lane.segments.map((s) => s.submission.proof.map(BigInt));
    const signals = lane.segments.map((s) => s.publicSignals.map(BigInt));
    if (Math.max(...sizes) > proofs.length) throw new RangeError(`at most ${proofs.length} proofs per batch`);
    const gasOf = async (tx: { to?: string | null; data?: string }) =>
      (await (await signer.sendTransaction(tx)).wait())!.gasUsed;
    const p = proofs[0]!;
    const singleGas = await gasOf(
      await single.verifyProof.populateTransaction(
        [p[0]!, p[1]!],
        [
          [p[2]!, p[3]!],
          [p[4]!, p[5]!],
        ],
        [p[6]!, p[7]!],
        signals[0] as [bigint, bigint, bigint, bigint, bigint],
      ),
    );
    const batches: BatchGasFigures["batches"] = [];
    for (const n of sizes) {
      const ok = await batch.verifyBatch(proofs.slice(0, n), signals.slice(0, n));
      if (!ok) throw new Error(`verifyBatch refused a batch of ${n} valid proofs`);
      const gas = await gasOf(
        await batch.verifyBatch.populateTransaction(proofs.slice(0, n), signals.slice(0, n)),
      );
      batches.push({ n, gas, perProof: gas / BigInt(n), floor: batchVerifyFloor(n) });
    }
    return { single: singleGas, batches };
  } finally {
    await closeProver();
    await connection.close();
  }
}

/** Median times (ms) of checking 64 bundles off chain, batched and one by one. */
export async function measureOffchainBatch(
  runs = RUNS,
): Promise<{ bundles: number; batchedMs: number; singleMs: number }> {
  const lane = await batchLane();
  const keys = new Map<number, VerificationKey>([
    [8, { circuitId: 8, vkey: lane.vkey, vkeySha256: lane.vkeySha256 }],
  ]);
  try {
    // One warm-up each: the curve's threads start on first use.
    await verifyBundles(lane.bundles.slice(0, 2), keys);
    const batched = await timeRuns(runs, async () => {
      const results = await verifyBundles(lane.bundles, keys);
      if (!results.every((r) => r.ok && r.check === "batch"))
        throw new Error("the batch of 64 bundles failed");
    });
    const single = await timeRuns(runs, async () => {
      for (const b of lane.bundles) {
        if (!(await verifyBundle(b, (id) => keys.get(id))).ok) throw new Error("a bundle failed");
      }
    });
    return { bundles: lane.bundles.length, batchedMs: median(batched), singleMs: median(single) };
  } finally {
    await closeVerifier();
  }
}

export async function benchBatchVerify(): Promise<BenchSection> {
  const g = await measureBatchVerifyGas();
  const off = await measureOffchainBatch();
  const k = (v: bigint | number) => `${Math.round(Number(v)).toLocaleString("en-US")} gas`;
  return {
    title: "Batch verification",
    rows: [
      { metric: "verifyProof, one proof (single verifier, whole tx)", value: k(g.single) },
      ...g.batches.map((b) => ({
        metric: `verifyBatch, n = ${b.n} (whole tx)`,
        value: k(b.gas),
        note: `${k(b.perProof)} per proof (${((Number(b.perProof) / Number(g.single)) * 100).toFixed(0)}% of a single verification); precompile floor ${k(b.floor)}`,
      })),
      {
        metric: `off chain: ${off.bundles} bundles, batched (verifyBundles)`,
        value: fmt(off.batchedMs, "ms"),
        note: `${fmt(off.batchedMs / off.bundles, "ms")} per bundle; one pairing check of ${off.bundles + 3} pairs`,
      },
      {
        metric: `off chain: ${off.bundles} bundles, one by one (verifyBundle)`,
        value: fmt(off.singleMs, "ms"),
        note: `${fmt(off.singleMs / off.bundles, "ms")} per bundle; batched is ${(off.singleMs / off.batchedMs).toFixed(1)}× faster`,
      },
    ],
    notes: [
      "Gas from receipts on the in-process Hardhat network (21,000 base and calldata included), real N=8 proofs; the floor is the precompiles alone: pairing 45,000 + 34,000·(n + 3), ecMul 6,000·(2n + 7), ecAdd 150·(n + 5).",
      "Off chain: both include the statement checks (format, key, metadata); batched adds a G2 subgroup check per proof. Median of the runs.",
    ],
  };
}
