// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IComputeEscrow} from "./interfaces/IComputeEscrow.sol";
import {IGroth16Verifier7} from "./interfaces/IGroth16Verifier7.sol";
import {IPlausibilityChallenge} from "./interfaces/IPlausibilityChallenge.sol";
import {IWorkerRegistry} from "./interfaces/IWorkerRegistry.sol";

/// @title PlausibilityChallenge
/// @notice Revokes a worker key for cause on a proof that one of its segments still in the
/// challenge window holds an implausible record (IPlausibilityChallenge; docs/trust-model.md).
/// @dev Holds no funds and no state. The registry must grant it SLASHER_ROLE. The escrow tells
/// which segments are pending through each bucket's running commitment `heads`; the challenger
/// rebuilds it from SegmentAccepted events (chain/challenge.ts does).
contract PlausibilityChallenge is IPlausibilityChallenge {
    /// @notice Domain of the evidence hash a proven challenge records.
    bytes32 public constant EVIDENCE_DOMAIN = keccak256("meterproof.challenge.implausible-record.v1");
    uint32 internal constant BPS = 10_000;

    /// @inheritdoc IPlausibilityChallenge
    IComputeEscrow public immutable escrow;
    /// @inheritdoc IPlausibilityChallenge
    IWorkerRegistry public immutable registry;
    /// @inheritdoc IPlausibilityChallenge
    IGroth16Verifier7 public immutable verifier;
    /// @inheritdoc IPlausibilityChallenge
    uint32 public immutable maxRecords;
    uint32 internal immutable _loBps;
    uint32 internal immutable _hiBps;
    uint64 internal immutable _slackMicroJ;

    /// @param escrow_ The escrow whose pending segments may be challenged (with a challenge window).
    /// @param verifier_ The Groth16 verifier of ImplausibleRecord(maxRecords_).
    /// @param maxRecords_ The circuit size N: segments of up to N records.
    /// @param rule_ The plausible band and rounding allowance.
    constructor(IComputeEscrow escrow_, IGroth16Verifier7 verifier_, uint32 maxRecords_, EnergyRule memory rule_) {
        if (address(escrow_).code.length == 0) revert PlausibilityChallenge__NotAContract(address(escrow_));
        if (address(verifier_).code.length == 0) revert PlausibilityChallenge__NotAContract(address(verifier_));
        if (escrow_.challengeWindow() == 0) revert PlausibilityChallenge__NoChallengeWindow(address(escrow_));
        if (maxRecords_ == 0) revert PlausibilityChallenge__InvalidMaxRecords();
        // The circuit range-checks the same bounds; these keep a deployment from one it can never prove.
        if (rule_.loBps > BPS || rule_.hiBps < BPS || rule_.slackMicroJ >= 2 ** 48) {
            revert PlausibilityChallenge__InvalidRule(rule_.loBps, rule_.hiBps, rule_.slackMicroJ);
        }
        escrow = escrow_;
        registry = escrow_.registry();
        verifier = verifier_;
        maxRecords = maxRecords_;
        (_loBps, _hiBps, _slackMicroJ) = (rule_.loBps, rule_.hiBps, rule_.slackMicroJ);
        emit PlausibilityChallengeConfigured(
            address(escrow_),
            address(registry),
            address(verifier_),
            maxRecords_,
            rule_.loBps,
            rule_.hiBps,
            rule_.slackMicroJ
        );
    }

    /// @inheritdoc IPlausibilityChallenge
    function challenge(
        uint256 jobId,
        uint256 workerKeyHash,
        bytes32 headsBefore,
        SegmentHeads[] calldata segments,
        uint256[8] calldata proof
    ) external returns (bytes32 evidenceHash) {
        if (segments.length == 0) revert PlausibilityChallenge__NoSegment();
        SegmentHeads calldata challenged = segments[0];
        _checkPending(jobId, workerKeyHash, headsBefore, segments);

        uint256[7] memory signals = [
            escrow.jobOf(jobId).jobTag,
            challenged.prevHead,
            challenged.newHead,
            uint256(_loBps),
            uint256(_hiBps),
            uint256(_slackMicroJ),
            uint256(uint160(msg.sender))
        ];
        if (
            !verifier.verifyProof(
                [proof[0], proof[1]],
                [[proof[2], proof[3]], [proof[4], proof[5]]],
                [proof[6], proof[7]],
                signals
            )
        ) {
            revert PlausibilityChallenge__InvalidProof(jobId, workerKeyHash, challenged.newHead);
        }

        evidenceHash = _evidenceHash(jobId, workerKeyHash, challenged);
        emit ImplausibleRecordProven(jobId, workerKeyHash, challenged.newHead, msg.sender, evidenceHash);
        registry.revokeForCause(workerKeyHash, evidenceHash, msg.sender);
        // The lane's pay in the window goes back to the job now rather than on a later settle.
        IComputeEscrow.LaneRef[] memory lane = new IComputeEscrow.LaneRef[](1);
        lane[0] = IComputeEscrow.LaneRef(jobId, workerKeyHash);
        escrow.settlePending(lane);
    }

    /// @dev The segments, folded onto headsBefore as the escrow folds them, must give the
    /// commitment of one of the lane's buckets that still holds pay inside its window.
    function _checkPending(
        uint256 jobId,
        uint256 workerKeyHash,
        bytes32 headsBefore,
        SegmentHeads[] calldata segments
    ) private view {
        bytes32 heads = headsBefore;
        for (uint256 i = 0; i < segments.length; ++i) {
            heads = keccak256(abi.encode(heads, segments[i].prevHead, segments[i].newHead));
        }
        IComputeEscrow.PendingBucket[2] memory buckets = escrow.pendingBucketsOf(jobId, workerKeyHash);
        for (uint256 i = 0; i < 2; ++i) {
            if (buckets[i].amount == 0 || buckets[i].heads != heads) continue;
            if (buckets[i].releaseAt <= block.timestamp) {
                revert PlausibilityChallenge__WindowPassed(jobId, workerKeyHash, buckets[i].releaseAt);
            }
            return;
        }
        revert PlausibilityChallenge__SegmentNotPending(jobId, workerKeyHash, segments[0].newHead);
    }

    /// @inheritdoc IPlausibilityChallenge
    function evidenceHashOf(
        uint256 jobId,
        uint256 workerKeyHash,
        SegmentHeads calldata segment
    ) external view returns (bytes32) {
        return _evidenceHash(jobId, workerKeyHash, segment);
    }

    function _evidenceHash(
        uint256 jobId,
        uint256 workerKeyHash,
        SegmentHeads calldata segment
    ) private view returns (bytes32) {
        return
            keccak256(
                abi.encode(
                    EVIDENCE_DOMAIN,
                    block.chainid,
                    address(escrow),
                    jobId,
                    workerKeyHash,
                    segment.prevHead,
                    segment.newHead
                )
            );
    }

    /// @inheritdoc IPlausibilityChallenge
    function rule() external view returns (EnergyRule memory) {
        return EnergyRule(_loBps, _hiBps, _slackMicroJ);
    }
}
