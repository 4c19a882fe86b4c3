// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title ISegmentVerifier
/// @notice Verifies a Groth16 proof of one metered trace segment (circuit `MeteredSegment(N)`).
/// Any contract may call it: the escrow of meterproof, or another network's settlement contract.
/// @dev Public signals, in this order: [jobTag, workerKeyHash, prevHead, newHead, meter], with
/// meter = tFirst + tLast * 2^64 + usage * 2^128 (unix ms, usage in bps·ms). The proof is
/// uint256[8] = [a0, a1, b00, b01, b10, b11, c0, c1] in the order snarkjs `exportSolidityCallData`
/// gives (the b coordinates already swapped).
interface ISegmentVerifier {
    /// @notice No verifier is registered for `circuitId` (the segment size N).
    error SegmentVerifierRouter__UnknownCircuit(uint32 circuitId);

    /// @notice Public signal `index` is not below the BN254 scalar field modulus r.
    /// @dev Reverting (rather than returning false) tells a caller that the statement itself is
    /// malformed, for example a signal that had r added to it. In a batch, `index` is the flat
    /// index 5 * proof + signal.
    error SegmentVerifierRouter__SignalNotInField(uint256 index);

    /// @notice A batch with no proofs.
    error SegmentVerifierRouter__EmptyBatch();

    /// @notice A batch whose `proofs` and `publicSignals` differ in length.
    error SegmentVerifierRouter__BatchLengthMismatch(uint256 proofs, uint256 publicSignals);

    /// @notice Checks a segment proof against its public signals.
    /// @param circuitId The circuit the proof is for: its segment size N.
    /// @param proof The Groth16 proof points [a0, a1, b00, b01, b10, b11, c0, c1].
    /// @param publicSignals [jobTag, workerKeyHash, prevHead, newHead, meter], each below r.
    /// @return True when the proof is valid for these signals, false otherwise.
    function verifySegment(
        uint32 circuitId,
        uint256[8] calldata proof,
        uint256[5] calldata publicSignals
    ) external view returns (bool);

    /// @notice Checks many segment proofs of one circuit at once, with one multi-pairing
    /// (ISegmentBatchVerifier): cheaper than verifySegment per proof from two proofs on.
    /// @dev A batch has one circuit id: a caller with proofs of several sizes splits them by id
    /// and calls once per id. Reverts with UnknownCircuit when `circuitId` has no batch verifier.
    /// @param circuitId The circuit every proof is for: its segment size N.
    /// @param proofs Each proof as [a0, a1, b00, b01, b10, b11, c0, c1].
    /// @param publicSignals Each proof's [jobTag, workerKeyHash, prevHead, newHead, meter], each below r.
    /// @return True when every proof is valid for its signals, false when any is not.
    function verifySegments(
        uint32 circuitId,
        uint256[8][] calldata proofs,
        uint256[5][] calldata publicSignals
    ) external view returns (bool);
}
