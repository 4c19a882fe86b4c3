// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ISegmentVerifier} from "./interfaces/ISegmentVerifier.sol";
import {ISegmentVerifierRouter} from "./interfaces/ISegmentVerifierRouter.sol";
import {IGroth16Verifier5} from "./interfaces/IGroth16Verifier5.sol";

/// @title SegmentVerifierRouter
/// @notice A thin wrapper over the snarkjs-generated Groth16 verifiers of `MeteredSegment(N)`
/// (contracts/generated/SegmentVerifier{N}.sol, exported by `meterproof setup --size N`). The
/// generated code is used as it is; this contract selects it by circuit id and refuses public
/// signals outside the field before calling it.
contract SegmentVerifierRouter is ISegmentVerifierRouter, AccessControl {
    /// @dev Order of the BN254 scalar field.
    uint256 internal constant FIELD_MODULUS =
        21888242871839275222246405745257275088548364400416034343698204186575808495617;

    mapping(uint32 circuitId => address verifier) private _verifiers;

    /// @param admin The network admin: may set and remove verifiers.
    constructor(address admin) {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    /// @inheritdoc ISegmentVerifierRouter
    function setVerifier(uint32 circuitId, address verifier) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (circuitId == 0) revert SegmentVerifierRouter__ZeroCircuitId();
        if (verifier.code.length == 0) revert SegmentVerifierRouter__NotAContract(verifier);
        emit VerifierSet(circuitId, _verifiers[circuitId], verifier);
        _verifiers[circuitId] = verifier;
    }

    /// @inheritdoc ISegmentVerifierRouter
    function removeVerifier(uint32 circuitId) external onlyRole(DEFAULT_ADMIN_ROLE) {
        address previous = _verifiers[circuitId];
        if (previous == address(0)) revert SegmentVerifierRouter__UnknownCircuit(circuitId);
        delete _verifiers[circuitId];
        emit VerifierSet(circuitId, previous, address(0));
    }

    /// @inheritdoc ISegmentVerifierRouter
    function verifierOf(uint32 circuitId) external view returns (address) {
        return _verifiers[circuitId];
    }

    /// @inheritdoc ISegmentVerifier
    function verifySegment(
        uint32 circuitId,
        uint256[8] calldata proof,
        uint256[5] calldata publicSignals
    ) external view returns (bool valid) {
        address verifier = _verifiers[circuitId];
        if (verifier == address(0)) revert SegmentVerifierRouter__UnknownCircuit(circuitId);
        for (uint256 i = 0; i < 5; ++i) {
            if (publicSignals[i] >= FIELD_MODULUS) revert SegmentVerifierRouter__SignalNotInField(i);
        }
        // The ABI encoding of verifyProof(uint[2], uint[2][2], uint[2], uint[5]) is its 13 words
        // in a row, which is exactly proof ++ publicSignals: copy them instead of re-encoding.
        bytes4 selector = IGroth16Verifier5.verifyProof.selector;
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, selector)
            calldatacopy(add(ptr, 4), proof, 256)
            calldatacopy(add(ptr, 260), publicSignals, 160)
            let ok := staticcall(gas(), verifier, ptr, 420, 0, 32)
            valid := and(ok, and(eq(returndatasize(), 32), eq(mload(0), 1)))
        }
    }
}
