/**
 * The proof of key possession that WorkerRegistry.registerWorker requires: a Groth16 proof
 * (circuits/key_possession.circom) that the registrant holds the worker key, bound to the
 * chain, the registry and the provider (trace/registration.ts).
 */
import * as snarkjs from "snarkjs";
import { KEY_POSSESSION_SPEC, REPO_ROOT } from "../circuits/index.ts";
import { releaseCurve } from "../setup/snarkjs-api.ts";
import {
  registrationBinding,
  signRegistration,
  type RegistrationTarget,
  type SealSignature,
  type WorkerKey,
} from "../trace/index.ts";
import { loadCircuit } from "./load-circuit.ts";
import { proveOnce } from "./prove-once.ts";

/** A key-possession proof as WorkerRegistry takes it. */
export interface KeyPossessionProof {
  /** The 8 proof words in the Solidity verifier's order (trace/bundle.ts `solidityProof`). */
  proof: bigint[];
  /** `[workerKeyHash, binding]`. */
  publicSignals: [bigint, bigint];
}

/** The witness input of KeyPossession(): decimal strings, as circom's witness calculator takes them. */
export interface KeyPossessionWitnessInput {
  workerKeyHash: string;
  binding: string;
  Ax: string;
  Ay: string;
  S: string;
  R8x: string;
  R8y: string;
  [signal: string]: string;
}

/** The witness input of a key and its registration signature over `binding`. */
export function keyPossessionWitnessInput(args: {
  key: WorkerKey;
  binding: bigint;
  signature: SealSignature;
}): KeyPossessionWitnessInput {
  const { key, binding, signature } = args;
  return {
    workerKeyHash: key.keyHash.toString(),
    binding: binding.toString(),
    Ax: key.publicKey.ax.toString(),
    Ay: key.publicKey.ay.toString(),
    S: signature.s.toString(),
    R8x: signature.r8x.toString(),
    R8y: signature.r8y.toString(),
  };
}

/**
 * Proves that `key` is held by whoever registers it as `provider` in `registry` on chain
 * `chainId`: signs the registration message and proves the signature in KeyPossession().
 * Needs the circuit's setup (`meterproof setup`); without it, a CircuitError names that command.
 */
export async function proveKeyPossession(
  args: RegistrationTarget & { key: WorkerKey; root?: string },
): Promise<KeyPossessionProof> {
  const binding = registrationBinding(args);
  const signature = await signRegistration(args.key, binding);
  const { proof, publicSignals } = await proveOnce(
    KEY_POSSESSION_SPEC,
    keyPossessionWitnessInput({ key: args.key, binding, signature }),
    args.root ?? REPO_ROOT,
  );
  if (publicSignals.length !== 2 || publicSignals[0] !== args.key.keyHash || publicSignals[1] !== binding) {
    throw new Error(
      `key-possession proof has public signals [${publicSignals.join(", ")}], expected [${args.key.keyHash}, ${binding}]`,
    );
  }
  return { proof, publicSignals: [publicSignals[0], publicSignals[1]] };
}

/** The snarkjs proof object of 8 words in the Solidity order (the inverse of `solidityProof`). */
function snarkjsProof(words: readonly bigint[]): snarkjs.Groth16Proof {
  if (words.length !== 8) throw new RangeError(`proof must have 8 words, got ${words.length}`);
  const w = words.map(String);
  return {
    pi_a: [w[0]!, w[1]!, "1"],
    pi_b: [
      [w[3]!, w[2]!],
      [w[5]!, w[4]!],
      ["1", "0"],
    ],
    pi_c: [w[6]!, w[7]!, "1"],
    protocol: "groth16",
    curve: "bn128",
  };
}

/**
 * Verifies a key-possession proof off chain with the circuit's verification key (checked
 * against its setup manifest), as the registry's verifier would. With `target`, the proof's
 * binding must also be that of this chain, registry and provider.
 */
export async function verifyKeyPossession(args: {
  proof: readonly bigint[];
  publicSignals: readonly [bigint, bigint];
  target?: RegistrationTarget;
  root?: string;
}): Promise<boolean> {
  if (args.target && args.publicSignals[1] !== registrationBinding(args.target)) return false;
  const circuit = await loadCircuit(KEY_POSSESSION_SPEC, args.root ?? REPO_ROOT);
  try {
    return await snarkjs.groth16.verify(
      circuit.vkey,
      args.publicSignals.map(String),
      snarkjsProof(args.proof),
    );
  } finally {
    await releaseCurve();
  }
}
