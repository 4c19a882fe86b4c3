// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {ISegmentVerifier} from "./ISegmentVerifier.sol";

/// @title ISegmentVerifierRouter
/// @notice Keeps one snarkjs-generated verifier per circuit id (segment size N), so segment sizes
/// and verifier upgrades can coexist, and verifies segment proofs through them.
interface ISegmentVerifierRouter is ISegmentVerifier {
    /// @notice The verifier address has no code.
    error SegmentVerifierRouter__NotAContract(address verifier);

    /// @notice Circuit id 0 is reserved: a segment has at least one record.
    error SegmentVerifierRouter__ZeroCircuitId();

    /// @notice The verifier of `circuitId` changed from `previous` to `verifier` (zero: removed).
    event VerifierSet(uint32 indexed circuitId, address indexed previous, address indexed verifier);

    /// @notice Registers or replaces the verifier of a circuit. Network admin only.
    /// @param circuitId The segment size N the verifier was generated for.
    /// @param verifier A contract with `verifyProof` for five public inputs (IGroth16Verifier5).
    function setVerifier(uint32 circuitId, address verifier) external;

    /// @notice The batch verifier of `circuitId` changed from `previous` to `verifier` (zero: removed).
    event BatchVerifierSet(uint32 indexed circuitId, address indexed previous, address indexed verifier);

    /// @notice Registers or replaces the batch verifier of a circuit. Network admin only.
    /// @param circuitId The segment size N the batch verifier was generated for.
    /// @param verifier A contract with `verifyBatch` (ISegmentBatchVerifier), generated from the
    /// same zkey as the circuit's single verifier.
    function setBatchVerifier(uint32 circuitId, address verifier) external;

    /// @notice Removes the batch verifier of a circuit; verifySegments refuses its id from then
    /// on (verifySegment is not affected). Network admin only.
    function removeBatchVerifier(uint32 circuitId) external;

    /// @return The batch verifier registered for `circuitId`, or the zero address.
    function batchVerifierOf(uint32 circuitId) external view returns (address);

    /// @notice Removes the verifier of a circuit; its proofs are refused from then on. Network admin only.
    function removeVerifier(uint32 circuitId) external;

    /// @return The verifier registered for `circuitId`, or the zero address.
    function verifierOf(uint32 circuitId) external view returns (address);
}
