// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IComputeEscrow} from "./interfaces/IComputeEscrow.sol";
import {IUsageVerifier} from "./interfaces/IUsageVerifier.sol";
import {IWorkerRegistry} from "./interfaces/IWorkerRegistry.sol";

/// @title ComputeEscrow
/// @notice Escrow of compute jobs paid per proven trace segment. See IComputeEscrow and
/// docs/contracts.md for the rules; DESIGN.md for the protocol. Proofs and the ledger of worker
/// time are the UsageVerifier's; this contract keeps jobs, budgets, the rate card and payouts.
contract ComputeEscrow is IComputeEscrow, AccessControl, Pausable, ReentrancyGuard {
    using SafeERC20 for IERC20;

    /// @notice Role that may pause and unpause the escrow.
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");

    /// @dev usage of one fully busy GPU-hour (1e7 bps·ms per second) times the H100 weight 1e4.
    uint256 internal constant PAYOUT_DIVISOR = 1e7 * 1e4 * 3600;
    uint256 private constant TIME_MASK = type(uint64).max;

    /// @inheritdoc IComputeEscrow
    uint32 public constant MAX_WEIGHT_BPS = 100_000;

    /// @inheritdoc IComputeEscrow
    IWorkerRegistry public immutable registry;
    /// @inheritdoc IComputeEscrow
    IUsageVerifier public immutable usageVerifier;
    /// @inheritdoc IComputeEscrow
    uint64 public immutable maxClockSkewMs;
    /// @inheritdoc IComputeEscrow
    uint64 public immutable closeGracePeriod;
    /// @inheritdoc IComputeEscrow
    uint64 public immutable challengeWindow;

    /// @inheritdoc IComputeEscrow
    uint256 public jobCount;

    /// @dev A job as stored: the slots every submission reads come first. Its tag is not
    /// stored: the UsageVerifier computes it from the terms (a keccak costs less than a cold
    /// storage read).
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

    mapping(uint256 jobId => JobRecord) private _jobs;
    mapping(bytes32 deviceClass => uint32 weightBps) private _weights;
    mapping(address provider => mapping(address token => uint256)) private _balances;

    /// @dev Payouts of a lane accepted in epoch `epoch` (block time / challengeWindow), pending
    /// until (epoch + 2) * challengeWindow. Two per lane suffice (see settlePending). `heads`
    /// commits to the segments whose pay it holds, in order: keccak256(abi.encode(previous,
    /// prevHead, newHead)) from 0, so a challenger can show a segment is still in its window
    /// (PlausibilityChallenge) without a storage slot per segment.
    struct Bucket {
        uint128 amount;
        uint64 epoch;
        bytes32 heads;
    }

    mapping(uint256 jobId => mapping(uint256 workerKeyHash => Bucket[2])) private _pending;
    mapping(address provider => mapping(address token => uint256)) private _pendingTotals;
    /// @dev Paused time before the current pause, and when the current pause began (0: not paused).
    uint64 private _pausedTotal;
    uint64 private _pausedSince;

    /// @param admin The network admin: sets the rate card, grants roles; also the first pauser.
    /// @param registry_ The WorkerRegistry.
    /// @param usageVerifier_ The UsageVerifier: verifies proofs and keeps the worker-time ledger.
    /// @param maxClockSkewMs_ How far (ms) a worker's clock may be off the chain's in window checks.
    /// @param closeGracePeriod_ Seconds after expiry during which the provider may still submit
    /// segments and the client may not yet close the job.
    constructor(
        address admin,
        IWorkerRegistry registry_,
        IUsageVerifier usageVerifier_,
        uint64 maxClockSkewMs_,
        uint64 closeGracePeriod_
    ) {
        if (address(registry_).code.length == 0) revert ComputeEscrow__NotAContract(address(registry_));
        if (address(usageVerifier_).code.length == 0) revert ComputeEscrow__NotAContract(address(usageVerifier_));
        registry = registry_;
        usageVerifier = usageVerifier_;
        maxClockSkewMs = maxClockSkewMs_;
        closeGracePeriod = closeGracePeriod_;
        // The registry holds the network's stake terms; its unbond delay was checked against
        // this window there, so one value serves both.
        challengeWindow = registry_.challengeWindow();
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(PAUSER_ROLE, admin);
        emit EscrowConfigured(
            admin,
            address(registry_),
            address(usageVerifier_),
            maxClockSkewMs_,
            closeGracePeriod_,
            MAX_WEIGHT_BPS
        );
        emit ChallengeWindowConfigured(challengeWindow);
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
    function submitSegment(uint256 jobId, IUsageVerifier.Submission calldata s) external whenNotPaused {
        JobRecord storage job = _openJob(jobId);
        (bytes32 deviceClass, uint64 approvedUntil) = _billableClass(s.workerKeyHash, job.provider);
        _checkWindow(job, s.meter);
        _checkApproval(s.workerKeyHash, s.meter, approvedUntil);
        IUsageVerifier.Usage memory usage = usageVerifier.recordSegment(
            _terms(jobId, job),
            s,
            _weights[deviceClass]
        );
        _pay(jobId, job, s, usage, deviceClass);
    }

    /// @inheritdoc IComputeEscrow
    function submitSegments(BatchEntry[] calldata entries) external whenNotPaused {
        uint256 n = entries.length;
        if (n == 0) revert ComputeEscrow__EmptyBatch();
        // The distinct jobs of the batch, in order of first appearance, and each entry's index.
        uint256[] memory jobIds = new uint256[](n);
        IUsageVerifier.JobTerms[] memory terms = new IUsageVerifier.JobTerms[](n);
        IUsageVerifier.Entry[] memory batch = new IUsageVerifier.Entry[](n);
        bytes32[] memory classes = new bytes32[](n);
        uint256 jobCountInBatch;
        uint256 lastWorker;
        address lastProvider;
        bytes32 lastClass;
        uint64 lastApprovedUntil;
        for (uint256 i = 0; i < n; ++i) {
            BatchEntry calldata e = entries[i];
            uint256 j = 0;
            while (j < jobCountInBatch && jobIds[j] != e.jobId) ++j;
            JobRecord storage job = _openJob(e.jobId);
            if (j == jobCountInBatch) {
                jobIds[j] = e.jobId;
                terms[j] = _terms(e.jobId, job);
                ++jobCountInBatch;
            }
            // A backlog is mostly one worker's segments: ask the registry once per run of them.
            uint256 worker = e.submission.workerKeyHash;
            address provider = job.provider;
            if (i == 0 || worker != lastWorker || provider != lastProvider) {
                (lastWorker, lastProvider) = (worker, provider);
                (lastClass, lastApprovedUntil) = _billableClass(worker, provider);
            }
            _checkWindow(job, e.submission.meter);
            _checkApproval(worker, e.submission.meter, lastApprovedUntil);
            classes[i] = lastClass;
            batch[i] = IUsageVerifier.Entry(uint32(j), _weights[lastClass], e.submission);
        }
        assembly ("memory-safe") {
            mstore(terms, jobCountInBatch)
        }
        IUsageVerifier.Usage[] memory usages = usageVerifier.recordSegments(terms, batch);
        for (uint256 i = 0; i < n; ++i) {
            BatchEntry calldata e = entries[i];
            if (usages[i].skipped) {
                emit SegmentSkipped(e.jobId, e.submission.workerKeyHash, e.submission.newHead);
            } else {
                _pay(e.jobId, _jobs[e.jobId], e.submission, usages[i], classes[i]);
            }
        }
    }

    /// @dev Credits a proven segment at its lane's weight and announces it. A lane that started
    /// with no weight (an unrated class) reverts the whole call.
    function _pay(
        uint256 jobId,
        JobRecord storage job,
        IUsageVerifier.Submission calldata s,
        IUsageVerifier.Usage memory usage,
        bytes32 deviceClass
    ) private {
        uint32 weight = usage.laneData;
        if (weight == 0) revert ComputeEscrow__DeviceClassNotRated(deviceClass);
        uint256 payout = _credit(jobId, job, s, usage.usage * weight);
        emit SegmentAccepted(
            jobId,
            s.workerKeyHash,
            s.newHead,
            s.circuitId,
            s.prevHead,
            usage.tFirst,
            usage.tLast,
            usage.usage,
            weight,
            payout,
            msg.sender
        );
    }

    /// @dev Credits usage x weight at the job's price to the provider, capped by the remaining
    /// budget, and returns the amount. Rounds down: never in the payee's favour. With a
    /// challenge window the amount goes to the lane's pending bucket instead of the balance.
    function _credit(
        uint256 jobId,
        JobRecord storage job,
        IUsageVerifier.Submission calldata s,
        uint256 weightedUsage
    ) private returns (uint256 payout) {
        // usage < 2^126 (meter < r), weight < 2^32, price < 2^96: the product fits in 256 bits.
        payout = (weightedUsage * job.price) / PAYOUT_DIVISOR;
        uint128 remaining = job.remaining;
        if (payout > remaining) payout = remaining;
        if (payout != 0) {
            job.remaining = remaining - uint128(payout);
            job.paid += uint128(payout);
            if (challengeWindow == 0) _balances[job.provider][job.token] += payout;
            else _addPending(jobId, job, s, uint128(payout));
        }
    }

    /// @dev Adds a segment's payout to the lane's bucket of the current epoch. A bucket of
    /// another epoch is released on the way (the worker just passed the billing checks, so it
    /// was not revoked for cause): at most one of the two is still locked, so one is always free.
    function _addPending(
        uint256 jobId,
        JobRecord storage job,
        IUsageVerifier.Submission calldata s,
        uint128 amount
    ) private {
        uint64 epoch = uint64(block.timestamp / challengeWindow);
        uint256 workerKeyHash = s.workerKeyHash;
        Bucket[2] storage buckets = _pending[jobId][workerKeyHash];
        _pendingTotals[job.provider][job.token] += amount;
        for (uint256 i = 0; i < 2; ++i) {
            Bucket storage b = buckets[i];
            if (b.amount != 0 && b.epoch == epoch) {
                b.amount += amount;
                b.heads = _foldHeads(b.heads, s.prevHead, s.newHead);
                return;
            }
        }
        for (uint256 i = 0; i < 2; ++i) {
            Bucket storage b = buckets[i];
            if (b.amount != 0 && _releaseAt(b.epoch) <= block.timestamp) {
                _release(jobId, job, workerKeyHash, b.amount);
                b.amount = 0;
            }
            if (b.amount == 0) {
                (b.amount, b.epoch) = (amount, epoch);
                b.heads = _foldHeads(bytes32(0), s.prevHead, s.newHead);
                return;
            }
        }
        // Unreachable: two unreleased buckets of distinct epochs before the current one would
        // need an epoch e - 2 that is unreleased, and (e - 2 + 2) * W <= now.
        assert(false);
    }

    /// @dev One step of a bucket's commitment to its segments (see Bucket).
    function _foldHeads(bytes32 heads, uint256 prevHead, uint256 newHead) private pure returns (bytes32) {
        return keccak256(abi.encode(heads, prevHead, newHead));
    }

    /// @dev When a bucket of `epoch` leaves the challenge window.
    function _releaseAt(uint64 epoch) private view returns (uint256) {
        return (uint256(epoch) + 2) * challengeWindow;
    }

    /// @dev Moves a released pending amount to the provider's balance.
    function _release(uint256 jobId, JobRecord storage job, uint256 workerKeyHash, uint256 amount) private {
        _pendingTotals[job.provider][job.token] -= amount;
        _balances[job.provider][job.token] += amount;
        emit PendingReleased(jobId, workerKeyHash, job.provider, amount);
    }

    /// @dev The worker must be registered, active, approved when required, bonded at least the
    /// minimum and the job provider's. Returns its device class and approval expiry.
    function _billableClass(
        uint256 workerKeyHash,
        address jobProvider
    ) private view returns (bytes32 deviceClass, uint64 approvedUntil) {
        IWorkerRegistry.Billing memory b = registry.billingOf(workerKeyHash);
        if (b.provider == address(0)) revert ComputeEscrow__WorkerNotRegistered(workerKeyHash);
        if (!b.active) revert ComputeEscrow__WorkerInactive(workerKeyHash);
        if (!b.approved) revert ComputeEscrow__WorkerNotApproved(workerKeyHash);
        if (b.bond < b.minimumBond) revert ComputeEscrow__BondBelowMinimum(workerKeyHash, b.bond, b.minimumBond);
        if (b.provider != jobProvider) {
            revert ComputeEscrow__WorkerNotJobProvider(workerKeyHash, b.provider, jobProvider);
        }
        return (b.deviceClass, b.approvedUntil);
    }

    /// @dev The window must end by the approval's expiry: a lapsed approval bills no new time.
    /// No clock skew allowance here: the attestor's expiry is a hard line.
    function _checkApproval(uint256 workerKeyHash, uint256 meter, uint64 approvedUntil) private pure {
        if (approvedUntil == type(uint64).max) return;
        uint64 tLast = uint64((meter >> 64) & TIME_MASK);
        uint256 expiresAtMs = uint256(approvedUntil) * 1000;
        if (tLast > expiresAtMs) revert ComputeEscrow__ApprovalLapsed(workerKeyHash, tLast, expiresAtMs);
    }

    /// @dev The window [tFirst, tLast] (unix ms) of a meter must lie within the job's life and
    /// not in the future, each bound widened by the clock skew allowance. (Its order, tFirst <
    /// tLast, is the UsageVerifier's to check.)
    function _checkWindow(JobRecord storage job, uint256 meter) private view {
        uint64 tFirst = uint64(meter & TIME_MASK);
        uint64 tLast = uint64((meter >> 64) & TIME_MASK);
        uint256 createdAtMs = uint256(job.createdAt) * 1000;
        if (uint256(tFirst) + maxClockSkewMs < createdAtMs) revert ComputeEscrow__WindowBeforeJob(tFirst, createdAtMs);
        uint256 expiryMs = uint256(job.expiry) * 1000;
        if (tLast > expiryMs + maxClockSkewMs) revert ComputeEscrow__WindowAfterExpiry(tLast, expiryMs);
        uint256 nowMs = block.timestamp * 1000;
        if (tLast > nowMs + maxClockSkewMs) revert ComputeEscrow__WindowInFuture(tLast, nowMs);
    }

    /// @dev The job as the UsageVerifier's tag commits to it: jobTag = keccak256(abi.encode(
    /// chainid, escrow, jobId, provider, client, token, price, expiry)) mod r (trace/hashing.ts
    /// computeJobTag), so a job id taken by someone else (a reorg, a worker started before its
    /// job was mined) is not this job.
    function _terms(uint256 jobId, JobRecord storage job) private view returns (IUsageVerifier.JobTerms memory) {
        return IUsageVerifier.JobTerms(jobId, job.provider, job.client, job.token, job.price, job.expiry);
    }

    /// @dev The job's tag, as the UsageVerifier computes it for this escrow.
    function _jobTag(uint256 jobId, JobRecord storage job) private view returns (uint256) {
        return usageVerifier.jobTagOf(address(this), _terms(jobId, job));
    }

    /// @dev When the client may close: expiry + grace, extended by every second the escrow was
    /// paused since the job was created (the provider could not submit then).
    function _closableAt(JobRecord storage job) private view returns (uint256) {
        return uint256(job.expiry) + closeGracePeriod + (pausedSeconds() - job.pausedAtCreation);
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

    /// @inheritdoc IComputeEscrow
    function settlePending(
        LaneRef[] calldata lanes
    ) external nonReentrant returns (uint256 released, uint256 returned) {
        if (challengeWindow == 0) return (0, 0);
        for (uint256 i = 0; i < lanes.length; ++i) {
            (uint256 r, uint256 t) = _settleLane(lanes[i].jobId, lanes[i].workerKeyHash);
            released += r;
            returned += t;
        }
    }

    /// @dev Settles one lane's buckets: released ones to the provider, those a revocation for
    /// cause caught inside their window back to the job. Interactions (a refund to the client
    /// of a closed job) come last.
    function _settleLane(uint256 jobId, uint256 workerKeyHash) private returns (uint256 released, uint256 returned) {
        JobRecord storage job = _jobs[jobId];
        if (job.provider == address(0)) revert ComputeEscrow__UnknownJob(jobId);
        Bucket[2] storage buckets = _pending[jobId][workerKeyHash];
        if (buckets[0].amount == 0 && buckets[1].amount == 0) return (0, 0);
        uint64 slashed = registry.slashedAt(workerKeyHash);
        for (uint256 i = 0; i < 2; ++i) {
            Bucket storage b = buckets[i];
            uint256 amount = b.amount;
            if (amount == 0) continue;
            uint256 releaseAt = _releaseAt(b.epoch);
            if (slashed != 0 && releaseAt > slashed) {
                returned += amount;
            } else if (releaseAt <= block.timestamp) {
                released += amount;
                _release(jobId, job, workerKeyHash, amount);
            } else {
                continue;
            }
            b.amount = 0;
        }
        if (returned != 0) {
            _pendingTotals[job.provider][job.token] -= returned;
            job.paid -= uint128(returned);
            bool closed = job.closed;
            // A closed job keeps remaining at 0: its client gets the money directly.
            if (closed) job.refunded += uint128(returned);
            else job.remaining += uint128(returned);
            emit PendingReturned(jobId, workerKeyHash, returned, closed);
            if (closed) IERC20(job.token).safeTransfer(job.client, returned);
        }
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
        return laneOf(jobId, workerKeyHash).head;
    }

    /// @inheritdoc IComputeEscrow
    function laneOf(uint256 jobId, uint256 workerKeyHash) public view returns (IUsageVerifier.Lane memory) {
        JobRecord storage job = _jobs[jobId];
        if (job.provider == address(0)) return IUsageVerifier.Lane(0, 0, 0, 0, 0);
        return usageVerifier.laneOf(_jobTag(jobId, job), workerKeyHash);
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

    /// @inheritdoc IComputeEscrow
    function pendingBalanceOf(address provider, address token) external view returns (uint256) {
        return _pendingTotals[provider][token];
    }

    /// @inheritdoc IComputeEscrow
    function pendingOf(
        uint256 jobId,
        uint256 workerKeyHash
    ) external view returns (uint256 locked, uint256 releasable, uint256 returnable, uint64 nextReleaseAt) {
        Bucket[2] storage buckets = _pending[jobId][workerKeyHash];
        uint64 slashed;
        if (buckets[0].amount != 0 || buckets[1].amount != 0) slashed = registry.slashedAt(workerKeyHash);
        for (uint256 i = 0; i < 2; ++i) {
            uint256 amount = buckets[i].amount;
            if (amount == 0) continue;
            uint256 releaseAt = _releaseAt(buckets[i].epoch);
            if (slashed != 0 && releaseAt > slashed) {
                returnable += amount;
            } else if (releaseAt <= block.timestamp) {
                releasable += amount;
            } else {
                locked += amount;
                if (nextReleaseAt == 0 || releaseAt < nextReleaseAt) nextReleaseAt = uint64(releaseAt);
            }
        }
    }

    /// @inheritdoc IComputeEscrow
    function pendingBucketsOf(
        uint256 jobId,
        uint256 workerKeyHash
    ) external view returns (PendingBucket[2] memory buckets) {
        Bucket[2] storage stored = _pending[jobId][workerKeyHash];
        for (uint256 i = 0; i < 2; ++i) {
            Bucket storage b = stored[i];
            if (b.amount == 0) continue;
            buckets[i] = PendingBucket(b.amount, uint64(_releaseAt(b.epoch)), b.heads);
        }
    }

    /// @dev The job, which must exist and be open.
    function _openJob(uint256 jobId) private view returns (JobRecord storage job) {
        job = _jobs[jobId];
        if (job.provider == address(0)) revert ComputeEscrow__UnknownJob(jobId);
        if (job.closed) revert ComputeEscrow__JobClosed(jobId);
    }
}
