/**
 * TEST CA — NOT VENDOR EVIDENCE. Makes SEV-SNP reports and NRAS-style result tokens signed by
 * a certificate authority generated on the spot, for tests, the recorded test fixtures and the
 * demo. Every name it issues says "TEST CA"; an attestor trusts none of it unless its policy
 * pins these roots, which a production policy never does.
 */
import "reflect-metadata";
import { KeyObject, sign as signData, webcrypto as nodeWebcrypto } from "node:crypto";
import {
  BasicConstraintsExtension,
  Extension,
  KeyUsageFlags,
  KeyUsagesExtension,
  X509CertificateGenerator,
  type X509Certificate,
} from "@peculiar/x509";
import { exportJWK, generateKeyPair, SignJWT, type JSONWebKeySet, type JWK } from "jose";
import { createHash } from "node:crypto";
import type { DetachedEat } from "./nvidia.ts";
import { OFFSET, REPORT_SIZE, SIGNED_SIZE, type Tcb } from "./sev-snp.ts";

export const TEST_CA_LABEL = "test CA — not vendor evidence";

const webcrypto = nodeWebcrypto;
type CryptoKey = nodeWebcrypto.CryptoKey;
type CryptoKeyPair = nodeWebcrypto.CryptoKeyPair;

// AMD's roots are RSA-4096; the test CA uses 2048 bits so a test run stays fast. Same algorithm.
const RSA_PSS = {
  name: "RSA-PSS",
  hash: "SHA-384",
  publicExponent: new Uint8Array([1, 0, 1]),
  modulusLength: 2048,
} as const;
const PSS_SIGN = { name: "RSA-PSS", hash: "SHA-384", saltLength: 48 } as const;
const P384 = { name: "ECDSA", namedCurve: "P-384" } as const;

function name(cn: string): string {
  return `CN=${cn}, O=meterproof TEST CA (not AMD), OU=test only`;
}

export interface TestSnpCa {
  ark: X509Certificate;
  ask: X509Certificate;
  askKey: CryptoKey;
  notBefore: Date;
  notAfter: Date;
}

/** A test ARK (self-signed) and ASK, both RSA-PSS SHA-384 like AMD's. */
export async function createTestSnpCa(opts: {
  notBefore: Date;
  notAfter: Date;
  tag?: string;
}): Promise<TestSnpCa> {
  const tag = opts.tag ?? "Milan";
  const arkKeys = (await webcrypto.subtle.generateKey(RSA_PSS, true, ["sign", "verify"])) as CryptoKeyPair;
  const askKeys = (await webcrypto.subtle.generateKey(RSA_PSS, true, ["sign", "verify"])) as CryptoKeyPair;
  const caExt = [
    new BasicConstraintsExtension(true, undefined, true),
    new KeyUsagesExtension(KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign, true),
  ];
  const ark = await X509CertificateGenerator.createSelfSigned({
    name: name(`TEST-ARK-${tag}`),
    keys: arkKeys,
    notBefore: opts.notBefore,
    notAfter: opts.notAfter,
    signingAlgorithm: PSS_SIGN,
    extensions: caExt,
  });
  const ask = await X509CertificateGenerator.create({
    subject: name(`TEST-SEV-${tag}`),
    issuer: ark.subject,
    publicKey: askKeys.publicKey,
    signingKey: arkKeys.privateKey,
    notBefore: opts.notBefore,
    notAfter: opts.notAfter,
    signingAlgorithm: PSS_SIGN,
    extensions: caExt,
  });
  return { ark, ask, askKey: askKeys.privateKey, notBefore: opts.notBefore, notAfter: opts.notAfter };
}

const derInt = (n: number) => new Uint8Array([0x02, 0x01, n]);

export interface TestVcek {
  vcek: X509Certificate;
  /** Signs reports (node KeyObject of the ECDSA P-384 private key). */
  key: KeyObject;
}

/**
 * A test VCEK for one chip and TCB, with AMD's TCB and hwID extensions; with `vlek`, a test VLEK
 * instead (TCB and CSP id, no chip).
 */
export async function issueTestVcek(
  ca: TestSnpCa,
  opts: { chipId: Uint8Array; tcb: Tcb; product?: string; vlek?: boolean },
): Promise<TestVcek> {
  const keys = (await webcrypto.subtle.generateKey(P384, true, ["sign", "verify"])) as CryptoKeyPair;
  const product = new TextEncoder().encode(opts.product ?? "Milan-B0");
  const vcek = await X509CertificateGenerator.create({
    subject: name(opts.vlek ? "TEST-SEV-VLEK" : "TEST-SEV-VCEK"),
    issuer: ca.ask.subject,
    publicKey: keys.publicKey,
    signingKey: ca.askKey,
    notBefore: ca.notBefore,
    notAfter: ca.notAfter,
    signingAlgorithm: PSS_SIGN,
    extensions: [
      new Extension("1.3.6.1.4.1.3704.1.1", false, derInt(0)),
      new Extension("1.3.6.1.4.1.3704.1.2", false, new Uint8Array([0x16, product.length, ...product])),
      new Extension("1.3.6.1.4.1.3704.1.3.1", false, derInt(opts.tcb.bootloader)),
      new Extension("1.3.6.1.4.1.3704.1.3.2", false, derInt(opts.tcb.tee)),
      new Extension("1.3.6.1.4.1.3704.1.3.3", false, derInt(opts.tcb.snp)),
      new Extension("1.3.6.1.4.1.3704.1.3.8", false, derInt(opts.tcb.microcode)),
      opts.vlek
        ? new Extension(
            "1.3.6.1.4.1.3704.1.5",
            false,
            new Uint8Array([0x16, 8, ...new TextEncoder().encode("test-csp")]),
          )
        : new Extension("1.3.6.1.4.1.3704.1.4", false, opts.chipId),
    ],
  });
  return { vcek, key: KeyObject.from(keys.privateKey) };
}

export interface TestReportFields {
  /** 64 bytes. */
  reportData: Uint8Array;
  /** 48 bytes, hex. */
  measurement: string;
  chipId: Uint8Array;
  tcb: Tcb;
  /** SIGNING_KEY: 0 VCEK (default), 1 VLEK. */
  signingKey?: number;
  /** Guest policy; default 0x30000 (SMT allowed, reserved bit 17, no debug). */
  policy?: bigint;
  version?: number;
}

/** A version-3 report laid out as the firmware writes it, signed with the test VCEK's key. */
export function signTestSnpReport(vcek: TestVcek, f: TestReportFields): Uint8Array {
  const b = Buffer.alloc(REPORT_SIZE);
  b.writeUInt32LE(f.version ?? 3, OFFSET.version);
  b.writeBigUInt64LE(f.policy ?? 0x30000n, OFFSET.policy);
  b.writeUInt32LE(0, OFFSET.vmpl);
  b.writeUInt32LE(1, OFFSET.signatureAlgo);
  b.writeUInt32LE((f.signingKey ?? 0) << 2, OFFSET.flags);
  const tcb = Buffer.from([f.tcb.bootloader, f.tcb.tee, 0, 0, 0, 0, f.tcb.snp, f.tcb.microcode]);
  tcb.copy(b, OFFSET.currentTcb);
  Buffer.from(f.reportData).copy(b, OFFSET.reportData);
  Buffer.from(f.measurement, "hex").copy(b, OFFSET.measurement);
  tcb.copy(b, OFFSET.reportedTcb);
  Buffer.from(f.chipId).copy(b, OFFSET.chipId);
  tcb.copy(b, 0x1e0); // COMMITTED_TCB
  tcb.copy(b, 0x1f0); // LAUNCH_TCB
  const sig = signData("sha384", b.subarray(0, SIGNED_SIZE), { key: vcek.key, dsaEncoding: "ieee-p1363" });
  // r and s go in 72-byte little-endian fields.
  Buffer.from(sig.subarray(0, 48)).reverse().copy(b, OFFSET.signatureR);
  Buffer.from(sig.subarray(48, 96)).reverse().copy(b, OFFSET.signatureS);
  return new Uint8Array(b);
}

export interface TestNras {
  issuer: string;
  kid: string;
  privateKey: CryptoKey;
  jwks: JSONWebKeySet;
  /** The root that certifies the key (its `x5c`), when asked for. */
  root?: X509Certificate;
}

/**
 * A test result-token signer (ES384) and the JWKS an attestor would pin for it; with `x5c`, a
 * test root certifies the key and the JWK carries the chain [key certificate, root].
 */
export async function createTestNras(
  opts: { kid?: string; x5c?: { notBefore: Date; notAfter: Date } } = {},
): Promise<TestNras> {
  const kid = opts.kid ?? "meterproof-test-ca-nras-1";
  const { privateKey, publicKey } = await generateKeyPair("ES384", { extractable: true });
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: "ES384", use: "sig" };
  const nras: TestNras = { issuer: "https://nras.test-ca.invalid", kid, privateKey, jwks: { keys: [jwk] } };
  if (opts.x5c) {
    const rootKeys = (await webcrypto.subtle.generateKey(P384, true, ["sign", "verify"])) as CryptoKeyPair;
    const signing = { name: "ECDSA", hash: "SHA-384" } as const;
    const root = await X509CertificateGenerator.createSelfSigned({
      name: "CN=TEST NRAS Root, O=meterproof TEST CA (not NVIDIA)",
      keys: rootKeys,
      ...opts.x5c,
      signingAlgorithm: signing,
      extensions: [
        new BasicConstraintsExtension(true, undefined, true),
        new KeyUsagesExtension(KeyUsageFlags.keyCertSign, true),
      ],
    });
    const leaf = await X509CertificateGenerator.create({
      subject: `CN=TEST NRAS token key ${kid}, O=meterproof TEST CA (not NVIDIA)`,
      issuer: root.subject,
      publicKey: publicKey as CryptoKey,
      signingKey: rootKeys.privateKey,
      ...opts.x5c,
      signingAlgorithm: signing,
    });
    jwk.x5c = [leaf, root].map((c) => Buffer.from(c.rawData).toString("base64"));
    nras.root = root;
  }
  return nras;
}

export interface TestGpuClaims {
  /** The binding, 32 bytes hex without 0x. */
  nonce: string;
  ueid: string;
  hwmodel: string;
  driver: string;
  vbios: string;
  /** Unix seconds. */
  iat: number;
  exp: number;
  measres?: string;
}

/** A detached EAT with one GPU, shaped like NRAS's, signed by the test key. */
export async function signTestNrasEat(nras: TestNras, c: TestGpuClaims): Promise<DetachedEat> {
  const sign = (claims: Record<string, unknown>, sub: string) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: "ES384", kid: nras.kid, typ: "JWT" })
      .setIssuer(nras.issuer)
      .setSubject(sub)
      .setIssuedAt(c.iat)
      .setNotBefore(c.iat)
      .setExpirationTime(c.exp)
      .setJti(createHash("sha256").update(`${sub}:${c.nonce}:${c.iat}`).digest("hex").slice(0, 32))
      .sign(nras.privateKey);
  const gpu = await sign(
    {
      "x-nvidia-ver": "3.0",
      "x-nvidia-test-ca": TEST_CA_LABEL,
      eat_nonce: c.nonce,
      ueid: c.ueid,
      hwmodel: c.hwmodel,
      oemid: "5703",
      measres: c.measres ?? "success",
      secboot: true,
      dbgstat: "disabled",
      "x-nvidia-gpu-driver-version": c.driver,
      "x-nvidia-gpu-vbios-version": c.vbios,
      "x-nvidia-gpu-arch-check": true,
    },
    "NVIDIA-GPU-ATTESTATION",
  );
  const digest = createHash("sha256").update(gpu).digest("hex");
  const overall = await sign(
    {
      "x-nvidia-ver": "3.0",
      "x-nvidia-test-ca": TEST_CA_LABEL,
      "x-nvidia-overall-att-result": true,
      eat_nonce: c.nonce,
      submods: { "GPU-0": ["DIGEST", ["SHA256", digest]] },
    },
    "NVIDIA-PLATFORM-ATTESTATION",
  );
  return [["JWT", overall], { "GPU-0": gpu }];
}
