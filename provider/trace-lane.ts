/**
 * One followed trace: what its worker has sealed, which segments have a checked bundle on disk,
 * and what the chain says of its lane. The trace file and the bundle folder are the state: after
 * a restart both are read again, and every bundle is checked before it is trusted.
 */
import { existsSync, mkdirSync, statSync } from "node:fs";
import { getAddress } from "ethers";
import { makeBundle } from "../prover/prove-trace.ts";
import { readBundleDir, writeBundleAtomic } from "../prover/bundle-file.ts";
import type { SegmentProof } from "../prover/segment-prover.ts";
import { segmentWitnessInput } from "../prover/witness-input.ts";
import type { BundleEntry } from "../chain/submit-plan.ts";
import { proofTaskId, type ProofTask } from "../prover-pool/proof-task.ts";
import { readTrace, type CheckedTrace, type ProofBundleJson, type Segment } from "../trace/index.ts";
import type { VerificationKey } from "../verifier/verify-bundle.ts";
import { verifyBundle } from "../verifier/verify-bundle.ts";

export class TraceLane {
  readonly tracePath: string;
  readonly bundleDir: string;
  trace: CheckedTrace | undefined;
  readonly bundles = new Map<number, BundleEntry>();
  readonly proving = new Set<number>();
  /** Segments in a transaction that is not mined yet. */
  readonly inFlight = new Set<number>();
  /** When a failed proof may be tried again (unix ms), by segment. */
  readonly retryAt = new Map<number, { at: number; failures: number }>();
  accepted = 0;
  paid = 0n;
  lastError: string | undefined;
  /** Set when the escrow refused a segment: the lane is not submitted again until restart. */
  refused: string | undefined;
  private seenBytes = -1;
  private bundlesLoaded = false;

  constructor(args: { tracePath: string; bundleDir: string }) {
    this.tracePath = args.tracePath;
    this.bundleDir = args.bundleDir;
  }

  get jobId(): bigint | undefined {
    return this.trace?.header.jobId;
  }

  get workerKeyHash(): bigint | undefined {
    return this.trace?.header.workerKeyHash;
  }

  /**
   * Re-reads the trace when it grew (a torn last line is a record being written: skipped) and,
   * the first time, the bundles already on disk. Returns the segments sealed since the last call.
   */
  async refresh(args: {
    chainId: bigint;
    escrow: string;
    loadKey: (circuitId: number) => Promise<VerificationKey>;
  }): Promise<Segment[]> {
    if (!existsSync(this.tracePath)) return [];
    const bytes = statSync(this.tracePath).size;
    if (bytes === this.seenBytes) return [];
    const before = this.trace?.segments.length ?? 0;
    const trace = await readTrace(this.tracePath, { allowTornTail: true });
    if (trace.header.chainId !== args.chainId || getAddress(trace.header.escrow) !== getAddress(args.escrow))
      throw new Error(
        `${this.tracePath}: the trace is for escrow ${trace.header.escrow} on chain ${trace.header.chainId}, ` +
          `but the agent submits to ${args.escrow} on chain ${args.chainId}`,
      );
    this.trace = trace;
    this.seenBytes = bytes;
    if (!this.bundlesLoaded) {
      await this.loadBundles(args.loadKey);
      this.bundlesLoaded = true;
    }
    return trace.segments.slice(before);
  }

  /** Sealed segments that have no bundle and are not being proven, ready to try now. */
  unproven(now: number): Segment[] {
    return (this.trace?.segments ?? []).filter((s) => {
      if (this.bundles.has(s.index) || this.proving.has(s.index)) return false;
      const retry = this.retryAt.get(s.index);
      return !retry || retry.at <= now;
    });
  }

  /** The pool task of a sealed segment. */
  task(segment: Segment, circuitSize: number): ProofTask {
    const h = this.trace!.header;
    return {
      id: proofTaskId({
        chainId: h.chainId,
        escrow: h.escrow,
        jobId: h.jobId,
        workerKeyHash: h.workerKeyHash,
        index: segment.index,
        newHead: segment.newHead,
      }),
      circuitSize,
      input: segmentWitnessInput({ trace: this.trace!, segment, size: circuitSize }),
    };
  }

  /**
   * Turns a proof from the pool into a bundle, checks it as the escrow would (public signals
   * against the trace model, the proof against the pinned verification key) and writes it.
   */
  async accept(args: {
    segment: Segment;
    proof: SegmentProof;
    circuit: { size: number; vkeySha256: string };
    keyFor: (circuitId: number) => VerificationKey | undefined;
  }): Promise<string> {
    const bundle = makeBundle(this.trace!, args.segment, args.circuit, args.proof);
    const verdict = await verifyBundle(bundle, args.keyFor);
    if (!verdict.ok)
      throw new Error(
        `segment ${args.segment.index}: the proof from the pool was refused: ${verdict.reason}`,
      );
    mkdirSync(this.bundleDir, { recursive: true });
    const path = writeBundleAtomic(this.bundleDir, bundle);
    this.bundles.set(args.segment.index, { path, bundle: verdict.bundle });
    return path;
  }

  private async loadBundles(loadKey: (circuitId: number) => Promise<VerificationKey>): Promise<void> {
    const trace = this.trace!;
    for (const [index, entry] of readBundleDir(this.bundleDir)) {
      const seg = trace.segments[index];
      const b = entry.bundle;
      if (
        !seg ||
        b.job.jobTag !== trace.header.jobTag ||
        b.job.workerKeyHash !== trace.header.workerKeyHash ||
        b.segment.prevHead !== seg.prevHead ||
        b.segment.newHead !== seg.newHead
      )
        throw new Error(
          `${entry.path} is not a bundle of ${this.tracePath}: give each trace its own bundle folder`,
        );
      const key = await loadKey(b.circuitId);
      const verdict = await verifyBundle(toJson(b), (id) => (id === key.circuitId ? key : undefined));
      if (!verdict.ok) throw new Error(`${entry.path}: ${verdict.reason}`);
      this.bundles.set(index, entry);
    }
  }
}

function toJson(value: unknown): ProofBundleJson {
  return JSON.parse(
    JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v)),
  ) as ProofBundleJson;
}
