// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title IGroth16Verifier2
/// @notice The function of a snarkjs-generated Groth16 verifier with two public inputs, as
/// `meterproof setup` exports the key-possession circuit to
/// contracts/generated/KeyPossessionVerifier.sol.
interface IGroth16Verifier2 {
    /// @return True when the proof (a, b, c) is valid for the two public signals.
    function verifyProof(
        uint256[2] calldata _pA,
        uint256[2][2] calldata _pB,
        uint256[2] calldata _pC,
        uint256[2] calldata _pubSignals
    ) external view returns (bool);
}
