// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title IUsageVerifier
/// @notice Proven GPU usage for any marketplace. A marketplace contract (meterproof's
/// ComputeEscrow, or another network's settlement contract) hands it segment proofs of its
/// jobs; it verifies them (one multi-pairing for a batch), books each worker's time in a ledger
/// shared by every marketplace, so that no millisecond of a worker is paid twice anywhere, and
/// returns what was proven: job tag, worker, window and usage. What to pay for it, and to whom,
/// stays the marketplace's business.
/// @dev A job's tag binds traces to the calling contract:
///   jobTag = uint256(keccak256(abi.encode(chainid, msg.sender, jobId, provider, client, token,
///            price, expiry))) mod r,
/// so a contract can only book segments of its own jobs, and a worker's trace for one
/// marketplace's job cannot be replayed through another. A lane is one worker key in one job
/// (one jobTag); it owns the time from its first billed millisecond up to the start of the
/// worker's next lane in time, and bills it in increasing windows (docs/contracts.md).
/// Times are unix milliseconds; usage is in bps·ms (one fully busy GPU-second = 1e7).
interface IUsageVerifier {
    /// @notice A marketplace's job, as its tag commits to it.
    /// @param jobId The marketplace's id of the job.
    /// @param provider Who is paid for the job's work (its workers sign the traces).
    /// @param client Who pays.
    /// @param token The payment token.
    /// @param price Token units per H100-equivalent hour (or the marketplace's own unit).
    /// @param expiry End of the job's life, unix seconds.
    struct JobTerms {
        uint256 jobId;
        address provider;
        address client;
        address token;
        uint256 price;
        uint64 expiry;
    }

    /// @notice One segment proof and the public signals it was made for (except jobTag, which
    /// comes from the job).
    /// @param circuitId The circuit (segment size N) the proof is for.
    /// @param workerKeyHash Poseidon hash of the worker key that signed the segment.
    /// @param prevHead Lane head before the segment: must equal the lane's current head.
    /// @param newHead Lane head after the segment.
    /// @param meter tFirst + tLast * 2^64 + usage * 2^128.
    /// @param laneAfter Only read for a lane's first segment: which of the worker's lanes it
    /// follows in time. 0: the worker's latest lane (right whenever the new lane starts after all
    /// of the worker's lanes, the usual case); a jobTag: that lane of this worker; LANE_FIRST
    /// (2^256 - 1): the new lane comes before all of the worker's lanes.
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

    /// @notice One entry of a batch: a submission for `jobs[job]`, and the data the marketplace
    /// keeps with the lane if this submission starts it (ComputeEscrow: the device weight).
    struct Entry {
        uint32 job;
        uint32 laneData;
        Submission submission;
    }

    /// @notice What a submission proved (all zero but `skipped` for a skipped batch entry).
    /// @param jobTag The job's tag.
    /// @param workerKeyHash The worker key that signed the segment.
    /// @param tFirst Start of the segment's window (unix ms).
    /// @param tLast End of its window (unix ms).
    /// @param usage Σ (tEnd - tStart) × utilBps over its records, in bps·ms.
    /// @param laneData What the marketplace stored with the lane when it started.
    /// @param laneStarted Whether this submission started the lane.
    /// @param skipped Whether the entry was skipped as already accepted (batches only).
    struct Usage {
        uint256 jobTag;
        uint256 workerKeyHash;
        uint64 tFirst;
        uint64 tLast;
        uint256 usage;
        uint32 laneData;
        bool laneStarted;
        bool skipped;
    }

    /// @notice A lane of the ledger.
    /// @param head newHead of the lane's last accepted segment (0 before the first).
    /// @param start tFirst of its first segment (unix ms; 0 while the lane has not started).
    /// @param end tLast of its last accepted segment: the lane bills only after it.
    /// @param nextStart Start of the worker's next lane in time (type(uint64).max when none):
    /// the lane bills only up to it, so a worker serves one lane at a time.
    /// @param laneData What the marketplace stored with the lane when it started.
    struct Lane {
        uint256 head;
        uint64 start;
        uint64 end;
        uint64 nextStart;
        uint32 laneData;
    }

    /// @notice The verifier has no code.
    error UsageVerifier__NotAContract(address account);
    /// @notice This segment is the one the lane accepted last (the same segment twice).
    error UsageVerifier__SegmentAlreadyAccepted(uint256 jobTag, uint256 workerKeyHash, uint256 newHead);
    /// @notice The segment does not continue the lane: its prevHead is not the lane's head.
    error UsageVerifier__StalePrevHead(uint256 jobTag, uint256 workerKeyHash, uint256 laneHead, uint256 prevHead);
    /// @notice The window is empty or reversed (tLast <= tFirst).
    error UsageVerifier__InvalidWindow(uint64 tFirst, uint64 tLast);
    /// @notice The window starts before the end of time already billed for this worker: in this
    /// lane, or in the lane before it in time (another job, possibly of another marketplace).
    error UsageVerifier__TimeAlreadyBilled(uint256 workerKeyHash, uint64 tFirst, uint64 billedEnd);
    /// @notice The window runs into the worker's next lane in time (another job), which starts at
    /// `nextStart`: a worker serves one lane at a time, so this time belongs to that lane.
    error UsageVerifier__LaneOverlap(uint256 workerKeyHash, uint64 tLast, uint64 nextStart);
    /// @notice `laneAfter` does not name the lane right before the new one in time: the named
    /// lane does not exist, starts after the new window, or another lane starts between them.
    error UsageVerifier__WrongLaneAfter(uint256 workerKeyHash, uint256 laneAfter);
    /// @notice The proof does not verify for the submission's public signals.
    error UsageVerifier__InvalidProof(uint256 jobTag, uint256 workerKeyHash);
    /// @notice The batch's proofs do not all verify (one multi-pairing cannot say which): check
    /// them one by one off chain (`meterproof verify` names the bad bundle).
    error UsageVerifier__InvalidBatch(uint32 circuitId, uint256 proofs);
    /// @notice A batch mixes circuit ids: split it by circuit id, one call each.
    error UsageVerifier__MixedCircuits(uint32 circuitId, uint32 other);
    /// @notice A batch had no entries.
    error UsageVerifier__EmptyBatch();
    /// @notice An entry names a job index outside `jobs`.
    error UsageVerifier__UnknownJobIndex(uint256 entry, uint32 job);

    /// @notice A worker's lane in a marketplace's job started with its first accepted segment, at
    /// `start` (unix ms); it ends where the worker's next lane starts (`nextStart`,
    /// type(uint64).max when none). `laneAfter` lookups read these events.
    event LaneStarted(
        uint256 indexed jobTag,
        uint256 indexed workerKeyHash,
        address indexed market,
        uint256 jobId,
        uint64 start,
        uint64 nextStart,
        uint32 laneData
    );

    /// @notice The ledger was deployed with this segment verifier.
    event UsageVerifierConfigured(address verifier);

    /// @notice Verifies one segment of a job of the caller, books its window in the worker's
    /// ledger and returns what it proved. Reverts with the rule it broke.
    /// @param job The caller's job the segment is bound to.
    /// @param submission The segment.
    /// @param laneData Stored with the lane if this segment starts it, returned with every
    /// later segment of the lane.
    function recordSegment(
        JobTerms calldata job,
        Submission calldata submission,
        uint32 laneData
    ) external returns (Usage memory);

    /// @notice recordSegment for many segments of one circuit id, of any of the caller's jobs,
    /// with one multi-pairing. An entry its lane has accepted already (the lane's last segment,
    /// or one whose window ends within the lane's billed span and that does not continue the
    /// lane) is skipped and reported as such; any other refusal reverts the whole batch.
    function recordSegments(JobTerms[] calldata jobs, Entry[] calldata entries) external returns (Usage[] memory);

    /// @return The tag of `market`'s job: keccak256(abi.encode(chainid, market, jobId, provider,
    /// client, token, price, expiry)) mod r.
    function jobTagOf(address market, JobTerms calldata job) external view returns (uint256);

    /// @return The lane of a worker in a job (all zero before its first segment).
    function laneOf(uint256 jobTag, uint256 workerKeyHash) external view returns (Lane memory);

    /// @return firstStart Start (unix ms) of the worker's earliest lane, type(uint64).max when none.
    /// @return latestTag jobTag of the worker's latest lane in time (0 when none): the lane that
    /// `laneAfter = 0` names.
    function workerLanes(uint256 workerKeyHash) external view returns (uint64 firstStart, uint256 latestTag);

    /// @return The `laneAfter` value that places a new lane before all of the worker's lanes.
    function LANE_FIRST() external view returns (uint256);
}
