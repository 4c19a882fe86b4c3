// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IComputeEscrow} from "./interfaces/IComputeEscrow.sol";
import {ISegmentVerifier} from "./interfaces/ISegmentVerifier.sol";
import {IWorkerRegistry} from "./interfaces/IWorkerRegistry.sol";

/// @title ComputeEscrow
/// @notice Escrow of compute jobs paid per proven trace segment. See IComputeEscrow and
/// docs/contracts.md for the rules; DESIGN.md for the protocol.
contract ComputeEscrow is IComputeEscrow, AccessControl, Pausable, ReentrancyGuard {
    using SafeERC20 for IERC20;

    /// @notice Role that may pause and unpause the escrow.
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");

    /// @dev Order of the BN254 scalar field (jobTag is reduced modulo it).
    uint256 internal constant FIELD_MODULUS =
        21888242871839275222246405745257275088548364400416034343698204186575808495617;
    /// @dev usage of one fully busy GPU-hour (1e7 bps·ms per second) times the H100 weight 1e4.
    uint256 internal constant PAYOUT_DIVISOR = 1e7 * 1e4 * 3600;
    uint256 private constant TIME_MASK = type(uint64).max;

    /// @notice Registry of worker keys.
    IWorkerRegistry public immutable registry;
    /// @notice Verifier of segment proofs (a SegmentVerifierRouter).
    ISegmentVerifier public immutable verifier;
    /// @inheritdoc IComputeEscrow
    uint64 public immutable maxClockSkewMs;
    /// @inheritdoc IComputeEscrow
    uint64 public immutable closeGracePeriod;

    /// @inheritdoc IComputeEscrow
    uint256 public jobCount;

    /// @dev A job as stored: the three slots every submission reads come first, and jobTag is
    /// recomputed (a keccak costs less than a cold storage read).
    struct JobRecord {
        address provider;
        uint40 createdAt;
        uint40 expiry;
        bool closed;
        address token;
        uint96 price;
        uint128 remaining;
        uint128 paid;
        address client;
        uint128 deposited;
        uint128 refunded;
    }

    mapping(uint256 jobId => JobRecord) private _jobs;
    mapping(uint256 jobId => mapping(uint256 workerKeyHash => uint256 head)) private _laneHeads;
    mapping(uint256 workerKeyHash => uint64 tLast) private _lastBilledEnd;
    mapping(bytes32 deviceClass => uint32 weightBps) private _weights;
    mapping(address provider => mapping(address token => uint256)) private _balances;

    /// @param admin The network admin: sets the rate card, grants roles; also the first pauser.
    /// @param registry_ The WorkerRegistry.
    /// @param verifier_ The segment verifier (SegmentVerifierRouter).
    /// @param maxClockSkewMs_ How far (ms) a worker's clock may be off the chain's in window checks.
    /// @param closeGracePeriod_ Seconds after expiry during which the provider may still submit
    /// segments and the client may not yet close the job.
    constructor(
        address admin,
        IWorkerRegistry registry_,
        ISegmentVerifier verifier_,
        uint64 maxClockSkewMs_,
        uint64 closeGracePeriod_
    ) {
        if (address(registry_).code.length == 0) revert ComputeEscrow__NotAContract(address(registry_));
        if (address(verifier_).code.length == 0) revert ComputeEscrow__NotAContract(address(verifier_));
        registry = registry_;
        verifier = verifier_;
        maxClockSkewMs = maxClockSkewMs_;
        closeGracePeriod = closeGracePeriod_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(PAUSER_ROLE, admin);
    }

    // ---------------------------------------------------------------- jobs

    /// @inheritdoc IComputeEscrow
    function createJob(
        address provider,
        address token,
        uint256 budget,
        uint256 price,
        uint64 expiry
    ) external whenNotPaused nonReentrant returns (uint256 jobId) {
        if (provider == address(0)) revert ComputeEscrow__InvalidProvider();
        if (token.code.length == 0) revert ComputeEscrow__InvalidToken(token);
        if (budget == 0 || budget > type(uint128).max) revert ComputeEscrow__InvalidAmount(budget);
        if (price == 0 || price > type(uint96).max) revert ComputeEscrow__InvalidPrice(price);
        if (expiry <= block.timestamp || expiry > type(uint40).max) {
            revert ComputeEscrow__InvalidExpiry(expiry, block.timestamp);
        }

        jobId = ++jobCount;
        _jobs[jobId] = JobRecord({
            provider: provider,
            createdAt: uint40(block.timestamp),
            expiry: uint40(expiry),
            closed: false,
            token: token,
            price: uint96(price),
            remaining: uint128(budget),
            paid: 0,
            client: msg.sender,
            deposited: uint128(budget),
            refunded: 0
        });
        _announce(jobId);
        _pull(token, budget);
    }

    /// @dev Emits JobCreated from the stored job (a separate frame keeps createJob's stack small).
    function _announce(uint256 jobId) private {
        JobRecord storage job = _jobs[jobId];
        emit JobCreated(
            jobId,
            job.client,
            job.provider,
            job.token,
            job.deposited,
            job.price,
            job.createdAt,
            job.expiry,
            _jobTag(jobId, job.provider)
        );
    }

    /// @inheritdoc IComputeEscrow
    function fundJob(uint256 jobId, uint256 amount) external whenNotPaused nonReentrant {
        JobRecord storage job = _openJob(jobId);
        if (msg.sender != job.client) revert ComputeEscrow__NotJobClient(jobId, msg.sender);
        // deposited >= remaining, so checking the larger one keeps both within uint128.
        if (amount == 0 || amount > type(uint128).max - job.deposited) revert ComputeEscrow__InvalidAmount(amount);
        job.remaining += uint128(amount);
        job.deposited += uint128(amount);
        emit JobFunded(jobId, amount, job.remaining);
        _pull(job.token, amount);
    }

    /// @inheritdoc IComputeEscrow
    function closeJob(uint256 jobId) external nonReentrant returns (uint256 refund) {
        JobRecord storage job = _openJob(jobId);
        if (msg.sender != job.provider) {
            uint256 closableAt = uint256(job.expiry) + closeGracePeriod;
            if (msg.sender != job.client || (block.timestamp < closableAt && job.remaining != 0)) {
                revert ComputeEscrow__CloseNotAllowed(jobId, msg.sender, closableAt);
            }
        }
        refund = job.remaining;
        job.closed = true;
        job.remaining = 0;
        job.refunded = uint128(refund);
        emit JobClosed(jobId, msg.sender, refund);
        if (refund != 0) IERC20(job.token).safeTransfer(job.client, refund);
    }

    // ---------------------------------------------------------------- segments

    /// @inheritdoc IComputeEscrow
    function submitSegment(uint256 jobId, Submission calldata submission) external whenNotPaused {
        _accept(jobId, _openJob(jobId), submission);
    }

    /// @inheritdoc IComputeEscrow
    function submitSegments(uint256 jobId, Submission[] calldata submissions) external whenNotPaused {
        if (submissions.length == 0) revert ComputeEscrow__EmptyBatch();
        JobRecord storage job = _openJob(jobId);
        for (uint256 i = 0; i < submissions.length; ++i) {
            _accept(jobId, job, submissions[i]);
        }
    }

    /// @dev Checks a segment in the order of IComputeEscrow.submitSegment, then pays it.
    function _accept(uint256 jobId, JobRecord storage job, Submission calldata s) private {
        address provider = job.provider;
        uint256 weight = _billableWeight(s.workerKeyHash, provider);
        _checkContinues(jobId, s);
        (uint64 tFirst, uint64 tLast, uint256 usage) = _checkedMeter(job, s);
        if (!verifier.verifySegment(s.circuitId, s.proof, _publicSignals(_jobTag(jobId, provider), s))) {
            revert ComputeEscrow__InvalidProof(jobId, s.workerKeyHash);
        }

        _laneHeads[jobId][s.workerKeyHash] = s.newHead;
        _lastBilledEnd[s.workerKeyHash] = tLast;
        uint256 payout = _credit(job, provider, usage * weight);
        emit SegmentAccepted(jobId, s.workerKeyHash, s.newHead, s.circuitId, s.prevHead, tFirst, tLast, usage, payout);
    }

    /// @dev The segment must continue its lane: its prevHead must be the lane's head.
    function _checkContinues(uint256 jobId, Submission calldata s) private view {
        uint256 head = _laneHeads[jobId][s.workerKeyHash];
        if (s.prevHead != head) {
            // Replay protection is keyed on the statement (the head), never on proof bytes.
            if (s.newHead == head && head != 0) {
                revert ComputeEscrow__SegmentAlreadyAccepted(jobId, s.workerKeyHash, s.newHead);
            }
            revert ComputeEscrow__StalePrevHead(jobId, s.workerKeyHash, head, s.prevHead);
        }
    }

    /// @dev Unpacks the meter and checks its window against billed time and the job's life.
    function _checkedMeter(
        JobRecord storage job,
        Submission calldata s
    ) private view returns (uint64 tFirst, uint64 tLast, uint256 usage) {
        tFirst = uint64(s.meter & TIME_MASK);
        tLast = uint64((s.meter >> 64) & TIME_MASK);
        usage = s.meter >> 128;
        uint64 billedEnd = _lastBilledEnd[s.workerKeyHash];
        if (tFirst < billedEnd) revert ComputeEscrow__TimeAlreadyBilled(s.workerKeyHash, tFirst, billedEnd);
        _checkWindow(job, tFirst, tLast);
    }

    /// @dev Credits usage x weight at the job's price to the provider, capped by the remaining
    /// budget, and returns the amount. Rounds down: never in the payee's favour.
    function _credit(JobRecord storage job, address provider, uint256 weightedUsage) private returns (uint256 payout) {
        // usage < 2^126 (meter < r), weight < 2^32, price < 2^96: the product fits in 256 bits.
        payout = (weightedUsage * job.price) / PAYOUT_DIVISOR;
        uint128 remaining = job.remaining;
        if (payout > remaining) payout = remaining;
        if (payout != 0) {
            job.remaining = remaining - uint128(payout);
            job.paid += uint128(payout);
            _balances[provider][job.token] += payout;
        }
    }

    /// @dev The worker must be registered, active, approved when required, the job provider's,
    /// and of a rated device class. Returns the class weight.
    function _billableWeight(uint256 workerKeyHash, address jobProvider) private view returns (uint256 weight) {
        (address provider, bytes32 deviceClass, bool active, bool approved) = registry.billingStatus(workerKeyHash);
        if (provider == address(0)) revert ComputeEscrow__WorkerNotRegistered(workerKeyHash);
        if (!active) revert ComputeEscrow__WorkerInactive(workerKeyHash);
        if (!approved) revert ComputeEscrow__WorkerNotApproved(workerKeyHash);
        if (provider != jobProvider) revert ComputeEscrow__WorkerNotJobProvider(workerKeyHash, provider, jobProvider);
        weight = _weights[deviceClass];
        if (weight == 0) revert ComputeEscrow__DeviceClassNotRated(deviceClass);
    }

    /// @dev The window [tFirst, tLast] (unix ms) must lie within the job's life and not in the
    /// future, each bound widened by the clock skew allowance.
    function _checkWindow(JobRecord storage job, uint64 tFirst, uint64 tLast) private view {
        if (tLast <= tFirst) revert ComputeEscrow__InvalidWindow(tFirst, tLast);
        uint256 createdAtMs = uint256(job.createdAt) * 1000;
        if (uint256(tFirst) + maxClockSkewMs < createdAtMs) revert ComputeEscrow__WindowBeforeJob(tFirst, createdAtMs);
        uint256 expiryMs = uint256(job.expiry) * 1000;
        if (tLast > expiryMs + maxClockSkewMs) revert ComputeEscrow__WindowAfterExpiry(tLast, expiryMs);
        uint256 nowMs = block.timestamp * 1000;
        if (tLast > nowMs + maxClockSkewMs) revert ComputeEscrow__WindowInFuture(tLast, nowMs);
    }

    /// @dev keccak256(abi.encode(chainid, escrow, jobId, provider)) mod r (trace/hashing.ts computeJobTag).
    function _jobTag(uint256 jobId, address provider) private view returns (uint256) {
        return uint256(keccak256(abi.encode(block.chainid, address(this), jobId, provider))) % FIELD_MODULUS;
    }

    /// @dev The circuit's public signals, in its order: [jobTag, workerKeyHash, prevHead, newHead, meter].
    function _publicSignals(uint256 jobTag, Submission calldata s) private pure returns (uint256[5] memory) {
        return [jobTag, s.workerKeyHash, s.prevHead, s.newHead, s.meter];
    }

    // ---------------------------------------------------------------- payments

    /// @inheritdoc IComputeEscrow
    function withdraw(address token) external nonReentrant returns (uint256 amount) {
        amount = _balances[msg.sender][token];
        if (amount == 0) revert ComputeEscrow__NothingToWithdraw(msg.sender, token);
        _balances[msg.sender][token] = 0;
        emit Withdrawn(msg.sender, token, amount);
        IERC20(token).safeTransfer(msg.sender, amount);
    }

    /// @dev Pulls `amount` of `token` from the caller and refuses tokens that deliver less.
    function _pull(address token, uint256 amount) private {
        uint256 before = IERC20(token).balanceOf(address(this));
        IERC20(token).safeTransferFrom(msg.sender, address(this), amount);
        uint256 received = IERC20(token).balanceOf(address(this)) - before;
        if (received != amount) revert ComputeEscrow__UnsupportedToken(token, amount, received);
    }

    // ---------------------------------------------------------------- network admin

    /// @inheritdoc IComputeEscrow
    function setDeviceWeight(bytes32 deviceClass, uint32 weightBps) external onlyRole(DEFAULT_ADMIN_ROLE) {
        emit DeviceWeightSet(deviceClass, _weights[deviceClass], weightBps);
        _weights[deviceClass] = weightBps;
    }

    /// @inheritdoc IComputeEscrow
    function pause() external onlyRole(PAUSER_ROLE) {
        _pause();
    }

    /// @inheritdoc IComputeEscrow
    function unpause() external onlyRole(PAUSER_ROLE) {
        _unpause();
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IComputeEscrow
    function jobOf(uint256 jobId) external view returns (Job memory) {
        JobRecord storage job = _jobs[jobId];
        if (job.provider == address(0)) return Job(address(0), 0, false, address(0), 0, address(0), 0, 0, 0, 0, 0, 0);
        return
            Job({
                client: job.client,
                createdAt: job.createdAt,
                closed: job.closed,
                provider: job.provider,
                expiry: job.expiry,
                token: job.token,
                price: job.price,
                remaining: job.remaining,
                paid: job.paid,
                deposited: job.deposited,
                refunded: job.refunded,
                jobTag: _jobTag(jobId, job.provider)
            });
    }

    /// @inheritdoc IComputeEscrow
    function laneHead(uint256 jobId, uint256 workerKeyHash) external view returns (uint256) {
        return _laneHeads[jobId][workerKeyHash];
    }

    /// @inheritdoc IComputeEscrow
    function lastBilledEnd(uint256 workerKeyHash) external view returns (uint64) {
        return _lastBilledEnd[workerKeyHash];
    }

    /// @inheritdoc IComputeEscrow
    function deviceWeight(bytes32 deviceClass) external view returns (uint32) {
        return _weights[deviceClass];
    }

    /// @inheritdoc IComputeEscrow
    function balanceOf(address provider, address token) external view returns (uint256) {
        return _balances[provider][token];
    }

    /// @dev The job, which must exist and be open.
    function _openJob(uint256 jobId) private view returns (JobRecord storage job) {
        job = _jobs[jobId];
        if (job.provider == address(0)) revert ComputeEscrow__UnknownJob(jobId);
        if (job.closed) revert ComputeEscrow__JobClosed(jobId);
    }
}
