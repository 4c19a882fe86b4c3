/**
 * The stake commands end to end against `npx hardhat node`, through the CLI only (the attestor
 * role grant is the one setup step done with ethers): deploy with bond and challenge terms,
 * register, approve, bond, status, unbond and withdraw the bond after the delay, revoke, revoke
 * for cause, and withdraw reporting pending pay.
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import { Contract, Wallet, id, keccak256, parseEther, toUtf8Bytes, type JsonRpcProvider } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { json, ok, runCli, type CliResult } from "./helpers/cli.ts";
import { cleanEnv, KEYS as NODE_KEYS, startHardhatNode, type HardhatNode } from "./helpers/hardhat-node.ts";
import { tempDir } from "./worker-helpers.ts";

const KEYS = { admin: NODE_KEYS.admin, provider: NODE_KEYS.provider, reporter: NODE_KEYS.submitter } as const;
const PROVIDER = new Wallet(KEYS.provider).address;
const REPORTER = new Wallet(KEYS.reporter).address;
const WINDOW = 600;
const EVIDENCE = id("sev-snp report of the test host");

const dir = tempDir("stake-cli");
const deploymentFile = join(dir, "deployment.json");
const workerKeyFile = join(dir, "worker.key");
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

    const d = json<{ addresses: { registry: string; credit: string }; parameters: { stake: unknown } }>(
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
});
