// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IUsageVerifier} from "./IUsageVerifier.sol";
import {IWorkerRegistry} from "./IWorkerRegistry.sol";

/// @title IComputeEscrow
/// @notice Holds a client's ERC-20 budget for a compute job and pays the job's provider for
/// proven work: each accepted segment proof credits usage x device weight x price to the
/// provider, who withdraws it (pull payment). The client closes the job and gets the rest back.
/// @dev Units: times in unix milliseconds inside a segment, unix seconds for block times;
/// usage in bps·ms (one fully busy GPU-second = 1e7); device weights in H100-equivalent basis
/// points (H100 = 10000); price in token units per H100-equivalent hour. Payout of a segment =
/// usage * weight * price / (1e7 * 1e4 * 3600), rounded down, capped by the remaining budget.
/// The escrow is one client of the UsageVerifier: that contract verifies the proofs and keeps the
/// ledger of worker time; the escrow keeps jobs, budgets, the rate card and payouts.
interface IComputeEscrow {
    /// @notice A compute job and its budget. Amounts are in units of `token`.
    /// @param client Who funded the job and gets the unspent budget back.
    /// @param createdAt Block time of creation (unix seconds): no billed window starts before it.
    /// @param closed Whether the job is closed (no more segments, budget refunded).
    /// @param provider Who is paid for the job's segments; its workers do the work.
    /// @param expiry End of the job's life (unix seconds): no billed window ends after it.
    /// @param token The ERC-20 token of budget and payouts.
    /// @param price Token units per H100-equivalent hour.
    /// @param remaining Budget not yet paid out or refunded.
    /// @param paid Sum of segment payouts so far.
    /// @param deposited Sum of all deposits (creation and top-ups).
    /// @param refunded Amount returned to the client on close.
    /// @param pausedAtCreation The escrow's pausedSeconds() when the job was created: pauses
    /// after it extend the client's close time (see closableAt).
    /// @param jobTag keccak256(abi.encode(chainid, escrow, jobId, provider, client, token, price,
    /// expiry)) mod r: binds traces to this job and its terms.
    struct Job {
        address client;
        uint64 createdAt;
        bool closed;
        address provider;
        uint64 expiry;
        address token;
        uint96 price;
        uint128 remaining;
        uint128 paid;
        uint128 deposited;
        uint128 refunded;
        uint64 pausedAtCreation;
        uint256 jobTag;
    }

    /// @notice A lane (a worker key in a job) whose pending payouts settlePending settles.
    struct LaneRef {
        uint256 jobId;
        uint256 workerKeyHash;
    }

    /// @notice A lane's pending bucket (all zero when empty): the pay of the segments accepted in
    /// one epoch of the challenge window.
    /// @param amount Pay still pending in it.
    /// @param releaseAt When it leaves the challenge window (unix seconds).
    /// @param heads The segments it holds, in order of acceptance: h = keccak256(abi.encode(h,
    /// prevHead, newHead)) from h = 0 for each SegmentAccepted whose payout it took.
    struct PendingBucket {
        uint128 amount;
        uint64 releaseAt;
        bytes32 heads;
    }

    /// @notice One entry of a batch: a submission for the escrow's job `jobId`.
    struct BatchEntry {
        uint256 jobId;
        IUsageVerifier.Submission submission;
    }

    /// @notice A contract the escrow depends on (registry, verifier) has no code.
    error ComputeEscrow__NotAContract(address account);
    /// @notice The provider address is zero.
    error ComputeEscrow__InvalidProvider();
    /// @notice The token address is zero or has no code.
    error ComputeEscrow__InvalidToken(address token);
    /// @notice An amount is zero or does not fit its storage type (budget: uint128).
    error ComputeEscrow__InvalidAmount(uint256 amount);
    /// @notice The price is zero or does not fit uint96.
    error ComputeEscrow__InvalidPrice(uint256 price);
    /// @notice The expiry is not after the current block time, or is past the year 36812 (uint40 seconds).
    error ComputeEscrow__InvalidExpiry(uint256 expiry, uint256 nowSeconds);
    /// @notice The escrow received a different amount than was transferred (fee-on-transfer token).
    error ComputeEscrow__UnsupportedToken(address token, uint256 expected, uint256 received);
    /// @notice No job has this id.
    error ComputeEscrow__UnknownJob(uint256 jobId);
    /// @notice The job is closed.
    error ComputeEscrow__JobClosed(uint256 jobId);
    /// @notice Only the job's client may do this.
    error ComputeEscrow__NotJobClient(uint256 jobId, address caller);
    /// @notice The caller may not close the job yet: the client may close after `closableAt`
    /// (expiry + grace period) or once the budget is spent; the provider may close at any time.
    error ComputeEscrow__CloseNotAllowed(uint256 jobId, address caller, uint256 closableAt);
    /// @notice The worker key is not registered.
    error ComputeEscrow__WorkerNotRegistered(uint256 workerKeyHash);
    /// @notice The worker's provider switched it off.
    error ComputeEscrow__WorkerInactive(uint256 workerKeyHash);
    /// @notice Attestation is required and no attestor approved the worker key.
    error ComputeEscrow__WorkerNotApproved(uint256 workerKeyHash);
    /// @notice The segment's window ends after the worker's approval expired: work after an
    /// approval lapses is not billed (work before it may still be submitted).
    error ComputeEscrow__ApprovalLapsed(uint256 workerKeyHash, uint64 tLast, uint256 expiresAtMs);
    /// @notice The worker's bond is below the network's minimum, so it cannot earn.
    error ComputeEscrow__BondBelowMinimum(uint256 workerKeyHash, uint256 bond, uint256 minimumBond);
    /// @notice The worker belongs to another provider than the job's.
    error ComputeEscrow__WorkerNotJobProvider(uint256 workerKeyHash, address workerProvider, address jobProvider);
    /// @notice The rate card has no weight for the worker's device class, so it cannot earn.
    error ComputeEscrow__DeviceClassNotRated(bytes32 deviceClass);
    /// @notice A device weight above MAX_WEIGHT_BPS.
    error ComputeEscrow__WeightTooHigh(uint32 weightBps, uint32 maxWeightBps);
    /// @notice The window starts before the job was created (beyond the clock skew allowance).
    error ComputeEscrow__WindowBeforeJob(uint64 tFirst, uint256 createdAtMs);
    /// @notice The window ends after the job expired (beyond the clock skew allowance).
    error ComputeEscrow__WindowAfterExpiry(uint64 tLast, uint256 expiryMs);
    /// @notice The window ends in the future (beyond the clock skew allowance).
    error ComputeEscrow__WindowInFuture(uint64 tLast, uint256 nowMs);
    /// @notice A batch had no submissions.
    error ComputeEscrow__EmptyBatch();
    /// @notice The caller has no balance of this token to withdraw.
    error ComputeEscrow__NothingToWithdraw(address provider, address token);

    /// @notice A client created and funded a job.
    event JobCreated(
        uint256 indexed jobId,
        address indexed client,
        address indexed provider,
        address token,
        uint256 budget,
        uint256 price,
        uint64 createdAt,
        uint64 expiry,
        uint256 jobTag
    );
    /// @notice The client added `amount` to the job's budget.
    event JobFunded(uint256 indexed jobId, uint256 amount, uint256 remaining);
    /// @notice The escrow was deployed with this configuration.
    event EscrowConfigured(
        address indexed admin,
        address registry,
        address usageVerifier,
        uint64 maxClockSkewMs,
        uint64 closeGracePeriod,
        uint32 maxWeightBps
    );
    /// @notice A segment proof was accepted and `payout` credited to the job's provider.
    /// @dev Everything an auditor needs to match the segment with a trace seal and re-derive
    /// its payout (usage x weightBps x price, capped by the budget).
    event SegmentAccepted(
        uint256 indexed jobId,
        uint256 indexed workerKeyHash,
        uint256 indexed newHead,
        uint32 circuitId,
        uint256 prevHead,
        uint64 tFirst,
        uint64 tLast,
        uint256 usage,
        uint32 weightBps,
        uint256 payout,
        address submitter
    );
    /// @notice submitSegments skipped a segment its lane has already accepted (for example one a
    /// stranger submitted first); nothing changed for it.
    event SegmentSkipped(uint256 indexed jobId, uint256 indexed workerKeyHash, uint256 indexed newHead);
    /// @notice The escrow was paused or unpaused; `pausedSeconds` is the total paused time so far.
    event PauseTimeRecorded(bool paused, uint64 pausedSeconds);
    /// @notice The escrow was deployed with this challenge window (the registry's): payouts stay
    /// pending that many seconds at least (0: credited at once).
    event ChallengeWindowConfigured(uint64 challengeWindow);
    /// @notice A lane's pending payout left the challenge window and was credited to the provider.
    event PendingReleased(
        uint256 indexed jobId,
        uint256 indexed workerKeyHash,
        address indexed provider,
        uint256 amount
    );
    /// @notice A lane's pending payout went back to its job because the key was revoked for
    /// cause within its window (to the client directly when the job is closed).
    event PendingReturned(uint256 indexed jobId, uint256 indexed workerKeyHash, uint256 amount, bool toClient);
    /// @notice A provider withdrew its balance of a token.
    event Withdrawn(address indexed provider, address indexed token, uint256 amount);
    /// @notice The job was closed and `refund` returned to its client.
    event JobClosed(uint256 indexed jobId, address indexed closedBy, uint256 refund);
    /// @notice The network admin set the weight of a device class (0 removes it from the rate card).
    event DeviceWeightSet(bytes32 indexed deviceClass, uint32 previous, uint32 weightBps);

    /// @notice Creates a job and pulls `budget` of `token` from the caller (approve first).
    /// @param provider Who is paid for the job's segments.
    /// @param token ERC-20 of budget and payouts (plain tokens only: no fee on transfer).
    /// @param budget Amount to escrow, at most 2^128 - 1.
    /// @param price Token units per H100-equivalent hour, at most 2^96 - 1.
    /// @param expiry End of the job's life, unix seconds, after the current block.
    /// @return jobId The new job's id (ids count up from 1).
    function createJob(
        address provider,
        address token,
        uint256 budget,
        uint256 price,
        uint64 expiry
    ) external returns (uint256 jobId);

    /// @notice Adds `amount` to an open job's budget. The job's client only.
    function fundJob(uint256 jobId, uint256 amount) external;

    /// @notice Verifies one segment proof of a job and credits its payout to the job's provider.
    /// @dev Checks, in order: not paused; job open; worker registered, active, approved (when
    /// required), bonded at least the network's minimum and owned by the job's provider; the
    /// window lies within the job's life, not in the future, and ends by the worker's approval
    /// expiry (when approval is required); then the UsageVerifier checks that prevHead is the lane head and that the
    /// window is the lane's to bill (UsageVerifier__ errors), and verifies the proof; a lane's
    /// first segment needs a rated device class, whose weight the lane keeps. Anyone may
    /// submit: the payout always goes to the job's provider (pending for the challenge window
    /// when the network has one, see settlePending). Disjoint work of one worker in
    /// several jobs is payable in any order.
    function submitSegment(uint256 jobId, IUsageVerifier.Submission calldata submission) external;

    /// @notice submitSegment for many segments, of any of the escrow's jobs, of one circuit id,
    /// in order, with one multi-pairing for all their proofs: one transaction settles a
    /// provider's backlog. A segment its lane has accepted already (it is the lane's last, or
    /// its window ends within the lane's billed span while its prevHead is not the head) is
    /// skipped with SegmentSkipped; any other refusal reverts the whole batch.
    function submitSegments(BatchEntry[] calldata entries) external;

    /// @notice Sends the caller its whole balance of `token`: payouts credited at once (no
    /// challenge window) or released from pending (settlePending). Pending payouts stay.
    function withdraw(address token) external returns (uint256 amount);

    /// @notice Settles the pending payouts of some lanes: what has left the challenge window
    /// goes to the provider's balance; what was still in it when the key was revoked for cause
    /// goes back to the job (or, the job closed, to its client). Anyone may call it: it only
    /// moves money to where the rules already put it. Lanes with nothing to settle are skipped.
    /// @dev With a challenge window W, a payout accepted at time t is kept in the lane's bucket
    /// of epoch e = t / W and released at (e + 2) * W: after W to 2W. A lane has two buckets,
    /// enough because only the current and the previous epoch can be unreleased; a segment
    /// adds to one of them in O(1) and moves a released one to the balance on the way.
    /// @return released Total credited to providers' balances.
    /// @return returned Total given back to jobs or clients.
    function settlePending(LaneRef[] calldata lanes) external returns (uint256 released, uint256 returned);

    /// @return The seconds a payout stays pending at least (the registry's challenge window; 0: off).
    function challengeWindow() external view returns (uint64);

    /// @notice A lane's pending payouts as settlePending would treat them now.
    /// @return locked Still in the challenge window.
    /// @return releasable Out of the window, not yet moved to the provider's balance.
    /// @return returnable Taken back by a revocation for cause, not yet moved to the job.
    /// @return nextReleaseAt When the next locked amount is released (0: none locked).
    function pendingOf(
        uint256 jobId,
        uint256 workerKeyHash
    ) external view returns (uint256 locked, uint256 releasable, uint256 returnable, uint64 nextReleaseAt);

    /// @notice A lane's two pending buckets, with the commitment to the segments each holds;
    /// PlausibilityChallenge proves with it that a segment is still in its window.
    function pendingBucketsOf(
        uint256 jobId,
        uint256 workerKeyHash
    ) external view returns (PendingBucket[2] memory buckets);

    /// @notice Closes a job and refunds the remaining budget to its client. The provider may
    /// close at any time; the client from closableAt(jobId) (expiry + grace period + time the
    /// escrow spent paused since the job was created), or once the budget is spent.
    function closeJob(uint256 jobId) external returns (uint256 refund);

    /// @notice Sets the weight of a device class in the rate card. Network admin only.
    /// @param deviceClass ASCII class name in bytes32, e.g. "H100".
    /// @param weightBps H100-equivalent basis points (H100 = 10000), at most MAX_WEIGHT_BPS; 0
    /// stops the class starting new lanes. Lanes already started keep the weight they began with.
    function setDeviceWeight(bytes32 deviceClass, uint32 weightBps) external;

    /// @notice Pauses segment submission and job creation. Pauser role only.
    function pause() external;

    /// @notice Resumes after a pause. Pauser role only.
    function unpause() external;

    /// @return The job `jobId` (all zero when unknown).
    function jobOf(uint256 jobId) external view returns (Job memory);

    /// @return Head of the lane of a worker in a job: the newHead of its last accepted segment, 0 before the first.
    function laneHead(uint256 jobId, uint256 workerKeyHash) external view returns (uint256);

    /// @return The lane of a worker in a job in the UsageVerifier's ledger (all zero before its
    /// first segment); its laneData is the device weight the lane was fixed at.
    function laneOf(uint256 jobId, uint256 workerKeyHash) external view returns (IUsageVerifier.Lane memory);

    /// @return The UsageVerifier that verifies the escrow's proofs and keeps the worker-time ledger.
    function usageVerifier() external view returns (IUsageVerifier);

    /// @return The WorkerRegistry of the worker keys the escrow pays (and of their stake terms).
    function registry() external view returns (IWorkerRegistry);

    /// @return Unix seconds from which the client may close the job: expiry + grace period +
    /// the time the escrow has spent paused since the job was created (0 for an unknown job).
    function closableAt(uint256 jobId) external view returns (uint256);

    /// @return Total seconds the escrow has spent paused, including a pause in progress.
    function pausedSeconds() external view returns (uint64);

    /// @return The largest device weight the rate card takes (10 H100-equivalents).
    function MAX_WEIGHT_BPS() external view returns (uint32);

    /// @return The rate card weight of a device class, in H100-equivalent basis points.
    function deviceWeight(bytes32 deviceClass) external view returns (uint32);

    /// @return The withdrawable balance of a provider in a token.
    function balanceOf(address provider, address token) external view returns (uint256);

    /// @return A provider's pending payouts in a token, in all lanes, not yet settled (locked in
    /// the window, or released and waiting for settlePending).
    function pendingBalanceOf(address provider, address token) external view returns (uint256);

    /// @return Number of jobs created (the id of the last one).
    function jobCount() external view returns (uint256);

    /// @return The clock skew allowance, in ms, applied to window checks.
    function maxClockSkewMs() external view returns (uint64);

    /// @return Seconds after expiry during which only the provider may close the job.
    function closeGracePeriod() external view returns (uint64);
}
