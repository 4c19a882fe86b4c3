/**
 * Worker registration: the message a worker key signs so that its provider can prove, with
 * the KeyPossession circuit (circuits/key_possession.circom), that it holds the key it
 * registers. The message is bound to the chain, the registry contract and the provider, so a
 * proof made for one of them is refused by every other.
 */
import { AbiCoder, getAddress, keccak256 } from "ethers";
import { FIELD_MODULUS, REGISTER_DOMAIN } from "./constants.ts";
import { TraceError } from "./errors.ts";
import { signPoseidon, type SealSignature, type WorkerKey } from "./keys.ts";
import { poseidon } from "./poseidon.ts";

/** Where a worker key is registered: the chain, the WorkerRegistry and the provider that registers it. */
export interface RegistrationTarget {
  chainId: bigint;
  /** WorkerRegistry address. */
  registry: string;
  /** The provider's address: `msg.sender` of registerWorker. */
  provider: string;
}

function address(field: string, value: string): string {
  try {
    return getAddress(value);
  } catch {
    throw new TraceError(field, `must be a 20-byte hex address, got ${JSON.stringify(value)}`);
  }
}

/**
 * `binding = uint256(keccak256(abi.encode(uint256 chainId, address registry, address provider))) mod r`:
 * the public input of the key-possession proof, which WorkerRegistry computes the same way.
 */
export function registrationBinding(target: RegistrationTarget): bigint {
  if (target.chainId < 0n || target.chainId >= 2n ** 256n)
    throw new TraceError("chainId", `must be a uint256, got ${target.chainId}`);
  const encoded = AbiCoder.defaultAbiCoder().encode(
    ["uint256", "address", "address"],
    [target.chainId, address("registry", target.registry), address("provider", target.provider)],
  );
  return BigInt(keccak256(encoded)) % FIELD_MODULUS;
}

/** The message a worker signs to register: Poseidon(REGISTER_DOMAIN, binding). */
export function registrationMessage(binding: bigint): bigint {
  if (binding < 0n || binding >= FIELD_MODULUS)
    throw new TraceError("binding", `must be a field element (0 <= binding < r), got ${binding}`);
  return poseidon([REGISTER_DOMAIN, binding]);
}

/** Signs the registration message of `binding` with the worker key (EdDSA-Poseidon). */
export function signRegistration(key: WorkerKey, binding: bigint): Promise<SealSignature> {
  return signPoseidon(key, registrationMessage(binding));
}
