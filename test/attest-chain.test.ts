/**
 * `meterproof attest approve` against an in-process Hardhat chain (reached over a small JSON-RPC
 * bridge): the CLI checks TEST CA evidence (made here with attest/test-ca.ts, standing in for
 * the provider's vendor tool; not vendor evidence) and approves the key with its expiry,
 * evidence hash and device hash; and every way the approval is refused.
 */
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Wallet } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { attestationBinding } from "../attest/binding.ts";
import { demoAttestation } from "../cli/demo/attest-step.ts";
import { createTestSnpCa, issueTestVcek, signTestSnpReport, type TestSnpCa } from "../attest/test-ca.ts";
import type { WorkerKey } from "../trace/index.ts";
import { baseFixture, registerWorker, type BaseFixture } from "./helpers/escrow-fixture.ts";
import { testWorkerKey } from "./helpers/segment-proof.ts";
import { tempDir } from "./worker-helpers.ts";

const BIN = fileURLToPath(new URL("../bin/meterproof.js", import.meta.url));
/** Hardhat's development accounts #4 (the fixture's attestor) and #2 (a provider). */
const ATTESTOR_KEY = "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a";
const PROVIDER_KEY = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a";
const MEASUREMENT = "b2".repeat(48);
const CHIP = Buffer.alloc(64, 0x3c);
const TCB = { bootloader: 4, tee: 0, snp: 22, microcode: 213 };

const dir = tempDir("attest-chain");
let f: BaseFixture;
let server: Server;
let rpc = "";
let ca: TestSnpCa;
let vcek: Awaited<ReturnType<typeof issueTestVcek>>;
let key1: WorkerKey;
let key2: WorkerKey;
const policyFile = join(dir, "policy.json");
const deploymentFile = join(dir, "deployment.json");

interface Result {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI without blocking this process, which serves the chain to it. */
function cli(args: string[], privateKey = ATTESTOR_KEY): Promise<Result> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, METERPROOF_PRIVATE_KEY: privateKey, METERPROOF_RPC: rpc },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("close", (status) => resolve({ status, stdout, stderr }));
  });
}

let n = 0;
/** A challenge (through the CLI) and TEST CA evidence answering it for `key`. */
async function challengeAndEvidence(
  key: WorkerKey,
  over: { chainId?: bigint; registry?: string; chip?: Buffer } = {},
) {
  const id = ++n;
  const challengeFile = join(dir, `challenge-${id}.json`);
  // The attestor names the chain and registry with the deployment file, or by hand.
  const where =
    over.chainId === undefined && over.registry === undefined
      ? ["--deployment", deploymentFile]
      : [
          "--chain-id",
          String(over.chainId ?? f.chainId),
          "--registry",
          over.registry ?? f.d.addresses.registry,
        ];
  const r = await cli([
    "attest",
    "challenge",
    "--key-hash",
    key.keyHash.toString(),
    ...where,
    "--out",
    challengeFile,
  ]);
  expect(r.status, r.stderr).toBe(0);
  const ch = JSON.parse(readFileSync(challengeFile, "utf8")) as {
    challenge: string;
    chainId: string;
    registry: string;
    workerKeyHash: string;
  };
  const binding = attestationBinding({
    workerKeyHash: key.keyHash,
    chainId: BigInt(ch.chainId),
    registry: ch.registry,
    challenge: ch.challenge,
  });
  // A VCEK is issued per chip: another device needs its own.
  const chip = over.chip ?? CHIP;
  const signer = chip.equals(CHIP) ? vcek : await issueTestVcek(ca, { chipId: chip, tcb: TCB });
  const report = signTestSnpReport(signer, {
    reportData: Buffer.concat([Buffer.from(binding.slice(2), "hex"), Buffer.alloc(32)]),
    measurement: MEASUREMENT,
    chipId: chip,
    tcb: TCB,
  });
  const evidenceFile = join(dir, `evidence-${id}.json`);
  writeFileSync(
    evidenceFile,
    JSON.stringify({
      kind: "meterproof-attestation-evidence",
      version: 1,
      format: "sev-snp",
      workerKeyHash: ch.workerKeyHash,
      chainId: ch.chainId,
      registry: ch.registry,
      challenge: ch.challenge,
      collectedAt: new Date().toISOString(),
      tool: "test/attest-chain.test.ts (TEST CA)",
      sevSnp: {
        report: Buffer.from(report).toString("base64"),
        vcek: signer.vcek.toString("pem"),
        chain: ca.ask.toString("pem"),
      },
    }),
  );
  return { challengeFile, evidenceFile, report };
}

const approveArgs = (c: { challengeFile: string; evidenceFile: string }, expires = "7d") => [
  "attest",
  "approve",
  "--evidence",
  c.evidenceFile,
  "--challenge",
  c.challengeFile,
  "--policy",
  policyFile,
  "--expires",
  expires,
  "--registry",
  f.d.addresses.registry,
  "--json",
];

beforeAll(async () => {
  f = await baseFixture();
  expect(new Wallet(ATTESTOR_KEY).address).toBe(f.attestor.address);
  expect(new Wallet(PROVIDER_KEY).address).toBe(f.provider.address);
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      const handle = async (m: { id: unknown; method: string; params?: unknown[] }) => {
        try {
          return {
            jsonrpc: "2.0",
            id: m.id,
            result: await f.connection.provider.request({ method: m.method, params: m.params ?? [] }),
          };
        } catch (err) {
          const e = err as { code?: number; message: string; data?: unknown };
          return {
            jsonrpc: "2.0",
            id: m.id,
            error: { code: e.code ?? -32603, message: e.message, data: e.data },
          };
        }
      };
      const msg = JSON.parse(body) as Parameters<typeof handle>[0] | Parameters<typeof handle>[0][];
      void (Array.isArray(msg) ? Promise.all(msg.map(handle)) : handle(msg)).then((out) => {
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify(out));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  rpc = `http://127.0.0.1:${(server.address() as { port: number }).port}`;

  const a = f.d.addresses;
  writeFileSync(
    deploymentFile,
    JSON.stringify({
      kind: "meterproof-deployment",
      version: 2,
      chainId: f.chainId.toString(),
      deployer: f.admin.address,
      block: 0,
      addresses: {
        credit: a.credit,
        keyVerifier: a.keyVerifier,
        registry: a.registry,
        router: a.router,
        usageVerifier: a.usageVerifier,
        escrow: a.escrow,
        verifiers: a.verifiers,
        batchVerifiers: a.batchVerifiers,
      },
      parameters: { maxClockSkewMs: 30_000, closeGracePeriod: 3600, requireAttestation: false },
    }),
  );
  const now = Date.now();
  ca = await createTestSnpCa({
    notBefore: new Date(now - 86_400_000),
    notAfter: new Date(now + 30 * 86_400_000),
  });
  vcek = await issueTestVcek(ca, { chipId: CHIP, tcb: TCB });
  writeFileSync(join(dir, "ark.pem"), ca.ark.toString("pem"));
  writeFileSync(
    policyFile,
    JSON.stringify({
      kind: "meterproof-attestation-policy",
      version: 1,
      sevSnp: { roots: ["ark.pem"], measurements: [MEASUREMENT] },
    }),
  );
  [key1, key2] = await Promise.all([testWorkerKey("attest-1"), testWorkerKey("attest-2")]);
  await registerWorker(f, f.provider, key1, "H100", "attest-1");
  await registerWorker(f, f.provider, key2, "H100", "attest-2");
});

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await f?.connection.close();
});

describe("meterproof attest approve", () => {
  it("approves a key on verified evidence with its expiry, evidence hash and device hash; the challenge is used up", async () => {
    const c = await challengeAndEvidence(key1);
    const t0 = Date.now();
    const viaFile = approveArgs(c).map((x) =>
      x === "--registry" ? "--deployment" : x === f.d.addresses.registry ? deploymentFile : x,
    );
    const r = await cli(viaFile);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as {
      expiresAt: string;
      evidenceHash: string;
      deviceIdHash: string;
      txHash: string;
    };
    const expiresAt = BigInt(out.expiresAt);
    expect(Number(expiresAt) * 1000 - t0).toBeGreaterThan(7 * 86_400_000 - 60_000);
    const approval = await f.d.registry.approvalOf(key1.keyHash);
    expect(approval.expiresAt).toBe(expiresAt);
    expect(approval.attestor).toBe(f.attestor.address);
    expect(approval.evidenceHash).toBe(
      "0x" + (await import("node:crypto")).createHash("sha256").update(c.report).digest("hex"),
    );
    expect(approval.deviceIdHash).toBe(out.deviceIdHash);
    expect(await f.d.registry.workerOfDevice(out.deviceIdHash)).toBe(key1.keyHash);
    expect((await f.d.registry.workerOf(key1.keyHash)).approved).toBe(true);
    const used = JSON.parse(readFileSync(c.challengeFile, "utf8")) as { usedBy: string };
    expect(used.usedBy).toBe(`approveWorker ${out.txHash}`);

    // The same challenge cannot approve twice.
    const again = await cli(approveArgs(c));
    expect(again.status).toBe(1);
    expect(again.stderr.trim()).toMatch(/^meterproof: challenge was already used \(approveWorker 0x/);
  });

  it("refuses a second key for the same attested device (one key per device)", async () => {
    const c = await challengeAndEvidence(key2);
    const r = await cli(approveArgs(c));
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toMatch(
      /WorkerRegistry__DeviceAlreadyApproved.*revoke that key first \(one key per device\)$/,
    );
    expect((await f.d.registry.workerOf(key2.keyHash)).approved).toBe(false);
  });

  it("refuses a challenge for another chain or registry, a signer without the attestor role, an expiry past the evidence", async () => {
    const other = await challengeAndEvidence(key2, { chainId: 1n, chip: Buffer.alloc(64, 0x99) });
    const wrongChain = await cli(approveArgs(other));
    expect(wrongChain.status).toBe(1);
    expect(wrongChain.stderr.trim()).toBe(
      `meterproof: challenge chainId 1 is not the chain of --rpc (${f.chainId})`,
    );

    const otherRegistry = await challengeAndEvidence(key2, {
      registry: f.d.addresses.escrow,
      chip: Buffer.alloc(64, 0x99),
    });
    const wrongRegistry = await cli(approveArgs(otherRegistry));
    expect(wrongRegistry.status).toBe(1);
    expect(wrongRegistry.stderr.trim()).toBe(
      `meterproof: challenge registry ${f.d.addresses.escrow} is not the WorkerRegistry given (${f.d.addresses.registry})`,
    );

    const c = await challengeAndEvidence(key2, { chip: Buffer.alloc(64, 0x99) });
    const tooLong = await cli(approveArgs(c, "60d"));
    expect(tooLong.status).toBe(2);
    expect(tooLong.stderr.trim()).toMatch(
      /^meterproof: --expires must be no later than the evidence is valid/,
    );

    const notAttestor = await cli(approveArgs(c), PROVIDER_KEY);
    expect(notAttestor.status).toBe(1);
    expect(notAttestor.stderr.trim()).toMatch(
      /AccessControlUnauthorizedAccount.*lacks the registry's ATTESTOR_ROLE$/,
    );
    expect((await f.d.registry.workerOf(key2.keyHash)).approved).toBe(false);
  });

  it("refuses an unregistered key", async () => {
    const stranger = await testWorkerKey("attest-unregistered");
    const c = await challengeAndEvidence(stranger, { chip: Buffer.alloc(64, 0x55) });
    const r = await cli(approveArgs(c));
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toBe(
      `meterproof: worker key ${stranger.keyHash} is not registered in ${f.d.addresses.registry}`,
    );
  });

  it("the demo's step approves with a TEST CA report, says so, and refuses the report for another key", async () => {
    const key = await testWorkerKey("attest-demo");
    await registerWorker(f, f.provider, key, "H100", "attest-demo");
    const lines: string[] = [];
    const demoDir = tempDir("attest-demo");
    const a = await demoAttestation({
      registry: f.d.registry,
      chainId: f.chainId,
      attestor: f.admin,
      workerKeyHash: key.keyHash,
      dir: demoDir,
      log: (l) => lines.push(l),
    });
    const approval = await f.d.registry.approvalOf(key.keyHash);
    expect(approval.evidenceHash).toBe(a.evidenceHash);
    expect(approval.deviceIdHash).toBe(a.deviceIdHash);
    expect(approval.expiresAt).toBe(a.expiresAt);
    expect(lines.join("\n")).toMatch(/verified \(test CA — not vendor evidence\)/);
    expect(lines.join("\n")).toMatch(
      /the same report for another key is refused: report REPORT_DATA must be the binding/,
    );
    // The files it leaves re-check with the CLI (an audit of the approval), but do not approve again.
    const paths = [
      "--evidence",
      join(demoDir, "attest-evidence.test-ca.json"),
      "--challenge",
      join(demoDir, "attest-challenge.json"),
      "--policy",
      join(demoDir, "attest-policy.test-ca.json"),
    ];
    const v = await cli(["attest", "verify", ...paths]);
    expect(v.status).toBe(0);
    expect(v.stdout).toMatch(/signed by a test CA — not vendor evidence/);
    expect(v.stdout).toMatch(
      /challenge {7}used by approveWorker 0x[0-9a-f]{64}: `attest approve` refuses it/,
    );
    const again = await cli([
      "attest",
      "approve",
      ...paths,
      "--expires",
      "1d",
      "--registry",
      f.d.addresses.registry,
    ]);
    expect(again.status).toBe(1);
    expect(again.stderr.trim()).toMatch(/^meterproof: challenge was already used \(approveWorker 0x/);
  });
});
