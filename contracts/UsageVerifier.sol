// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {ISegmentVerifier} from "./interfaces/ISegmentVerifier.sol";
import {IUsageVerifier} from "./interfaces/IUsageVerifier.sol";

/// @title UsageVerifier
/// @notice Verifies segment proofs for any marketplace and keeps the one ledger of worker time
/// they all share: no millisecond of a worker is paid twice, whichever contract pays it.
/// See IUsageVerifier and docs/integrating.md. It holds no funds and has no admin.
contract UsageVerifier is IUsageVerifier {
    /// @dev Order of the BN254 scalar field (jobTag is reduced modulo it).
    uint256 internal constant FIELD_MODULUS =
        21888242871839275222246405745257275088548364400416034343698204186575808495617;
    uint256 private constant TIME_MASK = type(uint64).max;
    /// @dev nextStart of a lane with no later lane of its worker; firstStart of a worker without lanes.
    uint64 private constant OPEN_END = type(uint64).max;

    /// @inheritdoc IUsageVerifier
    uint256 public constant LANE_FIRST = type(uint256).max;

    /// @notice Verifier of segment proofs, single and batched (a SegmentVerifierRouter).
    ISegmentVerifier public immutable verifier;

    /// @dev A lane's billed span and the marketplace's data, one slot (the head is kept apart:
    /// it changes with every segment).
    struct LaneSpan {
        uint64 start;
        uint64 end;
        uint64 nextStart;
        uint32 laneData;
    }

    /// @dev A worker's lanes in time order form a list: each lane knows where the next one
    /// starts; the worker knows its first start and its latest lane.
    struct WorkerLanes {
        uint64 firstStart;
        uint256 latestTag;
    }

    mapping(uint256 jobTag => mapping(uint256 workerKeyHash => uint256 head)) private _heads;
    mapping(uint256 jobTag => mapping(uint256 workerKeyHash => LaneSpan)) private _spans;
    mapping(uint256 workerKeyHash => WorkerLanes) private _workers;

    /// @param verifier_ The segment verifier (SegmentVerifierRouter).
    constructor(ISegmentVerifier verifier_) {
        if (address(verifier_).code.length == 0) revert UsageVerifier__NotAContract(address(verifier_));
        verifier = verifier_;
        emit UsageVerifierConfigured(address(verifier_));
    }

    // ---------------------------------------------------------------- recording

    /// @inheritdoc IUsageVerifier
    function recordSegment(
        JobTerms calldata job,
        Submission calldata s,
        uint32 laneData
    ) external returns (Usage memory usage) {
        uint256 tag = _jobTag(msg.sender, job);
        usage = _book(tag, job.jobId, s, laneData);
        if (!verifier.verifySegment(s.circuitId, s.proof, _signals(tag, s))) {
            revert UsageVerifier__InvalidProof(tag, s.workerKeyHash);
        }
    }

    /// @inheritdoc IUsageVerifier
    function recordSegments(
        JobTerms[] calldata jobs,
        Entry[] calldata entries
    ) external returns (Usage[] memory usages) {
        uint256 n = entries.length;
        if (n == 0) revert UsageVerifier__EmptyBatch();
        uint256[] memory tags = new uint256[](jobs.length);
        for (uint256 j = 0; j < jobs.length; ++j) tags[j] = _jobTag(msg.sender, jobs[j]);

        uint32 circuitId = entries[0].submission.circuitId;
        usages = new Usage[](n);
        uint256[8][] memory proofs = new uint256[8][](n);
        uint256[5][] memory signals = new uint256[5][](n);
        uint256 count;
        for (uint256 i = 0; i < n; ++i) {
            Entry calldata e = entries[i];
            Submission calldata s = e.submission;
            if (s.circuitId != circuitId) revert UsageVerifier__MixedCircuits(circuitId, s.circuitId);
            if (e.job >= jobs.length) revert UsageVerifier__UnknownJobIndex(i, e.job);
            uint256 tag = tags[e.job];
            if (_alreadyAccepted(tag, s)) {
                usages[i].skipped = true;
                continue;
            }
            usages[i] = _book(tag, jobs[e.job].jobId, s, e.laneData);
            proofs[count] = s.proof;
            signals[count] = _signals(tag, s);
            ++count;
        }
        if (count == 0) return usages;
        // Only the proofs of entries that were booked are checked, with one multi-pairing.
        assembly ("memory-safe") {
            mstore(proofs, count)
            mstore(signals, count)
        }
        bool valid = count == 1
            ? verifier.verifySegment(circuitId, proofs[0], signals[0])
            : verifier.verifySegments(circuitId, proofs, signals);
        if (!valid) revert UsageVerifier__InvalidBatch(circuitId, count);
    }

    /// @dev Checks that the segment continues its lane and that its window is the lane's to
    /// bill, then moves the lane on. The proof is checked by the caller afterwards (a failed
    /// proof reverts all of it).
    function _book(
        uint256 tag,
        uint256 jobId,
        Submission calldata s,
        uint32 laneData
    ) private returns (Usage memory usage) {
        uint256 head = _heads[tag][s.workerKeyHash];
        if (s.prevHead != head) {
            // Replay protection is keyed on the statement (the head), never on proof bytes.
            if (s.newHead == head && head != 0) {
                revert UsageVerifier__SegmentAlreadyAccepted(tag, s.workerKeyHash, s.newHead);
            }
            revert UsageVerifier__StalePrevHead(tag, s.workerKeyHash, head, s.prevHead);
        }
        (uint64 tFirst, uint64 tLast, uint256 amount) = _unpackMeter(s.meter);
        if (tLast <= tFirst) revert UsageVerifier__InvalidWindow(tFirst, tLast);
        (uint32 data, bool started) = _claimTime(tag, jobId, s, laneData, tFirst, tLast);
        _heads[tag][s.workerKeyHash] = s.newHead;
        usage = Usage(tag, s.workerKeyHash, tFirst, tLast, amount, data, started, false);
    }

    /// @dev Whether a batch entry is a segment the lane has accepted already: the lane's last
    /// one, or one whose window ends within the lane's billed span and that does not continue
    /// the lane. Skipping such an entry changes nothing, so it is safe even for a forged one.
    function _alreadyAccepted(uint256 tag, Submission calldata s) private view returns (bool) {
        uint256 head = _heads[tag][s.workerKeyHash];
        if (head == 0 || s.prevHead == head) return false;
        if (s.newHead == head) return true;
        return uint64((s.meter >> 64) & TIME_MASK) <= _spans[tag][s.workerKeyHash].end;
    }

    /// @dev Bills [tFirst, tLast] to the lane, or refuses it when another lane of the worker
    /// billed (or may bill) that time. Each lane owns the time from its start to the start of
    /// the worker's next lane in time, and bills it in increasing windows: so no millisecond
    /// is paid twice, and disjoint work stays payable whatever the order of submission.
    function _claimTime(
        uint256 tag,
        uint256 jobId,
        Submission calldata s,
        uint32 laneData,
        uint64 tFirst,
        uint64 tLast
    ) private returns (uint32 data, bool started) {
        LaneSpan storage lane = _spans[tag][s.workerKeyHash];
        if (s.prevHead != 0) {
            LaneSpan memory span = lane;
            if (tFirst < span.end) revert UsageVerifier__TimeAlreadyBilled(s.workerKeyHash, tFirst, span.end);
            if (tLast > span.nextStart) revert UsageVerifier__LaneOverlap(s.workerKeyHash, tLast, span.nextStart);
            lane.end = tLast;
            return (span.laneData, false);
        }
        uint64 nextStart = _linkLane(tag, s.workerKeyHash, s.laneAfter, tFirst, tLast);
        _spans[tag][s.workerKeyHash] = LaneSpan(tFirst, tLast, nextStart, laneData);
        emit LaneStarted(tag, s.workerKeyHash, msg.sender, jobId, tFirst, nextStart, laneData);
        return (laneData, true);
    }

    /// @dev Inserts a new lane starting at tFirst into the worker's time-ordered lanes after
    /// `laneAfter` (see Submission), checks that [tFirst, tLast] lies between the end of the
    /// lane before it and the start of the lane after it, and returns that next start.
    function _linkLane(
        uint256 tag,
        uint256 workerKeyHash,
        uint256 laneAfter,
        uint64 tFirst,
        uint64 tLast
    ) private returns (uint64 nextStart) {
        WorkerLanes storage worker = _workers[workerKeyHash];
        (uint64 firstStart, uint256 latestTag) = (worker.firstStart, worker.latestTag);
        if (latestTag == 0) firstStart = OPEN_END;
        uint256 before = laneAfter == 0 ? latestTag : laneAfter;
        if (before == 0 || before == LANE_FIRST) {
            // The new lane comes first: it may bill up to the worker's current first lane.
            nextStart = firstStart;
            if (tFirst >= nextStart) revert UsageVerifier__WrongLaneAfter(workerKeyHash, laneAfter);
            if (tLast > nextStart) revert UsageVerifier__LaneOverlap(workerKeyHash, tLast, nextStart);
            worker.firstStart = tFirst;
        } else {
            LaneSpan storage previous = _spans[before][workerKeyHash];
            (uint64 prevStart, uint64 prevEnd) = (previous.start, previous.end);
            nextStart = previous.nextStart;
            // The named lane must exist and start no later than the new one (at the same time,
            // it is the overlap below), with no lane starting between them.
            if (prevStart == 0 || prevStart > tFirst || nextStart <= tFirst) {
                revert UsageVerifier__WrongLaneAfter(workerKeyHash, laneAfter);
            }
            if (tFirst < prevEnd) revert UsageVerifier__TimeAlreadyBilled(workerKeyHash, tFirst, prevEnd);
            if (tLast > nextStart) revert UsageVerifier__LaneOverlap(workerKeyHash, tLast, nextStart);
            previous.nextStart = tFirst;
        }
        if (nextStart == OPEN_END) worker.latestTag = tag;
    }

    // ---------------------------------------------------------------- helpers and views

    /// @dev keccak256(abi.encode(chainid, market, jobId, provider, client, token, price, expiry))
    /// mod r (trace/hashing.ts computeJobTag).
    function _jobTag(address market, JobTerms calldata job) private view returns (uint256) {
        bytes memory terms = abi.encode(
            block.chainid,
            market,
            job.jobId,
            job.provider,
            job.client,
            job.token,
            job.price,
            uint256(job.expiry)
        );
        return uint256(keccak256(terms)) % FIELD_MODULUS;
    }

    /// @dev Splits meter = tFirst + tLast * 2^64 + usage * 2^128.
    function _unpackMeter(uint256 meter) private pure returns (uint64 tFirst, uint64 tLast, uint256 usage) {
        tFirst = uint64(meter & TIME_MASK);
        tLast = uint64((meter >> 64) & TIME_MASK);
        usage = meter >> 128;
    }

    /// @dev The circuit's public signals, in its order: [jobTag, workerKeyHash, prevHead, newHead, meter].
    function _signals(uint256 tag, Submission calldata s) private pure returns (uint256[5] memory) {
        return [tag, s.workerKeyHash, s.prevHead, s.newHead, s.meter];
    }

    /// @inheritdoc IUsageVerifier
    function jobTagOf(address market, JobTerms calldata job) external view returns (uint256) {
        return _jobTag(market, job);
    }

    /// @inheritdoc IUsageVerifier
    function laneOf(uint256 jobTag, uint256 workerKeyHash) external view returns (Lane memory) {
        LaneSpan storage span = _spans[jobTag][workerKeyHash];
        return Lane(_heads[jobTag][workerKeyHash], span.start, span.end, span.nextStart, span.laneData);
    }

    /// @inheritdoc IUsageVerifier
    function workerLanes(uint256 workerKeyHash) external view returns (uint64 firstStart, uint256 latestTag) {
        WorkerLanes storage worker = _workers[workerKeyHash];
        latestTag = worker.latestTag;
        firstStart = latestTag == 0 ? OPEN_END : worker.firstStart;
    }
}
