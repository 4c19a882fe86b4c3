/**
 * NVIDIA GPU confidential-computing evidence as appraised by NRAS (NVIDIA Remote Attestation
 * Service) or the local verifier: a detached EAT, `[["JWT", overall], {"GPU-0": gpuToken}]`.
 * The overall token (ES384) names each device token by its SHA-256 in `submods`; every token
 * is signed by a key in the JWKS the attestor pinned. The GPU token carries the appraisal
 * (`measres`, secure boot, debug state), the nonce and the device's UEID, the identity NVIDIA's
 * device certificate chain attests.
 */
import { createHash, createPublicKey, type JsonWebKey } from "node:crypto";
import {
  createLocalJWKSet,
  decodeProtectedHeader,
  errors as joseErrors,
  jwtVerify,
  type JWTPayload,
} from "jose";
import { z } from "zod";
import { AttestError, malformed } from "./errors.ts";
import { parseCertificates, verifyChain } from "./x509-chain.ts";
import {
  deviceIdHash,
  sha256Hex,
  type EvidenceVerifier,
  type VerifiedEvidence,
  type VerifyContext,
} from "./verifier.ts";

/** The detached EAT as NRAS and nvattest return it. */
export const detachedEatSchema = z.tuple([
  z.tuple([z.literal("JWT"), z.string().min(1)]),
  z.record(z.string(), z.string().min(1)),
]);
export type DetachedEat = z.infer<typeof detachedEatSchema>;

/** Claims the measurement string is made of, in this order. */
const MEASUREMENT_CLAIMS = ["hwmodel", "x-nvidia-gpu-driver-version", "x-nvidia-gpu-vbios-version"] as const;

/** `hwmodel=…;driver=…;vbios=…`: what the allow-list names. */
export function nvidiaMeasurement(claims: JWTPayload): string {
  const [hw, driver, vbios] = MEASUREMENT_CLAIMS.map((c) => {
    const v = claims[c];
    if (typeof v !== "string" || v === "")
      throw new AttestError(`GPU token ${c}`, "must be a non-empty string");
    return v;
  });
  return `hwmodel=${hw};driver=${driver};vbios=${vbios}`;
}

async function verifyToken(
  name: string,
  token: string,
  ctx: VerifyContext,
): Promise<{ payload: JWTPayload; kid: string }> {
  const nv = ctx.policy.nvidia!;
  let kid = "(none)";
  try {
    kid = decodeProtectedHeader(token).kid ?? "(none)";
  } catch {
    throw malformed(name, "must be a compact JWS (header.payload.signature)");
  }
  try {
    const { payload } = await jwtVerify(token, createLocalJWKSet(nv.jwks), {
      algorithms: ["ES384"],
      issuer: nv.issuer,
      currentDate: ctx.now,
      requiredClaims: ["exp", "iat", "eat_nonce"],
    });
    if (nv.roots) await checkKeyCertificate(name, kid, ctx);
    return { payload, kid };
  } catch (err) {
    if (err instanceof AttestError) throw err;
    if (err instanceof joseErrors.JWTExpired)
      throw new AttestError(
        `${name} exp`,
        `expired at ${new Date(Number(err.payload.exp) * 1000).toISOString()} (now ${ctx.now.toISOString()})`,
      );
    if (err instanceof joseErrors.JWSSignatureVerificationFailed)
      throw new AttestError(
        `${name} signature`,
        `does not verify under the pinned key ${kid} (a changed token or a forged signature)`,
      );
    if (err instanceof joseErrors.JWKSNoMatchingKey)
      throw new AttestError(`${name} kid`, `${kid} is not a key of the pinned JWKS (policy nvidia.jwks)`);
    if (err instanceof joseErrors.JWTClaimValidationFailed)
      throw new AttestError(`${name} ${err.claim}`, `fails its check: ${err.message}`);
    if (err instanceof joseErrors.JOSEAlgNotAllowed) throw new AttestError(`${name} alg`, "must be ES384");
    if (err instanceof joseErrors.JOSEError) throw malformed(name, `is not a valid JWT (${err.message})`);
    throw err;
  }
}

/** The token key's `x5c` chain must reach a pinned root, and its leaf must hold that key. */
async function checkKeyCertificate(name: string, kid: string, ctx: VerifyContext): Promise<void> {
  const nv = ctx.policy.nvidia!;
  const jwk = nv.jwks.keys.find((k) => k.kid === kid);
  const x5c = jwk?.x5c;
  if (!jwk || !Array.isArray(x5c) || x5c.length === 0)
    throw new AttestError(
      `${name} key ${kid} x5c`,
      "must hold the key's certificate chain (policy nvidia.roots is set)",
    );
  const certs = x5c
    .map((b64, i) =>
      parseCertificates(`${name} key ${kid} x5c[${i}]`, new Uint8Array(Buffer.from(b64, "base64"))),
    )
    .flat();
  const leaf = certs[0]!;
  const spki = createPublicKey({ key: jwk as JsonWebKey, format: "jwk" }).export({
    type: "spki",
    format: "der",
  });
  if (!Buffer.from(leaf.publicKey.rawData).equals(spki))
    throw new AttestError(`${name} key ${kid} x5c[0]`, "certifies another key than the JWK's");
  await verifyChain({
    leaf,
    intermediates: certs.slice(1),
    roots: nv.roots!,
    now: ctx.now,
    labels: [`${name} key certificate`, `${name} key CA`, `${name} key CA`, `${name} key CA`],
  });
}

function nonceOf(name: string, payload: JWTPayload, binding: string): void {
  const nonce = String(payload["eat_nonce"]).toLowerCase().replace(/^0x/, "");
  if (nonce !== binding.slice(2))
    throw new AttestError(
      `${name} eat_nonce`,
      `must be the binding ${binding.slice(2)} (worker key, registry, chain id and challenge), got ${nonce}`,
    );
}

export const nvidiaVerifier: EvidenceVerifier<DetachedEat> = {
  format: "nvidia-nras",
  async verify(eat: DetachedEat, ctx: VerifyContext): Promise<VerifiedEvidence> {
    const nv = ctx.policy.nvidia;
    if (!nv)
      throw malformed("--policy nvidia", "is not configured: this attestor accepts no NVIDIA evidence");
    const [[, overall], devices] = eat;
    const gpus = Object.entries(devices);
    // One worker key per GPU: evidence of several GPUs cannot approve one key.
    if (gpus.length !== 1)
      throw new AttestError(
        "detached EAT",
        `must cover exactly one GPU (one worker key per GPU), got ${gpus.length}`,
      );
    const [gpuName, gpuToken] = gpus[0]!;

    const top = await verifyToken("result token", overall, ctx);
    const gpu = await verifyToken(`GPU token ${gpuName}`, gpuToken, ctx);

    const submods = top.payload["submods"] as Record<string, unknown> | undefined;
    const digest = submods?.[gpuName];
    const want = createHash("sha256").update(gpuToken).digest("hex");
    if (
      !Array.isArray(digest) ||
      digest[0] !== "DIGEST" ||
      !Array.isArray(digest[1]) ||
      String(digest[1][1]).toLowerCase() !== want
    )
      throw new AttestError(
        `result token submods.${gpuName}`,
        `must be ["DIGEST", ["SHA256", "${want}"]], the digest of the GPU token given (a swapped device token)`,
      );
    if (top.payload["x-nvidia-overall-att-result"] !== true)
      throw new AttestError(
        "result token x-nvidia-overall-att-result",
        "must be true (the verifier did not pass the GPU)",
      );
    nonceOf("result token", top.payload, ctx.binding);
    nonceOf(`GPU token ${gpuName}`, gpu.payload, ctx.binding);

    const g = gpu.payload;
    if (g["measres"] !== "success")
      throw new AttestError(
        `GPU token ${gpuName} measres`,
        `must be "success" (measurements match the RIMs), got ${JSON.stringify(g["measres"])}`,
      );
    if (g["secboot"] !== true) throw new AttestError(`GPU token ${gpuName} secboot`, "must be true");
    if (g["dbgstat"] !== "disabled")
      throw new AttestError(
        `GPU token ${gpuName} dbgstat`,
        `must be "disabled", got ${JSON.stringify(g["dbgstat"])}`,
      );
    const measurement = nvidiaMeasurement(g);
    if (!nv.measurements.has(measurement))
      throw new AttestError(
        `GPU token ${gpuName} measurement`,
        `${measurement} is not in the policy's allow-list`,
      );
    // The GPU's identity comes from its attested certificate chain (UEID), never from the
    // self-declared UUID: without it the one-key-per-GPU rule could not hold.
    const deviceId = g["ueid"];
    if (typeof deviceId !== "string" || deviceId === "")
      throw new AttestError(
        `GPU token ${gpuName} ueid`,
        "must be a non-empty string (the GPU's attested device identity)",
      );

    const times = [top.payload, g];
    return {
      format: "nvidia-nras",
      deviceId,
      deviceIdHash: deviceIdHash("nvidia-nras", deviceId),
      measurement,
      evidenceHash: sha256Hex(overall),
      validFrom: new Date(Math.max(...times.map((p) => Number(p.nbf ?? p.iat))) * 1000),
      validUntil: new Date(Math.min(...times.map((p) => Number(p.exp))) * 1000),
      signer: `${nv.issuer} key ${top.kid}`,
      details: {
        gpu: gpuName,
        hwmodel: String(g["hwmodel"]),
        driver: String(g["x-nvidia-gpu-driver-version"]),
        vbios: String(g["x-nvidia-gpu-vbios-version"]),
        ueid: deviceId,
      },
    };
  },
};
