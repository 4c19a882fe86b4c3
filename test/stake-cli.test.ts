/**
 * The stake commands end to end against `npx hardhat node`, through the CLI only (the attestor
 * role grant is the one setup step done with ethers): deploy with bond and challenge terms,
 * register, approve, bond, status, unbond and withdraw the bond after the delay, revoke, revoke
 * for cause, and withdraw reporting pending pay.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { openSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { Contract, JsonRpcProvider, Network, Wallet, id, keccak256, parseEther, toUtf8Bytes } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli, REPO_ROOT, type CliResult } from "./helpers/cli.ts";
import { buildContracts } from "./helpers/hardhat.ts";
import { tempDir } from "./worker-helpers.ts";

const KEYS = {
  admin: "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
  provider: "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
  reporter: "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
} as const;
const PROVIDER = new Wallet(KEYS.provider).address;
const REPORTER = new Wallet(KEYS.reporter).address;
const WINDOW = 600;
const EVIDENCE = id("sev-snp report of the test host");

const dir = tempDir("stake-cli");
const deploymentFile = join(dir, "deployment.json");
const workerKeyFile = join(dir, "worker.key");
let node: ChildProcess | undefined;
let rpc = "";
let provider: JsonRpcProvider | undefined;
let keyHash = "";

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function cli(args: string[], key?: string): CliResult {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of ["METERPROOF_PRIVATE_KEY", "METERPROOF_KEYSTORE_PASSWORD", "METERPROOF_RPC"]) delete env[k];
  if (key) env.METERPROOF_PRIVATE_KEY = key;
  return runCli(args, { env, cwd: dir });
}
function ok(r: CliResult): CliResult {
  if (r.status !== 0) throw new Error(`exit ${r.status}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r;
}
const json = <T>(r: CliResult): T => JSON.parse(ok(r).stdout) as T;
const onChain = () => ["--rpc", rpc, "--deployment", deploymentFile];

async function increaseTime(seconds: number): Promise<void> {
  await provider!.send("evm_increaseTime", [seconds]);
  await provider!.send("evm_mine", []);
}

beforeAll(async () => {
  await buildContracts();
  rpc = `http://127.0.0.1:${await freePort()}`;
  const log = join(dir, "hardhat-node.log");
  const out = openSync(log, "a");
  node = spawn(
    process.execPath,
    [
      join(REPO_ROOT, "node_modules/.bin/hardhat"),
      "node",
      "--port",
      rpc.split(":")[2]!,
      "--hostname",
      "127.0.0.1",
    ],
    { cwd: REPO_ROOT, stdio: ["ignore", out, out] },
  );
  const network = Network.from(31337n);
  provider = new JsonRpcProvider(rpc, network, { staticNetwork: network, cacheTimeout: -1 });
  const until = Date.now() + 120_000;
  for (;;) {
    if (node.exitCode !== null)
      throw new Error(`hardhat node exited: ${readFileSync(log, "utf8").slice(-2000)}`);
    try {
      if ((await provider.send("eth_chainId", [])) === "0x7a69") break;
    } catch {
      // not listening yet
    }
    if (Date.now() > until) throw new Error("hardhat node did not answer within 120 s");
    await new Promise((r) => setTimeout(r, 250));
  }
});

afterAll(async () => {
  provider?.destroy();
  const child = node;
  if (child && child.exitCode === null && child.signalCode === null) {
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill("SIGTERM");
    await exited;
  }
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
