import { availableParallelism } from "node:os";
import { buildPoseidon } from "circomlibjs";
import { FIELD_MODULUS } from "./constants.ts";
import { nativeAddon as native } from "./native.ts";

/**
 * Which Poseidon runs: the native addon (native/poseidon.c, built by `npm install`) when it
 * loads, else circomlibjs' WebAssembly one (also with METERPROOF_NATIVE=0).
 */
export type PoseidonBackend = "native" | "wasm";

// circomlibjs' WebAssembly Poseidon (circomlib parameters, the same as the circuit's
// `Poseidon(n)` template); built only when the native one is missing.
const wasm = native ? undefined : await buildPoseidon();

export const poseidonBackend: PoseidonBackend = native ? "native" : "wasm";

// The addon checks its inputs itself; circomlibjs would silently reduce them mod r.
function checkInputs(inputs: readonly bigint[]): void {
  for (const v of inputs) {
    if (v < 0n || v >= FIELD_MODULUS) throw new RangeError(`poseidon input ${v} is not a field element`);
  }
}

/** Poseidon over BN254 with circomlib's parameters; inputs must already be field elements. */
export function poseidon(inputs: readonly bigint[]): bigint {
  if (native) return native.poseidon(inputs);
  checkInputs(inputs);
  return wasm!.F.toObject(wasm!(inputs as bigint[]));
}

/** Below this many hashes a batch is not worth starting threads for. */
const THREADED_BATCH = 16;
const cores = availableParallelism();

function checkBatch(arity: number, inputs: readonly bigint[]): number {
  if (!Number.isInteger(arity) || arity < 1 || inputs.length % arity !== 0) {
    throw new RangeError(`poseidonMany: ${inputs.length} inputs do not split into hashes of ${arity}`);
  }
  if (!native) checkInputs(inputs);
  return inputs.length / arity;
}

function wasmMany(arity: number, inputs: readonly bigint[]): bigint[] {
  const out: bigint[] = [];
  for (let i = 0; i < inputs.length; i += arity) {
    out.push(wasm!.F.toObject(wasm!(inputs.slice(i, i + arity) as bigint[])));
  }
  return out;
}

/**
 * `inputs.length / arity` Poseidon hashes of `arity` inputs each (one after another in
 * `inputs`). The native backend hashes off the JavaScript thread on `threads` threads, so
 * the caller can go on parsing while the batch is hashed.
 */
export async function poseidonManyAsync(
  arity: number,
  inputs: readonly bigint[],
  threads = cores,
): Promise<bigint[]> {
  const count = checkBatch(arity, inputs);
  if (native) return native.poseidonManyAsync(arity, inputs, count >= THREADED_BATCH ? threads : 1);
  return wasmMany(arity, inputs);
}
