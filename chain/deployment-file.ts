import { readFileSync, writeFileSync } from "node:fs";
import { getAddress, isAddress } from "ethers";
import { z } from "zod";

/**
 * A deployment file: where one meterproof deployment lives on one chain. `meterproof deploy`
 * writes it; the other on-chain commands take it with `--deployment FILE` instead of one
 * address flag per contract. It holds no RPC URL (those often carry API keys) and no keys.
 */
const address = z
  .string()
  .refine((v) => isAddress(v), { message: "must be a 20-byte hex address with a valid EIP-55 checksum" })
  .transform((v) => getAddress(v));

export const deploymentFileSchema = z.strictObject({
  kind: z.literal("meterproof-deployment"),
  // Version 2: the registry checks key-possession proofs with its own verifier.
  version: z.literal(2, {
    error: "must be 2 (deployments of version 1 predate key-possession proofs: deploy again)",
  }),
  /** Decimal string: chain ids may exceed 2^53. */
  chainId: z
    .string()
    .regex(/^[1-9][0-9]*$/, "must be a positive decimal integer string")
    .transform((v) => BigInt(v)),
  deployer: address,
  /** Block of the first deployment transaction: event scans start here. */
  block: z.number().int("must be an integer").nonnegative("must not be negative"),
  addresses: z.strictObject({
    credit: address,
    keyVerifier: address,
    registry: address,
    router: address,
    usageVerifier: address,
    escrow: address,
    /** Generated Groth16 verifier by circuit id (segment size N). */
    verifiers: z.record(z.string().regex(/^[1-9][0-9]*$/, "must be a circuit size"), address),
    /** Generated batch verifier by circuit id. */
    batchVerifiers: z.record(z.string().regex(/^[1-9][0-9]*$/, "must be a circuit size"), address),
    /** PlausibilityChallenge and its verifier (deployments with a challenge window). */
    challenge: address.optional(),
    challengeVerifier: address.optional(),
  }),
  parameters: z.strictObject({
    maxClockSkewMs: z.number().int().nonnegative(),
    closeGracePeriod: z.number().int().nonnegative(),
    requireAttestation: z.boolean(),
    /** The registry's bond and challenge terms (absent in files written before they existed: all off). */
    stake: z
      .strictObject({
        bondToken: address,
        /** Decimal string: token amounts exceed 2^53. */
        minimumBond: z.string().regex(/^[0-9]+$/, "must be a non-negative decimal integer string"),
        unbondDelay: z.number().int().nonnegative(),
        challengeWindow: z.number().int().nonnegative(),
        reporterShareBps: z.number().int().min(0).max(10_000),
        treasury: address,
      })
      .optional(),
    /** The plausibility challenge's circuit size and energy rule (with `addresses.challenge`). */
    challenge: z
      .strictObject({
        maxRecords: z.number().int().positive(),
        loBps: z.number().int().min(0).max(10_000),
        hiBps: z.number().int().min(10_000),
        slackMicroJ: z.number().int().nonnegative(),
      })
      .optional(),
  }),
});

export type DeploymentFile = z.output<typeof deploymentFileSchema>;
export type DeploymentFileJson = z.input<typeof deploymentFileSchema>;

/** A deployment file that cannot be read or breaks the schema; the message names the field. */
export class DeploymentFileError extends Error {
  override readonly name = "DeploymentFileError";
  readonly field: string;
  readonly rule: string;
  constructor(path: string, field: string, rule: string) {
    super(`${path}: ${field} ${rule}`);
    this.field = field;
    this.rule = rule;
  }
}

/** Reads and checks a deployment file. */
export function readDeploymentFile(path: string): DeploymentFile {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new DeploymentFileError(path, "file", code === "ENOENT" ? "does not exist" : "must be JSON");
  }
  const parsed = deploymentFileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new DeploymentFileError(path, issue.path.join(".") || "deployment", issue.message);
  }
  return parsed.data;
}

/** The JSON form of a deployment (bigints as decimal strings). */
export function deploymentToJson(d: DeploymentFile): DeploymentFileJson {
  return { ...d, chainId: d.chainId.toString() };
}

/** Writes a deployment file; an existing file is never overwritten (flag "wx"), mode 0644. */
export function writeDeploymentFile(path: string, d: DeploymentFile): void {
  writeFileSync(path, JSON.stringify(deploymentToJson(d), null, 2) + "\n", { flag: "wx" });
}
