// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IGroth16Verifier2} from "./interfaces/IGroth16Verifier2.sol";
import {IWorkerRegistry} from "./interfaces/IWorkerRegistry.sol";

/// @title WorkerRegistry
/// @notice Worker keys of providers, one per GPU, with an optional attestor approval step.
/// @dev Keys are never deleted: a key's billed time (kept by the escrow) must not be reset by
/// registering the same key again. A provider retires a key with `setActive(key, false)`.
contract WorkerRegistry is IWorkerRegistry, AccessControl {
    /// @notice Role of the attestors that approve worker keys.
    bytes32 public constant ATTESTOR_ROLE = keccak256("ATTESTOR_ROLE");

    /// @dev Order of the BN254 scalar field: a key hash is a Poseidon output, below it.
    uint256 internal constant FIELD_MODULUS =
        21888242871839275222246405745257275088548364400416034343698204186575808495617;

    /// @notice Verifier of the key-possession circuit (contracts/generated/KeyPossessionVerifier.sol).
    IGroth16Verifier2 public immutable keyVerifier;

    /// @inheritdoc IWorkerRegistry
    bool public requireAttestation;

    mapping(uint256 workerKeyHash => Worker) private _workers;
    mapping(bytes32 gpuUuidHash => uint256 workerKeyHash) private _workerOfGpu;
    mapping(uint256 workerKeyHash => Approval) private _approvals;
    mapping(bytes32 deviceIdHash => uint256 workerKeyHash) private _workerOfDevice;

    /// @param admin The network admin: grants roles and toggles the attestation requirement.
    /// @param requireAttestation_ Whether workers need attestor approval from the start.
    /// @param keyVerifier_ The Groth16 verifier of the key-possession circuit.
    constructor(address admin, bool requireAttestation_, IGroth16Verifier2 keyVerifier_) {
        if (address(keyVerifier_).code.length == 0) revert WorkerRegistry__NotAContract(address(keyVerifier_));
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        keyVerifier = keyVerifier_;
        requireAttestation = requireAttestation_;
        emit RegistryConfigured(admin, address(keyVerifier_), requireAttestation_);
        emit AttestationRequiredSet(requireAttestation_);
    }

    /// @inheritdoc IWorkerRegistry
    function registerWorker(
        uint256 workerKeyHash,
        bytes32 deviceClass,
        bytes32 gpuUuidHash,
        uint256[8] calldata keyProof
    ) external {
        if (workerKeyHash == 0 || workerKeyHash >= FIELD_MODULUS) revert WorkerRegistry__InvalidKeyHash(workerKeyHash);
        if (deviceClass == bytes32(0)) revert WorkerRegistry__EmptyDeviceClass();
        if (gpuUuidHash == bytes32(0)) revert WorkerRegistry__EmptyGpuUuidHash();
        if (_workers[workerKeyHash].provider != address(0)) revert WorkerRegistry__AlreadyRegistered(workerKeyHash);
        uint256 gpuOwner = _workerOfGpu[gpuUuidHash];
        if (gpuOwner != 0) revert WorkerRegistry__GpuAlreadyRegistered(gpuUuidHash, gpuOwner);
        uint256 binding = keyBinding(msg.sender);
        if (!_keyProofValid(keyProof, workerKeyHash, binding)) {
            revert WorkerRegistry__InvalidKeyProof(workerKeyHash, binding);
        }

        _workers[workerKeyHash] = Worker({
            provider: msg.sender,
            active: true,
            approved: false,
            registeredAt: uint64(block.timestamp),
            deviceClass: deviceClass,
            gpuUuidHash: gpuUuidHash
        });
        _workerOfGpu[gpuUuidHash] = workerKeyHash;
        emit WorkerRegistered(workerKeyHash, msg.sender, deviceClass, gpuUuidHash);
    }

    /// @inheritdoc IWorkerRegistry
    function setActive(uint256 workerKeyHash, bool active) external {
        Worker storage worker = _registered(workerKeyHash);
        if (worker.provider != msg.sender) revert WorkerRegistry__NotWorkerProvider(workerKeyHash, msg.sender);
        if (active && worker.gpuUuidHash == bytes32(0)) revert WorkerRegistry__GpuReleased(workerKeyHash);
        worker.active = active;
        emit WorkerActiveSet(workerKeyHash, active);
    }

    /// @inheritdoc IWorkerRegistry
    function approveWorker(
        uint256 workerKeyHash,
        uint64 expiresAt,
        bytes32 evidenceHash,
        bytes32 deviceIdHash
    ) external onlyRole(ATTESTOR_ROLE) {
        Worker storage worker = _registered(workerKeyHash);
        if (worker.gpuUuidHash == bytes32(0)) revert WorkerRegistry__GpuReleased(workerKeyHash);
        if (expiresAt <= block.timestamp) revert WorkerRegistry__ApprovalExpiryNotInFuture(expiresAt, block.timestamp);
        if (evidenceHash == bytes32(0)) revert WorkerRegistry__EmptyEvidenceHash();
        if (deviceIdHash != bytes32(0)) {
            uint256 holder = _workerOfDevice[deviceIdHash];
            if (holder != 0 && holder != workerKeyHash && _approvalCurrent(holder)) {
                revert WorkerRegistry__DeviceAlreadyApproved(deviceIdHash, holder);
            }
        }
        _releaseDevice(workerKeyHash);
        if (deviceIdHash != bytes32(0)) _workerOfDevice[deviceIdHash] = workerKeyHash;
        worker.approved = true;
        _approvals[workerKeyHash] = Approval(expiresAt, msg.sender, evidenceHash, deviceIdHash);
        emit WorkerApproved(workerKeyHash, msg.sender, deviceIdHash, expiresAt, evidenceHash);
    }

    /// @inheritdoc IWorkerRegistry
    function revokeWorker(uint256 workerKeyHash, bytes32 reason) external onlyRole(ATTESTOR_ROLE) {
        Worker storage worker = _registered(workerKeyHash);
        if (reason == bytes32(0)) revert WorkerRegistry__EmptyReason();
        if (!worker.approved) revert WorkerRegistry__NotApproved(workerKeyHash);
        _revoke(worker, workerKeyHash, reason);
    }

    /// @dev Clears the approval flag, frees the attested device and names the reason.
    function _revoke(Worker storage worker, uint256 workerKeyHash, bytes32 reason) private {
        worker.approved = false;
        _releaseDevice(workerKeyHash);
        emit WorkerApprovalRevoked(workerKeyHash, msg.sender, reason);
    }

    /// @dev Frees the attested device the key holds, if it still holds one.
    function _releaseDevice(uint256 workerKeyHash) private {
        bytes32 device = _approvals[workerKeyHash].deviceIdHash;
        if (device != bytes32(0) && _workerOfDevice[device] == workerKeyHash) delete _workerOfDevice[device];
    }

    /// @dev Whether the key is approved and its approval has not expired.
    function _approvalCurrent(uint256 workerKeyHash) private view returns (bool) {
        return _workers[workerKeyHash].approved && _approvals[workerKeyHash].expiresAt > block.timestamp;
    }

    /// @inheritdoc IWorkerRegistry
    function releaseGpu(bytes32 gpuUuidHash, bytes32 reason) external {
        if (!hasRole(ATTESTOR_ROLE, msg.sender) && !hasRole(DEFAULT_ADMIN_ROLE, msg.sender)) {
            revert WorkerRegistry__NotAttestorOrAdmin(msg.sender);
        }
        uint256 workerKeyHash = _workerOfGpu[gpuUuidHash];
        if (workerKeyHash == 0) revert WorkerRegistry__UnknownGpu(gpuUuidHash);
        delete _workerOfGpu[gpuUuidHash];
        Worker storage worker = _workers[workerKeyHash];
        worker.active = false;
        worker.approved = false;
        worker.gpuUuidHash = bytes32(0);
        _releaseDevice(workerKeyHash);
        emit GpuReleased(gpuUuidHash, workerKeyHash, msg.sender, reason);
    }

    /// @inheritdoc IWorkerRegistry
    function keyBinding(address provider) public view returns (uint256) {
        return uint256(keccak256(abi.encode(block.chainid, address(this), provider))) % FIELD_MODULUS;
    }

    /// @inheritdoc IWorkerRegistry
    function setRequireAttestation(bool required) external onlyRole(DEFAULT_ADMIN_ROLE) {
        requireAttestation = required;
        emit AttestationRequiredSet(required);
    }

    /// @inheritdoc IWorkerRegistry
    function workerOf(uint256 workerKeyHash) external view returns (Worker memory) {
        return _workers[workerKeyHash];
    }

    /// @inheritdoc IWorkerRegistry
    function approvalOf(uint256 workerKeyHash) external view returns (Approval memory) {
        return _approvals[workerKeyHash];
    }

    /// @inheritdoc IWorkerRegistry
    function workerOfDevice(bytes32 deviceIdHash) external view returns (uint256) {
        return _workerOfDevice[deviceIdHash];
    }

    /// @inheritdoc IWorkerRegistry
    function workerOfGpu(bytes32 gpuUuidHash) external view returns (uint256) {
        return _workerOfGpu[gpuUuidHash];
    }

    /// @inheritdoc IWorkerRegistry
    function billingStatus(
        uint256 workerKeyHash
    ) external view returns (address provider, bytes32 deviceClass, bool active, bool approved) {
        Worker storage worker = _workers[workerKeyHash];
        return (worker.provider, worker.deviceClass, worker.active, worker.approved || !requireAttestation);
    }

    /// @dev Calls the key-possession verifier with public signals [workerKeyHash, binding].
    function _keyProofValid(
        uint256[8] calldata p,
        uint256 workerKeyHash,
        uint256 binding
    ) private view returns (bool) {
        return
            keyVerifier.verifyProof(
                [p[0], p[1]],
                [[p[2], p[3]], [p[4], p[5]]],
                [p[6], p[7]],
                [workerKeyHash, binding]
            );
    }

    function _registered(uint256 workerKeyHash) private view returns (Worker storage worker) {
        worker = _workers[workerKeyHash];
        if (worker.provider == address(0)) revert WorkerRegistry__UnknownWorker(workerKeyHash);
    }
}
