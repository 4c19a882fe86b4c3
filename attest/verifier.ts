/**
 * One verifier interface for hardware evidence. A format module (sev-snp.ts, nvidia.ts; Intel
 * TDX can join) checks the vendor's signature chain up to a root the attestor pinned, the
 * binding to the worker key, and the measurement allow-list, and reports what it attested.
 */
import { createHash } from "node:crypto";
import type { AttestationPolicy } from "./policy.ts";

/** Evidence formats this version reads. */
export const EVIDENCE_FORMATS = ["sev-snp", "nvidia-nras"] as const;
export type EvidenceFormat = (typeof EVIDENCE_FORMATS)[number];

export interface VerifyContext {
  /** The 32-byte binding (binding.ts) the evidence must carry, 0x hex. */
  binding: string;
  policy: AttestationPolicy;
  now: Date;
}

/** What a verified piece of evidence shows. */
export interface VerifiedEvidence {
  format: EvidenceFormat;
  /** The attested device identity as the vendor gives it (SEV-SNP CHIP_ID hex, NVIDIA UEID), or null. */
  deviceId: string | null;
  /** bytes32 for the registry: deviceIdHash(format, deviceId), or zero when the evidence has none. */
  deviceIdHash: string;
  /** The measurement matched against the allow-list. */
  measurement: string;
  /** bytes32: SHA-256 of the vendor-signed bytes (the raw report, or the signed result token). */
  evidenceHash: string;
  /** The evidence is valid in [validFrom, validUntil] (certificates, token lifetime). */
  validFrom: Date;
  validUntil: Date;
  /** Who signed it: the leaf certificate's subject or the token key's id. */
  signer: string;
  /** Format-specific facts worth printing (TCB, policy, driver version…). */
  details: Record<string, string>;
}

export interface EvidenceVerifier<E> {
  format: EvidenceFormat;
  verify(evidence: E, ctx: VerifyContext): Promise<VerifiedEvidence>;
}

export const ZERO_BYTES32 = "0x" + "00".repeat(32);

/** SHA-256 as 0x hex. */
export function sha256Hex(data: Uint8Array | string): string {
  return "0x" + createHash("sha256").update(data).digest("hex");
}

/**
 * `deviceIdHash = SHA-256("meterproof.device.v1:" || format || ":" || id)`: the format is part of
 * it so ids of different vendors never collide.
 */
export function deviceIdHash(format: EvidenceFormat, deviceId: string | null): string {
  if (deviceId === null) return ZERO_BYTES32;
  return sha256Hex(`meterproof.device.v1:${format}:${deviceId}`);
}
