/**
 * Sentences for contract reverts: each names the rule that refused the transaction and, where
 * there is one, the fix. The custom error's name stays at the end so it can be searched for.
 * Errors without a sentence here (a newer contract's) fall back to `Name(args)`.
 */
import { decodeBytes32String, id } from "ethers";
import type { DecodedContractError } from "./errors.ts";

type Args = readonly unknown[];
type Explain = (a: Args) => string;

/** Names of the roles meterproof's contracts use, by their keccak256 hash. */
export const ROLE_NAMES: Readonly<Record<string, string>> = {
  ["0x" + "00".repeat(32)]: "DEFAULT_ADMIN_ROLE",
  ...Object.fromEntries(
    ["PAUSER_ROLE", "ATTESTOR_ROLE", "SLASHER_ROLE", "MINTER_ROLE"].map((name) => [id(name), name]),
  ),
};

export function roleName(hash: string): string {
  return ROLE_NAMES[hash.toLowerCase()] ?? hash;
}

const seconds = (v: unknown): string => new Date(Number(v) * 1000).toISOString();
const millis = (v: unknown): string => new Date(Number(v)).toISOString();
const deviceClass = (v: unknown): string => {
  try {
    return JSON.stringify(decodeBytes32String(String(v)));
  } catch {
    return String(v);
  }
};
const key = (v: unknown): string => `worker key ${String(v)}`;

const SENTENCES: Readonly<Record<string, Explain>> = {
  // OpenZeppelin
  AccessControlUnauthorizedAccount: (a) =>
    `${String(a[0])} does not hold ${roleName(String(a[1]))}; an account with the role's admin role grants it ` +
    `(\`meterproof network grant-role ${roleName(String(a[1]))} ${String(a[0])}\`)`,
  AccessControlBadConfirmation: () => "an account can only renounce a role for itself",
  EnforcedPause: () =>
    "the escrow is paused: jobs cannot be funded and segments are not accepted until a pauser unpauses it " +
    "(`meterproof network unpause`)",
  ExpectedPause: () => "the escrow is not paused",
  ERC20InsufficientBalance: (a) =>
    `${String(a[0])} holds ${String(a[1])} base units of the token and ${String(a[2])} are needed`,
  ERC20InsufficientAllowance: (a) =>
    `the escrow may take ${String(a[1])} base units from the sender and ${String(a[2])} are needed; approve the escrow first`,
  SafeERC20FailedOperation: (a) => `the token ${String(a[0])} refused the transfer`,
  ReentrancyGuardReentrantCall: () => "a token called back into the escrow during a transfer",
  // ComputeEscrow
  ComputeEscrow__CloseNotAllowed: (a) =>
    `${String(a[1])} may not close job ${String(a[0])} now: its provider may close it at any time, its client from ` +
    `${seconds(a[2])} (expiry + grace period, extended by pauses) or once the budget is spent`,
  ComputeEscrow__DeviceClassNotRated: (a) =>
    `device class ${deviceClass(a[0])} has no weight on the rate card; the admin sets one ` +
    `(\`meterproof network set-weight ${deviceClass(a[0]).replaceAll('"', "")} BPS\`)`,
  ComputeEscrow__EmptyBatch: () => "the batch holds no segment",
  ComputeEscrow__InvalidAmount: (a) => `the amount must be positive, got ${String(a[0])}`,
  ComputeEscrow__InvalidExpiry: (a) =>
    `the expiry ${seconds(a[0])} must be after the current block time ${seconds(a[1])}`,
  ComputeEscrow__InvalidPrice: (a) => `the price must be positive, got ${String(a[0])}`,
  ComputeEscrow__InvalidProvider: () => "the provider must be a non-zero address",
  ComputeEscrow__InvalidToken: (a) => `the token ${String(a[0])} is not an ERC-20 contract`,
  ComputeEscrow__JobClosed: (a) =>
    `job ${String(a[0])} is closed: it accepts no segment and no funding; its unspent budget went back to the client`,
  ComputeEscrow__NotAContract: (a) => `${String(a[0])} is not a contract`,
  ComputeEscrow__NotJobClient: (a) =>
    `only the client of job ${String(a[0])} may do this, not ${String(a[1])}`,
  ComputeEscrow__NothingToWithdraw: (a) =>
    `${String(a[0])} has nothing to withdraw in ${String(a[1])} (see \`meterproof balance\`)`,
  ComputeEscrow__UnknownJob: (a) => `the escrow has no job ${String(a[0])} (see \`meterproof job list\`)`,
  ComputeEscrow__UnsupportedToken: (a) =>
    `the token ${String(a[0])} delivered ${String(a[2])} base units for a transfer of ${String(a[1])} ` +
    "(fee-on-transfer and rebasing tokens are not supported)",
  ComputeEscrow__WeightTooHigh: (a) =>
    `a weight of ${String(a[0])} bps is above the cap of ${String(a[1])} bps`,
  ComputeEscrow__WindowAfterExpiry: (a) =>
    `the segment ends at ${millis(a[0])}, after the job's expiry ${millis(a[1])}: time after expiry is not paid`,
  ComputeEscrow__WindowBeforeJob: (a) =>
    `the segment starts at ${millis(a[0])}, before the job was created (${millis(a[1])}): time before a job is not paid`,
  ComputeEscrow__WindowInFuture: (a) =>
    `the segment ends at ${millis(a[0])}, ahead of the chain's clock (${millis(a[1])} plus the allowed skew); ` +
    "submit it later",
  ComputeEscrow__WorkerInactive: (a) =>
    `${key(a[0])} is deactivated; its provider reactivates it in the registry`,
  ComputeEscrow__WorkerNotApproved: (a) =>
    `${key(a[0])} is not approved: this network requires an attestor's approval before a worker bills time`,
  ComputeEscrow__WorkerNotJobProvider: (a) =>
    `${key(a[0])} belongs to provider ${String(a[1])}, and the job pays provider ${String(a[2])}`,
  ComputeEscrow__WorkerNotRegistered: (a) =>
    `${key(a[0])} is not registered (\`meterproof worker register\`)`,
  ComputeEscrow__ApprovalLapsed: (a) =>
    `${key(a[0])}: the segment ends at ${millis(a[1])}, after its approval lapsed (${millis(a[2])}): time after an ` +
    "approval lapses is not paid; the attestor renews it (`meterproof attest approve`)",
  ComputeEscrow__BondBelowMinimum: (a) =>
    `${key(a[0])} has a bond of ${String(a[1])} base units, below the network's minimum of ${String(a[2])}: ` +
    "a worker earns only while bonded (`meterproof worker bond`)",
  // UsageVerifier
  UsageVerifier__EmptyBatch: () => "the batch holds no segment",
  UsageVerifier__InvalidBatch: (a) =>
    `the batch of ${String(a[1])} proofs for circuit ${String(a[0])} did not verify: at least one proof is invalid ` +
    "(`meterproof verify` finds which)",
  UsageVerifier__InvalidProof: (a) =>
    `the proof does not verify for job tag ${String(a[0])} and ${key(a[1])}: the bundle belongs to another job, ` +
    "terms or chain, or was changed",
  UsageVerifier__InvalidWindow: (a) => `the window ${String(a[0])}..${String(a[1])} ms is empty or reversed`,
  UsageVerifier__LaneOverlap: (a) =>
    `${key(a[0])}: the segment runs to ${millis(a[1])}, into the worker's next lane, which starts at ${millis(a[2])}`,
  UsageVerifier__MixedCircuits: (a) =>
    `a batch is for one circuit, and it mixes circuits ${String(a[0])} and ${String(a[1])}; submit them apart`,
  UsageVerifier__NotAContract: (a) => `${String(a[0])} is not a contract`,
  UsageVerifier__SegmentAlreadyAccepted: (a) =>
    `this segment of ${key(a[1])} was accepted already; nothing to do`,
  UsageVerifier__StalePrevHead: (a) =>
    `${key(a[1])}: the segment continues head ${String(a[3])} but the lane is at ${String(a[2])}; ` +
    "submit the lane's segments in order",
  UsageVerifier__TimeAlreadyBilled: (a) =>
    `${key(a[0])}: the segment starts at ${millis(a[1])}, inside time the worker already billed (to ${millis(a[2])})`,
  UsageVerifier__UnknownJobIndex: (a) =>
    `batch entry ${String(a[0])} names job index ${String(a[1])}, which is not in the batch`,
  UsageVerifier__WrongLaneAfter: (a) =>
    `${key(a[0])}: the lane does not go after lane ${String(a[1])}; \`meterproof submit\` computes laneAfter from the chain`,
  // WorkerRegistry
  WorkerRegistry__AlreadyRegistered: (a) => `${key(a[0])} is registered already`,
  WorkerRegistry__EmptyDeviceClass: () => "the device class must not be empty",
  WorkerRegistry__EmptyGpuUuidHash: () => "the GPU UUID hash must not be zero",
  WorkerRegistry__GpuAlreadyRegistered: (a) =>
    `the GPU ${String(a[0])} is held by ${key(a[1])}; an attestor or the admin can release it (\`releaseGpu\`)`,
  WorkerRegistry__GpuReleased: (a) => `${key(a[0])} lost its GPU to a release and cannot be reactivated`,
  WorkerRegistry__InvalidKeyHash: (a) =>
    `${String(a[0])} is not a worker key hash (a field element, not zero)`,
  WorkerRegistry__InvalidKeyProof: (a) =>
    `the key-possession proof for ${key(a[0])} does not verify for binding ${String(a[1])}: ` +
    "it was made for another provider, registry or chain",
  WorkerRegistry__NotAContract: (a) => `${String(a[0])} is not a contract`,
  WorkerRegistry__NotAttestorOrAdmin: (a) => `${String(a[0])} is neither an attestor nor the admin`,
  WorkerRegistry__NotWorkerProvider: (a) => `${String(a[1])} is not the provider of ${key(a[0])}`,
  WorkerRegistry__UnknownGpu: (a) => `no worker holds the GPU ${String(a[0])}`,
  WorkerRegistry__UnknownWorker: (a) => `${key(a[0])} is not registered (\`meterproof worker list\`)`,
  WorkerRegistry__ApprovalExpiryNotInFuture: (a) =>
    `the approval's expiry ${seconds(a[0])} must be after the current block time ${seconds(a[1])}`,
  WorkerRegistry__BondsDisabled: () => "this network has no bond token: bonds are off",
  WorkerRegistry__DeviceAlreadyApproved: (a) =>
    `the attested device ${String(a[0])} is held by ${key(a[1])}, which has a current approval: one key per device`,
  WorkerRegistry__EmptyEvidenceHash: () => "the evidence hash must not be zero",
  WorkerRegistry__EmptyReason: () => "a revocation must name its reason (a non-zero hash)",
  WorkerRegistry__InvalidAmount: (a) => `the amount must be positive, got ${String(a[0])}`,
  WorkerRegistry__InvalidReporter: () => "the reporter must be a non-zero address",
  WorkerRegistry__KeySlashed: (a) =>
    `${key(a[0])} was revoked for cause at ${seconds(a[1])} and is off for good`,
  WorkerRegistry__MinimumBondWithoutToken: (a) => `a minimum bond of ${String(a[0])} needs a bond token`,
  WorkerRegistry__NotApproved: (a) => `${key(a[0])} has no current approval`,
  WorkerRegistry__NothingUnbonding: (a) =>
    `${key(a[0])} has nothing unbonding (\`meterproof worker unbond\` first)`,
  WorkerRegistry__ReporterShareTooHigh: (a) => `a reporter share of ${String(a[0])} bps is above 10000 bps`,
  WorkerRegistry__UnbondDelayTooShort: (a) =>
    `an unbond delay of ${String(a[0])} s is shorter than two challenge windows (${String(a[1])} s)`,
  WorkerRegistry__UnbondExceedsBond: (a) =>
    `${key(a[0])}: cannot unbond ${String(a[1])} base units of a bond of ${String(a[2])}`,
  WorkerRegistry__UnbondNotReady: (a) => `${key(a[0])}: the stake unbonds at ${seconds(a[1])}, not before`,
  WorkerRegistry__UnsupportedToken: (a) =>
    `the bond token ${String(a[0])} delivered ${String(a[2])} base units for a transfer of ${String(a[1])} ` +
    "(fee-on-transfer and rebasing tokens are not supported)",
  // PlausibilityChallenge
  PlausibilityChallenge__NotAContract: (a) => `${String(a[0])} has no code`,
  PlausibilityChallenge__NoChallengeWindow: (a) =>
    `escrow ${String(a[0])} has no challenge window: its payouts are final at once, so nothing can be challenged`,
  PlausibilityChallenge__InvalidRule: (a) =>
    `the energy rule ${String(a[0])}–${String(a[1])} bps ± ${String(a[2])} µJ is out of range ` +
    "(lo at most 10000, hi from 10000 to 2^32 - 1, slack below 2^48)",
  PlausibilityChallenge__InvalidMaxRecords: () => "the challenge circuit size must be at least 1",
  PlausibilityChallenge__NoSegment: () =>
    "name the challenged segment (and the later segments of its bucket)",
  PlausibilityChallenge__SegmentNotPending: (a) =>
    `segment ${String(a[2])} of ${key(a[1])} in job ${String(a[0])} is not in a pending bucket with these heads: ` +
    "it was not accepted, its pay left the window or was settled, or the bucket's later segments are missing " +
    "(`meterproof challenge` finds them from the escrow's events)",
  PlausibilityChallenge__WindowPassed: (a) =>
    `the challenge window of ${key(a[1])}'s pay in job ${String(a[0])} ended at ${seconds(a[2])}: that pay is final`,
  PlausibilityChallenge__InvalidProof: (a) =>
    `the proof does not show an implausible record in segment ${String(a[2])} of ${key(a[1])} for this rule and ` +
    "sender: a proof names its challenger, so it cannot be sent from another account",
  // Verifiers
  SegmentVerifierRouter__UnknownCircuit: (a) =>
    `no verifier is registered for circuit ${String(a[0])}; the deployment does not support this segment size`,
  SegmentVerifierRouter__SignalNotInField: (a) =>
    `public signal ${String(a[0])} is not below the field modulus`,
};

/** The sentence for a decoded revert: the rule, the fix where there is one, then the error's name. */
export function explainContractError(decoded: DecodedContractError): string {
  const explain = SENTENCES[decoded.name];
  if (decoded.name === "Error") return `reverted with "${String(decoded.args[0])}"`;
  if (decoded.name === "Panic") return `the contract panicked (code ${String(decoded.args[0])})`;
  if (!explain) return decoded.text;
  return `${explain(decoded.args)} (${decoded.name})`;
}
