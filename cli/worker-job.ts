/**
 * The job a worker binds its trace to, with the terms its jobTag commits to. The terms come
 * from the escrow (`--rpc`: read with `jobOf`, checked against the options) or from
 * `--terms`, exactly as `meterproof job create` printed them. Every check runs before the
 * job's command starts, so a wrong value costs no device time.
 */
import { getAddress, isAddress } from "ethers";
import { attachContract } from "../contracts/index.ts";
import { jobTermsOnChain } from "../chain/job-terms.ts";
import { DeploymentFileError, readDeploymentFile } from "../chain/deployment-file.ts";
import {
  computeJobTag,
  FIELD_MODULUS,
  MAX_EXPIRY_SECONDS,
  type JobRef,
  type JobTerms,
} from "../trace/index.ts";
import { CliError, EXIT_FAILED } from "./output.ts";
import { connectRpc } from "./wallet.ts";

/**
 * `--escrow` and `--chain-id` from `--deployment` (flag, env or config) where not given; a flag
 * that differs from the file is refused rather than silently preferred.
 */
export function escrowFromDeployment(opts: { escrow?: string; deployment?: string; chainId?: bigint }): {
  escrow: string;
  chainId?: bigint;
} {
  if (opts.deployment === undefined) {
    if (opts.escrow === undefined) throw new CliError("give --escrow ADDRESS or --deployment FILE");
    return { escrow: opts.escrow, ...(opts.chainId !== undefined ? { chainId: opts.chainId } : {}) };
  }
  let file;
  try {
    file = readDeploymentFile(opts.deployment);
  } catch (err) {
    if (err instanceof DeploymentFileError) throw new CliError(`--deployment ${err.message}`);
    throw err;
  }
  const escrow = file.addresses.escrow;
  if (opts.escrow !== undefined && isAddress(opts.escrow) && getAddress(opts.escrow) !== escrow)
    throw new CliError(
      `--escrow ${opts.escrow} differs from the escrow of --deployment ${opts.deployment} (${escrow})`,
    );
  if (opts.chainId !== undefined && opts.chainId !== file.chainId)
    throw new CliError(
      `--chain-id ${opts.chainId} differs from the chain of --deployment ${opts.deployment} (${file.chainId})`,
    );
  return { escrow: opts.escrow ?? escrow, chainId: file.chainId };
}

/** Largest price the escrow stores (uint96). */
const MAX_PRICE = (1n << 96n) - 1n;

const TERMS_SHAPE = "CLIENT,TOKEN,PRICE,EXPIRY (as `meterproof job create` prints it)";

/** `--terms` as `job create` prints it and `worker run` takes it: CLIENT,TOKEN,PRICE,EXPIRY. */
export function formatTerms(terms: JobTerms): string {
  return `${getAddress(terms.client)},${getAddress(terms.token)},${terms.price},${terms.expiry}`;
}

/**
 * The options that bind `meterproof worker run` to a job, as one line (`job create` and
 * `job show` print it): what the trace's jobTag is computed from, and the tag itself, which
 * the worker checks before it starts.
 */
export function workerOptions(job: JobRef, jobTag: bigint): string {
  return (
    `--job ${job.jobId} --escrow ${job.escrow} --chain-id ${job.chainId} --provider ${job.provider} ` +
    `--terms ${formatTerms(job.terms)} --job-tag ${jobTag}`
  );
}

/** Parses `--terms CLIENT,TOKEN,PRICE,EXPIRY`: addresses, price in base units, expiry in unix seconds. */
export function parseTerms(text: string): JobTerms {
  const parts = text.split(",").map((p) => p.trim());
  if (parts.length !== 4) {
    throw new CliError(
      `--terms must be ${TERMS_SHAPE}: 4 values separated by commas, got ${parts.length} in ${JSON.stringify(text)}`,
    );
  }
  const [client, token, price, expiry] = parts as [string, string, string, string];
  for (const [name, value] of [
    ["CLIENT", client],
    ["TOKEN", token],
  ] as const) {
    if (!isAddress(value)) {
      throw new CliError(
        `--terms ${name} must be a 20-byte hex address with a valid EIP-55 checksum (or all lower case), got ${JSON.stringify(value)}`,
      );
    }
  }
  if (!/^[0-9]+$/.test(price) || BigInt(price) === 0n || BigInt(price) > MAX_PRICE) {
    throw new CliError(
      `--terms PRICE must be the job's price in base units per H100-equivalent hour: a decimal integer from 1 to 2^96-1, got ${JSON.stringify(price)}`,
    );
  }
  if (!/^[0-9]+$/.test(expiry) || BigInt(expiry) === 0n || BigInt(expiry) > BigInt(MAX_EXPIRY_SECONDS)) {
    throw new CliError(
      `--terms EXPIRY must be the job's expiry in unix seconds (not milliseconds): a decimal integer from 1 to 2^40-1, got ${JSON.stringify(expiry)}`,
    );
  }
  return {
    client: getAddress(client),
    token: getAddress(token),
    price: BigInt(price),
    expiry: BigInt(expiry),
  };
}

/** Parses `--job-tag`: a BN254 field element, decimal (as `job create` prints it) or 0x hex. */
export function parseJobTag(text: string): bigint {
  const t = text.trim();
  if (!/^(0x[0-9a-fA-F]+|[0-9]+)$/.test(t) || BigInt(t) >= FIELD_MODULUS) {
    throw new CliError(
      `--job-tag must be the jobTag \`meterproof job create\` printed: an integer below the BN254 field modulus, got ${JSON.stringify(text)}`,
    );
  }
  return BigInt(t);
}

export interface WorkerJobOptions {
  job: bigint;
  /** Checked addresses. */
  escrow: string;
  provider: string;
  chainId?: bigint;
  rpc?: string;
  terms?: string;
  jobTag?: string;
}

/**
 * Resolves the job and its terms for `worker run`, refusing (one line naming the option and
 * the rule) anything that would bind the trace to other terms than the escrow's: an unknown
 * or closed job, another provider, another chain, terms or a tag that differ.
 */
export async function resolveWorkerJob(
  opts: WorkerJobOptions,
  warn: (message: string) => void,
): Promise<{ job: JobRef; from: "chain" | "terms" }> {
  // Option values are checked before any network traffic.
  const given = opts.terms !== undefined ? parseTerms(opts.terms) : undefined;
  const tag = opts.jobTag !== undefined ? parseJobTag(opts.jobTag) : undefined;
  let job: JobRef;
  let from: "chain" | "terms";
  if (opts.rpc !== undefined) {
    job = await jobFromChain({ ...opts, rpc: opts.rpc });
    from = "chain";
    if (given && formatTerms(given) !== formatTerms(job.terms)) {
      throw new CliError(
        `--terms ${formatTerms(given)} differ from the terms of job ${opts.job} in the escrow (${formatTerms(job.terms)}): ` +
          "leave --terms out to take them from the chain",
      );
    }
  } else if (given) {
    if (opts.chainId === undefined)
      throw new CliError("--chain-id is required without --rpc (with --rpc it is read from the chain)");
    job = {
      chainId: opts.chainId,
      escrow: opts.escrow,
      jobId: opts.job,
      provider: opts.provider,
      terms: given,
    };
    from = "terms";
  } else {
    throw new CliError(
      "the worker needs the job's terms, which its trace's jobTag commits to: give --rpc URL (or set METERPROOF_RPC) " +
        "to read them from the escrow, or --terms CLIENT,TOKEN,PRICE,EXPIRY as `meterproof job create` prints them",
    );
  }
  const computed = computeJobTag(job);
  if (tag !== undefined && tag !== computed) {
    throw new CliError(
      `--job-tag ${tag} differs from the jobTag of --job, --escrow, --chain-id, --provider and the terms (${computed}): ` +
        "one of them is not what `meterproof job create` printed",
    );
  }
  const nowSeconds = BigInt(Math.floor(Date.now() / 1000));
  if (job.terms.expiry <= nowSeconds) {
    warn(
      `job ${opts.job} expired at ${new Date(Number(job.terms.expiry) * 1000).toISOString()}: the escrow pays for no time after its expiry`,
    );
  }
  return { job, from };
}

/** Reads the job from the escrow and checks it against the options. */
async function jobFromChain(opts: WorkerJobOptions & { rpc: string }): Promise<JobRef> {
  const rpc = await connectRpc(opts.rpc);
  try {
    if (opts.chainId !== undefined && opts.chainId !== rpc.chainId) {
      throw new CliError(
        `--chain-id ${opts.chainId} differs from the chain of --rpc ${opts.rpc} (chain ${rpc.chainId})`,
      );
    }
    if ((await rpc.provider.getCode(opts.escrow)) === "0x")
      throw new CliError(`--escrow ${opts.escrow}: chain ${rpc.chainId} has no contract at this address`);
    const escrow = attachContract("ComputeEscrow", opts.escrow, rpc.provider);
    const onChain = await jobTermsOnChain(escrow, opts.job);
    const where = `escrow ${opts.escrow} on chain ${rpc.chainId}`;
    if (!onChain) throw new CliError(`--job ${opts.job}: ${where} has no such job`, EXIT_FAILED);
    if (onChain.closed)
      throw new CliError(
        `--job ${opts.job}: the job is closed in ${where}; it pays for no more work`,
        EXIT_FAILED,
      );
    if (getAddress(opts.provider) !== getAddress(onChain.provider)) {
      throw new CliError(
        `--provider ${opts.provider} is not the provider of job ${opts.job} (${onChain.provider}): the escrow pays only the job's provider`,
      );
    }
    const job: JobRef = {
      chainId: rpc.chainId,
      escrow: opts.escrow,
      jobId: opts.job,
      provider: opts.provider,
      terms: onChain.terms,
    };
    const computed = computeJobTag(job);
    if (computed !== onChain.jobTag) {
      throw new CliError(
        `job ${opts.job} in ${where} has jobTag ${onChain.jobTag}, not keccak256(abi.encode(chainId, escrow, jobId, ` +
          `provider, client, token, price, expiry)) mod r = ${computed}: this escrow does not commit to the job's ` +
          "terms (an older version?) and cannot pay for this worker's traces",
        EXIT_FAILED,
      );
    }
    return job;
  } finally {
    rpc.provider.destroy();
  }
}
