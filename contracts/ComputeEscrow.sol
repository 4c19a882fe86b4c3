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
    /// @dev nextStart of a lane with no later lane of its worker; firstStart of a worker without lanes.
    uint64 private constant OPEN_END = type(uint64).max;

    /// @inheritdoc IComputeEscrow
    uint32 public constant MAX_WEIGHT_BPS = 100_000;
    /// @inheritdoc IComputeEscrow
    uint256 public constant LANE_FIRST = type(uint256).max;

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

    /// @dev A job as stored: the slots every submission reads come first, and jobTag is
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
        uint64 pausedAtCreation;
        uint128 deposited;
        uint128 refunded;
    }

    /// @dev A lane's billed span and weight, one slot (its head is kept apart: it changes with
    /// every segment, and a fresh head slot is what a lane's first segment pays for anyway).
    struct LaneSpan {
        uint64 start;
        uint64 end;
        uint64 nextStart;
        uint32 weightBps;
    }

    /// @dev The worker's lanes in time order form a list: each lane knows where the next one
    /// starts; the worker knows its first start and its latest lane.
    struct WorkerLanes {
        uint64 firstStart;
        uint192 latestJob;
    }

    mapping(uint256 jobId => JobRecord) private _jobs;
    mapping(uint256 jobId => mapping(uint256 workerKeyHash => uint256 head)) private _laneHeads;
    mapping(uint256 jobId => mapping(uint256 workerKeyHash => LaneSpan)) private _laneSpans;
    mapping(uint256 workerKeyHash => WorkerLanes) private _workerLanes;
    mapping(bytes32 deviceClass => uint32 weightBps) private _weights;
    mapping(address provider => mapping(address token => uint256)) private _balances;
    /// @dev Paused time before the current pause, and when the current pause began (0: not paused).
    uint64 private _pausedTotal;
    uint64 private _pausedSince;

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
        emit EscrowConfigured(
            admin,
            address(registry_),
            address(verifier_),
            maxClockSkewMs_,
            closeGracePeriod_,
            MAX_WEIGHT_BPS
        );
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
            pausedAtCreation: pausedSeconds(),
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
            _jobTag(jobId, job)
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
            uint256 clientFrom = _closableAt(job);
            if (msg.sender != job.client || (block.timestamp < clientFrom && job.remaining != 0)) {
                revert ComputeEscrow__CloseNotAllowed(jobId, msg.sender, clientFrom);
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
            Submission calldata s = submissions[i];
            if (_alreadyAccepted(jobId, s)) emit SegmentSkipped(jobId, s.workerKeyHash, s.newHead);
            else _accept(jobId, job, s);
        }
    }

    /// @dev Checks a segment in the order of IComputeEscrow.submitSegment, then pays it.
    function _accept(uint256 jobId, JobRecord storage job, Submission calldata s) private {
        address provider = job.provider;
        bytes32 deviceClass = _billableClass(s.workerKeyHash, provider);
        _checkContinues(jobId, s);
        (uint64 tFirst, uint64 tLast, uint256 usage) = _unpackMeter(s.meter);
        _checkWindow(job, tFirst, tLast);
        uint32 weight = _claimTime(jobId, s, deviceClass, tFirst, tLast);
        if (!verifier.verifySegment(s.circuitId, s.proof, _publicSignals(_jobTag(jobId, job), s))) {
            revert ComputeEscrow__InvalidProof(jobId, s.workerKeyHash);
        }

        _laneHeads[jobId][s.workerKeyHash] = s.newHead;
        uint256 payout = _credit(job, provider, usage * weight);
        emit SegmentAccepted(
            jobId,
            s.workerKeyHash,
            s.newHead,
            s.circuitId,
            s.prevHead,
            tFirst,
            tLast,
            usage,
            weight,
            payout,
            msg.sender
        );
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

    /// @dev Whether a batch entry is a segment the lane has accepted already: the lane's last
    /// one, or one whose window ends within the lane's billed span and that does not continue
    /// the lane. Skipping such an entry changes nothing, so it is safe even for a forged one.
    function _alreadyAccepted(uint256 jobId, Submission calldata s) private view returns (bool) {
        uint256 head = _laneHeads[jobId][s.workerKeyHash];
        if (head == 0 || s.prevHead == head) return false;
        if (s.newHead == head) return true;
        return uint64((s.meter >> 64) & TIME_MASK) <= _laneSpans[jobId][s.workerKeyHash].end;
    }

    /// @dev Splits meter = tFirst + tLast * 2^64 + usage * 2^128.
    function _unpackMeter(uint256 meter) private pure returns (uint64 tFirst, uint64 tLast, uint256 usage) {
        tFirst = uint64(meter & TIME_MASK);
        tLast = uint64((meter >> 64) & TIME_MASK);
        usage = meter >> 128;
    }

    /// @dev Bills [tFirst, tLast] to the lane, or refuses it when another lane of the worker
    /// billed (or may bill) that time. Each lane owns the time from its start to the start of
    /// the worker's next lane in time, and bills it in increasing windows: so no millisecond
    /// is paid twice, and disjoint work stays payable whatever the order of submission.
    /// Returns the lane's weight, fixed from the rate card when the lane starts.
    function _claimTime(
        uint256 jobId,
        Submission calldata s,
        bytes32 deviceClass,
        uint64 tFirst,
        uint64 tLast
    ) private returns (uint32 weight) {
        LaneSpan storage lane = _laneSpans[jobId][s.workerKeyHash];
        if (s.prevHead != 0) {
            LaneSpan memory span = lane;
            if (tFirst < span.end) revert ComputeEscrow__TimeAlreadyBilled(s.workerKeyHash, tFirst, span.end);
            if (tLast > span.nextStart) revert ComputeEscrow__LaneOverlap(s.workerKeyHash, tLast, span.nextStart);
            lane.end = tLast;
            return span.weightBps;
        }
        weight = _weights[deviceClass];
        if (weight == 0) revert ComputeEscrow__DeviceClassNotRated(deviceClass);
        uint64 nextStart = _linkLane(jobId, s.workerKeyHash, s.laneAfter, tFirst, tLast);
        _laneSpans[jobId][s.workerKeyHash] = LaneSpan(tFirst, tLast, nextStart, weight);
        emit LaneStarted(jobId, s.workerKeyHash, tFirst, nextStart, weight);
    }

    /// @dev Inserts a new lane starting at tFirst into the worker's time-ordered lanes after
    /// `laneAfter` (see Submission), checks that [tFirst, tLast] lies between the end of the
    /// lane before it and the start of the lane after it, and returns that next start.
    function _linkLane(
        uint256 jobId,
        uint256 workerKeyHash,
        uint256 laneAfter,
        uint64 tFirst,
        uint64 tLast
    ) private returns (uint64 nextStart) {
        WorkerLanes storage worker = _workerLanes[workerKeyHash];
        (uint64 firstStart, uint256 latestJob) = (worker.firstStart, worker.latestJob);
        if (latestJob == 0) firstStart = OPEN_END;
        uint256 before = laneAfter == 0 ? latestJob : laneAfter;
        if (before == 0 || before == LANE_FIRST) {
            // The new lane comes first: it may bill up to the worker's current first lane.
            nextStart = firstStart;
            if (tFirst >= nextStart) revert ComputeEscrow__WrongLaneAfter(workerKeyHash, laneAfter);
            if (tLast > nextStart) revert ComputeEscrow__LaneOverlap(workerKeyHash, tLast, nextStart);
            worker.firstStart = tFirst;
        } else {
            LaneSpan storage previous = _laneSpans[before][workerKeyHash];
            (uint64 prevStart, uint64 prevEnd) = (previous.start, previous.end);
            nextStart = previous.nextStart;
            // The named lane must exist and start no later than the new one (at the same time,
            // it is the overlap below), with no lane starting between them.
            if (prevStart == 0 || prevStart > tFirst || nextStart <= tFirst) {
                revert ComputeEscrow__WrongLaneAfter(workerKeyHash, laneAfter);
            }
            if (tFirst < prevEnd) revert ComputeEscrow__TimeAlreadyBilled(workerKeyHash, tFirst, prevEnd);
            if (tLast > nextStart) revert ComputeEscrow__LaneOverlap(workerKeyHash, tLast, nextStart);
            previous.nextStart = tFirst;
        }
        if (nextStart == OPEN_END) worker.latestJob = uint192(jobId);
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

    /// @dev The worker must be registered, active, approved when required and the job
    /// provider's. Returns its device class.
    function _billableClass(uint256 workerKeyHash, address jobProvider) private view returns (bytes32 deviceClass) {
        address provider;
        bool active;
        bool approved;
        (provider, deviceClass, active, approved) = registry.billingStatus(workerKeyHash);
        if (provider == address(0)) revert ComputeEscrow__WorkerNotRegistered(workerKeyHash);
        if (!active) revert ComputeEscrow__WorkerInactive(workerKeyHash);
        if (!approved) revert ComputeEscrow__WorkerNotApproved(workerKeyHash);
        if (provider != jobProvider) revert ComputeEscrow__WorkerNotJobProvider(workerKeyHash, provider, jobProvider);
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

    /// @dev keccak256(abi.encode(chainid, escrow, jobId, provider, client, token, price, expiry))
    /// mod r (trace/hashing.ts computeJobTag): a trace binds to the job and its terms, so a job
    /// id taken by someone else (a reorg, a worker started before its job was mined) is not it.
    function _jobTag(uint256 jobId, JobRecord storage job) private view returns (uint256) {
        bytes memory terms = abi.encode(
            block.chainid,
            address(this),
            jobId,
            job.provider,
            job.client,
            job.token,
            uint256(job.price),
            uint256(job.expiry)
        );
        return uint256(keccak256(terms)) % FIELD_MODULUS;
    }

    /// @dev When the client may close: expiry + grace, extended by every second the escrow was
    /// paused since the job was created (the provider could not submit then).
    function _closableAt(JobRecord storage job) private view returns (uint256) {
        return uint256(job.expiry) + closeGracePeriod + (pausedSeconds() - job.pausedAtCreation);
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
        if (weightBps > MAX_WEIGHT_BPS) revert ComputeEscrow__WeightTooHigh(weightBps, MAX_WEIGHT_BPS);
        emit DeviceWeightSet(deviceClass, _weights[deviceClass], weightBps);
        _weights[deviceClass] = weightBps;
    }

    /// @inheritdoc IComputeEscrow
    function pause() external onlyRole(PAUSER_ROLE) {
        _pause();
        _pausedSince = uint64(block.timestamp);
        emit PauseTimeRecorded(true, _pausedTotal);
    }

    /// @inheritdoc IComputeEscrow
    function unpause() external onlyRole(PAUSER_ROLE) {
        _unpause();
        _pausedTotal += uint64(block.timestamp) - _pausedSince;
        _pausedSince = 0;
        emit PauseTimeRecorded(false, _pausedTotal);
    }

    /// @inheritdoc IComputeEscrow
    function pausedSeconds() public view returns (uint64) {
        return paused() ? _pausedTotal + (uint64(block.timestamp) - _pausedSince) : _pausedTotal;
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IComputeEscrow
    function jobOf(uint256 jobId) external view returns (Job memory) {
        JobRecord storage job = _jobs[jobId];
        if (job.provider == address(0)) {
            return Job(address(0), 0, false, address(0), 0, address(0), 0, 0, 0, 0, 0, 0, 0);
        }
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
                pausedAtCreation: job.pausedAtCreation,
                jobTag: _jobTag(jobId, job)
            });
    }

    /// @inheritdoc IComputeEscrow
    function laneHead(uint256 jobId, uint256 workerKeyHash) external view returns (uint256) {
        return _laneHeads[jobId][workerKeyHash];
    }

    /// @inheritdoc IComputeEscrow
    function laneOf(uint256 jobId, uint256 workerKeyHash) external view returns (Lane memory) {
        LaneSpan storage span = _laneSpans[jobId][workerKeyHash];
        return Lane(_laneHeads[jobId][workerKeyHash], span.start, span.end, span.nextStart, span.weightBps);
    }

    /// @inheritdoc IComputeEscrow
    function workerLanes(uint256 workerKeyHash) external view returns (uint64 firstStart, uint256 latestJob) {
        WorkerLanes storage worker = _workerLanes[workerKeyHash];
        latestJob = worker.latestJob;
        firstStart = latestJob == 0 ? OPEN_END : worker.firstStart;
    }

    /// @inheritdoc IComputeEscrow
    function closableAt(uint256 jobId) external view returns (uint256) {
        JobRecord storage job = _jobs[jobId];
        return job.provider == address(0) ? 0 : _closableAt(job);
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
