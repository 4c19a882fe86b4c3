// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IGroth16Verifier2} from "./interfaces/IGroth16Verifier2.sol";
import {IWorkerRegistry} from "./interfaces/IWorkerRegistry.sol";

/// @title WorkerRegistry
/// @notice Worker keys of providers, one per GPU, with an optional attestor approval step
/// (with expiry, evidence and attested device), bonds per key and slashing for cause.
/// @dev Keys are never deleted: a key's billed time (kept by the escrow) must not be reset by
/// registering the same key again. A provider retires a key with `setActive(key, false)`.
/// The stake terms are immutable: shortening a window or delay under running payouts or
/// bonds would let money leave that the rules promised to hold.
contract WorkerRegistry is IWorkerRegistry, AccessControl, ReentrancyGuard {
    using SafeERC20 for IERC20;

    /// @notice Role of the attestors that approve worker keys.
    bytes32 public constant ATTESTOR_ROLE = keccak256("ATTESTOR_ROLE");
    /// @notice Role of contracts that revoke for cause on a proof (PlausibilityChallenge): it
    /// may call revokeForCause and nothing else an attestor may.
    bytes32 public constant SLASHER_ROLE = keccak256("SLASHER_ROLE");

    /// @dev Order of the BN254 scalar field: a key hash is a Poseidon output, below it.
    uint256 internal constant FIELD_MODULUS =
        21888242871839275222246405745257275088548364400416034343698204186575808495617;

    /// @notice Verifier of the key-possession circuit (contracts/generated/KeyPossessionVerifier.sol).
    IGroth16Verifier2 public immutable keyVerifier;

    /// @inheritdoc IWorkerRegistry
    bool public requireAttestation;

    /// @notice Where a slashed bond's remainder goes when the network has no treasury.
    address public constant BURN_ADDRESS = 0x000000000000000000000000000000000000dEaD;
    uint16 internal constant BPS = 10_000;

    IERC20 internal immutable _bondToken;
    uint128 internal immutable _minimumBond;
    uint64 internal immutable _unbondDelay;
    /// @inheritdoc IWorkerRegistry
    uint64 public immutable challengeWindow;
    uint16 internal immutable _reporterShareBps;
    address internal immutable _treasury;

    mapping(uint256 workerKeyHash => Worker) private _workers;
    mapping(bytes32 gpuUuidHash => uint256 workerKeyHash) private _workerOfGpu;
    mapping(uint256 workerKeyHash => Approval) private _approvals;
    mapping(bytes32 deviceIdHash => uint256 workerKeyHash) private _workerOfDevice;
    mapping(uint256 workerKeyHash => Stake) private _stakes;

    /// @param admin The network admin: grants roles and toggles the attestation requirement.
    /// @param requireAttestation_ Whether workers need attestor approval from the start.
    /// @param keyVerifier_ The Groth16 verifier of the key-possession circuit.
    /// @param terms Bond token, minimum bond, unbond delay, challenge window and slash split
    /// (all zero: no bonds, payouts at once).
    constructor(
        address admin,
        bool requireAttestation_,
        IGroth16Verifier2 keyVerifier_,
        StakeTerms memory terms
    ) {
        if (address(keyVerifier_).code.length == 0) revert WorkerRegistry__NotAContract(address(keyVerifier_));
        if (terms.token == address(0)) {
            if (terms.minimumBond != 0) revert WorkerRegistry__MinimumBondWithoutToken(terms.minimumBond);
        } else {
            if (terms.token.code.length == 0) revert WorkerRegistry__NotAContract(terms.token);
            if (terms.unbondDelay < 2 * uint256(terms.challengeWindow)) {
                revert WorkerRegistry__UnbondDelayTooShort(terms.unbondDelay, 2 * uint256(terms.challengeWindow));
            }
        }
        if (terms.reporterShareBps > BPS) revert WorkerRegistry__ReporterShareTooHigh(terms.reporterShareBps);
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        keyVerifier = keyVerifier_;
        requireAttestation = requireAttestation_;
        _bondToken = IERC20(terms.token);
        _minimumBond = terms.minimumBond;
        _unbondDelay = terms.unbondDelay;
        challengeWindow = terms.challengeWindow;
        _reporterShareBps = terms.reporterShareBps;
        _treasury = terms.treasury;
        emit RegistryConfigured(admin, address(keyVerifier_), requireAttestation_);
        emit AttestationRequiredSet(requireAttestation_);
        emit StakeTermsConfigured(
            terms.token,
            terms.minimumBond,
            terms.unbondDelay,
            terms.challengeWindow,
            terms.reporterShareBps,
            terms.treasury
        );
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
        if (active) _notSlashed(workerKeyHash);
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
        _notSlashed(workerKeyHash);
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

    // ---------------------------------------------------------------- bonds

    /// @inheritdoc IWorkerRegistry
    function bond(uint256 workerKeyHash, uint256 amount) external nonReentrant {
        if (address(_bondToken) == address(0)) revert WorkerRegistry__BondsDisabled();
        _ownWorker(workerKeyHash);
        _notSlashed(workerKeyHash);
        Stake storage stake = _stakes[workerKeyHash];
        // bonded + unbonding is what a slash moves: keep their sum within uint128.
        if (amount == 0 || amount > type(uint128).max - stake.bonded - stake.unbonding) {
            revert WorkerRegistry__InvalidAmount(amount);
        }
        stake.bonded += uint128(amount);
        emit BondAdded(workerKeyHash, msg.sender, amount, stake.bonded);
        uint256 before = _bondToken.balanceOf(address(this));
        _bondToken.safeTransferFrom(msg.sender, address(this), amount);
        uint256 received = _bondToken.balanceOf(address(this)) - before;
        if (received != amount) revert WorkerRegistry__UnsupportedToken(address(_bondToken), amount, received);
    }

    /// @inheritdoc IWorkerRegistry
    function requestUnbond(uint256 workerKeyHash, uint256 amount) external {
        _ownWorker(workerKeyHash);
        Stake storage stake = _stakes[workerKeyHash];
        if (amount == 0) revert WorkerRegistry__InvalidAmount(amount);
        if (amount > stake.bonded) revert WorkerRegistry__UnbondExceedsBond(workerKeyHash, amount, stake.bonded);
        stake.bonded -= uint128(amount);
        stake.unbonding += uint128(amount);
        // Payouts billed while this stake counted release within two windows of now; the
        // delay covers them (constructor), so the stake is still here to slash until then.
        stake.unbondableAt = uint64(block.timestamp) + _unbondDelay;
        emit UnbondRequested(workerKeyHash, amount, stake.unbonding, stake.unbondableAt);
    }

    /// @inheritdoc IWorkerRegistry
    function withdrawUnbonded(uint256 workerKeyHash) external nonReentrant returns (uint256 amount) {
        Worker storage worker = _ownWorker(workerKeyHash);
        Stake storage stake = _stakes[workerKeyHash];
        amount = stake.unbonding;
        if (amount == 0) revert WorkerRegistry__NothingUnbonding(workerKeyHash);
        if (block.timestamp < stake.unbondableAt) {
            revert WorkerRegistry__UnbondNotReady(workerKeyHash, stake.unbondableAt);
        }
        stake.unbonding = 0;
        emit Unbonded(workerKeyHash, worker.provider, amount);
        _bondToken.safeTransfer(worker.provider, amount);
    }

    /// @inheritdoc IWorkerRegistry
    function revokeForCause(
        uint256 workerKeyHash,
        bytes32 evidenceHash,
        address reporter
    ) external nonReentrant {
        if (!hasRole(ATTESTOR_ROLE, msg.sender)) _checkRole(SLASHER_ROLE);
        Worker storage worker = _registered(workerKeyHash);
        if (evidenceHash == bytes32(0)) revert WorkerRegistry__EmptyEvidenceHash();
        if (reporter == address(0)) revert WorkerRegistry__InvalidReporter();
        _notSlashed(workerKeyHash);
        Stake storage stake = _stakes[workerKeyHash];
        uint256 total = uint256(stake.bonded) + stake.unbonding;
        uint256 toReporter = (total * _reporterShareBps) / BPS;
        uint256 toTreasury = total - toReporter;
        stake.bonded = 0;
        stake.unbonding = 0;
        stake.slashedAt = uint64(block.timestamp);
        worker.active = false;
        emit WorkerActiveSet(workerKeyHash, false);
        _revoke(worker, workerKeyHash, evidenceHash);
        emit WorkerSlashed(workerKeyHash, msg.sender, reporter, evidenceHash, toReporter, toTreasury);
        if (toReporter != 0) _bondToken.safeTransfer(reporter, toReporter);
        if (toTreasury != 0) _bondToken.safeTransfer(_treasury == address(0) ? BURN_ADDRESS : _treasury, toTreasury);
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
    function stakeTerms() external view returns (StakeTerms memory) {
        return
            StakeTerms(
                address(_bondToken),
                _minimumBond,
                _unbondDelay,
                challengeWindow,
                _reporterShareBps,
                _treasury
            );
    }

    /// @inheritdoc IWorkerRegistry
    function stakeOf(uint256 workerKeyHash) external view returns (Stake memory) {
        return _stakes[workerKeyHash];
    }

    /// @inheritdoc IWorkerRegistry
    function slashedAt(uint256 workerKeyHash) external view returns (uint64) {
        return _stakes[workerKeyHash].slashedAt;
    }

    /// @inheritdoc IWorkerRegistry
    function billingOf(uint256 workerKeyHash) external view returns (Billing memory b) {
        Worker storage worker = _workers[workerKeyHash];
        b.provider = worker.provider;
        b.active = worker.active;
        b.deviceClass = worker.deviceClass;
        // Read the approval and stake slots only where they matter: without attestation or a
        // minimum bond, billing costs what it did before either existed.
        if (!requireAttestation) {
            b.approved = true;
            b.approvedUntil = type(uint64).max;
        } else if (worker.approved) {
            b.approved = true;
            b.approvedUntil = _approvals[workerKeyHash].expiresAt;
        }
        if (_minimumBond != 0) {
            b.bond = _stakes[workerKeyHash].bonded;
            b.minimumBond = _minimumBond;
        }
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

    /// @dev The key, which the caller must have registered.
    function _ownWorker(uint256 workerKeyHash) private view returns (Worker storage worker) {
        worker = _registered(workerKeyHash);
        if (worker.provider != msg.sender) revert WorkerRegistry__NotWorkerProvider(workerKeyHash, msg.sender);
    }

    function _notSlashed(uint256 workerKeyHash) private view {
        uint64 at = _stakes[workerKeyHash].slashedAt;
        if (at != 0) revert WorkerRegistry__KeySlashed(workerKeyHash, at);
    }
}
