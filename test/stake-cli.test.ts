/**
 * The stake commands end to end against `npx hardhat node`, through the CLI only (the attestor
 * role grant is the one setup step done with ethers): deploy with bond and challenge terms,
 * register, approve, bond, status, unbond and withdraw the bond after the delay, revoke, revoke
 * for cause, and withdraw reporting pending pay; then a second worker proves and submits a trace
 * whose fourth record reports twenty times the energy its power allows, and a stranger challenges
 * it (`meterproof challenge`): the key is revoked for cause, the pending pay goes back to the job
 * and the challenger gets the reporter's share of the bond.
 */
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { Contract, Wallet, id, keccak256, parseEther, toUtf8Bytes, type JsonRpcProvider } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { json, ok, runCli, type CliResult } from "./helpers/cli.ts";
import { cleanEnv, KEYS as NODE_KEYS, startHardhatNode, type HardhatNode } from "./helpers/hardhat-node.ts";
import { writeJobTrace } from "./helpers/job-trace.ts";
import { tempDir } from "./worker-helpers.ts";

const KEYS = { admin: NODE_KEYS.admin, provider: NODE_KEYS.provider, reporter: NODE_KEYS.submitter } as const;
const PROVIDER = new Wallet(KEYS.provider).address;
const REPORTER = new Wallet(KEYS.reporter).address;
const WINDOW = 600;
const EVIDENCE = id("sev-snp report of the test host");

const dir = tempDir("stake-cli");
const deploymentFile = join(dir, "deployment.json");
const workerKeyFile = join(dir, "worker.key");
const challengedKeyFile = join(dir, "challenged.key");
const challengedTrace = join(dir, "challenged.trace.jsonl");
const challengedBundles = join(dir, "challenged-bundles");
/** The challenged worker's implausible record: seq 3 of segment 0. */
const BAD_SEQ = 3;
let chain: HardhatNode;
let rpc = "";
let provider: JsonRpcProvider;
let keyHash = "";

function cli(args: string[], key?: string): CliResult {
  return runCli(args, { env: cleanEnv(key ? { METERPROOF_PRIVATE_KEY: key } : {}), cwd: dir });
}
const onChain = () => ["--rpc", rpc, "--deployment", deploymentFile];

const increaseTime = (seconds: number) => chain.increaseTime(seconds);

beforeAll(async () => {
  chain = await startHardhatNode(dir);
  rpc = chain.rpc;
  provider = chain.provider;
});

afterAll(async () => {
  await chain?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("stake commands against a hardhat node", () => {
  it("deploys with bond and challenge terms, and refuses terms that break the rules", async () => {
    const bad = cli(
      ["deploy", "--rpc", rpc, "--sizes", "8", "--out", join(dir, "bad.json"), "--minimum-bond", "5"],
      KEYS.admin,
    );
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("--minimum-bond needs --bond-token");
    const short = cli(
      [
        "deploy",
        "--rpc",
        rpc,
        "--sizes",
        "8",
        "--out",
        join(dir, "bad.json"),
        "--bond-token",
        "credit",
      ].concat(["--challenge-window", "600", "--unbond-delay", "1199"]),
      KEYS.admin,
    );
    expect(short.status).toBe(2);
    expect(short.stderr).toContain("--unbond-delay must be at least twice --challenge-window (1200 s)");
    const rule = cli(
      ["deploy", "--rpc", rpc, "--sizes", "8", "--out", join(dir, "bad.json")].concat([
        "--challenge-window",
        "600",
        "--energy-rule",
        "5000,9000,40000",
      ]),
      KEYS.admin,
    );
    expect(rule.status).toBe(2);
    expect(rule.stderr).toContain(
      "--energy-rule.hiBps must be an integer from 10000 to 4294967295, got 9000",
    );

    const d = json<{
      addresses: { registry: string; credit: string; challenge: string };
      parameters: { stake: unknown; challenge: unknown };
    }>(
      cli(
        [
          "deploy",
          "--rpc",
          rpc,
          "--sizes",
          "8",
          "--out",
          deploymentFile,
          "--bond-token",
          "credit",
          "--minimum-bond",
          "10",
          "--challenge-window",
          String(WINDOW),
          "--reporter-share-bps",
          "2500",
          "--json",
        ],
        KEYS.admin,
      ),
    );
    expect(d.parameters.stake).toEqual({
      bondToken: d.addresses.credit,
      minimumBond: parseEther("10").toString(),
      unbondDelay: 2 * WINDOW,
      challengeWindow: WINDOW,
      reporterShareBps: 2500,
      treasury: "0x0000000000000000000000000000000000000000",
    });
    // With a window, anyone may prove an implausible pending record: the challenge is deployed too.
    expect(d.addresses.challenge).toMatch(/^0x[0-9a-fA-F]{40}$/);
    expect(d.parameters.challenge).toEqual({ maxRecords: 8, loBps: 5000, hiBps: 15000, slackMicroJ: 40000 });
    // The admin holds the admin role over ATTESTOR_ROLE; it names itself attestor here.
    const admin = new Wallet(KEYS.admin, provider);
    const registry = new Contract(d.addresses.registry, ["function grantRole(bytes32,address)"], admin);
    await (
      await registry.getFunction("grantRole")(keccak256(toUtf8Bytes("ATTESTOR_ROLE")), admin.address)
    ).wait();
    ok(cli(["credit", "mint", ...onChain(), "--to", PROVIDER, "--amount", "100"], KEYS.admin));
    ok(cli(["keygen", "--out", workerKeyFile]));
    const reg = json<{ workerKeyHash: string }>(
      cli(
        [
          "worker",
          "register",
          ...onChain(),
          "--key",
          workerKeyFile,
          "--device-class",
          "H100",
          "--gpu-uuid",
          "GPU-stake-cli",
          "--json",
        ],
        KEYS.provider,
      ),
    );
    keyHash = reg.workerKeyHash;
  });

  it("approves, bonds and shows the key's status", () => {
    const status = () =>
      json<{ billable: boolean; refusal?: string; stake: { bonded: string } }>(
        cli(["worker", "status", keyHash, ...onChain(), "--json"]),
      );
    expect(status()).toMatchObject({ billable: false, refusal: "bond below the minimum" });

    const badHash = cli(
      ["worker", "approve", keyHash, ...onChain(), "--expires", "+30d", "--evidence-hash", "0x12"],
      KEYS.admin,
    );
    expect(badHash.status).toBe(2);
    expect(badHash.stderr).toContain("--evidence-hash must be 0x and 64 hex digits");
    const notAttestor = cli(
      ["worker", "approve", keyHash, ...onChain(), "--expires", "+30d", "--evidence-hash", EVIDENCE],
      KEYS.provider,
    );
    expect(notAttestor.status).toBe(1);
    expect(notAttestor.stderr).toContain("AccessControlUnauthorizedAccount");
    const approved = json<{ evidenceHash: string; deviceIdHash: string }>(
      cli(
        [
          "worker",
          "approve",
          keyHash,
          ...onChain(),
          "--expires",
          "+30d",
          "--evidence-hash",
          EVIDENCE,
          "--device-id-hash",
          id("device"),
          "--json",
        ],
        KEYS.admin,
      ),
    );
    expect(approved).toMatchObject({ evidenceHash: EVIDENCE, deviceIdHash: id("device") });

    const bonded = json<{ bonded: string; minimumBond: string }>(
      cli(["worker", "bond", keyHash, ...onChain(), "--amount", "12", "--json"], KEYS.provider),
    );
    expect(bonded).toMatchObject({
      bonded: parseEther("12").toString(),
      minimumBond: parseEther("10").toString(),
    });
    expect(status()).toMatchObject({ billable: true, stake: { bonded: parseEther("12").toString() } });
  });

  it("unbonds after the delay, naming the contract's refusals", async () => {
    const tooMuch = cli(["worker", "unbond", keyHash, ...onChain(), "--amount", "13"], KEYS.provider);
    expect(tooMuch.status).toBe(1);
    expect(tooMuch.stderr).toContain("WorkerRegistry__UnbondExceedsBond");
    ok(cli(["worker", "unbond", keyHash, ...onChain(), "--amount", "4"], KEYS.provider));
    expect(
      json<{ refusal?: string }>(cli(["worker", "status", keyHash, ...onChain(), "--json"])),
    ).toMatchObject({
      refusal: "bond below the minimum",
    });
    const early = cli(["worker", "withdraw-bond", keyHash, ...onChain()], KEYS.provider);
    expect(early.status).toBe(1);
    expect(early.stderr).toContain("WorkerRegistry__UnbondNotReady");
    await increaseTime(2 * WINDOW + 1);
    const out = json<{ amount: string }>(
      cli(["worker", "withdraw-bond", keyHash, ...onChain(), "--json"], KEYS.provider),
    );
    expect(out.amount).toBe(parseEther("4").toString());
  });

  it("revokes, revokes for cause with a slash, and withdraw reports nothing pending", () => {
    const revoked = ok(
      cli(["worker", "revoke", keyHash, ...onChain(), "--reason", "report expired"], KEYS.admin),
    );
    expect(revoked.stdout).toContain(`revoked the approval of worker key ${keyHash}`);
    const slashed = json<{ toReporter: string; toTreasury: string }>(
      cli(
        [
          "worker",
          "revoke-for-cause",
          keyHash,
          ...onChain(),
          "--evidence-hash",
          EVIDENCE,
          "--reporter",
          REPORTER,
          "--json",
        ],
        KEYS.admin,
      ),
    );
    expect(slashed).toEqual(
      expect.objectContaining({
        toReporter: parseEther("2").toString(),
        toTreasury: parseEther("6").toString(),
      }),
    );
    expect(
      json<{ refusal?: string }>(cli(["worker", "status", keyHash, ...onChain(), "--json"])),
    ).toMatchObject({
      refusal: "revoked for cause",
    });
    const again = cli(["worker", "bond", keyHash, ...onChain(), "--amount", "1"], KEYS.provider);
    expect(again.status).toBe(1);
    expect(again.stderr).toContain("WorkerRegistry__KeySlashed");
    const w = json<{ amount: string; pending: string }>(
      cli(["withdraw", ...onChain(), "--json"], KEYS.provider),
    );
    expect(w).toMatchObject({ amount: "0", pending: "0" });
  });

  it("anyone challenges a second worker's implausible record while its pay is pending, once", async () => {
    ok(
      cli(
        ["credit", "mint", ...onChain(), "--to", new Wallet(NODE_KEYS.client).address, "--amount", "100"],
        KEYS.admin,
      ),
    );
    ok(cli(["keygen", "--out", challengedKeyFile]));
    const { workerKeyHash } = json<{ workerKeyHash: string }>(
      cli(
        ["worker", "register", ...onChain(), "--key", challengedKeyFile, "--device-class", "H100"].concat([
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
        NODE_KEYS.client,
      ),
    );

    // 8 records of 2 s at 300 W (600 J each), but record 3 reports 12,000 J.
    await increaseTime(60);
    const startMs = Number(job.createdAt) * 1000 + 1000;
    await writeJobTrace({
      path: challengedTrace,
      escrow: (JSON.parse(readFileSync(deploymentFile, "utf8")) as { addresses: { escrow: string } })
        .addresses.escrow,
      jobId: BigInt(job.jobId),
      provider: PROVIDER,
      terms: { client: job.client, token: job.token, price: BigInt(job.price), expiry: BigInt(job.expiry) },
      keyFile: challengedKeyFile,
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
    const early = cli(["challenge", challengedTrace, ...onChain(), "--dry-run"]);
    expect(early.status).toBe(1);
    expect(early.stdout).toMatch(
      /segment 0 record 3: energy 12000000 mJ for 300000 mW over 2000 ms is more than 150 % of power × time \(600000 mJ\) plus 40 mJ; cannot be challenged: segment 0x[0-9a-f]{64} was not accepted/,
    );
    expect(early.stderr).toContain(
      "nothing to challenge: no implausible record is in a segment whose pay is still pending",
    );

    ok(cli(["prove", challengedTrace, "--out", challengedBundles]));
    const submitted = json<{ totalPayout: string }>(
      cli(["submit", challengedBundles, ...onChain(), "--json"], KEYS.reporter),
    );
    const pay = BigInt(submitted.totalPayout);
    expect(pay).toBeGreaterThan(0n);

    const dry = json<{ segment: number; seq: number; kind: string; pendingAmount: string; dryRun: boolean }>(
      cli(["challenge", challengedTrace, ...onChain(), "--dry-run", "--json"]),
    );
    expect(dry).toMatchObject({
      segment: 0,
      seq: BAD_SEQ,
      kind: "too-much",
      pendingAmount: pay.toString(),
      dryRun: true,
    });
    const badSeq = cli(["challenge", challengedTrace, ...onChain(), "--seq", "2", "--dry-run"]);
    expect(badSeq.status).toBe(1);
    expect(badSeq.stderr).toContain(
      "nothing to challenge: every record (record 2) keeps the rule (energy within 50–150 % of power × time ± 40 mJ)",
    );
    const badSegment = cli(["challenge", challengedTrace, ...onChain(), "--segment", "4"]);
    expect(badSegment.status).toBe(2);
    expect(badSegment.stderr).toContain(
      "--segment must be one of the trace's 1 sealed segments (0..0), got 4",
    );

    const done = json<{
      returnedToJob: string;
      toReporter: string;
      toTreasury: string;
      evidenceHash: string;
    }>(cli(["challenge", challengedTrace, ...onChain(), "--json"], KEYS.reporter));
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
      provider,
    );
    expect(await registry.getFunction("slashedAt")(workerKeyHash)).toBeGreaterThan(0n);
    const escrow = new Contract(
      d.addresses.escrow,
      ["function pendingBalanceOf(address,address) view returns (uint256)"],
      provider,
    );
    expect(await escrow.getFunction("pendingBalanceOf")(PROVIDER, job.token)).toBe(0n);

    // The pay went back: the same record cannot be challenged again.
    const again = cli(["challenge", challengedTrace, ...onChain()], KEYS.reporter);
    expect(again.status).toBe(1);
    expect(again.stdout).toContain("cannot be challenged: segment");
    expect(again.stdout).toContain("is no longer pending");
  });
});
