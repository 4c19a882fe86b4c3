// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title IComputeEscrow
/// @notice Holds a client's ERC-20 budget for a compute job and pays the job's provider for
/// proven work: each accepted segment proof credits usage x device weight x price to the
/// provider, who withdraws it (pull payment). The client closes the job and gets the rest back.
/// @dev Units: times in unix milliseconds inside a segment, unix seconds for block times;
/// usage in bps·ms (one fully busy GPU-second = 1e7); device weights in H100-equivalent basis
/// points (H100 = 10000); price in token units per H100-equivalent hour. Payout of a segment =
/// usage * weight * price / (1e7 * 1e4 * 3600), rounded down, capped by the remaining budget.
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

    /// @notice A lane: the segments of one worker in one job, a hash chain with one billed span.
    /// @param head newHead of the lane's last accepted segment (0 before the first).
    /// @param start tFirst of its first segment (unix ms; 0 while the lane has not started).
    /// @param end tLast of its last accepted segment: the lane bills only after it.
    /// @param nextStart Start of the worker's next lane in time (type(uint64).max when none):
    /// the lane bills only up to it, so a worker serves one lane at a time.
    /// @param weightBps Device weight fixed when the lane started, applied to all its segments.
    struct Lane {
        uint256 head;
        uint64 start;
        uint64 end;
        uint64 nextStart;
        uint32 weightBps;
    }

    /// @notice One segment proof and the public signals it was made for (except jobTag, which
    /// the escrow takes from the job).
    /// @param circuitId The circuit (segment size N) the proof is for.
    /// @param workerKeyHash Poseidon hash of the worker key that signed the segment.
    /// @param prevHead Lane head before the segment: must equal the lane's current head.
    /// @param newHead Lane head after the segment.
    /// @param meter tFirst + tLast * 2^64 + usage * 2^128.
    /// @param laneAfter Only read for a lane's first segment: which of the worker's lanes it
    /// follows in time. 0: the worker's latest lane (right whenever the new lane starts after all
    /// of the worker's lanes, the usual case); a job id: that job's lane of this worker;
    /// LANE_FIRST (2^256 - 1): the new lane comes before all of the worker's lanes.
    /// @param proof Groth16 proof [a0, a1, b00, b01, b10, b11, c0, c1] (snarkjs call data order).
    struct Submission {
        uint32 circuitId;
        uint256 workerKeyHash;
        uint256 prevHead;
        uint256 newHead;
        uint256 meter;
        uint256 laneAfter;
        uint256[8] proof;
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
    /// @notice The worker belongs to another provider than the job's.
    error ComputeEscrow__WorkerNotJobProvider(uint256 workerKeyHash, address workerProvider, address jobProvider);
    /// @notice The rate card has no weight for the worker's device class, so it cannot earn.
    error ComputeEscrow__DeviceClassNotRated(bytes32 deviceClass);
    /// @notice This segment is the one the lane accepted last (the same segment twice).
    error ComputeEscrow__SegmentAlreadyAccepted(uint256 jobId, uint256 workerKeyHash, uint256 newHead);
    /// @notice The segment does not continue the lane: its prevHead is not the lane's head.
    error ComputeEscrow__StalePrevHead(uint256 jobId, uint256 workerKeyHash, uint256 laneHead, uint256 prevHead);
    /// @notice The window starts before the end of time already billed for this worker: in this
    /// lane, or in the lane before it in time (another job).
    error ComputeEscrow__TimeAlreadyBilled(uint256 workerKeyHash, uint64 tFirst, uint64 billedEnd);
    /// @notice The window runs into the worker's next lane in time (another job), which starts at
    /// `nextStart`: a worker serves one lane at a time, so this time belongs to that lane.
    error ComputeEscrow__LaneOverlap(uint256 workerKeyHash, uint64 tLast, uint64 nextStart);
    /// @notice `laneAfter` does not name the lane right before the new one in time: the named
    /// lane does not exist, or another lane of the worker starts between it and the new window.
    error ComputeEscrow__WrongLaneAfter(uint256 workerKeyHash, uint256 laneAfter);
    /// @notice A device weight above MAX_WEIGHT_BPS.
    error ComputeEscrow__WeightTooHigh(uint32 weightBps, uint32 maxWeightBps);
    /// @notice The window is empty or reversed (tLast <= tFirst).
    error ComputeEscrow__InvalidWindow(uint64 tFirst, uint64 tLast);
    /// @notice The window starts before the job was created (beyond the clock skew allowance).
    error ComputeEscrow__WindowBeforeJob(uint64 tFirst, uint256 createdAtMs);
    /// @notice The window ends after the job expired (beyond the clock skew allowance).
    error ComputeEscrow__WindowAfterExpiry(uint64 tLast, uint256 expiryMs);
    /// @notice The window ends in the future (beyond the clock skew allowance).
    error ComputeEscrow__WindowInFuture(uint64 tLast, uint256 nowMs);
    /// @notice The proof does not verify for the submission's public signals.
    error ComputeEscrow__InvalidProof(uint256 jobId, uint256 workerKeyHash);
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
        address verifier,
        uint64 maxClockSkewMs,
        uint64 closeGracePeriod,
        uint32 maxWeightBps
    );
    /// @notice A worker's lane in a job started with its first accepted segment, at `start`
    /// (unix ms), billed at `weightBps` for all its segments; it ends where the worker's next
    /// lane starts (`nextStart`, type(uint64).max when none).
    event LaneStarted(
        uint256 indexed jobId,
        uint256 indexed workerKeyHash,
        uint64 start,
        uint64 nextStart,
        uint32 weightBps
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
    /// required), owned by the job's provider, and its class rated; prevHead is the lane head;
    /// the window starts at or after the worker's last billed end; the window lies within the
    /// job's life and not in the future; the proof verifies. Anyone may submit: the payout
    /// always goes to the job's provider.
    function submitSegment(uint256 jobId, Submission calldata submission) external;

    /// @notice submitSegment for many segments of one job, in order, all or nothing.
    function submitSegments(uint256 jobId, Submission[] calldata submissions) external;

    /// @notice Sends the caller its whole balance of `token` (credited payouts).
    function withdraw(address token) external returns (uint256 amount);

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

    /// @return The lane of a worker in a job (all zero before its first segment). Its segment
    /// count and windows are in its SegmentAccepted events.
    function laneOf(uint256 jobId, uint256 workerKeyHash) external view returns (Lane memory);

    /// @return firstStart Start (unix ms) of the worker's earliest lane, type(uint64).max when none.
    /// @return latestJob Job of the worker's latest lane in time (0 when none): the lane that
    /// `laneAfter = 0` names.
    function workerLanes(uint256 workerKeyHash) external view returns (uint64 firstStart, uint256 latestJob);

    /// @return Unix seconds from which the client may close the job: expiry + grace period +
    /// the time the escrow has spent paused since the job was created (0 for an unknown job).
    function closableAt(uint256 jobId) external view returns (uint256);

    /// @return Total seconds the escrow has spent paused, including a pause in progress.
    function pausedSeconds() external view returns (uint64);

    /// @return The largest device weight the rate card takes (10 H100-equivalents).
    function MAX_WEIGHT_BPS() external view returns (uint32);

    /// @return The `laneAfter` value that places a new lane before all of the worker's lanes.
    function LANE_FIRST() external view returns (uint256);

    /// @return The rate card weight of a device class, in H100-equivalent basis points.
    function deviceWeight(bytes32 deviceClass) external view returns (uint32);

    /// @return The withdrawable balance of a provider in a token.
    function balanceOf(address provider, address token) external view returns (uint256);

    /// @return Number of jobs created (the id of the last one).
    function jobCount() external view returns (uint256);

    /// @return The clock skew allowance, in ms, applied to window checks.
    function maxClockSkewMs() external view returns (uint64);

    /// @return Seconds after expiry during which only the provider may close the job.
    function closeGracePeriod() external view returns (uint64);
}
