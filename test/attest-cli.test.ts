/**
 * The attestation commands through the CLI: `attest challenge`, `worker attest` with FAKE
 * vendor tools on PATH (test/fixtures/attestation/fake-tools: they replay the recorded TEST CA
 * evidence, so this tests the shell-out plumbing, not a vendor tool), and `attest verify` with
 * its exit codes and one-line errors.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { attestationBinding } from "../attest/binding.ts";
import { saveWorkerKey, workerKeyFromSecret } from "../trace/keys.ts";
import { runCli } from "./helpers/cli.ts";
import { FIXTURE } from "./fixtures/attestation/params.ts";
import { tempDir } from "./worker-helpers.ts";

const FIX = new URL("./fixtures/attestation/test-ca/", import.meta.url).pathname;
const FAKE_BIN = new URL("./fixtures/attestation/fake-tools/", import.meta.url).pathname;
const dir = tempDir("attest-cli");
const keyFile = join(dir, "worker.key");
const key = await workerKeyFromSecret(Buffer.from(FIXTURE.workerSecret.slice(2), "hex"));
saveWorkerKey(keyFile, key);
const binding = attestationBinding({
  workerKeyHash: key.keyHash,
  chainId: FIXTURE.chainId,
  registry: FIXTURE.registry,
  challenge: FIXTURE.challenge,
});
const AT = ["--at", FIXTURE.now.toISOString()];

function env(
  evidence: string,
  log: string,
  path = `${FAKE_BIN}:${process.env.PATH ?? ""}`,
): NodeJS.ProcessEnv {
  return { ...process.env, PATH: path, FAKE_EVIDENCE: join(FIX, evidence), FAKE_LOG: log };
}

/** A one-line error, no stack trace. */
function oneLine(stderr: string): string {
  const lines = stderr.trim().split("\n");
  expect(lines).toHaveLength(1);
  expect(stderr).not.toMatch(/\n\s+at /);
  return lines[0]!;
}

describe("meterproof worker attest (fake vendor tools)", () => {
  it("sev-snp: asks snpguest for a report with the binding as request data, then verifies", () => {
    const out = join(dir, "snp.json");
    const log = join(dir, "snp.log");
    const r = runCli(
      [
        "worker",
        "attest",
        "--key",
        keyFile,
        "--challenge",
        join(FIX, "challenge.json"),
        "--format",
        "sev-snp",
        "--out",
        out,
      ],
      { env: env("evidence-sev-snp.test-ca.json", log) },
    );
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const calls = readFileSync(log, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { cmd: string; requestData?: string });
    expect(calls.map((c) => c.cmd)).toEqual(["report", "certificates"]);
    expect(calls[0]!.requestData).toBe(binding.slice(2) + "00".repeat(32));
    const ev = JSON.parse(readFileSync(out, "utf8")) as {
      format: string;
      tool: string;
      workerKeyHash: string;
    };
    expect(ev.format).toBe("sev-snp");
    expect(ev.tool).toBe("snpguest");
    expect(ev.workerKeyHash).toBe(key.keyHash.toString());

    const v = runCli([
      "attest",
      "verify",
      "--evidence",
      out,
      "--challenge",
      join(FIX, "challenge.json"),
      "--policy",
      join(FIX, "policy.test-ca.json"),
      ...AT,
    ]);
    expect(v.status).toBe(0);
    expect(v.stdout).toMatch(/evidence accepted for worker key/);
    expect(v.stdout).toMatch(/signed by a test CA — not vendor evidence/);
  });

  it("sev-snp: fetches the certificates from AMD's KDS when the host gives none", () => {
    const out = join(dir, "snp-kds.json");
    const log = join(dir, "snp-kds.log");
    const r = runCli(
      [
        "worker",
        "attest",
        "--key",
        keyFile,
        "--challenge",
        join(FIX, "challenge.json"),
        "--format",
        "sev-snp",
        "--processor",
        "genoa",
        "--out",
        out,
      ],
      { env: { ...env("evidence-sev-snp.test-ca.json", log), FAKE_NO_HOST_CERTS: "1" } },
    );
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const calls = readFileSync(log, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { cmd: string; args?: string[] });
    expect(calls.map((c) => c.cmd)).toEqual(["report", "certificates", "fetch ca", "fetch vcek"]);
    expect(calls[2]!.args).toEqual(["pem", expect.any(String), "genoa"]);
    const v = runCli([
      "attest",
      "verify",
      "--evidence",
      out,
      "--challenge",
      join(FIX, "challenge.json"),
      "--policy",
      join(FIX, "policy.test-ca.json"),
      ...AT,
    ]);
    expect(v.status).toBe(0);
  });

  it("sev-snp: keeps the VLEK a cloud host hands out for a VLEK-signed report", () => {
    const out = join(dir, "snp-vlek.json");
    const r = runCli(
      [
        "worker",
        "attest",
        "--key",
        keyFile,
        "--challenge",
        join(FIX, "challenge.json"),
        "--format",
        "sev-snp",
        "--out",
        out,
      ],
      { env: env("evidence-sev-snp-vlek.test-ca.json", join(dir, "vlek.log")) },
    );
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const ev = JSON.parse(readFileSync(out, "utf8")) as { sevSnp: { vlek?: string; vcek?: string } };
    expect(ev.sevSnp.vlek).toMatch(/BEGIN CERTIFICATE/);
    expect(ev.sevSnp.vcek).toBeUndefined();
    const v = runCli([
      "attest",
      "verify",
      "--json",
      "--evidence",
      out,
      "--challenge",
      join(FIX, "challenge.json"),
      "--policy",
      join(FIX, "policy.test-ca.json"),
      ...AT,
    ]);
    expect(v.status).toBe(0);
    expect(JSON.parse(v.stdout)).toMatchObject({ details: { endorsementKey: "VLEK" } });
  });

  it("nvidia: runs nvattest attest with the binding as nonce and keeps its detached EAT", () => {
    const out = join(dir, "nv.json");
    const log = join(dir, "nv.log");
    const r = runCli(
      [
        "worker",
        "attest",
        "--key",
        keyFile,
        "--challenge",
        join(FIX, "challenge.json"),
        "--format",
        "nvidia",
        "--out",
        out,
      ],
      { env: env("evidence-nvidia.test-ca.json", log) },
    );
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const { args } = JSON.parse(readFileSync(log, "utf8")) as { args: string[] };
    expect(args).toEqual(["attest", "--device", "gpu", "--verifier", "remote", "--nonce", binding.slice(2)]);
    const v = runCli([
      "attest",
      "verify",
      "--json",
      "--evidence",
      out,
      "--challenge",
      join(FIX, "challenge.json"),
      "--policy",
      join(FIX, "policy.test-ca.json"),
      ...AT,
    ]);
    expect(v.status).toBe(0);
    expect(JSON.parse(v.stdout)).toMatchObject({
      ok: true,
      format: "nvidia-nras",
      deviceId: FIXTURE.gpu.ueid,
    });
  });

  it("names the missing tool and how to install it", () => {
    const r = runCli(
      [
        "worker",
        "attest",
        "--key",
        keyFile,
        "--challenge",
        join(FIX, "challenge.json"),
        "--format",
        "sev-snp",
        "--out",
        join(dir, "none.json"),
      ],
      { env: env("evidence-sev-snp.test-ca.json", join(dir, "x.log"), "/nonexistent") },
    );
    expect(r.status).toBe(1);
    expect(oneLine(r.stderr)).toMatch(
      /^meterproof: snpguest was not found: install VirTEE's snpguest .*or give --tool PATH$/,
    );
    const nv = runCli(
      [
        "worker",
        "attest",
        "--key",
        keyFile,
        "--challenge",
        join(FIX, "challenge.json"),
        "--format",
        "nvidia",
        "--out",
        join(dir, "none.json"),
        "--tool",
        "/nonexistent/nvattest",
      ],
      { env: env("evidence-nvidia.test-ca.json", join(dir, "x.log")) },
    );
    expect(nv.status).toBe(1);
    expect(oneLine(nv.stderr)).toMatch(
      /\/nonexistent\/nvattest was not found: install NVIDIA's Attestation CLI nvattest/,
    );
  });

  it("refuses a report that does not carry the challenge's binding (the tool ignored the request)", () => {
    const other = join(dir, "other-challenge.json");
    const ch = JSON.parse(readFileSync(join(FIX, "challenge.json"), "utf8")) as Record<string, string>;
    writeFileSync(other, JSON.stringify({ ...ch, challenge: "0x" + "d5".repeat(32) }));
    const r = runCli(
      [
        "worker",
        "attest",
        "--key",
        keyFile,
        "--challenge",
        other,
        "--format",
        "sev-snp",
        "--out",
        join(dir, "bad.json"),
      ],
      { env: env("evidence-sev-snp.test-ca.json", join(dir, "bad.log")) },
    );
    expect(r.status).toBe(1);
    expect(oneLine(r.stderr)).toMatch(
      /report REPORT_DATA is 0x.* not the binding 0x.*the tool ignored the request data/,
    );
  });

  it("refuses an expired challenge before running the tool", () => {
    const expired = join(dir, "expired-challenge.json");
    const ch = JSON.parse(readFileSync(join(FIX, "challenge.json"), "utf8")) as Record<string, string>;
    writeFileSync(expired, JSON.stringify({ ...ch, expiresAt: "2020-01-01T00:00:00.000Z" }));
    const log = join(dir, "expired.log");
    const r = runCli(
      [
        "worker",
        "attest",
        "--key",
        keyFile,
        "--challenge",
        expired,
        "--format",
        "nvidia",
        "--out",
        join(dir, "e.json"),
      ],
      { env: env("evidence-nvidia.test-ca.json", log) },
    );
    expect(r.status).toBe(2);
    expect(oneLine(r.stderr)).toMatch(
      /expired at 2020-01-01T00:00:00.000Z: ask the attestor for a fresh one$/,
    );
    expect(() => readFileSync(log)).toThrow();
  });

  it("refuses a key the challenge was not issued for, and a bad --format (exit 2)", async () => {
    const otherKey = join(dir, "other.key");
    saveWorkerKey(otherKey, await workerKeyFromSecret(Buffer.alloc(32, 0x22)));
    const r = runCli([
      "worker",
      "attest",
      "--key",
      otherKey,
      "--challenge",
      join(FIX, "challenge.json"),
      "--format",
      "sev-snp",
      "--out",
      join(dir, "k.json"),
    ]);
    expect(r.status).toBe(2);
    expect(oneLine(r.stderr)).toMatch(
      /but the challenge was issued for 7043855572818595969552446042940099923254896955673120937155026556717060989259/,
    );
    const f = runCli([
      "worker",
      "attest",
      "--key",
      keyFile,
      "--challenge",
      join(FIX, "challenge.json"),
      "--format",
      "tdx",
      "--out",
      join(dir, "k.json"),
    ]);
    expect(f.status).toBe(2);
    expect(oneLine(f.stderr)).toBe("meterproof: --format must be sev-snp or nvidia, got tdx");
  });
});

describe("meterproof attest challenge / verify", () => {
  it("issues a fresh challenge file, never overwriting one", () => {
    const out = join(dir, "c1.json");
    const args = [
      "attest",
      "challenge",
      "--key-hash",
      key.keyHash.toString(),
      "--chain-id",
      "31337",
      "--registry",
      FIXTURE.registry.toLowerCase(),
      "--ttl",
      "30m",
      "--out",
      out,
    ];
    const r = runCli(args);
    expect(r.status).toBe(0);
    const c = JSON.parse(readFileSync(out, "utf8")) as Record<string, string>;
    expect(c).toMatchObject({
      kind: "meterproof-attestation-challenge",
      workerKeyHash: key.keyHash.toString(),
      chainId: "31337",
      registry: FIXTURE.registry,
    });
    expect(c.challenge).toMatch(/^0x[0-9a-f]{64}$/);
    expect(Date.parse(c.expiresAt!) - Date.parse(c.issuedAt!)).toBe(30 * 60 * 1000);
    const again = runCli(args);
    expect(again.status).toBe(2);
    const other = runCli([...args.slice(0, -1), join(dir, "c2.json")]);
    expect(
      (JSON.parse(readFileSync(join(dir, "c2.json"), "utf8")) as { challenge: string }).challenge,
    ).not.toBe(c.challenge);
    expect(other.status).toBe(0);
    const bad = runCli([
      "attest",
      "challenge",
      "--key-hash",
      "0",
      "--chain-id",
      "1",
      "--registry",
      FIXTURE.registry,
      "--out",
      join(dir, "c3.json"),
    ]);
    expect(bad.status).toBe(2);
    expect(oneLine(bad.stderr)).toMatch(/workerKeyHash must be a BN254 field element above 0/);
  });

  it("exits 1 with one line on a refusal and 2 on malformed input", () => {
    const ch = JSON.parse(readFileSync(join(FIX, "challenge.json"), "utf8")) as Record<string, string>;
    const otherChain = join(dir, "chain1.json");
    writeFileSync(otherChain, JSON.stringify({ ...ch, chainId: "1" }));
    const ev = JSON.parse(readFileSync(join(FIX, "evidence-sev-snp.test-ca.json"), "utf8")) as Record<
      string,
      unknown
    >;
    const evFile = join(dir, "ev-chain1.json");
    writeFileSync(evFile, JSON.stringify({ ...ev, chainId: "1" }));
    const r = runCli([
      "attest",
      "verify",
      "--evidence",
      evFile,
      "--challenge",
      otherChain,
      "--policy",
      join(FIX, "policy.test-ca.json"),
      ...AT,
    ]);
    expect(r.status).toBe(1);
    expect(oneLine(r.stderr)).toMatch(/^meterproof: report REPORT_DATA must be the binding 0x/);

    const broken = join(dir, "broken.json");
    writeFileSync(broken, JSON.stringify({ ...ev, sevSnp: { report: "AAAA", vcek: "x" } }));
    const m = runCli([
      "attest",
      "verify",
      "--evidence",
      broken,
      "--challenge",
      join(FIX, "challenge.json"),
      "--policy",
      join(FIX, "policy.test-ca.json"),
      ...AT,
    ]);
    expect(m.status).toBe(2);
    expect(oneLine(m.stderr)).toMatch(/evidence sevSnp.vcek must hold X.509 certificates/);
  });
});
