/**
 * SEV-SNP verification against a real AMD report (recorded; go-sev-guest's test vector with its
 * AMD-issued VCEK and AMD's Milan ARK/ASK) and against reports signed by a TEST CA made here.
 */
import { readFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { AttestError } from "../attest/errors.ts";
import { sevSnpVerifier, type SevSnpEvidence } from "../attest/sev-snp.ts";
import type { AttestationPolicy } from "../attest/policy.ts";
import { createTestSnpCa, issueTestVcek, signTestSnpReport } from "../attest/test-ca.ts";
import { parseCertificates } from "../attest/x509-chain.ts";
import { BasicConstraintsExtension, X509CertificateGenerator } from "@peculiar/x509";
import { webcrypto as crypto } from "node:crypto";

type CryptoKeyPair = crypto.CryptoKeyPair;

const dir = new URL("./fixtures/attestation/amd-real/", import.meta.url);
const report = new Uint8Array(readFileSync(new URL("attestation.bin", dir)));
const [vcek] = parseCertificates("vcek", new Uint8Array(readFileSync(new URL("vcek.der", dir))));
const [amdAsk, amdArk] = parseCertificates("chain", readFileSync(new URL("ask_ark_milan.pem", dir), "utf8"));
/** The real report's REPORT_DATA starts 01 02 03 04 05; its first 32 bytes play the binding. */
const REAL_BINDING = "0x0102030405" + "00".repeat(27);
const REAL_MEASUREMENT = Buffer.from(report.subarray(0x90, 0xc0)).toString("hex");
const REAL_CHIP = Buffer.from(report.subarray(0x1a0, 0x1e0)).toString("hex");
const IN_VALIDITY = new Date("2025-06-01T00:00:00Z");

function amdPolicy(over: Partial<NonNullable<AttestationPolicy["sevSnp"]>> = {}): AttestationPolicy {
  return {
    sevSnp: {
      roots: [amdArk!],
      intermediates: [],
      measurements: new Set([REAL_MEASUREMENT]),
      // The recorded guest was launched with a debug-allowing policy (0xb0000).
      allowDebug: true,
      ...over,
    },
  };
}
const realEvidence = (r = report): SevSnpEvidence => ({ report: r, vcek: vcek!, chain: [amdAsk!] });

/** A version-3 report of zeros: enough for the chain checks, which come first. */
function blankV3Report(): Uint8Array {
  const r = new Uint8Array(1184);
  r[0] = 3;
  return r;
}

async function refusal(p: Promise<unknown>): Promise<AttestError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AttestError);
  return err as AttestError;
}

describe("SEV-SNP: a real AMD report (recorded)", () => {
  it("verifies the AMD chain ARK -> ASK -> VCEK, the report signature, TCB and chip id", async () => {
    const t0 = performance.now();
    const v = await sevSnpVerifier.verify(realEvidence(), {
      binding: REAL_BINDING,
      policy: amdPolicy(),
      now: IN_VALIDITY,
    });
    expect(performance.now() - t0).toBeLessThan(5000);
    expect(v.format).toBe("sev-snp");
    expect(v.measurement).toBe(REAL_MEASUREMENT);
    expect(v.deviceId).toBe(REAL_CHIP);
    expect(v.deviceIdHash).toBe(
      "0x" + createHash("sha256").update(`meterproof.device.v1:sev-snp:${REAL_CHIP}`).digest("hex"),
    );
    expect(v.evidenceHash).toBe("0x" + createHash("sha256").update(report).digest("hex"));
    expect(v.details.product).toBe("Milan-B0");
    expect(v.details.reportedTcb).toBe("bl=2 tee=0 snp=5 ucode=68");
    expect(v.details.root).toMatch(/CN=ARK-Milan/);
    expect(v.validUntil.toISOString()).toBe("2029-09-24T00:55:28.000Z");
  });

  it("refuses report data that is not the expected binding", async () => {
    const err = await refusal(
      sevSnpVerifier.verify(realEvidence(), {
        binding: "0x" + "ab".repeat(32),
        policy: amdPolicy(),
        now: IN_VALIDITY,
      }),
    );
    expect(err.field).toBe("report REPORT_DATA");
    expect(err.message).toMatch(/must be the binding 0xabab.*got 0x0102030405/);
  });

  it("refuses a report with one changed byte (signature)", async () => {
    const tampered = new Uint8Array(report);
    tampered[0x90] = tampered[0x90]! ^ 1; // a measurement bit
    const err = await refusal(
      sevSnpVerifier.verify(realEvidence(tampered), {
        binding: REAL_BINDING,
        policy: amdPolicy(),
        now: IN_VALIDITY,
      }),
    );
    expect(err.field).toBe("report signature");
  });

  it("refuses a debuggable guest unless the policy allows it", async () => {
    const err = await refusal(
      sevSnpVerifier.verify(realEvidence(), {
        binding: REAL_BINDING,
        policy: amdPolicy({ allowDebug: false }),
        now: IN_VALIDITY,
      }),
    );
    expect(err.field).toBe("report POLICY");
    expect(err.rule).toMatch(/debugging/);
  });

  it("refuses an unknown measurement", async () => {
    const err = await refusal(
      sevSnpVerifier.verify(realEvidence(), {
        binding: REAL_BINDING,
        policy: amdPolicy({ measurements: new Set(["00".repeat(48)]) }),
        now: IN_VALIDITY,
      }),
    );
    expect(err.field).toBe("report MEASUREMENT");
    expect(err.rule).toMatch(/not in the policy's allow-list/);
  });

  it("refuses the VCEK after it expired", async () => {
    const err = await refusal(
      sevSnpVerifier.verify(realEvidence(), {
        binding: REAL_BINDING,
        policy: amdPolicy(),
        now: new Date("2029-10-01T00:00:00Z"),
      }),
    );
    expect(err.field).toBe("VCEK validity");
    expect(err.rule).toMatch(/expired at 2029-09-24/);
  });

  it("refuses AMD's chain when the policy pins another root (wrong issuer)", async () => {
    const testCa = await createTestSnpCa({
      notBefore: new Date("2020-01-01Z"),
      notAfter: new Date("2040-01-01Z"),
    });
    const err = await refusal(
      sevSnpVerifier.verify(
        { report, vcek: vcek!, chain: [amdAsk!, amdArk!] },
        { binding: REAL_BINDING, policy: amdPolicy({ roots: [testCa.ark] }), now: IN_VALIDITY },
      ),
    );
    expect(err.field).toBe("ARK issuer");
    expect(err.rule).toMatch(/self-signed .*CN=ARK-Milan, which the policy does not trust/);
  });

  it("refuses a VCEK whose issuer is missing from evidence and policy", async () => {
    const err = await refusal(
      sevSnpVerifier.verify(
        { report, vcek: vcek!, chain: [] },
        { binding: REAL_BINDING, policy: amdPolicy(), now: IN_VALIDITY },
      ),
    );
    expect(err.field).toBe("VCEK issuer");
    expect(err.rule).toMatch(/no certificate has the subject .*CN=SEV-Milan/);
  });
});

describe("SEV-SNP: TEST CA reports (generated here, not vendor evidence)", () => {
  const tcb = { bootloader: 3, tee: 0, snp: 14, microcode: 209 };
  const chipId = Buffer.alloc(64, 0x5e);
  const measurement = "a1".repeat(48);
  const binding = "0x" + "42".repeat(32);
  const reportData = Buffer.concat([Buffer.from(binding.slice(2), "hex"), Buffer.alloc(32)]);
  const window = { notBefore: new Date("2026-01-01Z"), notAfter: new Date("2036-01-01Z") };
  const now = new Date("2026-12-01T12:00:00Z");

  async function setup() {
    const ca = await createTestSnpCa(window);
    const v = await issueTestVcek(ca, { chipId, tcb });
    const policy: AttestationPolicy = {
      sevSnp: { roots: [ca.ark], intermediates: [], measurements: new Set([measurement]), allowDebug: false },
    };
    return { ca, v, policy };
  }

  it("accepts a bound report and refuses TCB, chip id and issuer mismatches, each by name", async () => {
    const { ca, v, policy } = await setup();
    const ok = await sevSnpVerifier.verify(
      {
        report: signTestSnpReport(v, { reportData, measurement, chipId, tcb }),
        vcek: v.vcek,
        chain: [ca.ask],
      },
      { binding, policy, now },
    );
    expect(ok.deviceId).toBe(chipId.toString("hex"));
    expect(ok.details.root).toMatch(/TEST-ARK-Milan, O=meterproof TEST CA/);

    // The VCEK certifies snp=14; a report claiming snp=13 was not made under that TCB.
    const oldTcb = signTestSnpReport(v, { reportData, measurement, chipId, tcb: { ...tcb, snp: 13 } });
    const tcbErr = await refusal(
      sevSnpVerifier.verify({ report: oldTcb, vcek: v.vcek, chain: [ca.ask] }, { binding, policy, now }),
    );
    expect(tcbErr.field).toBe("report REPORTED_TCB.snp");

    const otherChip = signTestSnpReport(v, { reportData, measurement, chipId: Buffer.alloc(64, 0x77), tcb });
    const chipErr = await refusal(
      sevSnpVerifier.verify({ report: otherChip, vcek: v.vcek, chain: [ca.ask] }, { binding, policy, now }),
    );
    expect(chipErr.field).toBe("report CHIP_ID");

    // Same names, other keys: an ASK of another CA cannot have signed this VCEK.
    const other = await createTestSnpCa(window);
    const sigErr = await refusal(
      sevSnpVerifier.verify(
        {
          report: signTestSnpReport(v, { reportData, measurement, chipId, tcb }),
          vcek: v.vcek,
          chain: [other.ask],
        },
        { binding, policy, now },
      ),
    );
    expect(sigErr.field).toBe("VCEK signature");
    expect(sigErr.rule).toMatch(/does not verify under the key of its issuer/);

    // A VCEK from a CA with other names: its issuer is nowhere to be found.
    const genoa = await createTestSnpCa({ ...window, tag: "Genoa" });
    const gv = await issueTestVcek(genoa, { chipId, tcb });
    const issuerErr = await refusal(
      sevSnpVerifier.verify(
        {
          report: signTestSnpReport(gv, { reportData, measurement, chipId, tcb }),
          vcek: gv.vcek,
          chain: [ca.ask],
        },
        { binding, policy, now },
      ),
    );
    expect(issuerErr.field).toBe("VCEK issuer");
  });

  it("accepts a VLEK-signed report (cloud hosts) and refuses a report whose SIGNING_KEY names the other key", async () => {
    const { ca, v, policy } = await setup();
    const vlek = await issueTestVcek(ca, { chipId, tcb, vlek: true });
    const signed = signTestSnpReport(vlek, { reportData, measurement, chipId, tcb, signingKey: 1 });
    const ok = await sevSnpVerifier.verify(
      { report: signed, vlek: vlek.vcek, chain: [ca.ask] },
      { binding, policy, now },
    );
    expect(ok.details.endorsementKey).toBe("VLEK");
    expect(ok.details.cspId).toBe("test-csp");
    expect(ok.deviceId).toBe(chipId.toString("hex"));

    // A VLEK-signed report handed in as if a VCEK had signed it, and the other way round.
    const asVcek = await refusal(
      sevSnpVerifier.verify({ report: signed, vcek: vlek.vcek, chain: [ca.ask] }, { binding, policy, now }),
    );
    expect(asVcek.field).toBe("report SIGNING_KEY");
    expect(asVcek.rule).toBe("is 1 (VLEK), but the evidence holds a VCEK (0 = VCEK, 1 = VLEK)");
    const vcekSigned = signTestSnpReport(v, { reportData, measurement, chipId, tcb });
    const asVlek = await refusal(
      sevSnpVerifier.verify({ report: vcekSigned, vlek: v.vcek, chain: [ca.ask] }, { binding, policy, now }),
    );
    expect(asVlek.field).toBe("report SIGNING_KEY");
    // A VLEK certifies a TCB as a VCEK does.
    const missingTcb = await refusal(
      sevSnpVerifier.verify(
        {
          report: signTestSnpReport(vlek, {
            reportData,
            measurement,
            chipId,
            tcb: { ...tcb, tee: 1 },
            signingKey: 1,
          }),
          vlek: vlek.vcek,
          chain: [ca.ask],
        },
        { binding, policy, now },
      ),
    );
    expect(missingTcb.field).toBe("report REPORTED_TCB.tee");
    expect(missingTcb.rule).toMatch(/but the VLEK was issued for 0/);
  });

  it("refuses an issuer that is not a CA", async () => {
    const { ca, policy } = await setup();
    // A leaf-only certificate (no CA:TRUE) under the real test ASK, posing as an ASK.
    const keys = (await crypto.subtle.generateKey(
      { name: "RSA-PSS", hash: "SHA-384", publicExponent: new Uint8Array([1, 0, 1]), modulusLength: 2048 },
      true,
      ["sign", "verify"],
    )) as CryptoKeyPair;
    const fakeAsk = await X509CertificateGenerator.create({
      subject: "CN=TEST-SEV-Fake, O=meterproof TEST CA (not AMD)",
      issuer: ca.ask.subject,
      publicKey: keys.publicKey,
      signingKey: ca.askKey,
      notBefore: window.notBefore,
      notAfter: window.notAfter,
      signingAlgorithm: { name: "RSA-PSS", hash: "SHA-384", saltLength: 48 },
      extensions: [new BasicConstraintsExtension(false, undefined, true)],
    });
    const leaf = await X509CertificateGenerator.create({
      subject: "CN=TEST-SEV-VCEK, O=meterproof TEST CA (not AMD)",
      issuer: fakeAsk.subject,
      publicKey: keys.publicKey,
      signingKey: keys.privateKey,
      notBefore: window.notBefore,
      notAfter: window.notAfter,
      signingAlgorithm: { name: "RSA-PSS", hash: "SHA-384", saltLength: 48 },
    });
    const err = await refusal(
      sevSnpVerifier.verify(
        {
          report: blankV3Report(),
          vcek: leaf,
          chain: [fakeAsk, ca.ask],
        },
        { binding, policy, now },
      ),
    );
    expect(err.field).toBe("ASK basicConstraints");
    expect(err.rule).toMatch(/must mark a CA \(CA:TRUE\)/);
  });

  it("refuses firmware below the policy's minimum TCB", async () => {
    const { ca, v, policy } = await setup();
    const report = signTestSnpReport(v, { reportData, measurement, chipId, tcb });
    const strict: AttestationPolicy = { sevSnp: { ...policy.sevSnp!, minTcb: { ...tcb, microcode: 210 } } };
    const err = await refusal(
      sevSnpVerifier.verify({ report, vcek: v.vcek, chain: [ca.ask] }, { binding, policy: strict, now }),
    );
    expect(err.field).toBe("report REPORTED_TCB.microcode");
    expect(err.rule).toBe("is 209, below the policy's minimum 210 (sevSnp.minTcb): firmware too old");
    const exact: AttestationPolicy = { sevSnp: { ...policy.sevSnp!, minTcb: tcb } };
    expect(
      (
        await sevSnpVerifier.verify(
          { report, vcek: v.vcek, chain: [ca.ask] },
          { binding, policy: exact, now },
        )
      ).format,
    ).toBe("sev-snp");
  });

  it("refuses a report signed by a key other than the VCEK's", async () => {
    const { ca, v, policy } = await setup();
    const stranger = await issueTestVcek(ca, { chipId, tcb });
    const err = await refusal(
      sevSnpVerifier.verify(
        {
          report: signTestSnpReport(stranger, { reportData, measurement, chipId, tcb }),
          vcek: v.vcek,
          chain: [ca.ask],
        },
        { binding, policy, now },
      ),
    );
    expect(err.field).toBe("report signature");
  });

  it("refuses malformed reports as bad input", async () => {
    const { ca, v, policy } = await setup();
    const short = await refusal(
      sevSnpVerifier.verify(
        { report: new Uint8Array(100), vcek: v.vcek, chain: [ca.ask] },
        { binding, policy, now },
      ),
    );
    expect(short.kind).toBe("malformed");
    expect(short.message).toMatch(/report must be 1184 bytes/);
  });
});
