/**
 * The demo's attestation step, with a TEST CA report (not vendor evidence): the attestor issues
 * a challenge, a test CA stands in for the worker host's SEV-SNP firmware and signs a report
 * bound to the worker key, the attestor checks it exactly as `meterproof attest approve` does
 * (and shows that the same report is refused for another key), then approves the key on chain.
 * The files go to the demo directory, so `meterproof attest verify` can re-check them.
 */
import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Signer } from "ethers";
import { approvalExpiry, verifyAttestation } from "../../attest/attest.ts";
import { attestationBinding, newChallenge } from "../../attest/binding.ts";
import { AttestError } from "../../attest/errors.ts";
import { parseEvidence, type ChallengeFile } from "../../attest/files.ts";
import { loadPolicy } from "../../attest/policy.ts";
import { createTestSnpCa, issueTestVcek, signTestSnpReport, TEST_CA_LABEL } from "../../attest/test-ca.ts";
import type { WorkerRegistry } from "../../contracts/index.ts";

export interface DemoAttestation {
  evidenceHash: string;
  deviceIdHash: string;
  expiresAt: bigint;
  gas: bigint;
}

export async function demoAttestation(opts: {
  registry: WorkerRegistry;
  chainId: bigint;
  /** Network admin: grants itself the attestor role for the demo. */
  attestor: Signer;
  workerKeyHash: bigint;
  dir: string;
  log: (line: string) => void;
}): Promise<DemoAttestation> {
  const { registry, log } = opts;
  const registryAddress = await registry.getAddress();
  const now = new Date();
  const challenge: ChallengeFile = {
    kind: "meterproof-attestation-challenge",
    version: 1,
    challenge: newChallenge(),
    workerKeyHash: opts.workerKeyHash.toString(),
    chainId: opts.chainId.toString(),
    registry: registryAddress,
    issuedAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + 3_600_000).toISOString(),
  };
  const binding = attestationBinding({
    workerKeyHash: opts.workerKeyHash,
    chainId: opts.chainId,
    registry: registryAddress,
    challenge: challenge.challenge,
  });
  log(`    challenge ${challenge.challenge}; report data must be ${binding}`);

  // The test CA plays AMD's key server and the guest's firmware.
  const ca = await createTestSnpCa({
    notBefore: new Date(now.getTime() - 86_400_000),
    notAfter: new Date(now.getTime() + 30 * 86_400_000),
  });
  const chipId = createHash("sha512").update(`meterproof demo chip ${opts.workerKeyHash}`).digest();
  const tcb = { bootloader: 4, tee: 0, snp: 22, microcode: 213 };
  const measurement = createHash("sha384").update("meterproof demo guest image").digest("hex");
  const vcek = await issueTestVcek(ca, { chipId, tcb });
  const report = signTestSnpReport(vcek, {
    reportData: Buffer.concat([Buffer.from(binding.slice(2), "hex"), Buffer.alloc(32)]),
    measurement,
    chipId,
    tcb,
  });
  const evidence = parseEvidence({
    kind: "meterproof-attestation-evidence",
    version: 1,
    format: "sev-snp",
    workerKeyHash: challenge.workerKeyHash,
    chainId: challenge.chainId,
    registry: challenge.registry,
    challenge: challenge.challenge,
    collectedAt: now.toISOString(),
    tool: `meterproof demo (${TEST_CA_LABEL})`,
    sevSnp: {
      report: Buffer.from(report).toString("base64"),
      vcek: vcek.vcek.toString("pem"),
      chain: ca.ask.toString("pem"),
    },
  });
  const files = {
    challenge: join(opts.dir, "attest-challenge.json"),
    evidence: join(opts.dir, "attest-evidence.test-ca.json"),
    policy: join(opts.dir, "attest-policy.test-ca.json"),
  };
  writeFileSync(join(opts.dir, "attest-ark.test-ca.pem"), ca.ark.toString("pem") + "\n");
  writeFileSync(
    files.policy,
    JSON.stringify(
      {
        kind: "meterproof-attestation-policy",
        version: 1,
        sevSnp: { roots: ["attest-ark.test-ca.pem"], measurements: [measurement] },
      },
      null,
      2,
    ),
  );
  writeFileSync(files.evidence, JSON.stringify(evidence, null, 2));
  writeFileSync(files.challenge, JSON.stringify(challenge, null, 2));

  const policy = loadPolicy(files.policy);
  const result = await verifyAttestation({ evidence, challenge, policy, now });
  log(
    `    verified (${TEST_CA_LABEL}): chain ${result.details.root} -> VCEK, report signature, binding, measurement ${result.measurement.slice(0, 16)}…, TCB ${result.details.reportedTcb}`,
  );
  // The same report does not approve another key: its report data binds this one.
  try {
    await verifyAttestation({
      evidence: { ...evidence, workerKeyHash: "1" },
      challenge: { ...challenge, workerKeyHash: "1" },
      policy,
      now,
    });
    throw new Error("the demo's report was accepted for another worker key");
  } catch (err) {
    if (!(err instanceof AttestError)) throw err;
    log(`    the same report for another key is refused: ${err.message.slice(0, 90)}…`);
  }

  const attestorAddress = await opts.attestor.getAddress();
  const admin = registry.connect(opts.attestor);
  await (await admin.grantRole(await registry.ATTESTOR_ROLE(), attestorAddress)).wait();
  const expiresAt = approvalExpiry("7d", now, result.validUntil);
  const receipt = await (
    await admin.approveWorker(opts.workerKeyHash, expiresAt, result.evidenceHash, result.deviceIdHash)
  ).wait();
  writeFileSync(
    files.challenge,
    JSON.stringify({ ...challenge, usedBy: `approveWorker ${receipt!.hash}` }, null, 2),
  );
  log(
    `    approved until ${new Date(Number(expiresAt) * 1000).toISOString()}: evidence ${result.evidenceHash}, device ${result.deviceIdHash}`,
  );
  log(
    `    re-check: meterproof attest verify --evidence ${files.evidence} --challenge ${files.challenge} --policy ${files.policy}`,
  );
  return {
    evidenceHash: result.evidenceHash,
    deviceIdHash: result.deviceIdHash,
    expiresAt,
    gas: receipt!.gasUsed,
  };
}
