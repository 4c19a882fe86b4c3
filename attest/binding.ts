/**
 * The binding between hardware evidence and a worker key. The evidence's report data (SEV-SNP)
 * or nonce (NVIDIA) must equal
 *
 *   binding = keccak256(abi.encode(bytes32 ATTEST_DOMAIN, uint256 chainId, address registry,
 *                                  uint256 workerKeyHash, bytes32 challenge))
 *
 * so a report made for one key, registry, chain or challenge is refused for every other. The
 * challenge is 32 random bytes the attestor issues and accepts once, which makes the evidence
 * fresh: SEV-SNP reports carry no time of their own.
 */
import { randomBytes } from "node:crypto";
import { AbiCoder, getAddress, keccak256, toUtf8Bytes } from "ethers";
import { FIELD_MODULUS } from "../trace/constants.ts";
import { malformed } from "./errors.ts";

/** Domain tag: keccak256("meterproof.attest.v1"). */
export const ATTEST_DOMAIN = keccak256(toUtf8Bytes("meterproof.attest.v1"));

export interface BindingTarget {
  chainId: bigint;
  /** WorkerRegistry address. */
  registry: string;
  workerKeyHash: bigint;
  /** 32 bytes, 0x-prefixed hex. */
  challenge: string;
}

const BYTES32 = /^0x[0-9a-fA-F]{64}$/;

/** Checks a 0x-prefixed 32-byte hex string and returns it in lower case. */
export function checkBytes32(field: string, value: string): string {
  if (!BYTES32.test(value))
    throw malformed(field, `must be 0x followed by 64 hex digits, got ${JSON.stringify(value)}`);
  return value.toLowerCase();
}

/** The 32-byte binding (0x hex) the evidence must carry. */
export function attestationBinding(t: BindingTarget): string {
  if (t.chainId <= 0n || t.chainId >= 2n ** 256n)
    throw malformed("chainId", `must be a positive uint256, got ${t.chainId}`);
  if (t.workerKeyHash <= 0n || t.workerKeyHash >= FIELD_MODULUS)
    throw malformed("workerKeyHash", `must be a BN254 field element above 0, got ${t.workerKeyHash}`);
  let registry: string;
  try {
    registry = getAddress(t.registry);
  } catch {
    throw malformed("registry", `must be a 20-byte hex address, got ${JSON.stringify(t.registry)}`);
  }
  const encoded = AbiCoder.defaultAbiCoder().encode(
    ["bytes32", "uint256", "address", "uint256", "bytes32"],
    [ATTEST_DOMAIN, t.chainId, registry, t.workerKeyHash, checkBytes32("challenge", t.challenge)],
  );
  return keccak256(encoded);
}

/** A fresh challenge: 32 bytes from the OS's CSPRNG. */
export function newChallenge(): string {
  return "0x" + randomBytes(32).toString("hex");
}
