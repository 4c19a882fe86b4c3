import { buildPoseidon } from "circomlibjs";
import { FIELD_MODULUS } from "./constants.ts";

// circomlibjs' WebAssembly Poseidon (circomlib parameters, the same as the circuit's
// `Poseidon(n)` template); built once per process.
const impl = await buildPoseidon();

/** Poseidon over BN254 with circomlib's parameters; inputs must already be field elements. */
export function poseidon(inputs: readonly bigint[]): bigint {
  for (const v of inputs) {
    if (v < 0n || v >= FIELD_MODULUS) throw new RangeError(`poseidon input ${v} is not a field element`);
  }
  return impl.F.toObject(impl(inputs as bigint[]));
}
