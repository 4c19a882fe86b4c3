/**
 * The attestor's check of one piece of evidence against the challenge it issued: the evidence
 * is for the key, registry and chain the challenge names, the challenge is neither expired nor
 * used, and the format's verifier accepts it with the binding the challenge gives.
 */
import { attestationBinding } from "./binding.ts";
import { AttestError } from "./errors.ts";
import type { ChallengeFile, EvidenceFile } from "./files.ts";
import { nvidiaVerifier } from "./nvidia.ts";
import type { AttestationPolicy } from "./policy.ts";
import { sevSnpVerifier } from "./sev-snp.ts";
import type { VerifiedEvidence } from "./verifier.ts";
import { parseCertificates } from "./x509-chain.ts";

export interface AttestationResult extends VerifiedEvidence {
  workerKeyHash: bigint;
  chainId: bigint;
  registry: string;
  binding: string;
}

export async function verifyAttestation(opts: {
  evidence: EvidenceFile;
  challenge: ChallengeFile;
  policy: AttestationPolicy;
  now: Date;
  /**
   * Re-examine evidence behind an approval already made (audits): a used challenge is not
   * refused. An approval never sets this.
   */
  reexamine?: boolean;
}): Promise<AttestationResult> {
  const { evidence: ev, challenge: ch, now } = opts;
  for (const field of ["workerKeyHash", "chainId", "registry", "challenge"] as const) {
    if (ev[field] !== ch[field])
      throw new AttestError(
        `evidence ${field}`,
        `must be the challenge's (${ch[field]}), got ${ev[field]}: the evidence answers another challenge`,
      );
  }
  if (ch.usedBy !== undefined && !opts.reexamine)
    throw new AttestError(
      "challenge",
      `was already used (${ch.usedBy}): issue a fresh one with \`meterproof attest challenge\``,
    );
  if (now > new Date(ch.expiresAt))
    throw new AttestError(
      "challenge expiresAt",
      `passed at ${ch.expiresAt} (now ${now.toISOString()}): issue a fresh one`,
    );

  const target = {
    workerKeyHash: BigInt(ch.workerKeyHash),
    chainId: BigInt(ch.chainId),
    registry: ch.registry,
    challenge: ch.challenge,
  };
  const binding = attestationBinding(target);
  const ctx = { binding, policy: opts.policy, now };
  let verified: VerifiedEvidence;
  if (ev.format === "sev-snp") {
    const s = ev.sevSnp!;
    const kind = s.vlek !== undefined ? "vlek" : "vcek";
    const certs = parseCertificates(`evidence sevSnp.${kind}`, (s.vlek ?? s.vcek)!);
    if (certs.length !== 1)
      throw new AttestError(
        `evidence sevSnp.${kind}`,
        `must hold one certificate, got ${certs.length}`,
        "malformed",
      );
    const chain = s.chain.trim() === "" ? [] : parseCertificates("evidence sevSnp.chain", s.chain);
    const report = Buffer.from(s.report, "base64");
    verified = await sevSnpVerifier.verify(
      kind === "vlek" ? { report, vlek: certs[0]!, chain } : { report, vcek: certs[0]!, chain },
      ctx,
    );
  } else {
    verified = await nvidiaVerifier.verify(ev.nvidia!.detachedEat, ctx);
  }
  return { ...verified, ...target, binding };
}

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/**
 * The approval's expiry (unix seconds) from `--expires`: a duration (`30d`, `12h`), an ISO date or
 * unix seconds. It must lie after now and no later than the evidence is valid.
 */
export function approvalExpiry(requested: string, now: Date, validUntil: Date): bigint {
  const nowS = Math.floor(now.getTime() / 1000);
  let at: number;
  const dur = /^([0-9]+)([smhd])$/.exec(requested);
  if (dur) at = nowS + Number(dur[1]) * UNITS[dur[2]!]!;
  else if (/^[0-9]+$/.test(requested)) at = Number(requested);
  else {
    const t = Date.parse(requested);
    if (Number.isNaN(t))
      throw new AttestError(
        "--expires",
        `must be a duration (30d, 12h, 90m), an ISO date or unix seconds, got ${JSON.stringify(requested)}`,
        "malformed",
      );
    at = Math.floor(t / 1000);
  }
  if (at <= nowS)
    throw new AttestError(
      "--expires",
      `must lie in the future, got ${new Date(at * 1000).toISOString()}`,
      "malformed",
    );
  const limit = Math.floor(validUntil.getTime() / 1000);
  if (at > limit)
    throw new AttestError(
      "--expires",
      `must be no later than the evidence is valid (${validUntil.toISOString()}), got ${new Date(at * 1000).toISOString()}`,
      "malformed",
    );
  return BigInt(at);
}
