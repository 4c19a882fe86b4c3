import { readFileSync } from "node:fs";
import { circuitArtifacts, fileSha256 } from "../../circuits/index.ts";
import { makeBundle } from "../../prover/prove-trace.ts";
import type { ProofBundleJson } from "../../trace/index.ts";
import {
  buildLaneTrace,
  proveSegments,
  testWorkerKey,
  TEST_CIRCUIT,
  type ProvenSegment,
} from "./segment-proof.ts";

/** Segments of the batch lane: 64, so a bench can check 64 bundles and the gas runs reach n = 32. */
export const BATCH_LANE_SEGMENTS = 64;
/** What the tests need of it (batches up to 16): a prefix of the same lane, so the proofs are shared. */
export const TEST_BATCH_LANE_SEGMENTS = 24;

export interface BatchLane {
  /** Valid size-8 proofs of consecutive segments of one lane (proofs cached under build/test-proofs/). */
  segments: ProvenSegment[];
  /** The same segments as proof bundles, as `meterproof prove` writes them. */
  bundles: ProofBundleJson[];
  /** The verification key the proofs were made with (snarkjs JSON). */
  vkey: unknown;
  vkeySha256: string;
}

const lanes = new Map<number, Promise<BatchLane>>();

/**
 * One lane of `count` full segments (8 records each) of a fixed test job, proven once with the size-8
 * circuit; later runs read the proofs from the cache (the first run takes a few minutes).
 */
export function batchLane(count = BATCH_LANE_SEGMENTS): Promise<BatchLane> {
  const cached = lanes.get(count);
  if (cached) return cached;
  const lane = (async () => {
    const trace = await buildLaneTrace({
      chainId: 31337n,
      escrow: "0x00000000000000000000000000000000000000e5",
      jobId: 1n,
      provider: "0x0000000000000000000000000000000000000b0b",
      terms: {
        client: "0x0000000000000000000000000000000000000c1e",
        token: "0x0000000000000000000000000000000000000070",
        price: 10n ** 18n,
        expiry: 2_000_003_600n,
      },
      key: await testWorkerKey("batch"),
      startMs: 2_000_000_000_000,
      intervalMs: 1000,
      // Every segment is full, so the first k segments of a longer lane are the same proofs.
      records: count * TEST_CIRCUIT,
    });
    const segments = await proveSegments(trace);
    const paths = circuitArtifacts(TEST_CIRCUIT);
    const vkeySha256 = "0x" + (await fileSha256(paths.vkey));
    const bundles = segments.map((s) =>
      makeBundle(
        trace,
        s.segment,
        { size: TEST_CIRCUIT, vkeySha256 },
        { proof: s.proof, publicSignals: s.publicSignals.map(String) },
      ),
    );
    return { segments, bundles, vkey: JSON.parse(readFileSync(paths.vkey, "utf8")), vkeySha256 };
  })();
  lanes.set(count, lane);
  return lane;
}
