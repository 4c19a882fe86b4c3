/**
 * Shared helpers of the circuit tests: traces made with the trace module, witness
 * calculation with the circuit's own wasm, and a direct check of a witness against the
 * r1cs (to reject forged witnesses without a prover).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as circomRuntime from "circom_runtime";
import { circuitArtifacts, REPO_ROOT, TEST_SEGMENT_SIZE, type CircuitArtifacts } from "../circuits/index.ts";
import { readR1cs, type R1cs } from "../circuits/r1cs.ts";
import { segmentWitnessInput, type SegmentWitnessInput } from "../prover/witness-input.ts";
import {
  checkTrace,
  FIELD_MODULUS,
  poseidon,
  signSeal,
  TraceBuilder,
  workerKeyFromSecret,
  type CheckedTrace,
  type Measurement,
  type TraceLineJson,
  type WorkerKey,
} from "../trace/index.ts";

export const N = TEST_SEGMENT_SIZE;
export const artifacts: CircuitArtifacts = circuitArtifacts(N);

export const keyA: Promise<WorkerKey> = workerKeyFromSecret(new Uint8Array(32).fill(7));
export const keyB: Promise<WorkerKey> = workerKeyFromSecret(new Uint8Array(32).fill(9));

const JOB = {
  chainId: 31337n,
  escrow: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
  jobId: 42n,
  provider: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
  terms: {
    client: "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
    token: "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512",
    price: 1_000_000n,
    expiry: 1_760_000_000n,
  },
  device: { class: "H100", name: "NVIDIA H100 80GB HBM3", uuidHash: "0x" + "ab".repeat(32) },
  sampler: "nvml" as const,
  intervalMs: 10_000,
  command: ["python", "train.py"],
  startTime: 1_750_000_000_000,
};

/** Deterministic, varied measurements: gaps, full and idle utilization, long and short intervals. */
export function measurement(i: number, start: number): Measurement {
  const length = [10_000, 1, 65_535, 9_999, 500][i % 5]!;
  const gap = [0, 3, 0, 1_000_000, 0][i % 5]!;
  const tStart = start + gap;
  return {
    tStart,
    tEnd: tStart + length,
    utilBps: [10_000, 0, 7_531, 1, 9_999][i % 5]!,
    memMiB: 81_000 + i,
    powerMw: 700_000 - i,
    energyMj: 7_000_000 + i * 13,
    outputSha256: "0x" + (i % 256).toString(16).padStart(2, "0").repeat(32),
  };
}

/** Interval length, gap before it and utilization of one record, for traces shaped by a test. */
export interface Sample {
  length: number;
  gap: number;
  utilBps: number;
}

/**
 * A checked trace sealed every `segmentSize` records and signed by `key`: `records`
 * records from `measurement`, or one record per sample when `samples` is given.
 */
export async function makeTrace(args: {
  records: number;
  samples?: readonly Sample[];
  segmentSize?: number;
  key?: WorkerKey;
  startTime?: number;
}): Promise<CheckedTrace> {
  const key = args.key ?? (await keyA);
  const lines: TraceLineJson[] = [];
  const startTime = args.startTime ?? JOB.startTime;
  const builder = TraceBuilder.start({ ...JOB, startTime, segmentSize: args.segmentSize ?? N }, key, (l) =>
    lines.push(l),
  );
  const count = args.samples?.length ?? args.records;
  for (let i = 0; i < count; i++) {
    const m = measurement(i, builder.lastEnd);
    const s = args.samples?.[i];
    if (s) {
      m.tStart = builder.lastEnd + s.gap;
      m.tEnd = m.tStart + s.length;
      m.utilBps = s.utilBps;
    }
    await builder.addRecord(m);
  }
  await builder.seal();
  return checkTrace(lines);
}

/** The witness input of segment `index` of `trace` for the test circuit. */
export function inputOf(trace: CheckedTrace, index = 0, size = N): SegmentWitnessInput {
  const seal = trace.seals[index]!;
  return segmentWitnessInput({
    header: trace.header,
    records: trace.records.slice(seal.firstSeq, seal.lastSeq + 1),
    seal,
    size,
  });
}

interface WitnessCalculator {
  calculateWitness(input: Record<string, unknown>, sanityCheck: boolean): Promise<bigint[]>;
}
// snarkjs' own witness calculator (circom_runtime), which also returns the witness as bigints.
const buildCalculator = (
  circomRuntime as unknown as { WitnessCalculatorBuilder: (wasm: Uint8Array) => Promise<WitnessCalculator> }
).WitnessCalculatorBuilder;

const calculators = new Map<string, Promise<WitnessCalculator>>();
/** The witness calculator of a circuit's wasm (loaded once). */
function calculator(wasm: string): Promise<WitnessCalculator> {
  let c = calculators.get(wasm);
  if (!c) {
    c = buildCalculator(readFileSync(wasm));
    calculators.set(wasm, c);
  }
  return c;
}

/** Computes the full witness; rejects when an assertion (`===`) or a range check fails. */
export async function witness(input: Record<string, unknown>, paths = artifacts): Promise<bigint[]> {
  const c = await calculator(paths.wasm);
  // The calculator prints every failed assertion itself; the error it throws says the same.
  const { error, log } = console;
  console.error = console.log = () => {};
  try {
    return await c.calculateWitness(input, true);
  } finally {
    Object.assign(console, { error, log });
  }
}

const r1csCache = new Map<string, R1cs>();
/** The constraints of a circuit (read once). */
export function r1csOf(paths = artifacts): R1cs {
  let r1cs = r1csCache.get(paths.r1cs);
  if (!r1cs) {
    r1cs = readR1cs(paths.r1cs);
    r1csCache.set(paths.r1cs, r1cs);
  }
  return r1cs;
}

function evalLc(lc: Map<number, bigint>, w: readonly bigint[]): bigint {
  let acc = 0n;
  for (const [wire, coeff] of lc) acc += coeff * w[wire]!;
  return acc % FIELD_MODULUS;
}

/** Indices of the constraints that `w` violates (empty: the witness satisfies the r1cs). */
export function violatedConstraints(w: readonly bigint[], r1cs = r1csOf()): number[] {
  const bad: number[] = [];
  r1cs.constraints.forEach((c, i) => {
    if ((evalLc(c.a, w) * evalLc(c.b, w) - evalLc(c.c, w)) % FIELD_MODULUS !== 0n) bad.push(i);
  });
  return bad;
}

/** Witness index of each named signal kept after --O2 (from the .sym file). */
export function signalIndex(paths = artifacts): Map<string, number> {
  const map = new Map<string, number>();
  for (const line of readFileSync(paths.sym, "utf8").split("\n")) {
    const [, wire, , name] = line.split(",");
    if (name !== undefined && Number(wire) >= 0) map.set(name, Number(wire));
  }
  return map;
}

/** Every string value in an input, as field elements, for editing. */
export function cloneInput(input: SegmentWitnessInput): SegmentWitnessInput {
  return JSON.parse(JSON.stringify(input)) as SegmentWitnessInput;
}

export const mod = (v: bigint): bigint => ((v % FIELD_MODULUS) + FIELD_MODULUS) % FIELD_MODULUS;

/** One slot's fields as field elements: any value, valid or not, so tests can sign bad records. */
export interface RawRecord {
  tStart: bigint;
  tEnd: bigint;
  utilBps: bigint;
  memMiB: bigint;
  powerMw: bigint;
  energyMj: bigint;
  digest: bigint;
}

export const EMPTY_RECORD: RawRecord = {
  tStart: 0n,
  tEnd: 0n,
  utilBps: 0n,
  memMiB: 0n,
  powerMw: 0n,
  energyMj: 0n,
  digest: 0n,
};

/** `count` valid records (the same as makeTrace's), as raw field elements. */
export function rawRecords(count: number, start = 1_750_000_000_000): RawRecord[] {
  const out: RawRecord[] = [];
  let end = start;
  for (let i = 0; i < count; i++) {
    const m = measurement(i, end);
    end = m.tEnd;
    out.push({
      tStart: BigInt(m.tStart),
      tEnd: BigInt(m.tEnd),
      utilBps: BigInt(m.utilBps),
      memMiB: BigInt(m.memMiB),
      powerMw: BigInt(m.powerMw),
      energyMj: BigInt(m.energyMj),
      digest: BigInt(i) * 1_000_003n + 17n,
    });
  }
  return out;
}

/**
 * What the circuit computes from its inputs, in field arithmetic with the same gating:
 * head, interval, gap and usage per slot, and the packed meter. A segment whose heads and
 * meter come from here and whose head is signed fails only the rule a test breaks.
 */
export function circuitModel(args: {
  records: readonly RawRecord[];
  enabled: readonly bigint[];
  firstSeq: bigint;
  prevHead: bigint;
  jobTag: bigint;
}) {
  let head = args.prevHead;
  let usage = 0n;
  let elapsed = 0n;
  args.records.forEach((r, i) => {
    const en = args.enabled[i]!;
    const hash = poseidon([
      args.jobTag,
      mod(args.firstSeq + BigInt(i)),
      mod(r.tStart),
      mod(r.tEnd),
      mod(r.utilBps),
      mod(r.memMiB),
      mod(r.powerMw),
      mod(r.energyMj),
      mod(r.digest),
    ]);
    head = mod(head + en * (poseidon([head, hash]) - head));
    const interval = mod(en * (r.tEnd - r.tStart));
    usage = mod(usage + interval * r.utilBps);
    elapsed = mod(elapsed + interval);
    if (i > 0) elapsed = mod(elapsed + en * (r.tStart - args.records[i - 1]!.tEnd));
  });
  const tFirst = mod(args.records[0]!.tStart);
  const tLast = mod(tFirst + elapsed);
  return { newHead: head, tFirst, tLast, usage, meter: mod(tFirst + tLast * 2n ** 64n + usage * 2n ** 128n) };
}

/**
 * A witness input for raw records, with heads and meter as the circuit computes them and
 * the head signed by `signer` (default keyA). Slots past `records` are disabled zeros.
 */
export async function signedInput(args: {
  records: readonly RawRecord[];
  enabled?: readonly bigint[];
  firstSeq?: bigint;
  prevHead?: bigint;
  jobTag?: bigint;
  key?: WorkerKey;
  signer?: WorkerKey;
  size?: number;
}): Promise<SegmentWitnessInput> {
  const size = args.size ?? N;
  const key = args.key ?? (await keyA);
  const signer = args.signer ?? key;
  const records = Array.from({ length: size }, (_, i) => args.records[i] ?? EMPTY_RECORD);
  const enabled = args.enabled ?? records.map((_, i) => (i < args.records.length ? 1n : 0n));
  const firstSeq = args.firstSeq ?? 0n;
  const prevHead = args.prevHead ?? 0n;
  const jobTag = args.jobTag ?? 123456789n;
  const model = circuitModel({ records, enabled, firstSeq, prevHead, jobTag });
  const sig = await signSeal(signer, model.newHead);
  const col = (f: (r: RawRecord) => bigint): string[] => records.map((r) => mod(f(r)).toString());
  return {
    jobTag: jobTag.toString(),
    workerKeyHash: key.keyHash.toString(),
    prevHead: prevHead.toString(),
    newHead: model.newHead.toString(),
    meter: model.meter.toString(),
    enabled: enabled.map((e) => mod(e).toString()),
    firstSeq: mod(firstSeq).toString(),
    tStart: col((r) => r.tStart),
    tEnd: col((r) => r.tEnd),
    utilBps: col((r) => r.utilBps),
    memMiB: col((r) => r.memMiB),
    powerMw: col((r) => r.powerMw),
    energyMj: col((r) => r.energyMj),
    digest: col((r) => r.digest),
    Ax: key.publicKey.ax.toString(),
    Ay: key.publicKey.ay.toString(),
    S: sig.s.toString(),
    R8x: sig.r8x.toString(),
    R8y: sig.r8y.toString(),
  };
}

/**
 * The witness calculator's error for `input` ("Assert Failed" with the chain of templates
 * and lines), or undefined when it computes a witness that satisfies every constraint.
 */
export async function witnessError(
  input: Record<string, unknown>,
  paths = artifacts,
): Promise<string | undefined> {
  let w: bigint[];
  try {
    w = await witness(input, paths);
  } catch (err) {
    return (err as Error).message;
  }
  const bad = violatedConstraints(w, r1csOf(paths));
  return bad.length > 0 ? `witness violates constraints ${bad.slice(0, 5).join(", ")}` : undefined;
}

/** The innermost template and line of a witness calculator "Assert Failed" error, and the whole chain. */
export function failedAt(
  message: string | undefined,
): { template: string; line: number; chain: string[] } | undefined {
  if (message === undefined) return undefined;
  const chain = [...message.matchAll(/Error in template (\w+?)_\d+ line: (\d+)/g)].map(
    (m) => `${m[1]}:${m[2]}`,
  );
  const first = /Error in template (\w+?)_\d+ line: (\d+)/.exec(message);
  return first
    ? { template: first[1]!, line: Number(first[2]), chain }
    : { template: "(none)", line: 0, chain: [message] };
}

/** 1-based line of the first line in a circom file that contains `text`. */
export function lineOf(file: string, text: string): number {
  const path = file.startsWith("circomlib/")
    ? join(REPO_ROOT, "node_modules", file)
    : join(REPO_ROOT, "circuits", file);
  const i = readFileSync(path, "utf8")
    .split("\n")
    .findIndex((l) => l.includes(text));
  if (i < 0) throw new Error(`${file} has no line containing ${JSON.stringify(text)}`);
  return i + 1;
}
