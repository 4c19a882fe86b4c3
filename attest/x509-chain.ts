/**
 * Certificate chains of vendor evidence, checked with @peculiar/x509 (signatures through
 * WebCrypto, including AMD's RSA-PSS SHA-384). The chain runs from the leaf up to a root the
 * attestor pinned in its policy; certificates that come with the evidence are only ever
 * intermediates, never anchors.
 */
import "reflect-metadata";
import {
  BasicConstraintsExtension,
  KeyUsageFlags,
  KeyUsagesExtension,
  X509Certificate,
} from "@peculiar/x509";
import { AttestError, malformed } from "./errors.ts";

export { X509Certificate };

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Every certificate in a PEM text (or one DER certificate). */
export function parseCertificates(field: string, data: string | Uint8Array): X509Certificate[] {
  try {
    if (typeof data !== "string") return [new X509Certificate(data)];
    const blocks = data.match(PEM_CERT) ?? [];
    if (blocks.length === 0) throw new Error("no PEM certificate found");
    return blocks.map((b) => new X509Certificate(b));
  } catch (err) {
    throw malformed(field, `must hold X.509 certificates (${(err as Error).message})`);
  }
}

function cn(cert: X509Certificate): string {
  return cert.subject;
}

function isSelfSigned(cert: X509Certificate): boolean {
  return cert.subject === cert.issuer;
}

/** Refuses a certificate outside its validity at `now`. */
export function checkValidity(field: string, cert: X509Certificate, now: Date): void {
  if (now < cert.notBefore)
    throw new AttestError(
      `${field} validity`,
      `starts at ${cert.notBefore.toISOString()}, after now (${now.toISOString()})`,
    );
  if (now > cert.notAfter)
    throw new AttestError(
      `${field} validity`,
      `expired at ${cert.notAfter.toISOString()} (now ${now.toISOString()})`,
    );
}

export interface VerifiedChain {
  /** Leaf first, root last. */
  path: X509Certificate[];
  /** Earliest notAfter on the path: the chain is not valid after it. */
  validUntil: Date;
  validFrom: Date;
}

/**
 * Verifies `leaf` up to one of `roots`: each certificate must be signed by the next, each must
 * be valid at `now`, and the top must be a pinned root (compared byte for byte). `labels` names
 * the certificates in errors (e.g. ["VCEK", "ASK", "ARK"]).
 */
export async function verifyChain(opts: {
  leaf: X509Certificate;
  intermediates: readonly X509Certificate[];
  roots: readonly X509Certificate[];
  now: Date;
  labels: readonly string[];
  maxDepth?: number;
}): Promise<VerifiedChain> {
  const { leaf, intermediates, roots, now, labels } = opts;
  const maxDepth = opts.maxDepth ?? labels.length;
  const rootDer = new Set(roots.map((r) => Buffer.from(r.rawData).toString("hex")));
  const label = (i: number) => labels[i] ?? `certificate ${i}`;
  const path: X509Certificate[] = [leaf];
  for (let depth = 0; ; depth++) {
    const cert = path[depth]!;
    checkValidity(label(depth), cert, now);
    if (rootDer.has(Buffer.from(cert.rawData).toString("hex"))) {
      if (!(await cert.verify({ publicKey: cert, signatureOnly: true })))
        throw new AttestError(
          `${label(depth)} signature`,
          "of the pinned root does not verify under its own key",
        );
      break;
    }
    if (isSelfSigned(cert))
      throw new AttestError(
        `${label(depth)} issuer`,
        `must chain to a pinned root, but the chain ends at the self-signed ${cn(cert)}, which the policy does not trust`,
      );
    if (depth + 1 >= maxDepth)
      throw new AttestError(
        `${label(depth)} issuer`,
        `must reach a pinned root within ${maxDepth} certificates`,
      );
    const candidates = [...intermediates, ...roots].filter((c) => c.subject === cert.issuer);
    if (candidates.length === 0)
      throw new AttestError(
        `${label(depth)} issuer`,
        `must be a certificate in the evidence or a pinned root, but no certificate has the subject ${cert.issuer}`,
      );
    let issuer: X509Certificate | undefined;
    for (const c of candidates) {
      if (await cert.verify({ publicKey: c, signatureOnly: true })) {
        issuer = c;
        break;
      }
    }
    if (!issuer)
      throw new AttestError(
        `${label(depth)} signature`,
        `does not verify under the key of its issuer ${cert.issuer} (a forged or altered certificate)`,
      );
    checkIssuerIsCa(label(depth + 1), issuer, depth);
    path.push(issuer);
  }
  const validUntil = new Date(Math.min(...path.map((c) => c.notAfter.getTime())));
  const validFrom = new Date(Math.max(...path.map((c) => c.notBefore.getTime())));
  return { path, validUntil, validFrom };
}

/**
 * A certificate that signs another must be a CA (basicConstraints CA:TRUE, as AMD's ARK and ASK
 * are), may sign certificates if it states key usages, and its path length must allow the
 * `below` CA certificates under it.
 */
function checkIssuerIsCa(label: string, issuer: X509Certificate, below: number): void {
  const bc = issuer.getExtension(BasicConstraintsExtension);
  if (!bc?.ca)
    throw new AttestError(
      `${label} basicConstraints`,
      `must mark a CA (CA:TRUE) to issue certificates: ${issuer.subject}`,
    );
  if (bc.pathLength !== undefined && below > bc.pathLength)
    throw new AttestError(
      `${label} basicConstraints`,
      `allows ${bc.pathLength} CA certificates below it, the chain has ${below}`,
    );
  const ku = issuer.getExtension(KeyUsagesExtension);
  if (ku && (ku.usages & KeyUsageFlags.keyCertSign) === 0)
    throw new AttestError(`${label} keyUsage`, "must include keyCertSign to issue certificates");
}
