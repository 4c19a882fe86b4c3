import { ZeroAddress } from "ethers";
import type { ComputeEscrow } from "../contracts/index.ts";
import type { JobTerms } from "../trace/hashing.ts";

/**
 * The terms of a job as the escrow holds them (what its jobTag commits to), so a worker binds
 * its trace to exactly the job on chain. Undefined when the job does not exist.
 */
export async function jobTermsOnChain(
  escrow: Pick<ComputeEscrow, "jobOf">,
  jobId: bigint,
): Promise<{ terms: JobTerms; jobTag: bigint; provider: string; closed: boolean } | undefined> {
  const job = await escrow.jobOf(jobId);
  if (job.client === ZeroAddress) return undefined;
  return {
    terms: { client: job.client, token: job.token, price: job.price, expiry: job.expiry },
    jobTag: job.jobTag,
    provider: job.provider,
    closed: job.closed,
  };
}
