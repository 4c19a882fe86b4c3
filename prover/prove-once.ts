/**
 * One proof with a set-up circuit, for the proofs made one at a time (key possession,
 * plausibility challenges): the circuit is loaded and checked against its manifest, proved in
 * memory, and snarkjs' curve threads are released after.
 */
import type * as snarkjs from "snarkjs";
import { REPO_ROOT, type CircuitSpec } from "../circuits/index.ts";
import { releaseCurve } from "../setup/snarkjs-api.ts";
import { solidityProof } from "../trace/index.ts";
import { Groth16Engine } from "./groth16.ts";
import { loadCircuit } from "./load-circuit.ts";

/** A proof as the contracts take it: 8 words in the Solidity verifier's order, and the public signals. */
export interface SolidityProof {
  proof: bigint[];
  publicSignals: bigint[];
}

/** Proves `input` with `spec`'s setup under `root`; a missing or changed setup is a CircuitError. */
export async function proveOnce(
  spec: CircuitSpec,
  input: Record<string, unknown>,
  root = REPO_ROOT,
): Promise<SolidityProof> {
  const circuit = await loadCircuit(spec, root);
  const engine = new Groth16Engine({ wasm: circuit.wasm, zkey: circuit.zkey, singleThread: false });
  let result: { proof: snarkjs.Groth16Proof; publicSignals: string[] };
  try {
    result = await engine.prove(input);
  } finally {
    await releaseCurve();
  }
  return { proof: solidityProof(result.proof).map(BigInt), publicSignals: result.publicSignals.map(BigInt) };
}
