/**
 * AMD SEV-SNP attestation reports (SEV-SNP ABI spec, ATTESTATION_REPORT, versions 2 to 5; 1184
 * bytes, little-endian). The report is signed with ECDSA P-384 / SHA-384 over bytes 0x000-0x29F
 * by the chip's VCEK (certified by the ASK) or, on clouds that load one, a VLEK (certified by
 * the ASVK); either CA is certified by the ARK (RSA-PSS SHA-384), which the attestor pins. The
 * key's extensions name the TCB it was issued for, and a VCEK's the chip (HWID): they must
 * match the report.
 */
import { createPublicKey, verify as verifySignature } from "node:crypto";
import { AttestError, malformed } from "./errors.ts";
import {
  deviceIdHash,
  sha256Hex,
  type EvidenceVerifier,
  type VerifiedEvidence,
  type VerifyContext,
} from "./verifier.ts";
import { verifyChain, type X509Certificate } from "./x509-chain.ts";

export const REPORT_SIZE = 0x4a0;
/** The signature covers the report up to here. */
export const SIGNED_SIZE = 0x2a0;

/** Byte offsets of the fields the verifier reads. */
export const OFFSET = {
  version: 0x00,
  policy: 0x08,
  vmpl: 0x30,
  signatureAlgo: 0x34,
  currentTcb: 0x38,
  flags: 0x48,
  reportData: 0x50,
  measurement: 0x90,
  hostData: 0xc0,
  reportedTcb: 0x180,
  chipId: 0x1a0,
  signatureR: 0x2a0,
  signatureS: 0x2e8,
} as const;

/** SIGNATURE_ALGO 1: ECDSA P-384 with SHA-384. */
const ECDSA_P384_SHA384 = 1;
/** Guest policy bit 19: debugging allowed. */
const POLICY_DEBUG = 1n << 19n;
/** FLAGS bit 1: CHIP_ID masked (all zero). */
const FLAG_MASK_CHIP_ID = 1 << 1;

/** AMD's VCEK/VLEK extensions (AMD "Versioned Chip Endorsement Key" spec, table 8). */
const OID = {
  productName: "1.3.6.1.4.1.3704.1.2",
  blSpl: "1.3.6.1.4.1.3704.1.3.1",
  teeSpl: "1.3.6.1.4.1.3704.1.3.2",
  snpSpl: "1.3.6.1.4.1.3704.1.3.3",
  ucodeSpl: "1.3.6.1.4.1.3704.1.3.8",
  fmcSpl: "1.3.6.1.4.1.3704.1.3.9",
  hwId: "1.3.6.1.4.1.3704.1.4",
  cspId: "1.3.6.1.4.1.3704.1.5",
} as const;

/** The report, the endorsement key that signed it (a VCEK or a VLEK) and the CA certificates that came with it. */
export type SevSnpEvidence = {
  /** The raw 1184-byte report. */
  report: Uint8Array;
  /** Certificates that came with the report (ASK or ASVK, ARK): intermediates only. */
  chain: X509Certificate[];
} & ({ vcek: X509Certificate; vlek?: undefined } | { vlek: X509Certificate; vcek?: undefined });

/** SIGNING_KEY values of the report's flags. */
const SIGNING_KEYS = ["VCEK", "VLEK"] as const;

/** A TCB version: security patch levels of the firmware components. */
export interface Tcb {
  bootloader: number;
  tee: number;
  snp: number;
  microcode: number;
  fmc?: number;
}

/** The fields of a report that the checks use. */
export interface SnpReport {
  version: number;
  policy: bigint;
  vmpl: number;
  signatureAlgo: number;
  flags: number;
  reportData: Buffer;
  measurement: string;
  hostData: string;
  reportedTcbRaw: Buffer;
  chipId: Buffer;
}

export function parseReport(report: Uint8Array): SnpReport {
  if (report.length !== REPORT_SIZE)
    throw malformed(
      "report",
      `must be ${REPORT_SIZE} bytes (an SEV-SNP ATTESTATION_REPORT), got ${report.length}`,
    );
  const b = Buffer.from(report);
  const version = b.readUInt32LE(OFFSET.version);
  if (version < 2 || version > 5) throw malformed("report version", `must be 2 to 5, got ${version}`);
  return {
    version,
    policy: b.readBigUInt64LE(OFFSET.policy),
    vmpl: b.readUInt32LE(OFFSET.vmpl),
    signatureAlgo: b.readUInt32LE(OFFSET.signatureAlgo),
    flags: b.readUInt32LE(OFFSET.flags),
    reportData: b.subarray(OFFSET.reportData, OFFSET.reportData + 64),
    measurement: b.subarray(OFFSET.measurement, OFFSET.measurement + 48).toString("hex"),
    hostData: b.subarray(OFFSET.hostData, OFFSET.hostData + 32).toString("hex"),
    reportedTcbRaw: b.subarray(OFFSET.reportedTcb, OFFSET.reportedTcb + 8),
    chipId: b.subarray(OFFSET.chipId, OFFSET.chipId + 64),
  };
}

/** TCB_VERSION layout: Milan and Genoa (bl, tee, 4 reserved, snp, ucode); Turin (fmc, bl, tee, snp, 3 reserved, ucode). */
export function decodeTcb(raw: Buffer, turin: boolean): Tcb {
  return turin
    ? { fmc: raw[0]!, bootloader: raw[1]!, tee: raw[2]!, snp: raw[3]!, microcode: raw[7]! }
    : { bootloader: raw[0]!, tee: raw[1]!, snp: raw[6]!, microcode: raw[7]! };
}

/** The report's signature as IEEE P1363 (r || s, big-endian), from its 72-byte little-endian fields. */
function signatureP1363(b: Buffer): Buffer {
  const field = (offset: number, name: string) => {
    const le = b.subarray(offset, offset + 72);
    // P-384 scalars take 48 bytes; the rest of the field is zero.
    if (le.subarray(48).some((x) => x !== 0))
      throw new AttestError(
        `report signature ${name}`,
        "must fit in 48 bytes (P-384); its high bytes are not zero",
      );
    return Buffer.from(le.subarray(0, 48)).reverse();
  };
  return Buffer.concat([field(OFFSET.signatureR, "r"), field(OFFSET.signatureS, "s")]);
}

/** A DER INTEGER (small, non-negative) or IA5String extension value. */
function extValue(cert: X509Certificate, oid: string): Buffer | undefined {
  const ext = cert.extensions.find((e) => e.type === oid);
  return ext ? Buffer.from(ext.value) : undefined;
}

function extInteger(cert: X509Certificate, oid: string, name: string, kind: string): number | undefined {
  const v = extValue(cert, oid);
  if (v === undefined) return undefined;
  // DER INTEGER of one or two content bytes: 0x02 len value.
  if (v[0] !== 0x02 || v[1] === undefined || v[1] < 1 || v[1] > 2 || v.length !== 2 + v[1])
    throw malformed(`${kind} extension ${name}`, "must be a small DER INTEGER");
  return v.length === 3 ? v[2]! : v.readUInt16BE(2);
}

function certifiedTcb(cert: X509Certificate, kind: string): Tcb {
  const need = (oid: string, name: string) => {
    const n = extInteger(cert, oid, name, kind);
    if (n === undefined)
      throw new AttestError(`${kind} extension ${name}`, `(${oid}) is missing: not an AMD ${kind}`);
    return n;
  };
  const fmc = extInteger(cert, OID.fmcSpl, "fmcSPL", kind);
  return {
    bootloader: need(OID.blSpl, "blSPL"),
    tee: need(OID.teeSpl, "teeSPL"),
    snp: need(OID.snpSpl, "snpSPL"),
    microcode: need(OID.ucodeSpl, "ucodeSPL"),
    ...(fmc !== undefined ? { fmc } : {}),
  };
}

function vcekHwId(cert: X509Certificate): Buffer {
  const v = extValue(cert, OID.hwId);
  if (v === undefined) throw new AttestError("VCEK extension hwID", `(${OID.hwId}) is missing: not a VCEK`);
  // AMD's KDS writes the 64 bytes raw; accept a DER OCTET STRING around them as well.
  if (v.length === 64) return v;
  if (v.length === 66 && v[0] === 0x04 && v[1] === 0x40) return v.subarray(2);
  throw malformed("VCEK extension hwID", `must be 64 bytes, got ${v.length}`);
}

/** An IA5String extension (0x16 len bytes), or `fallback`. */
function extString(cert: X509Certificate, oid: string, fallback: string): string {
  const v = extValue(cert, oid);
  if (v && v[0] === 0x16 && v[1] === v.length - 2) return v.subarray(2).toString("ascii");
  return fallback;
}

const fmtTcb = (t: Tcb) =>
  `bl=${t.bootloader} tee=${t.tee} snp=${t.snp} ucode=${t.microcode}${t.fmc !== undefined ? ` fmc=${t.fmc}` : ""}`;

export const sevSnpVerifier: EvidenceVerifier<SevSnpEvidence> = {
  format: "sev-snp",
  async verify(ev: SevSnpEvidence, ctx: VerifyContext): Promise<VerifiedEvidence> {
    const policy = ctx.policy.sevSnp;
    if (!policy)
      throw malformed("--policy sevSnp", "is not configured: this attestor accepts no SEV-SNP evidence");
    const r = parseReport(ev.report);
    const raw = Buffer.from(ev.report);
    const kind = ev.vlek ? "VLEK" : "VCEK";
    const cert = (ev.vlek ?? ev.vcek)!;

    // 1. The chain VCEK -> ASK (or VLEK -> ASVK) -> pinned ARK, each valid now.
    const chain = await verifyChain({
      leaf: cert,
      intermediates: [...ev.chain, ...policy.intermediates],
      roots: policy.roots,
      now: ctx.now,
      labels: [kind, kind === "VCEK" ? "ASK" : "ASVK", "ARK"],
    });

    // 2. That key signed exactly these bytes.
    if (r.signatureAlgo !== ECDSA_P384_SHA384)
      throw new AttestError(
        "report signature_algo",
        `must be 1 (ECDSA P-384 with SHA-384), got ${r.signatureAlgo}`,
      );
    const signingKey = (r.flags >> 2) & 0b111;
    if (SIGNING_KEYS[signingKey] !== kind)
      throw new AttestError(
        "report SIGNING_KEY",
        `is ${signingKey} (${SIGNING_KEYS[signingKey] ?? "unknown"}), but the evidence holds a ${kind} (0 = VCEK, 1 = VLEK)`,
      );
    const key = createPublicKey({ key: Buffer.from(cert.publicKey.rawData), format: "der", type: "spki" });
    const ok = verifySignature(
      "sha384",
      raw.subarray(0, SIGNED_SIZE),
      { key, dsaEncoding: "ieee-p1363" },
      signatureP1363(raw),
    );
    if (!ok)
      throw new AttestError(
        "report signature",
        `does not verify under the ${kind}'s key (a report byte was changed, or another chip signed it)`,
      );

    // 3. Bound to this worker key, registry, chain and challenge.
    const expected = Buffer.concat([Buffer.from(ctx.binding.slice(2), "hex"), Buffer.alloc(32)]);
    if (!r.reportData.equals(expected))
      throw new AttestError(
        "report REPORT_DATA",
        `must be the binding ${ctx.binding} followed by 32 zero bytes (worker key, registry, chain id and challenge), ` +
          `got 0x${r.reportData.toString("hex")}`,
      );

    // 4. The guest runs an image the attestor allows, without debugging.
    if (!policy.measurements.has(r.measurement))
      throw new AttestError("report MEASUREMENT", `0x${r.measurement} is not in the policy's allow-list`);
    if ((r.policy & POLICY_DEBUG) !== 0n && !policy.allowDebug)
      throw new AttestError(
        "report POLICY",
        "allows debugging (bit 19), which the policy refuses (sevSnp.allowDebug)",
      );

    // 5. The key was issued for this report's TCB (and a VCEK for this chip).
    const product = extString(cert, OID.productName, "unknown");
    const reported = decodeTcb(r.reportedTcbRaw, product.startsWith("Turin"));
    const certified = certifiedTcb(cert, kind);
    for (const k of ["bootloader", "tee", "snp", "microcode", "fmc"] as const) {
      if (certified[k] !== undefined && reported[k] !== certified[k])
        throw new AttestError(
          `report REPORTED_TCB.${k}`,
          `is ${reported[k]}, but the ${kind} was issued for ${certified[k]} (${fmtTcb(certified)})`,
        );
    }
    for (const k of ["bootloader", "tee", "snp", "microcode"] as const) {
      const min = policy.minTcb?.[k];
      if (min !== undefined && reported[k] < min)
        throw new AttestError(
          `report REPORTED_TCB.${k}`,
          `is ${reported[k]}, below the policy's minimum ${min} (sevSnp.minTcb): firmware too old`,
        );
    }
    const masked = (r.flags & FLAG_MASK_CHIP_ID) !== 0;
    let deviceId: string | null = null;
    if (!masked) {
      // A VLEK belongs to a cloud provider, not a chip: the firmware-signed CHIP_ID stands alone.
      if (kind === "VCEK") {
        const hwId = vcekHwId(cert);
        if (!hwId.equals(r.chipId))
          throw new AttestError("report CHIP_ID", `does not match the VCEK's hwID 0x${hwId.toString("hex")}`);
      }
      deviceId = r.chipId.toString("hex");
    }
    return {
      format: "sev-snp",
      deviceId,
      deviceIdHash: deviceIdHash("sev-snp", deviceId),
      measurement: r.measurement,
      evidenceHash: sha256Hex(raw),
      validFrom: chain.validFrom,
      validUntil: chain.validUntil,
      signer: cert.subject,
      details: {
        endorsementKey: kind,
        ...(kind === "VLEK" ? { cspId: extString(cert, OID.cspId, "unknown") } : {}),
        product,
        reportVersion: String(r.version),
        guestPolicy: "0x" + r.policy.toString(16),
        vmpl: String(r.vmpl),
        reportedTcb: fmtTcb(reported),
        hostData: "0x" + r.hostData,
        chipId: masked ? "masked" : "0x" + r.chipId.toString("hex"),
        root: chain.path[chain.path.length - 1]!.subject,
      },
    };
  },
};
