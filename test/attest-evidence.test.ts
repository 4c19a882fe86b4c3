/**
 * The attestor's check of recorded TEST CA evidence (test/fixtures/attestation/test-ca, made by
 * generate.ts; not vendor evidence) against its challenge: SEV-SNP and NVIDIA result tokens,
 * and every refusal by name.
 */
import { describe, expect, it } from "vitest";
import { approvalExpiry, verifyAttestation } from "../attest/attest.ts";
import { attestationBinding } from "../attest/binding.ts";
import { AttestError } from "../attest/errors.ts";
import {
  readChallengeFile,
  readEvidenceFile,
  type ChallengeFile,
  type EvidenceFile,
} from "../attest/files.ts";
import { loadPolicy, type AttestationPolicy } from "../attest/policy.ts";
import { createTestNras, signTestNrasEat } from "../attest/test-ca.ts";
import { FIXTURE, NVIDIA_MEASUREMENT } from "./fixtures/attestation/params.ts";

type NvidiaPolicyJwks = NonNullable<AttestationPolicy["nvidia"]>["jwks"];
type NvidiaRoots = NonNullable<NonNullable<AttestationPolicy["nvidia"]>["roots"]>;

const dir = new URL("./fixtures/attestation/test-ca/", import.meta.url).pathname;
const challenge = readChallengeFile(dir + "challenge.json");
const snp = readEvidenceFile(dir + "evidence-sev-snp.test-ca.json");
const nv = readEvidenceFile(dir + "evidence-nvidia.test-ca.json");
const policy = loadPolicy(dir + "policy.test-ca.json");
const now = FIXTURE.now;

async function refusal(p: Promise<unknown>): Promise<AttestError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AttestError);
  return err as AttestError;
}

const check = (
  evidence: EvidenceFile,
  over: Partial<ChallengeFile> = {},
  opts: { policy?: AttestationPolicy; at?: Date } = {},
) =>
  verifyAttestation({
    evidence,
    challenge: { ...challenge, ...over },
    policy: opts.policy ?? policy,
    now: opts.at ?? now,
  });

/** Evidence and challenge both say `over`: only the signed binding can tell. */
const both = (evidence: EvidenceFile, over: Partial<ChallengeFile>) =>
  check({ ...evidence, ...over } as EvidenceFile, over);

describe("recorded TEST CA evidence", () => {
  it("SEV-SNP: verifies and reports device, measurement, validity and hashes", async () => {
    const r = await check(snp);
    expect(r.format).toBe("sev-snp");
    expect(r.workerKeyHash.toString()).toBe(challenge.workerKeyHash);
    expect(r.deviceId).toBe(FIXTURE.chipId);
    expect(r.deviceIdHash).toMatch(/^0x[0-9a-f]{64}$/);
    expect(r.measurement).toBe(FIXTURE.measurement);
    expect(r.validUntil).toEqual(FIXTURE.caNotAfter);
    expect(r.binding).toBe(
      attestationBinding({
        workerKeyHash: BigInt(challenge.workerKeyHash),
        chainId: FIXTURE.chainId,
        registry: FIXTURE.registry,
        challenge: FIXTURE.challenge,
      }),
    );
  });

  it("NVIDIA: verifies and takes the UEID as the device identity", async () => {
    const r = await check(nv);
    expect(r.format).toBe("nvidia-nras");
    expect(r.deviceId).toBe(FIXTURE.gpu.ueid);
    expect(r.measurement).toBe(NVIDIA_MEASUREMENT);
    expect(r.validUntil.getTime()).toBe(FIXTURE.tokenExp * 1000);
    expect(r.evidenceHash).toMatch(/^0x[0-9a-f]{64}$/);
  });

  for (const [name, ev, field] of [
    ["SEV-SNP", snp, "report REPORT_DATA"],
    ["NVIDIA", nv, "result token eat_nonce"],
  ] as const) {
    describe(`${name} refusals`, () => {
      it("a report for another worker key", async () => {
        const err = await refusal(both(ev, { workerKeyHash: "12345" }));
        expect(err.field).toBe(field);
        expect(err.rule).toMatch(/worker key, registry, chain id and challenge/);
      });
      it("a wrong nonce (another challenge)", async () => {
        expect((await refusal(both(ev, { challenge: "0x" + "d5".repeat(32) }))).field).toBe(field);
      });
      it("another chain id", async () => {
        expect((await refusal(both(ev, { chainId: "1" }))).field).toBe(field);
      });
      it("another registry", async () => {
        expect(
          (await refusal(both(ev, { registry: "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0" }))).field,
        ).toBe(field);
      });
      it("evidence that names another key than the challenge", async () => {
        const err = await refusal(check({ ...ev, workerKeyHash: "12345" }));
        expect(err.field).toBe("evidence workerKeyHash");
        expect(err.rule).toMatch(/answers another challenge/);
      });
      it("an expired challenge, and a used one", async () => {
        const expired = await refusal(check(ev, { expiresAt: "2026-12-01T06:00:00.000Z" }));
        expect(expired.field).toBe("challenge expiresAt");
        const used = await refusal(check(ev, { usedBy: "tx 0xabc" }));
        expect(used.field).toBe("challenge");
        expect(used.rule).toMatch(/already used/);
        // An audit may re-examine the evidence behind an approval.
        const again = await verifyAttestation({
          evidence: ev,
          challenge: { ...challenge, usedBy: "tx 0xabc" },
          policy,
          now,
          reexamine: true,
        });
        expect(again.workerKeyHash.toString()).toBe(challenge.workerKeyHash);
      });
      it("an unknown measurement", async () => {
        const strict: AttestationPolicy = {
          ...(policy.sevSnp
            ? { sevSnp: { ...policy.sevSnp, measurements: new Set(["00".repeat(48)]) } }
            : {}),
          ...(policy.nvidia
            ? { nvidia: { ...policy.nvidia, measurements: new Set(["hwmodel=x;driver=y;vbios=z"]) } }
            : {}),
        };
        const err = await refusal(check(ev, {}, { policy: strict }));
        expect(err.rule).toMatch(/is not in the policy's allow-list/);
        expect(err.field).toBe(name === "NVIDIA" ? "GPU token GPU-0 measurement" : "report MEASUREMENT");
      });
      it("a format the policy does not configure", async () => {
        const only: AttestationPolicy =
          name === "NVIDIA" ? { sevSnp: policy.sevSnp! } : { nvidia: policy.nvidia! };
        const err = await refusal(check(ev, {}, { policy: only }));
        expect(err.kind).toBe("malformed");
        expect(err.rule).toMatch(/is not configured/);
      });
    });
  }

  it("SEV-SNP: evidence must hold exactly one of vcek and vlek", async () => {
    const { parseEvidence } = await import("../attest/files.ts");
    const both = { ...snp, sevSnp: { ...snp.sevSnp!, vlek: snp.sevSnp!.vcek } };
    expect(() => parseEvidence(both)).toThrow(/evidence sevSnp must hold exactly one of vcek and vlek/);
    const none = { ...snp, sevSnp: { report: snp.sevSnp!.report, chain: "" } };
    expect(() => parseEvidence(none)).toThrow(/must hold exactly one of vcek and vlek/);
  });

  it("SEV-SNP: a tampered report byte and an expired VCEK", async () => {
    const raw = Buffer.from(snp.sevSnp!.report, "base64");
    raw[0x180] = raw[0x180]! ^ 1; // REPORTED_TCB
    const tampered = { ...snp, sevSnp: { ...snp.sevSnp!, report: raw.toString("base64") } };
    expect((await refusal(check(tampered))).field).toBe("report signature");
    const late = await refusal(
      check(snp, { expiresAt: "2040-01-01T00:00:00.000Z" }, { at: new Date("2037-01-01Z") }),
    );
    expect(late.field).toBe("VCEK validity");
    expect(late.rule).toMatch(/expired at 2036-01-01/);
  });

  it("NVIDIA: an expired token, a foreign key, a swapped GPU token, a failed appraisal, two GPUs", async () => {
    const late = await refusal(check(nv, {}, { at: new Date((FIXTURE.tokenExp + 60) * 1000) }));
    expect(late.field).toBe("result token exp");
    expect(late.rule).toMatch(/expired at 2026-12-02T00:00:00.000Z/);

    const nonce = attestationBinding({
      workerKeyHash: BigInt(challenge.workerKeyHash),
      chainId: FIXTURE.chainId,
      registry: FIXTURE.registry,
      challenge: FIXTURE.challenge,
    }).slice(2);
    const claims = { nonce, ...FIXTURE.gpu, iat: FIXTURE.tokenIat, exp: FIXTURE.tokenExp };
    const withEat = (detachedEat: unknown) => ({ ...nv, nvidia: { detachedEat } }) as EvidenceFile;

    // Same kid as the pinned key, other private key: a forged signature.
    const forger = await createTestNras();
    const forged = await signTestNrasEat(forger, claims);
    const sigErr = await refusal(check(withEat(forged)));
    expect(sigErr.field).toBe("result token signature");

    const stranger = await createTestNras({ kid: "someone-else" });
    const kidErr = await refusal(check(withEat(await signTestNrasEat(stranger, claims))));
    expect(kidErr.field).toBe("result token kid");

    // A valid GPU token of another GPU next to this result token: the digest gives it away.
    const [[, overall]] = nv.nvidia!.detachedEat;
    const swapped = await refusal(check(withEat([["JWT", overall], { "GPU-0": forged[1]["GPU-0"] }])));
    expect(swapped.field).toBe("GPU token GPU-0 signature");

    const twoGpus = await refusal(
      check(withEat([["JWT", overall], { "GPU-0": nv.nvidia!.detachedEat[1]["GPU-0"]!, "GPU-1": "x.y.z" }])),
    );
    expect(twoGpus.field).toBe("detached EAT");
    expect(twoGpus.rule).toMatch(/exactly one GPU/);
  });

  it("NVIDIA: refuses a token without a device identity, a failed appraisal and a GPU token that is not the one named", async () => {
    const nras = await createTestNras();
    const pinned: AttestationPolicy = {
      nvidia: { jwks: nras.jwks, issuer: nras.issuer, measurements: new Set([NVIDIA_MEASUREMENT]) },
    };
    const binding = "0x" + "42".repeat(32);
    const claims = { nonce: binding.slice(2), ...FIXTURE.gpu, iat: FIXTURE.tokenIat, exp: FIXTURE.tokenExp };
    const { nvidiaVerifier } = await import("../attest/nvidia.ts");
    const ctx = { binding, policy: pinned, now };

    const noId = await refusal(
      nvidiaVerifier.verify(await signTestNrasEat(nras, { ...claims, ueid: "" }), ctx),
    );
    expect(noId.field).toBe("GPU token GPU-0 ueid");

    const failed = await refusal(
      nvidiaVerifier.verify(await signTestNrasEat(nras, { ...claims, measres: "fail" }), ctx),
    );
    expect(failed.field).toBe("GPU token GPU-0 measres");

    const a = await signTestNrasEat(nras, claims);
    const b = await signTestNrasEat(nras, { ...claims, ueid: "1" });
    const mixed = await refusal(nvidiaVerifier.verify([a[0], b[1]], ctx));
    expect(mixed.field).toBe("result token submods.GPU-0");
    expect((await nvidiaVerifier.verify(a, ctx)).deviceId).toBe(FIXTURE.gpu.ueid);
  });
});

describe("NVIDIA token keys certified by a pinned root (x5c)", () => {
  const window = { notBefore: new Date("2026-01-01Z"), notAfter: new Date("2036-01-01Z") };
  const binding = "0x" + "42".repeat(32);
  const claims = { nonce: binding.slice(2), ...FIXTURE.gpu, iat: FIXTURE.tokenIat, exp: FIXTURE.tokenExp };
  const pinned = (jwks: NvidiaPolicyJwks, roots: NvidiaRoots): AttestationPolicy => ({
    nvidia: {
      jwks,
      issuer: "https://nras.test-ca.invalid",
      measurements: new Set([NVIDIA_MEASUREMENT]),
      roots,
    },
  });

  it("accepts a key whose x5c chain reaches the root, and refuses another root, a missing chain, a swapped key", async () => {
    const { nvidiaVerifier } = await import("../attest/nvidia.ts");
    const nras = await createTestNras({ x5c: window });
    const eat = await signTestNrasEat(nras, claims);
    const ok = await nvidiaVerifier.verify(eat, { binding, policy: pinned(nras.jwks, [nras.root!]), now });
    expect(ok.deviceId).toBe(FIXTURE.gpu.ueid);

    const other = await createTestNras({ x5c: window });
    const wrongRoot = await refusal(
      nvidiaVerifier.verify(eat, { binding, policy: pinned(nras.jwks, [other.root!]), now }),
    );
    expect(wrongRoot.field).toBe("result token key CA issuer");
    expect(wrongRoot.rule).toMatch(/self-signed CN=TEST NRAS Root.*which the policy does not trust/);

    const bare = { keys: nras.jwks.keys.map(({ x5c: _x5c, ...k }) => k) };
    const missing = await refusal(
      nvidiaVerifier.verify(eat, { binding, policy: pinned(bare, [nras.root!]), now }),
    );
    expect(missing.field).toBe("result token key meterproof-test-ca-nras-1 x5c");

    // The pinned JWK's own key, with the x5c chain of another key.
    const swapped = { keys: [{ ...nras.jwks.keys[0]!, x5c: other.jwks.keys[0]!.x5c! }] };
    const swapErr = await refusal(
      nvidiaVerifier.verify(eat, { binding, policy: pinned(swapped, [other.root!]), now }),
    );
    expect(swapErr.field).toBe("result token key meterproof-test-ca-nras-1 x5c[0]");
    expect(swapErr.rule).toBe("certifies another key than the JWK's");
  });
});

describe("approval expiry", () => {
  const until = new Date("2026-12-31T00:00:00Z");
  it("takes a duration, an ISO date or unix seconds, bounded by the evidence", () => {
    expect(approvalExpiry("1d", now, until)).toBe(BigInt(now.getTime() / 1000 + 86400));
    expect(approvalExpiry("2026-12-30T00:00:00Z", now, until)).toBe(
      BigInt(Date.parse("2026-12-30T00:00:00Z") / 1000),
    );
    expect(approvalExpiry(String(Date.parse("2026-12-20Z") / 1000), now, until)).toBe(
      BigInt(Date.parse("2026-12-20Z") / 1000),
    );
  });
  it("refuses a time past the evidence's validity, in the past, or unreadable", () => {
    expect(() => approvalExpiry("60d", now, until)).toThrow(
      /--expires must be no later than the evidence is valid \(2026-12-31/,
    );
    expect(() => approvalExpiry("2020-01-01", now, until)).toThrow(/must lie in the future/);
    expect(() => approvalExpiry("soon", now, until)).toThrow(/must be a duration/);
  });
});
