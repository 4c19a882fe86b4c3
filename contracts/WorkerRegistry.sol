// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
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

    /// @inheritdoc IWorkerRegistry
    bool public requireAttestation;

    mapping(uint256 workerKeyHash => Worker) private _workers;
    mapping(bytes32 gpuUuidHash => uint256 workerKeyHash) private _workerOfGpu;

    /// @param admin The network admin: grants roles and toggles the attestation requirement.
    /// @param requireAttestation_ Whether workers need attestor approval from the start.
    constructor(address admin, bool requireAttestation_) {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        requireAttestation = requireAttestation_;
        emit AttestationRequiredSet(requireAttestation_);
    }

    /// @inheritdoc IWorkerRegistry
    function registerWorker(uint256 workerKeyHash, bytes32 deviceClass, bytes32 gpuUuidHash) external {
        if (workerKeyHash == 0 || workerKeyHash >= FIELD_MODULUS) revert WorkerRegistry__InvalidKeyHash(workerKeyHash);
        if (deviceClass == bytes32(0)) revert WorkerRegistry__EmptyDeviceClass();
        if (gpuUuidHash == bytes32(0)) revert WorkerRegistry__EmptyGpuUuidHash();
        if (_workers[workerKeyHash].provider != address(0)) revert WorkerRegistry__AlreadyRegistered(workerKeyHash);
        uint256 gpuOwner = _workerOfGpu[gpuUuidHash];
        if (gpuOwner != 0) revert WorkerRegistry__GpuAlreadyRegistered(gpuUuidHash, gpuOwner);

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
        worker.active = active;
        emit WorkerActiveSet(workerKeyHash, active);
    }

    /// @inheritdoc IWorkerRegistry
    function approveWorker(uint256 workerKeyHash) external onlyRole(ATTESTOR_ROLE) {
        _registered(workerKeyHash).approved = true;
        emit WorkerApproved(workerKeyHash, msg.sender);
    }

    /// @inheritdoc IWorkerRegistry
    function revokeWorker(uint256 workerKeyHash) external onlyRole(ATTESTOR_ROLE) {
        _registered(workerKeyHash).approved = false;
        emit WorkerApprovalRevoked(workerKeyHash, msg.sender);
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

    function _registered(uint256 workerKeyHash) private view returns (Worker storage worker) {
        worker = _workers[workerKeyHash];
        if (worker.provider == address(0)) revert WorkerRegistry__UnknownWorker(workerKeyHash);
    }
}
