/**
 * The batch verifier of a segment circuit: `SegmentGroth16BatchVerifier{N}`, a Solidity
 * contract that checks n Groth16 proofs of MeteredSegment(N) with one multi-pairing. It is
 * written from the verification key by `meterproof setup` (export stage), beside the single
 * verifier snarkjs exports, and pinned in the manifest (artifacts.batchVerifier).
 *
 * The check (docs/contracts.md, "Batch verification"): with L_j = IC_0 + Σ_i s_{j,i}·IC_i,
 *   Π_j e(-r_j·A_j, B_j) · e((Σ r_j)·α, β) · e(Σ_j r_j·L_j, γ) · e(Σ_j r_j·C_j, δ) = 1
 * where Σ_j r_j·L_j = (Σ r_j)·IC_0 + Σ_i (Σ_j r_j·s_{j,i} mod r)·IC_i: 2n + 7 ecMul, n + 5
 * ecAdd and one pairing check of n + 3 pairs. The coefficients r_j are 128-bit hashes of the
 * whole batch (Fiat–Shamir), see BATCH_DOMAIN.
 */
import { createHash } from "node:crypto";
import { BASE_FIELD_MODULUS, FIELD_MODULUS } from "../trace/constants.ts";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { AbiCoder, concat, keccak256, toBeHex, toUtf8Bytes, zeroPadValue } from "ethers";
import { z } from "zod";
import { CircuitError, type CircuitArtifacts } from "../circuits/index.ts";

/** Domain of the coefficient hash: DOMAIN_TAG = keccak256(BATCH_DOMAIN). */
export const BATCH_DOMAIN = "meterproof.batch.v1";
export const BATCH_DOMAIN_TAG = keccak256(toUtf8Bytes(BATCH_DOMAIN));

const decimal = z.string().regex(/^[0-9]+$/, "must be a decimal string");
const g1 = z.array(decimal).length(3);
const g2 = z.array(z.array(decimal).length(2)).length(3);
/** The parts of a snarkjs Groth16 verification key (bn128) the batch verifier needs. */
export const groth16VkeySchema = z.object({
  protocol: z.literal("groth16"),
  curve: z.literal("bn128"),
  nPublic: z.number().int().nonnegative(),
  vk_alpha_1: g1,
  vk_beta_2: g2,
  vk_gamma_2: g2,
  vk_delta_2: g2,
  IC: z.array(g1),
});
export type Groth16VkeyJson = z.infer<typeof groth16VkeySchema>;

/** The verification key as precompile words: G1 = [x, y], G2 = [x_im, x_re, y_im, y_re]. */
export interface VkeyWords {
  alpha: [bigint, bigint];
  beta: [bigint, bigint, bigint, bigint];
  gamma: [bigint, bigint, bigint, bigint];
  delta: [bigint, bigint, bigint, bigint];
  ic: [bigint, bigint][];
}

export function parseGroth16Vkey(vkey: unknown, field = "verification key"): Groth16VkeyJson {
  const parsed = groth16VkeySchema.safeParse(vkey);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new CircuitError(`${field} ${issue.path.join(".")}`, issue.message);
  }
  if (parsed.data.IC.length !== parsed.data.nPublic + 1)
    throw new CircuitError(`${field} IC`, `must have nPublic + 1 = ${parsed.data.nPublic + 1} points`);
  return parsed.data;
}

/** The key's points in the order the EIP-196/197 precompiles take them. */
export function vkeyWords(vkey: Groth16VkeyJson): VkeyWords {
  const p1 = (p: string[]): [bigint, bigint] => [BigInt(p[0]!), BigInt(p[1]!)];
  const p2 = (p: string[][]): [bigint, bigint, bigint, bigint] => [
    BigInt(p[0]![1]!),
    BigInt(p[0]![0]!),
    BigInt(p[1]![1]!),
    BigInt(p[1]![0]!),
  ];
  return {
    alpha: p1(vkey.vk_alpha_1),
    beta: p2(vkey.vk_beta_2),
    gamma: p2(vkey.vk_gamma_2),
    delta: p2(vkey.vk_delta_2),
    ic: vkey.IC.map(p1),
  };
}

/**
 * VK_HASH: keccak256 of the key's words alpha, beta, gamma, delta, IC_0, …, IC_n, each 32
 * bytes big-endian (G2 in precompile order), as the batch verifier bakes it in.
 */
export function vkeyHash(vkey: Groth16VkeyJson): string {
  const w = vkeyWords(vkey);
  const words = [...w.alpha, ...w.beta, ...w.gamma, ...w.delta, ...w.ic.flat()];
  return keccak256(concat(words.map((v) => zeroPadValue(toBeHex(v), 32))));
}

/**
 * The coefficients a batch verifier at `verifier` on chain `chainId` gives a batch: seed =
 * keccak256(abi.encode(DOMAIN_TAG, chainId, verifier, VK_HASH, proofs, publicSignals)),
 * r_j = uint128(keccak256(abi.encode(seed, j))), and 1 where that is 0.
 */
export function batchCoefficients(args: {
  chainId: bigint;
  verifier: string;
  vkHash: string;
  proofs: readonly (readonly bigint[])[];
  publicSignals: readonly (readonly bigint[])[];
}): bigint[] {
  const coder = AbiCoder.defaultAbiCoder();
  const seed = keccak256(
    coder.encode(
      ["bytes32", "uint256", "address", "bytes32", "uint256[8][]", "uint256[5][]"],
      [BATCH_DOMAIN_TAG, args.chainId, args.verifier, args.vkHash, args.proofs, args.publicSignals],
    ),
  );
  return args.proofs.map((_, j) => {
    const r = BigInt(keccak256(coder.encode(["bytes32", "uint256"], [seed, j]))) & ((1n << 128n) - 1n);
    return r === 0n ? 1n : r;
  });
}

/** SHA-256 of this generator's source: setup exports again when it changes. */
export function batchVerifierGeneratorSha256(): string {
  return createHash("sha256")
    .update(readFileSync(fileURLToPath(import.meta.url)))
    .digest("hex");
}

const hex = (v: bigint): string => "0x" + v.toString(16).padStart(64, "0");

/**
 * The Solidity source of `SegmentGroth16BatchVerifier{N}` for a verification key. Everything in
 * it follows from the key, so setup --check regenerates it from the pinned zkey and compares.
 */
export function batchVerifierSource(args: {
  vkey: unknown;
  zkeySha256: string;
  paths: CircuitArtifacts;
}): string {
  const { paths } = args;
  if (!paths.batchVerifier || !paths.batchContractName)
    throw new CircuitError(paths.spec.name, "has no batch verifier (only segment circuits do)");
  const vkey = parseGroth16Vkey(args.vkey);
  if (vkey.nPublic !== 5)
    throw new CircuitError("verification key nPublic", `must be 5 for a segment circuit, is ${vkey.nPublic}`);
  const w = vkeyWords(vkey);
  const g2 = (name: string, p: readonly bigint[]) =>
    [
      `    uint256 internal constant ${name}_X_IM = ${hex(p[0]!)};`,
      `    uint256 internal constant ${name}_X_RE = ${hex(p[1]!)};`,
      `    uint256 internal constant ${name}_Y_IM = ${hex(p[2]!)};`,
      `    uint256 internal constant ${name}_Y_RE = ${hex(p[3]!)};`,
    ].join("\n");
  const ic = w.ic
    .map(
      ([x, y], i) =>
        `    uint256 internal constant IC${i}_X = ${hex(x)};\n    uint256 internal constant IC${i}_Y = ${hex(y)};`,
    )
    .join("\n");
  const g2Store = (slot: string, name: string) =>
    [
      `                mstore(add(${slot}, 64), ${name}_X_IM)`,
      `                mstore(add(${slot}, 96), ${name}_X_RE)`,
      `                mstore(add(${slot}, 128), ${name}_Y_IM)`,
      `                mstore(add(${slot}, 160), ${name}_Y_RE)`,
    ].join("\n");

  return `// SPDX-License-Identifier: Apache-2.0
// Generated by \`${paths.spec.setupCommand}\` (setup/batch-verifier.ts) from ${paths.spec.name}.zkey
// (sha256 ${args.zkeySha256}). Do not edit: run the setup again.
pragma solidity 0.8.28;

import {ISegmentBatchVerifier} from "../interfaces/ISegmentBatchVerifier.sol";

/// @title ${paths.batchContractName}
/// @notice Checks many Groth16 proofs of ${paths.spec.template}(${paths.spec.params.join(", ")}) with one multi-pairing (docs/contracts.md,
/// "Batch verification"). Same verification key as ${paths.contractName}.
/// @dev Gas: pairing 45,000 + 34,000 (n + 3), ecMul 6,000 (2n + 7), ecAdd 150 (n + 5), plus hashing
/// and calldata. Every proof coordinate must be below q and every signal below r, and A and C must
/// lie on the curve (checked here, so ecMul never fails on calldata); the pairing precompile checks
/// that every B is a point of the G2 subgroup. Any failed check or precompile gives false.
contract ${paths.batchContractName} is ISegmentBatchVerifier {
    /// @inheritdoc ISegmentBatchVerifier
    bytes32 public constant DOMAIN_TAG = keccak256("${BATCH_DOMAIN}");
    /// @inheritdoc ISegmentBatchVerifier
    bytes32 public constant VK_HASH = ${vkeyHash(vkey)};

    /// @dev Order of the BN254 scalar field.
    uint256 internal constant R = ${FIELD_MODULUS};
    /// @dev Order of the BN254 base field.
    uint256 internal constant Q = ${BASE_FIELD_MODULUS};
    uint256 internal constant MASK_128 = 0xffffffffffffffffffffffffffffffff;

    // Verification key: G1 points (x, y); G2 points in the precompile's limb order.
    uint256 internal constant ALPHA_X = ${hex(w.alpha[0])};
    uint256 internal constant ALPHA_Y = ${hex(w.alpha[1])};
${g2("BETA", w.beta)}
${g2("GAMMA", w.gamma)}
${g2("DELTA", w.delta)}
${ic}

    /// @inheritdoc ISegmentBatchVerifier
    function verifyBatch(
        uint256[8][] calldata proofs,
        uint256[5][] calldata publicSignals
    ) external view returns (bool) {
        return _verify(_seed(proofs, publicSignals), proofs, publicSignals);
    }

    /// @inheritdoc ISegmentBatchVerifier
    function batchCoefficient(
        uint256[8][] calldata proofs,
        uint256[5][] calldata publicSignals,
        uint256 index
    ) external view returns (uint256) {
        return _coefficient(_seed(proofs, publicSignals), index);
    }

    /// @dev The Fiat-Shamir seed: a hash of the domain, this verifier on this chain, its key, and
    /// every word of the batch. Refuses empty and mismatched batches.
    function _seed(
        uint256[8][] calldata proofs,
        uint256[5][] calldata publicSignals
    ) private view returns (bytes32) {
        if (proofs.length == 0) revert SegmentBatchVerifier__EmptyBatch();
        if (publicSignals.length != proofs.length)
            revert SegmentBatchVerifier__LengthMismatch(proofs.length, publicSignals.length);
        return keccak256(abi.encode(DOMAIN_TAG, block.chainid, address(this), VK_HASH, proofs, publicSignals));
    }

    /// @dev r_j = uint128(keccak256(abi.encode(seed, j))), or 1 when that is 0 (probability 2^-128).
    function _coefficient(bytes32 seed, uint256 j) private pure returns (uint256 r) {
        assembly ("memory-safe") {
            mstore(0, seed)
            mstore(32, j)
            r := and(keccak256(0, 64), MASK_128)
            if iszero(r) {
                r := 1
            }
        }
    }

    function _verify(
        bytes32 seed,
        uint256[8][] calldata proofs,
        uint256[5][] calldata publicSignals
    ) private view returns (bool ok) {
        uint256 n = proofs.length;
        assembly ("memory-safe") {
            // pIn: 128 bytes of precompile input. pAcc: sum r_j C_j (64 bytes), sum r_j (32) and
            // the five combined signals (160). pPair: the n + 3 pairs of the pairing check.
            let pIn := mload(0x40)
            let pAcc := add(pIn, 128)
            let pPair := add(pAcc, 256)

            // *mOut += s * (x, y); false when a precompile fails.
            function mulAcc(mIn, mOut, x, y, s) -> success {
                mstore(mIn, x)
                mstore(add(mIn, 32), y)
                mstore(add(mIn, 64), s)
                success := staticcall(gas(), 7, mIn, 96, mIn, 64)
                mstore(add(mIn, 64), mload(mOut))
                mstore(add(mIn, 96), mload(add(mOut, 32)))
                success := and(success, staticcall(gas(), 6, mIn, 128, mOut, 64))
            }
            // (x, y) has canonical coordinates and lies on y^2 = x^3 + 3, or is (0, 0).
            function g1Valid(x, y) -> valid {
                valid := and(lt(x, Q), lt(y, Q))
                if valid {
                    valid := or(
                        and(iszero(x), iszero(y)),
                        eq(mulmod(y, y, Q), addmod(mulmod(mulmod(x, x, Q), x, Q), 3, Q))
                    )
                }
            }

            for {
                let i := 0
            } lt(i, 256) {
                i := add(i, 32)
            } {
                mstore(add(pAcc, i), 0)
            }
            ok := 1
            for {
                let j := 0
            } lt(j, n) {
                j := add(j, 1)
            } {
                let pp := add(proofs.offset, mul(j, 256))
                let ps := add(publicSignals.offset, mul(j, 160))
                let ax := calldataload(pp)
                let ay := calldataload(add(pp, 32))
                let cx := calldataload(add(pp, 192))
                let cy := calldataload(add(pp, 224))
                ok := and(g1Valid(ax, ay), g1Valid(cx, cy))
                for {
                    let k := 64
                } lt(k, 192) {
                    k := add(k, 32)
                } {
                    if iszero(lt(calldataload(add(pp, k)), Q)) {
                        ok := 0
                    }
                }
                for {
                    let k := 0
                } lt(k, 160) {
                    k := add(k, 32)
                } {
                    if iszero(lt(calldataload(add(ps, k)), R)) {
                        ok := 0
                    }
                }
                if iszero(ok) {
                    break
                }

                // r_j = uint128(keccak256(abi.encode(seed, j))), never 0
                mstore(0, seed)
                mstore(32, j)
                let rj := and(keccak256(0, 64), MASK_128)
                if iszero(rj) {
                    rj := 1
                }

                // pair j: (-r_j A_j, B_j)
                let slot := add(pPair, mul(j, 192))
                mstore(pIn, ax)
                mstore(add(pIn, 32), ay)
                mstore(add(pIn, 64), rj)
                ok := staticcall(gas(), 7, pIn, 96, slot, 64)
                mstore(add(slot, 32), mod(sub(Q, mload(add(slot, 32))), Q))
                calldatacopy(add(slot, 64), add(pp, 64), 128)

                // sum r_j C_j, sum r_j, and sum_j r_j s_{j,i} mod r for each signal i
                ok := and(ok, mulAcc(pIn, pAcc, cx, cy, rj))
                mstore(add(pAcc, 64), add(mload(add(pAcc, 64)), rj))
                for {
                    let k := 0
                } lt(k, 160) {
                    k := add(k, 32)
                } {
                    let pS := add(pAcc, add(96, k))
                    mstore(pS, addmod(mload(pS), mulmod(rj, calldataload(add(ps, k)), R), R))
                }
                if iszero(ok) {
                    break
                }
            }

            if ok {
                let sumR := mod(mload(add(pAcc, 64)), R)

                // pair n: ((sum r_j) alpha, beta)
                let slot := add(pPair, mul(n, 192))
                mstore(pIn, ALPHA_X)
                mstore(add(pIn, 32), ALPHA_Y)
                mstore(add(pIn, 64), sumR)
                ok := staticcall(gas(), 7, pIn, 96, slot, 64)
${g2Store("slot", "BETA")}

                // pair n + 1: (sum_j r_j L_j, gamma), the one combined public-input sum
                slot := add(slot, 192)
                mstore(pIn, IC0_X)
                mstore(add(pIn, 32), IC0_Y)
                mstore(add(pIn, 64), sumR)
                ok := and(ok, staticcall(gas(), 7, pIn, 96, slot, 64))
${w.ic
  .slice(1)
  .map(
    (_, i) =>
      `                ok := and(ok, mulAcc(pIn, slot, IC${i + 1}_X, IC${i + 1}_Y, mload(add(pAcc, ${96 + 32 * i}))))`,
  )
  .join("\n")}
${g2Store("slot", "GAMMA")}

                // pair n + 2: (sum r_j C_j, delta)
                slot := add(slot, 192)
                mstore(slot, mload(pAcc))
                mstore(add(slot, 32), mload(add(pAcc, 32)))
${g2Store("slot", "DELTA")}

                if ok {
                    let success := staticcall(gas(), 8, pPair, mul(add(n, 3), 192), pIn, 32)
                    ok := and(success, and(eq(returndatasize(), 32), eq(mload(pIn), 1)))
                }
            }
        }
    }
}
`;
}
