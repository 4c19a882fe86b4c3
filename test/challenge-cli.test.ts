/**
 * `meterproof challenge` end to end against `npx hardhat node`, through the CLI: deploy with a
 * challenge window and bonds, register and bond a worker, prove and submit a trace whose fourth
 * record reports twenty times the energy its power allows, then challenge it as a stranger: the
 * key is revoked for cause, the pending pay goes back to the job and the challenger gets the
 * reporter's share of the bond.
 */
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { Contract, Wallet, parseEther } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeJobTrace } from "./helpers/job-trace.ts";
import { json, ok, runCli, type CliResult } from "./helpers/cli.ts";
import { cleanEnv, KEYS, startHardhatNode, type HardhatNode } from "./helpers/hardhat-node.ts";
import { tempDir } from "./worker-helpers.ts";

const PROVIDER = new Wallet(KEYS.provider).address;
const WINDOW = 3600;
const BAD_SEQ = 3;

const dir = tempDir("challenge-cli");
const deploymentFile = join(dir, "deployment.json");
const workerKeyFile = join(dir, "worker.key");
const tracePath = join(dir, "job.trace.jsonl");
const bundleDir = join(dir, "bundles");
let chain: HardhatNode;

function cli(args: string[], key?: string): CliResult {
  return runCli(args, { env: cleanEnv(key ? { METERPROOF_PRIVATE_KEY: key } : {}), cwd: dir });
}
const onChain = () => ["--rpc", chain.rpc, "--deployment", deploymentFile];

beforeAll(async () => {
  chain = await startHardhatNode(dir);
});
afterAll(async () => {
  await chain?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("meterproof challenge against a hardhat node", () => {
  it("deploys the challenge with the window, and refuses a rule the circuit cannot prove", () => {
    const bad = cli(
      ["deploy", "--rpc", chain.rpc, "--sizes", "8", "--out", join(dir, "bad.json")].concat([
        "--challenge-window",
        "600",
        "--energy-rule",
        "5000,9000,40000",
      ]),
      KEYS.admin,
    );
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("--energy-rule.hiBps must be an integer from 10000 to 4294967295, got 9000");
    const d = json<{ addresses: { challenge: string }; parameters: { challenge: unknown } }>(
      cli(
        ["deploy", "--rpc", chain.rpc, "--sizes", "8", "--out", deploymentFile, "--json"].concat(
          ["--bond-token", "credit", "--minimum-bond", "10", "--challenge-window", String(WINDOW)],
          ["--reporter-share-bps", "2500"],
        ),
        KEYS.admin,
      ),
    );
    expect(d.addresses.challenge).toMatch(/^0x[0-9a-fA-F]{40}$/);
    expect(d.parameters.challenge).toEqual({ maxRecords: 8, loBps: 5000, hiBps: 15000, slackMicroJ: 40000 });
  });

  it("challenges the implausible record of a submitted segment, once", async () => {
    ok(cli(["credit", "mint", ...onChain(), "--to", PROVIDER, "--amount", "100"], KEYS.admin));
    ok(
      cli(
        ["credit", "mint", ...onChain(), "--to", new Wallet(KEYS.client).address, "--amount", "100"],
        KEYS.admin,
      ),
    );
    ok(cli(["keygen", "--out", workerKeyFile]));
    const { workerKeyHash } = json<{ workerKeyHash: string }>(
      cli(
        ["worker", "register", ...onChain(), "--key", workerKeyFile, "--device-class", "H100"].concat([
          "--gpu-uuid",
          "GPU-challenge-cli",
          "--json",
        ]),
        KEYS.provider,
      ),
    );
    ok(cli(["worker", "bond", workerKeyHash, ...onChain(), "--amount", "10"], KEYS.provider));
    const job = json<{
      jobId: string;
      createdAt: string;
      client: string;
      token: string;
      price: string;
      expiry: string;
    }>(
      cli(
        ["job", "create", ...onChain(), "--provider", PROVIDER, "--budget", "10", "--price", "1"].concat([
          "--expiry",
          "+2h",
          "--json",
        ]),
        KEYS.client,
      ),
    );

    // 8 records of 2 s at 300 W (600 J each), but record 3 reports 12,000 J.
    await chain.increaseTime(60);
    const startMs = Number(job.createdAt) * 1000 + 1000;
    await writeJobTrace({
      path: tracePath,
      escrow: (JSON.parse(readFileSync(deploymentFile, "utf8")) as { addresses: { escrow: string } })
        .addresses.escrow,
      jobId: BigInt(job.jobId),
      provider: PROVIDER,
      terms: { client: job.client, token: job.token, price: BigInt(job.price), expiry: BigInt(job.expiry) },
      keyFile: workerKeyFile,
      gpu: "GPU-challenge-cli",
      sampler: "nvml",
      startMs,
      intervalMs: 2000,
      records: 8,
      measure: (seq) => ({
        utilBps: 9000,
        memMiB: 1000,
        powerMw: 300_000,
        energyMj: seq === BAD_SEQ ? 12_000_000 : 600_000,
      }),
    });

    // Not on chain yet: the record is named, and nothing can be challenged.
    const early = cli(["challenge", tracePath, ...onChain(), "--dry-run"]);
    expect(early.status).toBe(1);
    expect(early.stdout).toMatch(
      /segment 0 record 3: energy 12000000 mJ for 300000 mW over 2000 ms is more than 150 % of power × time \(600000 mJ\) plus 40 mJ; cannot be challenged: segment 0x[0-9a-f]{64} was not accepted/,
    );
    expect(early.stderr).toContain(
      "nothing to challenge: no implausible record is in a segment whose pay is still pending",
    );

    ok(cli(["prove", tracePath, "--out", bundleDir]));
    const submitted = json<{ totalPayout: string }>(
      cli(["submit", bundleDir, ...onChain(), "--json"], KEYS.submitter),
    );
    const pay = BigInt(submitted.totalPayout);
    expect(pay).toBeGreaterThan(0n);

    const dry = json<{ segment: number; seq: number; kind: string; pendingAmount: string; dryRun: boolean }>(
      cli(["challenge", tracePath, ...onChain(), "--dry-run", "--json"]),
    );
    expect(dry).toMatchObject({
      segment: 0,
      seq: BAD_SEQ,
      kind: "too-much",
      pendingAmount: pay.toString(),
      dryRun: true,
    });
    const badSeq = cli(["challenge", tracePath, ...onChain(), "--seq", "2", "--dry-run"]);
    expect(badSeq.status).toBe(1);
    expect(badSeq.stderr).toContain(
      "nothing to challenge: every record (record 2) keeps the rule (energy within 50–150 % of power × time ± 40 mJ)",
    );
    const badSegment = cli(["challenge", tracePath, ...onChain(), "--segment", "4"]);
    expect(badSegment.status).toBe(2);
    expect(badSegment.stderr).toContain(
      "--segment must be one of the trace's 1 sealed segments (0..0), got 4",
    );

    const done = json<{
      returnedToJob: string;
      toReporter: string;
      toTreasury: string;
      evidenceHash: string;
    }>(cli(["challenge", tracePath, ...onChain(), "--json"], KEYS.submitter));
    expect(done).toMatchObject({
      returnedToJob: pay.toString(),
      toReporter: parseEther("2.5").toString(),
      toTreasury: parseEther("7.5").toString(),
    });
    expect(done.evidenceHash).toMatch(/^0x[0-9a-f]{64}$/);
    // Read with ethers: the key is off for good and the job has its budget back.
    const d = JSON.parse(readFileSync(deploymentFile, "utf8")) as {
      addresses: { escrow: string; registry: string };
    };
    const registry = new Contract(
      d.addresses.registry,
      ["function slashedAt(uint256) view returns (uint64)"],
      chain.provider,
    );
    expect(await registry.getFunction("slashedAt")(workerKeyHash)).toBeGreaterThan(0n);
    const escrow = new Contract(
      d.addresses.escrow,
      ["function pendingBalanceOf(address,address) view returns (uint256)"],
      chain.provider,
    );
    expect(await escrow.getFunction("pendingBalanceOf")(PROVIDER, job.token)).toBe(0n);

    // The pay went back: the same record cannot be challenged again.
    const again = cli(["challenge", tracePath, ...onChain()], KEYS.submitter);
    expect(again.status).toBe(1);
    expect(again.stdout).toContain("cannot be challenged: segment");
    expect(again.stdout).toContain("is no longer pending");
  });
});
