/**
 * The attestor's policy: which roots it trusts per format and which measurements it accepts.
 * A JSON file; certificate and key-set paths in it are relative to the file.
 *
 * {
 *   "kind": "meterproof-attestation-policy", "version": 1,
 *   "sevSnp": { "roots": ["amd-ark-milan.pem"], "intermediates": ["amd-ask-milan.pem"],
 *               "measurements": ["<96 hex digits>"], "allowDebug": false,
 *               "minTcb": { "bootloader": 3, "tee": 0, "snp": 14, "microcode": 209 } },
 *   "nvidia": { "jwks": "nras-jwks.json", "issuer": "https://nras.attestation.nvidia.com",
 *               "measurements": ["hwmodel=GH100 A01 GSP BROM;driver=550.54.15;vbios=96.00.74.00.1C"],
 *               "roots": ["nvidia-attestation-root.pem"] }
 * }
 */
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type { JSONWebKeySet } from "jose";
import { z } from "zod";
import { malformed } from "./errors.ts";
import { parseCertificates, type X509Certificate } from "./x509-chain.ts";

export interface SevSnpPolicy {
  /** Pinned ARKs (self-signed). */
  roots: X509Certificate[];
  /** ASKs the attestor keeps itself (the evidence may bring its own). */
  intermediates: X509Certificate[];
  /** Allowed launch measurements, lower-case hex (48 bytes). */
  measurements: Set<string>;
  /** Accept guests whose policy allows debugging (the hypervisor can read their memory). */
  allowDebug: boolean;
  /** Lowest firmware patch levels accepted (older ones have known flaws AMD fixed since). */
  minTcb?: { bootloader: number; tee: number; snp: number; microcode: number };
}

export interface NvidiaPolicy {
  /** Keys the result tokens must be signed with (NRAS's published JWKS, pinned). */
  jwks: JSONWebKeySet;
  /** Expected `iss` of the tokens. */
  issuer: string;
  measurements: Set<string>;
  /**
   * Optional roots for the keys' `x5c` chains: when given, a token key must carry a certificate
   * chain to one of them, so a JWKS fetched later cannot slip in a key NVIDIA did not certify.
   */
  roots?: X509Certificate[];
}

export interface AttestationPolicy {
  sevSnp?: SevSnpPolicy;
  nvidia?: NvidiaPolicy;
}

/** A security patch level: one byte. */
const spl = z.number().int().min(0).max(255);

const fileSchema = z.object({
  kind: z.literal("meterproof-attestation-policy"),
  version: z.literal(1),
  sevSnp: z
    .object({
      roots: z.array(z.string()).min(1),
      intermediates: z.array(z.string()).default([]),
      measurements: z.array(z.string().regex(/^[0-9a-fA-F]{96}$/, "must be 96 hex digits (48 bytes)")).min(1),
      allowDebug: z.boolean().default(false),
      minTcb: z.object({ bootloader: spl, tee: spl, snp: spl, microcode: spl }).strict().optional(),
    })
    .strict()
    .optional(),
  nvidia: z
    .object({
      jwks: z.string(),
      issuer: z.string().min(1),
      measurements: z.array(z.string().min(1)).min(1),
      roots: z.array(z.string()).min(1).optional(),
    })
    .strict()
    .optional(),
});

export type PolicyFile = z.input<typeof fileSchema>;

function read(field: string, path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    throw malformed(field, `must be a readable file (${(err as Error).message})`);
  }
}

/** Reads and checks a policy file. */
export function loadPolicy(path: string): AttestationPolicy {
  let raw: unknown;
  try {
    raw = JSON.parse(read("--policy", path));
  } catch (err) {
    if (err instanceof SyntaxError) throw malformed("--policy", `must be JSON (${err.message})`);
    throw err;
  }
  const parsed = fileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw malformed(`--policy ${issue.path.join(".") || "(root)"}`, issue.message);
  }
  const base = dirname(resolve(path));
  const certs = (field: string, files: string[]) =>
    files.flatMap((f, i) =>
      parseCertificates(`--policy ${field}[${i}]`, read(`--policy ${field}[${i}]`, resolve(base, f))),
    );
  const policy: AttestationPolicy = {};
  const snp = parsed.data.sevSnp;
  if (snp) {
    policy.sevSnp = {
      roots: certs("sevSnp.roots", snp.roots),
      intermediates: certs("sevSnp.intermediates", snp.intermediates),
      measurements: new Set(snp.measurements.map((m) => m.toLowerCase())),
      allowDebug: snp.allowDebug,
      ...(snp.minTcb ? { minTcb: snp.minTcb } : {}),
    };
  }
  const nv = parsed.data.nvidia;
  if (nv) {
    let jwks: JSONWebKeySet;
    try {
      jwks = JSON.parse(read("--policy nvidia.jwks", resolve(base, nv.jwks))) as JSONWebKeySet;
    } catch (err) {
      throw malformed("--policy nvidia.jwks", `must be a JSON Web Key Set (${(err as Error).message})`);
    }
    if (!Array.isArray(jwks.keys) || jwks.keys.length === 0)
      throw malformed("--policy nvidia.jwks", "must hold a non-empty `keys` array");
    policy.nvidia = {
      jwks,
      issuer: nv.issuer,
      measurements: new Set(nv.measurements),
      ...(nv.roots ? { roots: certs("nvidia.roots", nv.roots) } : {}),
    };
  }
  if (!policy.sevSnp && !policy.nvidia)
    throw malformed("--policy", "must configure sevSnp or nvidia (or both)");
  return policy;
}
