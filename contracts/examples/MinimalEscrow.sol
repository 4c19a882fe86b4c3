// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IUsageVerifier} from "../interfaces/IUsageVerifier.sol";
import {IWorkerRegistry} from "../interfaces/IWorkerRegistry.sol";

/// @title MinimalEscrow
/// @notice A worked example of another marketplace on meterproof (docs/integrating.md): a flat
/// price per fully used GPU-second, no rate card, no pause, payouts pushed to the provider.
/// The UsageVerifier verifies the proofs and refuses any worker time already paid by any
/// marketplace; this contract only decides what proven usage is worth and who is paid.
/// @dev An example, not audited for production: it trusts the token to be a plain ERC-20.
contract MinimalEscrow {
    using SafeERC20 for IERC20;

    /// @dev usage is in bps·ms: one fully used GPU-second is 10,000 bps × 1,000 ms.
    uint256 private constant USAGE_PER_GPU_SECOND = 1e7;

    struct Job {
        IUsageVerifier.JobTerms terms;
        uint256 remaining;
    }

    IUsageVerifier public immutable usageVerifier;
    IWorkerRegistry public immutable registry;
    IERC20 public immutable token;
    uint256 public jobCount;
    mapping(uint256 jobId => Job) private _jobs;

    error MinimalEscrow__UnknownJob(uint256 jobId);
    error MinimalEscrow__NotProvidersWorker(uint256 workerKeyHash);
    error MinimalEscrow__TooEarly(uint256 expiry);
    error MinimalEscrow__AfterExpiry(uint64 tLast, uint64 expiry);

    event Opened(uint256 indexed jobId, address indexed client, address indexed provider, uint256 jobTag);
    event Paid(uint256 indexed jobId, uint256 indexed workerKeyHash, uint256 usage, uint256 amount);
    event Refunded(uint256 indexed jobId, uint256 amount);

    constructor(IUsageVerifier usageVerifier_, IWorkerRegistry registry_, IERC20 token_) {
        usageVerifier = usageVerifier_;
        registry = registry_;
        token = token_;
    }

    /// @notice Escrows `budget` for `provider`'s work at `pricePerGpuSecond` until `expiry`.
    function open(address provider, uint256 pricePerGpuSecond, uint64 expiry, uint256 budget) external returns (uint256 jobId) {
        jobId = ++jobCount;
        IUsageVerifier.JobTerms memory terms = IUsageVerifier.JobTerms(
            jobId,
            provider,
            msg.sender,
            address(token),
            pricePerGpuSecond,
            expiry
        );
        _jobs[jobId] = Job(terms, budget);
        // The tag a worker binds its trace to: `meterproof job`-style tooling reads it here.
        emit Opened(jobId, msg.sender, provider, usageVerifier.jobTagOf(address(this), terms));
        token.safeTransferFrom(msg.sender, address(this), budget);
    }

    /// @notice Pays proven segments of a job (anyone may call; the provider is paid).
    function settle(uint256 jobId, IUsageVerifier.Submission[] calldata submissions) external {
        Job storage job = _jobs[jobId];
        if (job.terms.provider == address(0)) revert MinimalEscrow__UnknownJob(jobId);
        IUsageVerifier.JobTerms[] memory jobs = new IUsageVerifier.JobTerms[](1);
        jobs[0] = job.terms;
        IUsageVerifier.Entry[] memory entries = new IUsageVerifier.Entry[](submissions.length);
        for (uint256 i = 0; i < submissions.length; ++i) {
            // Only the provider's own registered workers may bill its jobs.
            (address provider, , bool active, bool approved) = registry.billingStatus(submissions[i].workerKeyHash);
            if (provider != job.terms.provider || !active || !approved) {
                revert MinimalEscrow__NotProvidersWorker(submissions[i].workerKeyHash);
            }
            entries[i] = IUsageVerifier.Entry(0, 0, submissions[i]);
        }
        IUsageVerifier.Usage[] memory usages = usageVerifier.recordSegments(jobs, entries);
        uint256 total;
        for (uint256 i = 0; i < usages.length; ++i) {
            if (usages[i].skipped) continue;
            // Work is paid only within the job's life (the UsageVerifier does not know it).
            if (usages[i].tLast > uint256(job.terms.expiry) * 1000) {
                revert MinimalEscrow__AfterExpiry(usages[i].tLast, job.terms.expiry);
            }
            uint256 amount = (usages[i].usage * job.terms.price) / USAGE_PER_GPU_SECOND;
            if (amount > job.remaining - total) amount = job.remaining - total;
            total += amount;
            emit Paid(jobId, usages[i].workerKeyHash, usages[i].usage, amount);
        }
        job.remaining -= total;
        if (total != 0) token.safeTransfer(job.terms.provider, total);
    }

    /// @notice Returns the unspent budget to the client after expiry.
    function refund(uint256 jobId) external {
        Job storage job = _jobs[jobId];
        if (job.terms.provider == address(0)) revert MinimalEscrow__UnknownJob(jobId);
        if (block.timestamp < job.terms.expiry) revert MinimalEscrow__TooEarly(job.terms.expiry);
        uint256 amount = job.remaining;
        job.remaining = 0;
        emit Refunded(jobId, amount);
        if (amount != 0) token.safeTransfer(job.terms.client, amount);
    }

    /// @return terms The job's terms (what its tag commits to).
    /// @return remaining Its unspent budget.
    function jobOf(uint256 jobId) external view returns (IUsageVerifier.JobTerms memory terms, uint256 remaining) {
        return (_jobs[jobId].terms, _jobs[jobId].remaining);
    }
}
