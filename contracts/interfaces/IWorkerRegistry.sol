// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title IWorkerRegistry
/// @notice Maps a worker key (Poseidon hash of its BabyJubjub public key) to the provider that
/// is paid for its work, its device class and the hash of its GPU UUID. An optional attestor
/// role approves keys (for example after checking a hardware attestation) before they earn.
/// Registering a key takes a proof that the caller holds it (a Groth16 proof of an
/// EdDSA-Poseidon signature bound to the chain, this registry and the caller), so nobody can
/// take another's key; a GPU UUID hash is self-declared, so the attestor or admin can release
/// one that a stranger claimed.
interface IWorkerRegistry {
    /// @notice What the registry knows about one worker key.
    /// @param provider The address paid for this worker's segments (it registered the key).
    /// @param active Whether the provider has the worker switched on.
    /// @param approved Whether an attestor approved the key.
    /// @param registeredAt Block time of registration (unix seconds).
    /// @param deviceClass Rate card class, an ASCII string in bytes32 (e.g. "H100").
    /// @param gpuUuidHash SHA-256 of the GPU UUID; one key per GPU. Zero after the GPU was
    /// released (releaseGpu): the worker is then off for good.
    struct Worker {
        address provider;
        bool active;
        bool approved;
        uint64 registeredAt;
        bytes32 deviceClass;
        bytes32 gpuUuidHash;
    }

    /// @notice The attestor's current approval of a worker key (all zero when never approved;
    /// kept after a revocation, with the `approved` flag of the Worker cleared).
    /// @param expiresAt Unix seconds: no segment whose window ends after it is billed.
    /// @param attestor Who approved the key.
    /// @param evidenceHash Hash of the attestation evidence the attestor checked.
    /// @param deviceIdHash Hash of the attested device identity (0 when the evidence has none).
    struct Approval {
        uint64 expiresAt;
        address attestor;
        bytes32 evidenceHash;
        bytes32 deviceIdHash;
    }

    /// @notice The network's terms for bonds and the challenge window, fixed at deployment.
    /// @param token ERC-20 of bonds; zero turns bonds off (minimumBond must then be 0).
    /// @param minimumBond A worker earns only while its bond is at least this (0: no minimum).
    /// @param unbondDelay Seconds from an unbond request until the stake can be withdrawn; at
    /// least twice the challenge window when bonds are on (a payout waits up to two windows).
    /// @param challengeWindow Seconds a payout stays pending and can be taken back (0: off).
    /// The escrow reads it once, at its deployment.
    /// @param reporterShareBps Share of a slashed bond paid to the reporter, in basis points.
    /// @param treasury Receives the rest of a slashed bond; zero burns it (sent to 0x…dEaD).
    struct StakeTerms {
        address token;
        uint128 minimumBond;
        uint64 unbondDelay;
        uint64 challengeWindow;
        uint16 reporterShareBps;
        address treasury;
    }

    /// @notice A worker key's stake.
    /// @param bonded Bond that counts towards the minimum.
    /// @param unbonding Bond on its way out: no longer counts, still slashable.
    /// @param unbondableAt When `unbonding` may be withdrawn (unix seconds).
    /// @param slashedAt When the key was revoked for cause (0: never); it cannot earn again.
    struct Stake {
        uint128 bonded;
        uint128 unbonding;
        uint64 unbondableAt;
        uint64 slashedAt;
    }

    /// @notice What the escrow needs to decide whether a worker may bill a segment, in one call.
    /// @param provider The worker's provider (zero when unregistered).
    /// @param active Whether it is switched on (never again after a revocation for cause).
    /// @param approved Whether it is approved, or approval is not required.
    /// @param approvedUntil Approval expiry, unix seconds (type(uint64).max when not required):
    /// a segment whose window ends later is refused.
    /// @param deviceClass Its rate card class.
    /// @param bond Its bond counting towards the minimum (0 when the network has no minimum).
    /// @param minimumBond The network's minimum bond.
    struct Billing {
        address provider;
        bool active;
        bool approved;
        uint64 approvedUntil;
        bytes32 deviceClass;
        uint128 bond;
        uint128 minimumBond;
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
    /// @notice The proof of key possession does not verify for this key hash and the binding
    /// of (chain id, registry, caller): the caller does not hold the key, or signed for another
    /// chain, registry or provider address.
    error WorkerRegistry__InvalidKeyProof(uint256 workerKeyHash, uint256 binding);
    /// @notice No worker is registered for this GPU UUID hash.
    error WorkerRegistry__UnknownGpu(bytes32 gpuUuidHash);
    /// @notice The worker's GPU was released by the attestor or admin: it cannot be switched on again.
    error WorkerRegistry__GpuReleased(uint256 workerKeyHash);
    /// @notice Only an attestor or the network admin may release a GPU.
    error WorkerRegistry__NotAttestorOrAdmin(address caller);
    /// @notice An approval must expire after the current block time.
    error WorkerRegistry__ApprovalExpiryNotInFuture(uint64 expiresAt, uint256 nowSeconds);
    /// @notice An approval needs the hash of the evidence the attestor checked.
    error WorkerRegistry__EmptyEvidenceHash();
    /// @notice Another key holds a current approval for this attested device: one key per device.
    error WorkerRegistry__DeviceAlreadyApproved(bytes32 deviceIdHash, uint256 workerKeyHash);
    /// @notice A revocation must name its reason (an evidence hash or a short ASCII reason).
    error WorkerRegistry__EmptyReason();
    /// @notice The key is not approved, so there is nothing to revoke.
    error WorkerRegistry__NotApproved(uint256 workerKeyHash);
    /// @notice The key was revoked for cause (slashed) at `slashedAt`: it cannot be approved,
    /// switched on or bonded again.
    error WorkerRegistry__KeySlashed(uint256 workerKeyHash, uint64 slashedAt);
    /// @notice The network has no bond token, so there is no bond to post.
    error WorkerRegistry__BondsDisabled();
    /// @notice A minimum bond needs a bond token.
    error WorkerRegistry__MinimumBondWithoutToken(uint256 minimumBond);
    /// @notice The reporter's share of a slashed bond is above 10000 bps.
    error WorkerRegistry__ReporterShareTooHigh(uint16 reporterShareBps);
    /// @notice With bonds on, the unbond delay must cover two challenge windows (the longest a
    /// payout the bond covers stays pending).
    error WorkerRegistry__UnbondDelayTooShort(uint64 unbondDelay, uint256 required);
    /// @notice A bond amount is zero or does not fit uint128 with the key's stake.
    error WorkerRegistry__InvalidAmount(uint256 amount);
    /// @notice The registry received a different amount than was transferred (fee-on-transfer token).
    error WorkerRegistry__UnsupportedToken(address token, uint256 expected, uint256 received);
    /// @notice An unbond request for more than the key's bond.
    error WorkerRegistry__UnbondExceedsBond(uint256 workerKeyHash, uint256 amount, uint256 bonded);
    /// @notice The key has no stake on its way out.
    error WorkerRegistry__NothingUnbonding(uint256 workerKeyHash);
    /// @notice The unbonding stake may be withdrawn only from `unbondableAt`.
    error WorkerRegistry__UnbondNotReady(uint256 workerKeyHash, uint64 unbondableAt);
    /// @notice A revocation for cause needs a reporter to pay (the attestor itself if nobody else).
    error WorkerRegistry__InvalidReporter();
    /// @notice The key-possession verifier has no code.
    error WorkerRegistry__NotAContract(address account);

    /// @notice A provider registered a worker key (active from the start).
    event WorkerRegistered(
        uint256 indexed workerKeyHash,
        address indexed provider,
        bytes32 indexed deviceClass,
        bytes32 gpuUuidHash
    );
    /// @notice The provider switched a worker on or off.
    event WorkerActiveSet(uint256 indexed workerKeyHash, bool active);
    /// @notice An attestor approved a worker key until `expiresAt` on the evidence `evidenceHash`
    /// (for the attested device `deviceIdHash`, 0 when the evidence names none).
    event WorkerApproved(
        uint256 indexed workerKeyHash,
        address indexed attestor,
        bytes32 indexed deviceIdHash,
        uint64 expiresAt,
        bytes32 evidenceHash
    );
    /// @notice An attestor revoked the approval of a worker key, for `reason`.
    event WorkerApprovalRevoked(uint256 indexed workerKeyHash, address indexed attestor, bytes32 reason);
    /// @notice The network admin required (or stopped requiring) attestor approval to earn.
    event AttestationRequiredSet(bool required);
    /// @notice The registry was deployed with these bond and challenge terms.
    event StakeTermsConfigured(
        address token,
        uint256 minimumBond,
        uint64 unbondDelay,
        uint64 challengeWindow,
        uint16 reporterShareBps,
        address treasury
    );
    /// @notice The provider added `amount` to the key's bond, now `bonded`.
    event BondAdded(uint256 indexed workerKeyHash, address indexed provider, uint256 amount, uint256 bonded);
    /// @notice The provider asked to take `amount` out; `unbonding` may leave from `unbondableAt`.
    event UnbondRequested(uint256 indexed workerKeyHash, uint256 amount, uint256 unbonding, uint64 unbondableAt);
    /// @notice The provider withdrew its unbonded stake.
    event Unbonded(uint256 indexed workerKeyHash, address indexed provider, uint256 amount);
    /// @notice An attestor revoked the key for cause on `evidenceHash`: its whole stake was
    /// slashed, `toReporter` to the reporter and `toTreasury` to the treasury (or burned), and
    /// its payouts still in the challenge window go back to the jobs (ComputeEscrow.settlePending).
    event WorkerSlashed(
        uint256 indexed workerKeyHash,
        address indexed attestor,
        address indexed reporter,
        bytes32 evidenceHash,
        uint256 toReporter,
        uint256 toTreasury
    );
    /// @notice The registry was deployed with this configuration.
    event RegistryConfigured(address indexed admin, address keyVerifier, bool requireAttestation);
    /// @notice An attestor or the admin released a GPU UUID hash from the worker that claimed it
    /// (for example a squatter); that worker is switched off for good and the GPU may be
    /// registered again. `reason` is a hash of the evidence or a short ASCII reason.
    event GpuReleased(
        bytes32 indexed gpuUuidHash,
        uint256 indexed workerKeyHash,
        address indexed releasedBy,
        bytes32 reason
    );

    /// @notice Registers a worker key; the caller becomes its provider (payee).
    /// @param workerKeyHash Poseidon(Ax, Ay) of the worker's public key, below the field modulus.
    /// @param deviceClass Rate card class, e.g. ethers.encodeBytes32String("H100").
    /// @param gpuUuidHash SHA-256 of the GPU UUID, unique across workers.
    /// @param keyProof Groth16 proof [a0, a1, b00, b01, b10, b11, c0, c1] of the key-possession
    /// circuit for public signals [workerKeyHash, keyBinding(msg.sender)]: the key signed
    /// Poseidon(REGISTER_DOMAIN, binding) (trace/registration.ts).
    function registerWorker(
        uint256 workerKeyHash,
        bytes32 deviceClass,
        bytes32 gpuUuidHash,
        uint256[8] calldata keyProof
    ) external;

    /// @notice Releases a GPU UUID hash from the worker that claimed it: the worker is switched
    /// off for good and loses its approval, and the GPU may be registered again. Attestor role
    /// or network admin.
    function releaseGpu(bytes32 gpuUuidHash, bytes32 reason) external;

    /// @return keccak256(abi.encode(chainid, registry, provider)) mod r: what a worker key signs
    /// to be registered by `provider` here.
    function keyBinding(address provider) external view returns (uint256);

    /// @notice Switches a worker on or off. Its provider only. An inactive worker cannot earn.
    function setActive(uint256 workerKeyHash, bool active) external;

    /// @notice Approves a worker key (again) after checking its attestation evidence. Attestor
    /// role only. Replaces an earlier approval of the key. Where the evidence names the device
    /// (`deviceIdHash` != 0), one key per device: another key's current (unexpired, unrevoked)
    /// approval for the same device refuses this one; a lapsed or revoked one gives way.
    /// @param expiresAt Unix seconds, after the current block: segments whose window ends later
    /// are not billed (ComputeEscrow__ApprovalLapsed).
    /// @param evidenceHash Hash of the evidence (attestation report or token), not zero.
    /// @param deviceIdHash Hash of the attested device identity, 0 when the evidence has none.
    function approveWorker(
        uint256 workerKeyHash,
        uint64 expiresAt,
        bytes32 evidenceHash,
        bytes32 deviceIdHash
    ) external;

    /// @notice Revokes the approval of a worker key at once: no more segments of it are billed
    /// while attestation is required. Attestor role only. Frees its attested device.
    /// @param reason Hash of the evidence or a short ASCII reason, not zero.
    function revokeWorker(uint256 workerKeyHash, bytes32 reason) external;

    /// @return The approval record of a key (expiry, attestor, evidence and device hashes).
    function approvalOf(uint256 workerKeyHash) external view returns (Approval memory);

    /// @return The key holding the attested device `deviceIdHash`, or 0. Its approval may have
    /// lapsed since (see approvalOf).
    function workerOfDevice(bytes32 deviceIdHash) external view returns (uint256);

    /// @notice Requires (or stops requiring) attestor approval before a worker earns. Network admin only.
    function setRequireAttestation(bool required) external;

    /// @return Whether a worker must be approved by an attestor to earn.
    function requireAttestation() external view returns (bool);

    /// @notice Adds `amount` of the bond token to a key's bond (approve first). Its provider only.
    function bond(uint256 workerKeyHash, uint256 amount) external;

    /// @notice Moves `amount` of a key's bond to unbonding: it stops counting towards the
    /// minimum at once and may be withdrawn after the unbond delay (which restarts for the
    /// whole unbonding stake). It stays slashable until then. Its provider only.
    function requestUnbond(uint256 workerKeyHash, uint256 amount) external;

    /// @notice Sends the provider the key's unbonding stake once its delay has passed.
    function withdrawUnbonded(uint256 workerKeyHash) external returns (uint256 amount);

    /// @notice Revokes a key for cause: approval gone, switched off for good, the whole stake
    /// (bonded and unbonding) slashed: reporterShareBps of it to `reporter`, the rest to the
    /// treasury or burned. The key's payouts still pending in the escrow's challenge window go
    /// back to their jobs (ComputeEscrow.settlePending, which anyone may call). Attestor role, or
    /// slasher role (PlausibilityChallenge, on a proof that a pending segment is implausible).
    /// @param evidenceHash Hash of the evidence of the violation, not zero.
    /// @param reporter Who reported it and gets the reporter's share.
    function revokeForCause(uint256 workerKeyHash, bytes32 evidenceHash, address reporter) external;

    /// @return The network's bond and challenge terms.
    function stakeTerms() external view returns (StakeTerms memory);

    /// @return The seconds a payout stays pending in the escrow (0: paid at once).
    function challengeWindow() external view returns (uint64);

    /// @return A key's stake (bonded, unbonding, when it may leave, when it was slashed).
    function stakeOf(uint256 workerKeyHash) external view returns (Stake memory);

    /// @return When the key was revoked for cause (unix seconds), 0 if never.
    function slashedAt(uint256 workerKeyHash) external view returns (uint64);

    /// @return Everything the escrow checks before billing a segment of the key.
    function billingOf(uint256 workerKeyHash) external view returns (Billing memory);

    /// @return The record of a worker key (all zero when unknown).
    function workerOf(uint256 workerKeyHash) external view returns (Worker memory);

    /// @return The worker key registered for a GPU UUID hash, or 0.
    function workerOfGpu(bytes32 gpuUuidHash) external view returns (uint256);

    /// @notice The registration and approval flags of a key, without approval expiry or bond
    /// (billingOf has those; the escrow uses billingOf).
    /// @return provider The worker's provider (zero when unregistered).
    /// @return deviceClass Its rate card class.
    /// @return active Whether it is switched on.
    /// @return approved Whether it is approved, or approval is not required.
    function billingStatus(
        uint256 workerKeyHash
    ) external view returns (address provider, bytes32 deviceClass, bool active, bool approved);
}
