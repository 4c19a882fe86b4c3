// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title IGroth16Verifier7
/// @notice The function of a snarkjs-generated Groth16 verifier with seven public inputs, as
/// `meterproof setup` exports the challenge circuit to
/// contracts/generated/ChallengeVerifier{N}.sol.
interface IGroth16Verifier7 {
    /// @return True when the proof (a, b, c) is valid for the seven public signals.
    function verifyProof(
        uint256[2] calldata _pA,
        uint256[2][2] calldata _pB,
        uint256[2] calldata _pC,
        uint256[7] calldata _pubSignals
    ) external view returns (bool);
}
