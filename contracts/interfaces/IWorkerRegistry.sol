// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title IWorkerRegistry
/// @notice Maps a worker key (Poseidon hash of its BabyJubjub public key) to the provider that
/// is paid for its work, its device class and the hash of its GPU UUID. An optional attestor
/// role approves keys (for example after checking a hardware attestation) before they earn.
interface IWorkerRegistry {
    /// @notice What the registry knows about one worker key.
    /// @param provider The address paid for this worker's segments (it registered the key).
    /// @param active Whether the provider has the worker switched on.
    /// @param approved Whether an attestor approved the key.
    /// @param registeredAt Block time of registration (unix seconds).
    /// @param deviceClass Rate card class, an ASCII string in bytes32 (e.g. "H100").
    /// @param gpuUuidHash SHA-256 of the GPU UUID; one key per GPU.
    struct Worker {
        address provider;
        bool active;
        bool approved;
        uint64 registeredAt;
        bytes32 deviceClass;
        bytes32 gpuUuidHash;
    }

    /// @notice The key hash is zero or not below the BN254 field modulus.
    error WorkerRegistry__InvalidKeyHash(uint256 workerKeyHash);
    /// @notice The key is registered already (keys are never re-registered).
    error WorkerRegistry__AlreadyRegistered(uint256 workerKeyHash);
    /// @notice Another key is registered for this GPU.
    error WorkerRegistry__GpuAlreadyRegistered(bytes32 gpuUuidHash, uint256 workerKeyHash);
    /// @notice The device class is empty.
    error WorkerRegistry__EmptyDeviceClass();
    /// @notice The GPU UUID hash is zero.
    error WorkerRegistry__EmptyGpuUuidHash();
    /// @notice No worker is registered under this key hash.
    error WorkerRegistry__UnknownWorker(uint256 workerKeyHash);
    /// @notice Only the provider that registered the worker may change it.
    error WorkerRegistry__NotWorkerProvider(uint256 workerKeyHash, address caller);

    /// @notice A provider registered a worker key (active from the start).
    event WorkerRegistered(
        uint256 indexed workerKeyHash,
        address indexed provider,
        bytes32 indexed deviceClass,
        bytes32 gpuUuidHash
    );
    /// @notice The provider switched a worker on or off.
    event WorkerActiveSet(uint256 indexed workerKeyHash, bool active);
    /// @notice An attestor approved a worker key.
    event WorkerApproved(uint256 indexed workerKeyHash, address indexed attestor);
    /// @notice An attestor revoked the approval of a worker key.
    event WorkerApprovalRevoked(uint256 indexed workerKeyHash, address indexed attestor);
    /// @notice The network admin required (or stopped requiring) attestor approval to earn.
    event AttestationRequiredSet(bool required);

    /// @notice Registers a worker key; the caller becomes its provider (payee).
    /// @param workerKeyHash Poseidon(Ax, Ay) of the worker's public key, below the field modulus.
    /// @param deviceClass Rate card class, e.g. ethers.encodeBytes32String("H100").
    /// @param gpuUuidHash SHA-256 of the GPU UUID, unique across workers.
    function registerWorker(uint256 workerKeyHash, bytes32 deviceClass, bytes32 gpuUuidHash) external;

    /// @notice Switches a worker on or off. Its provider only. An inactive worker cannot earn.
    function setActive(uint256 workerKeyHash, bool active) external;

    /// @notice Approves a worker key. Attestor role only.
    function approveWorker(uint256 workerKeyHash) external;

    /// @notice Revokes the approval of a worker key. Attestor role only.
    function revokeWorker(uint256 workerKeyHash) external;

    /// @notice Requires (or stops requiring) attestor approval before a worker earns. Network admin only.
    function setRequireAttestation(bool required) external;

    /// @return Whether a worker must be approved by an attestor to earn.
    function requireAttestation() external view returns (bool);

    /// @return The record of a worker key (all zero when unknown).
    function workerOf(uint256 workerKeyHash) external view returns (Worker memory);

    /// @return The worker key registered for a GPU UUID hash, or 0.
    function workerOfGpu(bytes32 gpuUuidHash) external view returns (uint256);

    /// @notice What the escrow needs to decide whether a worker may earn, in one call.
    /// @return provider The worker's provider (zero when unregistered).
    /// @return deviceClass Its rate card class.
    /// @return active Whether it is switched on.
    /// @return approved Whether it is approved, or approval is not required.
    function billingStatus(
        uint256 workerKeyHash
    ) external view returns (address provider, bytes32 deviceClass, bool active, bool approved);
}
