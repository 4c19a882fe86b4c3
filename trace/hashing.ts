import { sha256 } from "@noble/hashes/sha2.js";
import { AbiCoder, getAddress, keccak256 } from "ethers";
import { FIELD_MODULUS } from "./constants.ts";
import { truncateTo248 } from "./field.ts";
import { poseidon, poseidonManyAsync } from "./poseidon.ts";

/** The fields of a record that enter its hash. */
export interface RecordFields {
  seq: number;
  tStart: number;
  tEnd: number;
  utilBps: number;
  memMiB: number;
  powerMw: number;
  energyMj: number;
  digest: bigint;
}

/** `hash_i = Poseidon(jobTag, seq, tStart, tEnd, utilBps, memMiB, powerMw, energyMj, digest)`. */
export function recordHash(jobTag: bigint, r: RecordFields): bigint {
  return poseidon(recordHashInputs(jobTag, r));
}

function recordHashInputs(jobTag: bigint, r: RecordFields): bigint[] {
  return [
    jobTag,
    BigInt(r.seq),
    BigInt(r.tStart),
    BigInt(r.tEnd),
    BigInt(r.utilBps),
    BigInt(r.memMiB),
    BigInt(r.powerMw),
    BigInt(r.energyMj),
    r.digest,
  ];
}

/** `recordHash` of many records in one batch, hashed off the JavaScript thread on `threads` threads. */
export function recordHashes(
  jobTag: bigint,
  records: readonly RecordFields[],
  threads?: number,
): Promise<bigint[]> {
  return poseidonManyAsync(
    9,
    records.flatMap((r) => recordHashInputs(jobTag, r)),
    threads,
  );
}

/** `head_i = Poseidon(head_{i-1}, hash_i)`; the head before the first record of a lane is 0. */
export function chainHead(prevHead: bigint, hash: bigint): bigint {
  return poseidon([prevHead, hash]);
}

/** `chainHead(prevHead, hash)` of many independent pairs in one batch, like `recordHashes`. */
export function chainHeads(
  pairs: readonly (readonly [prevHead: bigint, hash: bigint])[],
  threads?: number,
): Promise<bigint[]> {
  return poseidonManyAsync(2, pairs.flat(), threads);
}

/** The terms of a job that its tag commits to, as the escrow stores them. */
export interface JobTerms {
  /** Who funded the job. */
  client: string;
  /** ERC-20 of budget and payouts. */
  token: string;
  /** Token units per H100-equivalent hour. */
  price: bigint;
  /** End of the job's life, unix seconds. */
  expiry: bigint;
}

/** Everything a job tag is computed from: where the job lives, its id, its payee and its terms. */
export interface JobRef {
  chainId: bigint;
  escrow: string;
  jobId: bigint;
  provider: string;
  terms: JobTerms;
}

/**
 * `jobTag = uint256(keccak256(abi.encode(chainId, escrow, jobId, provider, client, token,
 * price, expiry))) mod r`: binds a trace to one chain, escrow contract, job, payee and the
 * job's terms, so whoever gets the same job id after a reorg (or before the job is mined)
 * cannot take the trace at another token or price. The escrow computes the same value.
 */
export function computeJobTag(job: JobRef): bigint {
  const encoded = AbiCoder.defaultAbiCoder().encode(
    ["uint256", "address", "uint256", "address", "address", "address", "uint256", "uint256"],
    [
      job.chainId,
      getAddress(job.escrow),
      job.jobId,
      getAddress(job.provider),
      getAddress(job.terms.client),
      getAddress(job.terms.token),
      job.terms.price,
      job.terms.expiry,
    ],
  );
  return BigInt(keccak256(encoded)) % FIELD_MODULUS;
}

/** JSON with object keys sorted at every level and no white space: one byte string per value. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (typeof v === "bigint") return v.toString();
    if (v && typeof v === "object" && !Array.isArray(v)) {
      return Object.fromEntries(
        Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
      );
    }
    return v;
  });
}

export function sha256Hex(data: Uint8Array | string): string {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  return "0x" + Buffer.from(sha256(bytes)).toString("hex");
}

/**
 * A record's `outputSha256`: SHA-256(SHA-256(stdout bytes) ‖ SHA-256(stderr bytes)) of the
 * job's output during the interval. Hashing each stream on its own keeps the value
 * independent of how the two pipes happened to interleave.
 */
export function intervalOutputSha256(stdout: Uint8Array, stderr: Uint8Array): string {
  const inner = new Uint8Array(64);
  inner.set(sha256(stdout), 0);
  inner.set(sha256(stderr), 32);
  return "0x" + Buffer.from(sha256(inner)).toString("hex");
}

/** `outputSha256` of an interval in which the job printed nothing. */
export const EMPTY_OUTPUT_SHA256 = intervalOutputSha256(new Uint8Array(0), new Uint8Array(0));

/** SHA-256 of the canonical JSON of the header line (its JSON form, bigints as strings). */
export function headerSha256(headerJson: unknown): string {
  return sha256Hex(canonicalJson(headerJson));
}

/** SHA-256 of a command line: its arguments joined by NUL bytes. */
export function commandSha256(argv: readonly string[]): string {
  return sha256Hex(argv.join("\0"));
}

/**
 * A record's `digest`: SHA-256 over the hashes that the record commits to, truncated to 248
 * bits so it is a field element. Record 0 folds in the header's hash first; the last record
 * folds in the hashes of the job's declared output files after its output hash.
 */
export function recordDigest(parts: {
  headerSha256?: string;
  outputSha256: string;
  fileSha256s?: readonly string[];
}): bigint {
  const hexes = [parts.headerSha256, parts.outputSha256, ...(parts.fileSha256s ?? [])].filter(
    (h): h is string => h !== undefined,
  );
  const bytes = Buffer.concat(hexes.map((h) => Buffer.from(h.slice(2), "hex")));
  return truncateTo248(sha256(bytes));
}
