// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IComputeEscrow} from "./IComputeEscrow.sol";
import {IGroth16Verifier7} from "./IGroth16Verifier7.sol";
import {IWorkerRegistry} from "./IWorkerRegistry.sol";

/// @title IPlausibilityChallenge
/// @notice Anyone who proves that a segment still in its challenge window holds a record whose
/// energy cannot be its power over its interval revokes the worker key for cause: its pending
/// pay goes back to the jobs, its bond is slashed and the challenger gets the reporter's share
/// (docs/trust-model.md). The proof is ImplausibleRecord(N) (circuits/implausible_record.circom).
interface IPlausibilityChallenge {
    /// @notice The plausible band of energy / (power × time) and the rounding allowance.
    /// @param loBps Lower end of the band in bps (at most 10000).
    /// @param hiBps Upper end in bps (at least 10000, below 2^32).
    /// @param slackMicroJ Allowance in µJ on both sides (below 2^48).
    struct EnergyRule {
        uint32 loBps;
        uint32 hiBps;
        uint64 slackMicroJ;
    }

    /// @notice A segment as the escrow committed to it: the heads before and after its records.
    struct SegmentHeads {
        uint256 prevHead;
        uint256 newHead;
    }

    /// @notice A contract it depends on has no code.
    error PlausibilityChallenge__NotAContract(address account);
    /// @notice The escrow has no challenge window: payouts are final at once, nothing to challenge.
    error PlausibilityChallenge__NoChallengeWindow(address escrow);
    /// @notice The rule's band or allowance is out of range (loBps <= 10000 <= hiBps < 2^32, slack < 2^48).
    error PlausibilityChallenge__InvalidRule(uint32 loBps, uint32 hiBps, uint64 slackMicroJ);
    /// @notice The circuit size is zero.
    error PlausibilityChallenge__InvalidMaxRecords();
    /// @notice No segments were given: the first one is the challenged segment.
    error PlausibilityChallenge__NoSegment();
    /// @notice The segments, folded onto headsBefore, are not the commitment of a pending bucket
    /// of the lane: the segment was not accepted in this lane, its pay already left the window,
    /// or the list is not the bucket's segments from the challenged one on.
    error PlausibilityChallenge__SegmentNotPending(uint256 jobId, uint256 workerKeyHash, uint256 newHead);
    /// @notice The bucket holding the segment has left its challenge window (pay is final).
    error PlausibilityChallenge__WindowPassed(uint256 jobId, uint256 workerKeyHash, uint64 releaseAt);
    /// @notice The proof does not verify for this segment, rule and challenger (msg.sender).
    error PlausibilityChallenge__InvalidProof(uint256 jobId, uint256 workerKeyHash, uint256 newHead);

    /// @notice Emitted once, by the constructor.
    event PlausibilityChallengeConfigured(
        address escrow,
        address registry,
        address verifier,
        uint32 maxRecords,
        uint32 loBps,
        uint32 hiBps,
        uint64 slackMicroJ
    );
    /// @notice A challenger proved an implausible record in segment `newHead` of the lane; the
    /// key was revoked for cause with `evidenceHash` and `reporter` as reporter.
    event ImplausibleRecordProven(
        uint256 indexed jobId,
        uint256 indexed workerKeyHash,
        uint256 newHead,
        address indexed reporter,
        bytes32 evidenceHash
    );

    /// @notice Proves an implausible record in a pending segment and revokes its key for cause.
    /// The challenger (msg.sender) is the proof's reporter and gets the reporter's share.
    /// @param jobId The segment's job.
    /// @param workerKeyHash The key that signed it.
    /// @param headsBefore The bucket's commitment before the challenged segment (0 when it is
    /// the bucket's first).
    /// @param segments The challenged segment, then every later segment of the same bucket, in
    /// order of acceptance (from SegmentAccepted events).
    /// @param proof ImplausibleRecord(maxRecords) over the first segment's records, with this
    /// contract's rule and msg.sender as reporter: [a0, a1, b00, b01, b10, b11, c0, c1] as
    /// snarkjs `exportSolidityCallData` orders them (as every meterproof proof argument).
    /// @return evidenceHash What the registry records as the revocation's evidence.
    function challenge(
        uint256 jobId,
        uint256 workerKeyHash,
        bytes32 headsBefore,
        SegmentHeads[] calldata segments,
        uint256[8] calldata proof
    ) external returns (bytes32 evidenceHash);

    /// @notice Hash a proven challenge is recorded under: keccak256(abi.encode(EVIDENCE_DOMAIN,
    /// chainid, escrow, jobId, workerKeyHash, prevHead, newHead)).
    function evidenceHashOf(
        uint256 jobId,
        uint256 workerKeyHash,
        SegmentHeads calldata segment
    ) external view returns (bytes32);

    function escrow() external view returns (IComputeEscrow);
    function registry() external view returns (IWorkerRegistry);
    function verifier() external view returns (IGroth16Verifier7);
    /// @return The circuit size: segments of at most this many records can be challenged.
    function maxRecords() external view returns (uint32);
    function rule() external view returns (EnergyRule memory);
}
