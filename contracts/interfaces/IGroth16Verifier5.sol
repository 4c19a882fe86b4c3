// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title IGroth16Verifier5
/// @notice The function of a snarkjs-generated Groth16 verifier with five public inputs, as
/// `meterproof setup` exports it to contracts/generated/SegmentVerifier{N}.sol.
interface IGroth16Verifier5 {
    /// @return True when the proof (a, b, c) is valid for the five public signals.
    function verifyProof(
        uint256[2] calldata _pA,
        uint256[2][2] calldata _pB,
        uint256[2] calldata _pC,
        uint256[5] calldata _pubSignals
    ) external view returns (bool);
}
