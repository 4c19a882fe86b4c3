import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as snarkjs from "snarkjs";
import { circuitArtifacts, fileSha256, REPO_ROOT } from "../../circuits/index.ts";
import { traceSegmentWitnessInput } from "../../prover/witness-input.ts";
import { buildSubmission, parseSolidityCallData, type Submission } from "../../chain/submission.ts";
import {
  checkTrace,
  sha256Hex,
  solidityProof,
  TraceBuilder,
  workerKeyFromSecret,
  type CheckedTrace,
  type JobTerms,
  type Segment,
  type TraceLineJson,
  type WorkerKey,
} from "../../trace/index.ts";
import { sha256 } from "@noble/hashes/sha2.js";

/** Circuit size the contract tests prove with (`meterproof setup --size 8`). */
export const TEST_CIRCUIT = 8;

/** A worker key derived from a name, so test traces (and cached proofs) are reproducible. */
export function testWorkerKey(name: string): Promise<WorkerKey> {
  return workerKeyFromSecret(sha256(new TextEncoder().encode(`meterproof test worker ${name}`)));
}

/** SHA-256 (0x hex) standing for a GPU UUID in tests. */
export function testGpuUuidHash(name: string): string {
  return sha256Hex(`GPU-${name}`);
}

export interface LaneTraceSpec {
  chainId: bigint;
  escrow: string;
  jobId: bigint;
  provider: string;
  /** The job's terms as the escrow holds them: the trace's jobTag commits to them. */
  terms: JobTerms;
  key: WorkerKey;
  deviceClass?: string;
  gpu?: string;
  /** tStart of record 0 (unix ms). */
  startMs: number;
  intervalMs: number;
  records: number;
  segmentSize?: number;
  /** Utilization of record `seq` (default 7500 bps, varied a little). */
  utilBps?: (seq: number) => number;
  /** Energy of record `seq` in mJ (default: about its power over its interval, plausible). */
  energyMj?: (seq: number) => number;
  /** Receives each line as written, e.g. to save the trace to a file. */
  onLine?: (line: TraceLineJson) => void;
}

/** Writes a signed trace of `records` consecutive records for one job and worker, sealed every segmentSize. */
export async function buildLaneTrace(spec: LaneTraceSpec): Promise<CheckedTrace> {
  const lines: TraceLineJson[] = [];
  const builder = TraceBuilder.start(
    {
      chainId: spec.chainId,
      escrow: spec.escrow,
      jobId: spec.jobId,
      provider: spec.provider,
      terms: spec.terms,
      device: {
        class: spec.deviceClass ?? "H100",
        name: "test device",
        uuidHash: testGpuUuidHash(spec.gpu ?? "0"),
      },
      sampler: "proc",
      intervalMs: spec.intervalMs,
      segmentSize: spec.segmentSize ?? TEST_CIRCUIT,
      command: ["train", "--epochs", "1"],
      startTime: spec.startMs,
    },
    spec.key,
    (line) => {
      lines.push(line);
      spec.onLine?.(line);
    },
  );
  const util = spec.utilBps ?? ((seq: number) => 7000 + ((seq * 379) % 3001));
  for (let seq = 0; seq < spec.records; seq++) {
    const tStart = spec.startMs + seq * spec.intervalMs;
    await builder.addRecord({
      tStart,
      tEnd: tStart + spec.intervalMs,
      utilBps: util(seq),
      memMiB: 40_000 + seq,
      powerMw: 350_000 + seq * 10,
      energyMj: spec.energyMj?.(seq) ?? 3_500_000 + seq,
      outputSha256: sha256Hex(`output ${seq}`),
    });
  }
  await builder.seal();
  return checkTrace(lines);
}

/** One proven segment of a lane, ready to submit. */
export interface ProvenSegment {
  segment: Segment;
  /** The snarkjs proof, as a bundle stores it. */
  proof: snarkjs.Groth16Proof;
  publicSignals: bigint[];
  submission: Submission;
}

let zkeySha: Promise<string> | undefined;
const CACHE_DIR = join(REPO_ROOT, "build", "test-proofs");

/**
 * Proves every segment of a trace with snarkjs (fullProve on the size-8 circuit) and turns
 * each proof into a submission through exportSolidityCallData. Proofs are cached under
 * build/test-proofs/ by zkey hash and witness input, so a rerun of the same fixture is quick.
 */
export async function proveSegments(trace: CheckedTrace, size = TEST_CIRCUIT): Promise<ProvenSegment[]> {
  const paths = circuitArtifacts(size);
  if (!existsSync(paths.zkey) || !existsSync(paths.wasm)) {
    throw new Error(`circuit ${size} is not set up: run \`meterproof setup --size ${size}\``);
  }
  zkeySha ??= fileSha256(paths.zkey);
  const keyPrefix = await zkeySha;
  mkdirSync(CACHE_DIR, { recursive: true });
  const out: ProvenSegment[] = [];
  for (const segment of trace.segments) {
    const input = traceSegmentWitnessInput(trace, segment.index, size);
    const cacheFile = join(CACHE_DIR, `${sha256Hex(keyPrefix + JSON.stringify(input)).slice(2)}.json`);
    let result: { proof: snarkjs.Groth16Proof; publicSignals: string[] };
    if (existsSync(cacheFile)) {
      result = JSON.parse(readFileSync(cacheFile, "utf8")) as typeof result;
    } else {
      result = await snarkjs.groth16.fullProve(input, paths.wasm, paths.zkey);
      // Write then rename, so a test file running alongside never reads half a proof.
      const tmp = `${cacheFile}.tmp.${process.pid}`;
      writeFileSync(tmp, JSON.stringify(result));
      renameSync(tmp, cacheFile);
    }
    const calldata = parseSolidityCallData(
      await snarkjs.groth16.exportSolidityCallData(result.proof, result.publicSignals),
    );
    // Two independent encodings of the proof must agree (the bundle uses solidityProof).
    if (calldata.proof.join() !== solidityProof(result.proof).join()) {
      throw new Error("snarkjs call data and trace/bundle solidityProof order the proof differently");
    }
    out.push({
      segment,
      proof: result.proof,
      publicSignals: calldata.publicSignals,
      submission: buildSubmission({
        circuitId: size,
        publicSignals: calldata.publicSignals,
        proof: calldata.proof,
      }),
    });
  }
  return out;
}

/** Ends snarkjs' curve worker threads so the test process can exit. */
export async function closeProver(): Promise<void> {
  const curve = (globalThis as { curve_bn128?: { terminate(): Promise<void> } }).curve_bn128;
  await curve?.terminate();
}
