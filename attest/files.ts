/**
 * The two files that pass between attestor and provider: the attestor's challenge (fresh, for
 * one worker key on one registry and chain, used once) and the provider's evidence.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { getAddress } from "ethers";
import { z } from "zod";
import { malformed } from "./errors.ts";
import { EVIDENCE_FORMATS } from "./verifier.ts";
import { detachedEatSchema } from "./nvidia.ts";

const bytes32 = z.string().regex(/^0x[0-9a-f]{64}$/, "must be 0x followed by 64 lower-case hex digits");
const uintString = z.string().regex(/^[1-9][0-9]*$/, "must be a positive decimal integer");
const address = z.string().refine((v) => {
  try {
    return getAddress(v) === v;
  } catch {
    return false;
  }
}, "must be a checksummed 20-byte address");
const isoTime = z.iso.datetime();

export const challengeFileSchema = z
  .object({
    kind: z.literal("meterproof-attestation-challenge"),
    version: z.literal(1),
    challenge: bytes32,
    workerKeyHash: uintString,
    chainId: uintString,
    registry: address,
    issuedAt: isoTime,
    expiresAt: isoTime,
    /** Set when an approval used the challenge: a challenge is good for one approval. */
    usedBy: z.string().optional(),
  })
  .strict();
export type ChallengeFile = z.infer<typeof challengeFileSchema>;

export const evidenceFileSchema = z
  .object({
    kind: z.literal("meterproof-attestation-evidence"),
    version: z.literal(1),
    format: z.enum(EVIDENCE_FORMATS),
    workerKeyHash: uintString,
    chainId: uintString,
    registry: address,
    challenge: bytes32,
    collectedAt: isoTime,
    /** The vendor tool that produced the evidence, as run. */
    tool: z.string(),
    sevSnp: z
      .object({
        /** The raw 1184-byte report, base64. */
        report: z.string().min(1),
        /** PEM of the VCEK that signed the report, or */
        vcek: z.string().min(1).optional(),
        /** PEM of the VLEK that signed it (cloud hosts). */
        vlek: z.string().min(1).optional(),
        /** PEM of the ASK or ASVK (and ARK) the tool fetched: intermediates only, never trusted as roots. */
        chain: z.string().default(""),
      })
      .strict()
      .refine((v) => (v.vcek === undefined) !== (v.vlek === undefined), {
        message: "must hold exactly one of vcek and vlek",
      })
      .optional(),
    nvidia: z.object({ detachedEat: detachedEatSchema }).strict().optional(),
  })
  .strict()
  .superRefine((v, ctx) => {
    const body = v.format === "sev-snp" ? v.sevSnp : v.nvidia;
    if (!body)
      ctx.addIssue({
        code: "custom",
        path: [v.format === "sev-snp" ? "sevSnp" : "nvidia"],
        message: `is required for format ${v.format}`,
      });
  });
export type EvidenceFile = z.infer<typeof evidenceFileSchema>;

function readJson(field: string, path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw malformed(field, `must be a readable file (${(err as Error).message})`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw malformed(field, `must be JSON (${(err as Error).message})`);
  }
}

function parseWith<T>(field: string, schema: z.ZodType<T>, raw: unknown): T {
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw malformed(`${field} ${issue.path.join(".") || "(root)"}`, issue.message);
  }
  return parsed.data;
}

export function readChallengeFile(path: string, field = "--challenge"): ChallengeFile {
  return parseWith(field, challengeFileSchema, readJson(field, path));
}

export function readEvidenceFile(path: string, field = "--evidence"): EvidenceFile {
  return parseWith(field, evidenceFileSchema, readJson(field, path));
}

export function parseEvidence(raw: unknown, field = "evidence"): EvidenceFile {
  return parseWith(field, evidenceFileSchema, raw);
}

/** Writes a JSON file; `exclusive` refuses to replace an existing one. */
export function writeJsonFile(path: string, value: unknown, exclusive = true): void {
  writeFileSync(path, JSON.stringify(value, null, 2) + "\n", exclusive ? { flag: "wx" } : {});
}
