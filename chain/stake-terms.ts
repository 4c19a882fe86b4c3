import { ZeroAddress, getAddress, isAddress } from "ethers";

/**
 * A network's bond and challenge-window terms (WorkerRegistry.StakeTerms), as deployments take
 * them. Every default turns the feature off: no bond token, no minimum bond, no challenge
 * window (payouts credited at once), nothing to the reporter, no treasury (slashes burned).
 */
export interface StakeTermsOptions {
  /** ERC-20 of bonds: an address, or "credit" for the deployment's own ComputeCredit. */
  bondToken?: string;
  /** Smallest bond (token units) with which a worker earns. Needs a bond token. */
  minimumBond?: bigint;
  /** Seconds from an unbond request until the stake may leave (default 2 × challengeWindow). */
  unbondDelay?: number;
  /** Seconds a payout stays pending and can be taken back (0: off). */
  challengeWindow?: number;
  /** Share of a slashed bond that goes to the reporter, in basis points (0..10000). */
  reporterShareBps?: number;
  /** Receives the rest of a slashed bond; unset burns it. */
  treasury?: string;
}

/** The terms as the WorkerRegistry constructor takes them. */
export interface StakeTermsArg {
  token: string;
  minimumBond: bigint;
  unbondDelay: bigint;
  challengeWindow: bigint;
  reporterShareBps: number;
  treasury: string;
}

/** Stake terms that break a rule the registry would refuse; the message names the field. */
export class StakeTermsError extends Error {
  override readonly name = "StakeTermsError";
}

const MAX_U64 = (1n << 64n) - 1n;

/**
 * Checks the terms and resolves them for the registry constructor (`credit`: the address of
 * the ComputeCredit the same deployment makes, or the zero address where the caller puts the
 * token in itself). The registry checks the same rules on chain;
 * checking here names the option instead of a revert.
 */
export function resolveStakeTerms(opts: StakeTermsOptions | undefined, credit: string): StakeTermsArg {
  const o = opts ?? {};
  const window = BigInt(o.challengeWindow ?? 0);
  const unbondDelay = o.unbondDelay === undefined ? 2n * window : BigInt(o.unbondDelay);
  const minimumBond = o.minimumBond ?? 0n;
  const share = o.reporterShareBps ?? 0;
  let token = ZeroAddress;
  if (o.bondToken !== undefined) {
    if (o.bondToken === "credit") token = credit;
    else if (isAddress(o.bondToken)) token = getAddress(o.bondToken);
    else
      throw new StakeTermsError(
        `bondToken must be an address or "credit", got ${JSON.stringify(o.bondToken)}`,
      );
  }
  if (window < 0n || window > MAX_U64)
    throw new StakeTermsError("challengeWindow must be from 0 to 2^64-1 seconds");
  if (unbondDelay < 0n || unbondDelay > MAX_U64)
    throw new StakeTermsError("unbondDelay must be from 0 to 2^64-1 seconds");
  if (minimumBond < 0n || minimumBond >= 1n << 128n)
    throw new StakeTermsError("minimumBond must be from 0 to 2^128-1");
  if (!Number.isInteger(share) || share < 0 || share > 10_000)
    throw new StakeTermsError(`reporterShareBps must be an integer from 0 to 10000, got ${share}`);
  // "credit" counts as a token even where its address is not known yet (Ignition resolves it).
  const hasToken = o.bondToken !== undefined;
  if (!hasToken && minimumBond !== 0n)
    throw new StakeTermsError("minimumBond needs a bondToken (without one there are no bonds)");
  if (hasToken && unbondDelay < 2n * window)
    throw new StakeTermsError(
      `unbondDelay must be at least twice challengeWindow (${2n * window} s): a payout stays pending up to two windows and the bond must still be there`,
    );
  let treasury = ZeroAddress;
  if (o.treasury !== undefined) {
    if (!isAddress(o.treasury))
      throw new StakeTermsError(`treasury must be an address, got ${JSON.stringify(o.treasury)}`);
    treasury = getAddress(o.treasury);
  }
  return { token, minimumBond, unbondDelay, challengeWindow: window, reporterShareBps: share, treasury };
}
