import { mkdirSync } from "node:fs";
import {
  packMeter,
  readTrace,
  solidityProof,
  TraceError,
  type CheckedTrace,
  type ProofBundleJson,
  type Segment,
} from "../trace/index.ts";
import { readBundleDir, writeBundleAtomic } from "./bundle-file.ts";
import { SegmentProver, type SegmentProof } from "./segment-prover.ts";
import { segmentWitnessInput } from "./witness-input.ts";

/** A circuit's proving artifacts, already checked against its setup manifest. */
export interface ProvingCircuit {
  /** N of MeteredSegment(N): also the circuit id. */
  size: number;
  wasm: Uint8Array;
  zkey: Uint8Array;
  vkeySha256: string;
}

export interface ProveProgress {
  done: number;
  total: number;
  elapsedMs: number;
  /** Estimated time left, once one proof has finished. */
  etaMs?: number;
}

export interface ProveTraceOptions {
  tracePath: string;
  outDir: string;
  circuit: ProvingCircuit;
  /** Proofs computed at once, each in its own worker thread (default 1). */
  jobs?: number;
  onProgress?: (p: ProveProgress) => void;
}

export interface ProveTraceResult {
  /** Paths of the bundles written by this run, in segment order. */
  written: string[];
  /** Segments that already had a bundle for this trace. */
  alreadyProven: number;
  segments: number;
}

/**
 * Proves every sealed segment of a trace that has no bundle in `outDir` yet. The whole trace
 * is checked first (hashes, heads, seals, signatures); a trace with records after its last
 * seal is refused. Each bundle is written atomically, so a failure leaves only whole bundles.
 */
export async function proveTrace(opts: ProveTraceOptions): Promise<ProveTraceResult> {
  const trace = await readTrace(opts.tracePath);
  if (trace.unsealedRecords > 0) {
    throw new TraceError(
      "trace",
      `has ${trace.unsealedRecords} records after its last seal (an unsealed tail); only sealed segments can be proven — let the worker finish or seal the trace first`,
    );
  }
  if (trace.header.segmentSize > opts.circuit.size) {
    throw new TraceError(
      "segmentSize",
      `is ${trace.header.segmentSize}, larger than the circuit size ${opts.circuit.size}`,
    );
  }
  mkdirSync(opts.outDir, { recursive: true });
  const existing = readBundleDir(opts.outDir);
  const todo: Segment[] = [];
  for (const segment of trace.segments) {
    const have = existing.get(segment.index);
    if (!have) {
      todo.push(segment);
      continue;
    }
    const b = have.bundle;
    if (
      b.job.jobTag !== trace.header.jobTag ||
      b.segment.prevHead !== segment.prevHead ||
      b.segment.newHead !== segment.newHead
    ) {
      throw new TraceError(
        "--out",
        `${have.path} is a bundle of another trace or segment; use an empty directory per trace`,
      );
    }
  }

  const started = performance.now();
  const written: string[] = [];
  opts.onProgress?.({ done: 0, total: todo.length, elapsedMs: 0 });
  if (todo.length > 0) {
    const prover = new SegmentProver({
      wasm: opts.circuit.wasm,
      zkey: opts.circuit.zkey,
      jobs: opts.jobs ?? 1,
    });
    try {
      await Promise.all(
        todo.map(async (segment) => {
          const input = segmentWitnessInput({ trace, segment, size: opts.circuit.size });
          const proof = await prover.prove(input);
          written.push(writeBundleAtomic(opts.outDir, makeBundle(trace, segment, opts.circuit, proof)));
          const elapsedMs = performance.now() - started;
          const done = written.length;
          opts.onProgress?.({
            done,
            total: todo.length,
            elapsedMs,
            etaMs: (elapsedMs / done) * (todo.length - done),
          });
        }),
      );
    } finally {
      await prover.close();
    }
  }
  return {
    written: written.sort(),
    alreadyProven: trace.segments.length - todo.length,
    segments: trace.segments.length,
  };
}

/** Public signals the circuit must output for a segment: [jobTag, workerKeyHash, prevHead, newHead, meter]. */
export function expectedPublicSignals(trace: CheckedTrace, segment: Segment): string[] {
  return [
    trace.header.jobTag,
    trace.header.workerKeyHash,
    segment.prevHead,
    segment.newHead,
    packMeter(segment),
  ].map(String);
}

/** The bundle of one proven segment, as `meterproof prove` writes it. */
export function makeBundle(
  trace: CheckedTrace,
  segment: Segment,
  circuit: Pick<ProvingCircuit, "size" | "vkeySha256">,
  { proof, publicSignals }: SegmentProof,
): ProofBundleJson {
  const expected = expectedPublicSignals(trace, segment);
  if (publicSignals.join() !== expected.join()) {
    // The circuit and the trace model disagree: never write a bundle the escrow would misread.
    throw new Error(
      `segment ${segment.index}: the circuit's public signals ${publicSignals.join(", ")} differ from the model's ${expected.join(", ")}`,
    );
  }
  const h = trace.header;
  return {
    kind: "meterproof-segment-bundle",
    version: 2,
    circuitId: circuit.size,
    vkeySha256: circuit.vkeySha256,
    job: {
      chainId: h.chainId.toString(),
      escrow: h.escrow,
      jobId: h.jobId.toString(),
      provider: h.provider,
      terms: {
        client: h.terms.client,
        token: h.terms.token,
        price: h.terms.price.toString(),
        expiry: h.terms.expiry,
      },
      jobTag: h.jobTag.toString(),
      workerKeyHash: h.workerKeyHash.toString(),
      deviceClass: h.device.class,
    },
    segment: {
      index: segment.index,
      firstSeq: segment.firstSeq,
      lastSeq: segment.lastSeq,
      prevHead: segment.prevHead.toString(),
      newHead: segment.newHead.toString(),
      tFirst: segment.tFirst,
      tLast: segment.tLast,
      usage: segment.usage.toString(),
    },
    publicSignals,
    proof: proof as ProofBundleJson["proof"],
    calldata: {
      jobId: h.jobId.toString(),
      circuitId: circuit.size,
      workerKeyHash: expected[1]!,
      prevHead: expected[2]!,
      newHead: expected[3]!,
      meter: expected[4]!,
      proof: solidityProof(proof),
    },
    trace: { headerSha256: trace.headerSha256 },
  };
}
