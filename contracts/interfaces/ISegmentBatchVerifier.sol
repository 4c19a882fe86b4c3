// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title ISegmentBatchVerifier
/// @notice Verifies many Groth16 proofs of one segment circuit (`MeteredSegment(N)`) with one
/// multi-pairing: n + 3 pairings instead of 4n, and one combined public-input sum. `meterproof
/// setup --size N` generates the implementation, `SegmentGroth16BatchVerifier{N}`, from the same
/// zkey as the single verifier (contracts/generated/SegmentBatchVerifier{N}.sol).
/// @dev The check is the random linear combination of the n Groth16 equations,
///   prod_j e(-r_j A_j, B_j) * e((sum r_j) alpha, beta) * e(sum_j r_j L_j, gamma) * e(sum r_j C_j, delta) = 1,
/// with L_j = IC_0 + sum_i s_{j,i} IC_i. The 128-bit coefficients come from a hash of the whole
/// batch (Fiat-Shamir: seed = keccak256(abi.encode(DOMAIN_TAG, chainid, this contract, VK_HASH,
/// proofs, publicSignals)), r_j = uint128(keccak256(abi.encode(seed, j))), 1 when that is 0), never
/// from block values, so no one can choose invalid proofs whose errors cancel. A batch holds the
/// proofs of one circuit only: a caller with segments of several sizes splits them by circuit id.
interface ISegmentBatchVerifier {
    /// @notice The batch has no proofs.
    error SegmentBatchVerifier__EmptyBatch();

    /// @notice `proofs` and `publicSignals` differ in length.
    error SegmentBatchVerifier__LengthMismatch(uint256 proofs, uint256 publicSignals);

    /// @return The domain tag of the coefficient hash, keccak256("meterproof.batch.v1").
    function DOMAIN_TAG() external view returns (bytes32);

    /// @return keccak256 of the verification key's points (alpha, beta, gamma, delta, IC_0..IC_5, as
    /// 32-byte words in the precompiles' order), fixed when the contract was generated.
    function VK_HASH() external view returns (bytes32);

    /// @notice Checks n segment proofs of this circuit at once.
    /// @param proofs Each proof as [a0, a1, b00, b01, b10, b11, c0, c1], the order of snarkjs
    /// `exportSolidityCallData` (G2 limbs already swapped for the precompile).
    /// @param publicSignals Each proof's [jobTag, workerKeyHash, prevHead, newHead, meter].
    /// @return True when every proof is valid for its signals (up to a 2^-128 chance of error),
    /// false when any is not, or when a signal is not below r or a coordinate not below q.
    function verifyBatch(
        uint256[8][] calldata proofs,
        uint256[5][] calldata publicSignals
    ) external view returns (bool);

    /// @return The coefficient r_j the batch gives proof `index` (what verifyBatch uses).
    function batchCoefficient(
        uint256[8][] calldata proofs,
        uint256[5][] calldata publicSignals,
        uint256 index
    ) external view returns (uint256);
}
