/**
 * The on-chain commands end to end against a real JSON-RPC node: `npx hardhat node` in a child
 * process, driven only through the `meterproof` CLI (deploy, worker register, job create,
 * prove, submit, withdraw, job close), with keys from the environment and a keystore.
 * Minting the client's ComputeCredit is the one setup step done with ethers directly.
 */
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Contract, parseEther, type JsonRpcProvider } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadWorkerKey, type JobTerms } from "../trace/index.ts";
import { writeJobTrace } from "./helpers/job-trace.ts";
import { json, ok, runCli, type CliResult } from "./helpers/cli.ts";
import {
  addressOf,
  cleanEnv,
  freePort,
  KEYS,
  startHardhatNode,
  type HardhatNode,
} from "./helpers/hardhat-node.ts";
import { tempDir } from "./worker-helpers.ts";

const address = addressOf;
const CLIENT = address(KEYS.client);
const PROVIDER = address(KEYS.provider);
const GRACE_S = 600;
const BUDGET = parseEther("10");

const dir = tempDir("chain-cli");
const deploymentFile = join(dir, "deployment.json");
const workerKeyFile = join(dir, "worker.key");
const tracePath = join(dir, "job.trace.jsonl");
const bundleDir = join(dir, "bundles");
let chain: HardhatNode;
let rpc = "";
let provider: JsonRpcProvider;
const latestBlockTime = () => chain.latestBlockTime();
const increaseTime = (seconds: number) => chain.increaseTime(seconds);
const env = (extra: Record<string, string> = {}) => cleanEnv(extra);

/** Runs the CLI as the holder of `key` (or with no key at all). */
function cli(args: string[], key?: string, extra: Record<string, string> = {}): CliResult {
  return runCli(args, { env: env({ ...(key ? { METERPROOF_PRIVATE_KEY: key } : {}), ...extra }), cwd: dir });
}

const onChain = () => ["--rpc", rpc, "--deployment", deploymentFile];

beforeAll(async () => {
  chain = await startHardhatNode(dir);
  rpc = chain.rpc;
  provider = chain.provider;
});

afterAll(async () => {
  await chain?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("on-chain commands against a hardhat node over JSON-RPC", () => {
  let credit = "";
  let escrow = "";
  let jobId = "";
  let createdAt = 0;
  let terms: JobTerms | undefined;

  it("deploys through Ignition and writes a deployment file", () => {
    const d = json<{
      chainId: string;
      deployer: string;
      block: number;
      addresses: {
        credit: string;
        escrow: string;
        registry: string;
        router: string;
        verifiers: Record<string, string>;
      };
      parameters: { closeGracePeriod: number };
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
          "--close-grace-period",
          String(GRACE_S),
          "--json",
        ],
        KEYS.admin,
      ),
    );
    expect(d).toMatchObject({
      chainId: "31337",
      deployer: address(KEYS.admin),
      parameters: { closeGracePeriod: GRACE_S },
    });
    expect(Object.keys(d.addresses.verifiers)).toEqual(["8"]);
    expect(d.block).toBeGreaterThan(0);
    credit = d.addresses.credit;
    escrow = d.addresses.escrow;
    expect(JSON.parse(readFileSync(deploymentFile, "utf8"))).toMatchObject({
      kind: "meterproof-deployment",
      addresses: { escrow },
    });

    // Ignition's journal makes a second run report the same deployment without sending anything.
    const blockBefore = d.block;
    const resumed = json<{ addresses: typeof d.addresses; block: number }>(
      cli(
        [
          "deploy",
          "--rpc",
          rpc,
          "--sizes",
          "8",
          "--out",
          join(dir, "again.json"),
          "--journal",
          join(dir, "deployment.ignition"),
          "--close-grace-period",
          String(GRACE_S),
          "--json",
        ],
        KEYS.admin,
      ),
    );
    expect(resumed).toMatchObject({ addresses: d.addresses, block: blockBefore });

    // A deployment file is never overwritten.
    const again = cli(["deploy", "--rpc", rpc, "--sizes", "8", "--out", deploymentFile], KEYS.admin);
    expect(again.status).toBe(2);
    expect(again.stderr).toContain("never overwritten");
  });

  it("checks that the deployed verifier matches the local zkey", () => {
    const good = ok(cli(["verifier", "check", "--size", "8", ...onChain(), "--json"]));
    const report = JSON.parse(good.stdout);
    expect(report.ok).toBe(true);
    expect(report.checks.map((c: { name: string }) => c.name)).toEqual([
      "local build",
      "router",
      "runtime code",
      "accepts a proof of the local zkey",
      "refuses it for other signals",
      // The router has a batch verifier for the size (the Ignition module registers it).
      "batch runtime code",
      "batch accepts proofs of the local zkey",
      "batch refuses other statements",
    ]);
    expect(report.batchVerifier).toMatch(/^0x[0-9a-fA-F]{40}$/);
    // The escrow is no verifier: its code differs, the router does not point at it, it accepts nothing.
    const escrow = JSON.parse(readFileSync(deploymentFile, "utf8")).addresses.escrow as string;
    const bad = cli(["verifier", "check", "--size", "8", ...onChain(), "--verifier", escrow]);
    expect(bad.status).toBe(1);
    expect(bad.stdout).toMatch(/FAIL router/);
    expect(bad.stdout).toMatch(/FAIL runtime code: differs/);
    expect(bad.stdout).toMatch(/FAIL accepts a proof/);
  });

  it("registers a worker key for the provider (and again is a no-op)", async () => {
    // The network admin (the deployer holds MINTER_ROLE) mints Compute Credits to the client.
    const minted = cli(["credit", "mint", ...onChain(), "--to", CLIENT, "--amount", "100"], KEYS.admin);
    expect(minted.status).toBe(0);
    expect(minted.stdout).toMatch(/^minted 100(\.0)? CC/);
    const token = new Contract(credit, ["function balanceOf(address) view returns (uint256)"], provider);
    expect(await token.getFunction("balanceOf")(CLIENT)).toBe(parseEther("100"));
    const notMinter = cli(["credit", "mint", ...onChain(), "--to", CLIENT, "--amount", "1"], KEYS.client);
    expect(notMinter.status).toBe(1);
    // A revert reads as the rule and the fix: the missing role, by name, and how to get it.
    expect(notMinter.stderr).toContain(`${CLIENT} does not hold MINTER_ROLE`);
    expect(notMinter.stderr).toContain(`meterproof network grant-role MINTER_ROLE ${CLIENT}`);
    expect(notMinter.stderr.trim().split("\n")).toHaveLength(1);

    ok(cli(["keygen", "--out", workerKeyFile]));
    const args = [
      "worker",
      "register",
      ...onChain(),
      "--key",
      workerKeyFile,
      "--device-class",
      "H100",
      "--gpu-uuid",
      "GPU-chain-cli-test",
    ];
    const reg = json<{ workerKeyHash: string; provider: string }>(cli([...args, "--json"], KEYS.provider));
    expect(reg.provider).toBe(PROVIDER);
    expect(reg.workerKeyHash).toBe((await loadWorkerKey(workerKeyFile)).keyHash.toString());
    expect(ok(cli(args, KEYS.provider)).stdout).toContain("already registered");
    // Another provider cannot take the key over.
    const other = cli(args, KEYS.client);
    expect(other.status).toBe(1);
    expect(other.stderr).toContain(`already registered to provider ${PROVIDER}`);
  });

  it("creates a job as the client", () => {
    const job = json<{
      jobId: string;
      jobTag: string;
      createdAt: string;
      expiry: string;
      budget: string;
      client: string;
      token: string;
      price: string;
    }>(
      cli(
        [
          "job",
          "create",
          ...onChain(),
          "--provider",
          PROVIDER,
          "--budget",
          "10",
          "--price",
          "1",
          "--expiry",
          "+1h",
          "--json",
        ],
        KEYS.client,
      ),
    );
    expect(job.jobId).toBe("1");
    expect(job.budget).toBe(BUDGET.toString());
    expect(Number(job.expiry) - Number(job.createdAt)).toBeGreaterThan(3500);
    jobId = job.jobId;
    createdAt = Number(job.createdAt);
    terms = { client: job.client, token: job.token, price: BigInt(job.price), expiry: BigInt(job.expiry) };
    const shown = json<{ client: string; remaining: string; closed: boolean }>(
      cli(["job", "show", ...onChain(), "--job", jobId, "--json"]),
    );
    expect(shown).toMatchObject({ client: CLIENT, remaining: BUDGET.toString(), closed: false });
  });

  it("proves a trace and submits it, skipping what the lane already accepted", async () => {
    // 20 records of 2 s from just after the job's creation: three segments of the N=8 circuit.
    await increaseTime(60);
    const now = await latestBlockTime();
    const startMs = createdAt * 1000 + 1000;
    await writeJobTrace({
      path: tracePath,
      escrow,
      jobId: BigInt(jobId),
      provider: PROVIDER,
      terms: terms!,
      keyFile: workerKeyFile,
      gpu: "GPU-chain-cli-test",
      sampler: "proc",
      startMs,
      intervalMs: 2000,
      records: 20,
      measure: (seq) => ({ utilBps: 8000 + seq * 50, memMiB: 1000, powerMw: 300_000, energyMj: 600_000 }),
    });
    expect(startMs + 20 * 2000).toBeLessThanOrEqual(now * 1000); // not in the future for the chain
    expect(ok(cli(["prove", tracePath, "--out", bundleDir, "--jobs", "2"])).stdout).toContain(
      "3 segments proven",
    );

    type Report = {
      accepted: number;
      alreadyAccepted: number;
      totalPayout: string;
      segments: { index: number; status: string; payout?: string; gasUsed?: string; batchSize?: number }[];
    };
    // A bundle carrying another segment's proof is named off chain and never sent, so no gas
    // is spent on it (the chain would refuse it too, and a batch would fail as a whole).
    const swapped = JSON.parse(readFileSync(join(bundleDir, "segment-000000.json"), "utf8")) as {
      proof: unknown;
      calldata: { proof: string[] };
    };
    const other = JSON.parse(readFileSync(join(bundleDir, "segment-000001.json"), "utf8")) as typeof swapped;
    swapped.proof = other.proof;
    swapped.calldata.proof = other.calldata.proof;
    const forged = join(dir, "forged-segment-0.json");
    writeFileSync(forged, JSON.stringify(swapped));
    const refused = cli(["submit", forged, ...onChain(), "--batch"], KEYS.submitter);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain(`${forged}: the proof does not verify`);
    expect(refused.stdout).toContain("0 segments accepted");
    expect(refused.stderr).not.toMatch(/\n\s+at /);

    // A dry run asks the chain (eth_call) for its verdict and sends nothing: here, would accept;
    // with the escrow paused, would refuse, naming the rule.
    const dry = ok(cli(["submit", bundleDir, ...onChain(), "--dry-run"]));
    expect(dry.stdout).toContain("3 to submit, 0 the chain would refuse (dry run)");
    expect(ok(cli(["network", "pause", ...onChain()], KEYS.admin)).stdout).toContain("paused the escrow");
    const paused = cli(["submit", bundleDir, ...onChain(), "--dry-run", "--json"]);
    expect(paused.status).toBe(1);
    expect(JSON.parse(paused.stdout).segments).toEqual(
      [0, 1, 2].map((index) =>
        expect.objectContaining({
          index,
          status: "would-be-refused",
          reason: expect.stringMatching(/the escrow is paused.*\(EnforcedPause\)$/),
        }),
      ),
    );
    expect(paused.stderr).toMatch(
      /the chain would refuse job \d+'s lane of worker .* \(3 segments\): the escrow is paused/,
    );
    ok(cli(["network", "unpause", ...onChain()], KEYS.admin));

    // Segment 0 alone, one transaction; anyone may submit (the payout goes to the provider).
    const first = json<Report>(
      cli(["submit", join(bundleDir, "segment-000000.json"), ...onChain(), "--json"], KEYS.submitter),
    );
    expect(first).toMatchObject({ accepted: 1, alreadyAccepted: 0 });
    expect(BigInt(first.segments[0]!.payout!)).toBeGreaterThan(0n);
    expect(BigInt(first.segments[0]!.gasUsed!)).toBeGreaterThan(200_000n);

    // The whole directory in a batch: segment 0 is skipped, 1 and 2 go in one submitSegments.
    const second = json<Report>(
      cli(["submit", bundleDir, ...onChain(), "--batch", "--json"], KEYS.submitter),
    );
    expect(second).toMatchObject({ accepted: 2, alreadyAccepted: 1 });
    expect(second.segments.map((s) => [s.index, s.status, s.batchSize])).toEqual([
      [0, "already-accepted", undefined],
      [1, "accepted", 2],
      [2, "accepted", 2],
    ]);

    // Everything again: nothing is sent.
    const third = cli(["submit", bundleDir, ...onChain(), "--batch"], KEYS.submitter);
    expect(ok(third).stdout).toContain("0 segments accepted, 3 already accepted");

    const paid = BigInt(first.totalPayout) + BigInt(second.totalPayout);
    const shown = json<{ paid: string }>(cli(["job", "show", ...onChain(), "--job", jobId, "--json"]));
    expect(BigInt(shown.paid)).toBe(paid);
  });

  it("refuses bundles for another escrow before sending anything", () => {
    const r = cli(["submit", bundleDir, "--rpc", rpc, "--escrow", credit], KEYS.submitter);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`is for escrow ${escrow}, not ${credit}`);
  });

  it("lets the provider withdraw with a keystore, and the client close after expiry + grace", async () => {
    const keystore = join(dir, "provider.keystore.json");
    const password = { METERPROOF_KEYSTORE_PASSWORD: "correct horse battery staple" };
    expect(
      ok(cli(["keystore", "create", "--out", keystore, "--from-env"], KEYS.provider, password)).stdout,
    ).toContain(`address ${PROVIDER}`);
    const wrong = cli(["withdraw", ...onChain(), "--keystore", keystore], undefined, {
      METERPROOF_KEYSTORE_PASSWORD: "nope",
    });
    expect(wrong.status).toBe(2);
    expect(wrong.stderr).toContain("wrong password");

    const w = json<{ provider: string; amount: string }>(
      cli(["withdraw", ...onChain(), "--keystore", keystore, "--json"], undefined, password),
    );
    expect(w.provider).toBe(PROVIDER);
    const paid = BigInt(w.amount);
    expect(ok(cli(["withdraw", ...onChain()], KEYS.provider)).stdout).toContain("nothing to withdraw");

    // The client may not close before expiry + grace period…
    const early = cli(["job", "close", ...onChain(), "--job", jobId], KEYS.client);
    expect(early.status).toBe(1);
    expect(early.stderr).toMatch(
      new RegExp(
        `may not close job ${jobId} now: its provider may close it at any time, its client from \\d{4}-`,
      ),
    );
    expect(early.stderr).toContain("(ComputeEscrow__CloseNotAllowed)");
    // …but may after it.
    await increaseTime(3600 + GRACE_S);
    const closed = json<{ refund: string }>(
      cli(["job", "close", ...onChain(), "--job", jobId, "--json"], KEYS.client),
    );
    const refund = BigInt(closed.refund);
    expect(paid + refund).toBe(BUDGET);

    const erc20 = new Contract(credit, ["function balanceOf(address) view returns (uint256)"], provider);
    const balance = (a: string) => erc20.getFunction("balanceOf")(a) as Promise<bigint>;
    expect(await balance(PROVIDER)).toBe(paid);
    expect(await balance(CLIENT)).toBe(parseEther("100") - paid);
    expect(await balance(escrow)).toBe(0n);
    const shown = json<{ closed: boolean; paid: string; refunded: string }>(
      cli(["job", "show", ...onChain(), "--job", jobId, "--json"]),
    );
    expect(shown).toMatchObject({ closed: true, paid: paid.toString(), refunded: refund.toString() });

    // A closed job takes no more segments; those already accepted are still recognised.
    expect(ok(cli(["submit", bundleDir, ...onChain()], KEYS.submitter)).stdout).toContain(
      "3 already accepted",
    );
  });
});

describe("on-chain command errors", () => {
  const jobArgs = () => [
    "job",
    "create",
    ...onChain(),
    "--provider",
    PROVIDER,
    "--budget",
    "1",
    "--price",
    "1",
    "--expiry",
    "+1h",
  ];

  it("refuses to run without a key, naming both ways to give one", () => {
    const r = cli(jobArgs());
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("no signing key: set METERPROOF_PRIVATE_KEY, or give --keystore FILE");
  });

  it("never takes a key on the command line", () => {
    const r = cli([...jobArgs(), "--private-key", KEYS.client]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("--private-key is not accepted");
    expect(r.stderr).not.toContain(KEYS.client.slice(2));
    const bad = cli(jobArgs(), undefined, { METERPROOF_PRIVATE_KEY: "0x1234" });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("METERPROOF_PRIVATE_KEY must be a private key of 64 hex digits");
  });

  it("names a bad address, amount or expiry", () => {
    const addr = cli(
      [
        "job",
        "create",
        ...onChain(),
        "--provider",
        "0x1234",
        "--budget",
        "1",
        "--price",
        "1",
        "--expiry",
        "+1h",
      ],
      KEYS.client,
    );
    expect(addr.status).toBe(2);
    expect(addr.stderr).toContain("--provider must be a 20-byte hex address");
    const amount = cli(
      [...jobArgs().slice(0, -6), "--budget", "ten", "--price", "1", "--expiry", "+1h"],
      KEYS.client,
    );
    expect(amount.status).toBe(2);
    expect(amount.stderr).toContain("--budget must be an amount of whole tokens");
    const expiry = cli([...jobArgs().slice(0, -2), "--expiry", "1000"], KEYS.client);
    expect(expiry.status).toBe(2);
    expect(expiry.stderr).toContain("--expiry 1000 is not after the latest block's time");
  });

  it("says which RPC endpoint it cannot reach", async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const r = cli(["job", "show", "--rpc", dead, "--escrow", PROVIDER, "--job", "1"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`cannot reach the JSON-RPC endpoint --rpc ${dead}`);
  });

  it("refuses a deployment file of another chain, and an address without a contract", () => {
    const other = join(dir, "other-chain.json");
    writeFileSync(
      other,
      JSON.stringify({ ...JSON.parse(readFileSync(deploymentFile, "utf8")), chainId: "1" }),
    );
    const r = cli(["job", "show", "--rpc", rpc, "--deployment", other, "--job", "1"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`--deployment ${other} is for chain 1, but --rpc ${rpc} is chain 31337`);
    const empty = cli(["job", "show", "--rpc", rpc, "--escrow", CLIENT, "--job", "1"]);
    expect(empty.status).toBe(2);
    expect(empty.stderr).toContain(`--escrow ${CLIENT}: chain 31337 has no contract at this address`);
  });
});
