/**
 * The network operator's commands against a hardhat node: device weights, pause, roles and
 * the admin hand-over. Every command here finds the RPC and the deployment in the project's
 * meterproof.config.json, as an operator's shell would.
 */
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { encodeBytes32String, id, ZeroHash } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { attachContract } from "../contracts/index.ts";
import { runCli, type CliResult } from "./helpers/cli.ts";
import { addressOf, cleanEnv, KEYS, startHardhatNode, type HardhatNode } from "./helpers/hardhat-node.ts";
import { tempDir } from "./worker-helpers.ts";

const dir = tempDir("cli-network");
let chain: HardhatNode;
let addresses: Record<"escrow" | "registry" | "credit" | "router", string>;

function cli(args: string[], key?: string): CliResult {
  return runCli(args, { cwd: dir, env: cleanEnv(key ? { METERPROOF_PRIVATE_KEY: key } : {}) });
}

function oneLine(r: CliResult, status: number): string {
  expect(r.status, r.stderr).toBe(status);
  const lines = r.stderr.trim().split("\n");
  expect(lines).toHaveLength(1);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  return lines[0]!;
}

beforeAll(async () => {
  chain = await startHardhatNode(dir);
  writeFileSync(
    join(dir, "meterproof.config.json"),
    JSON.stringify({ rpc: chain.rpc, deployment: "deployment.json" }),
  );
  const deployed = cli(["deploy", "--sizes", "8", "--out", "deployment.json", "--json"], KEYS.admin);
  expect(deployed.status, deployed.stderr).toBe(0);
  addresses = JSON.parse(deployed.stdout).addresses;
});

afterAll(async () => {
  await chain?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("meterproof network", () => {
  const admin = addressOf(KEYS.admin);
  const operator = addressOf(KEYS.operator);
  const multisig = addressOf(KEYS.multisig);
  const escrow = () => attachContract("ComputeEscrow", addresses.escrow, chain.provider);

  it("sets a device weight, refusing a non-admin before sending anything", async () => {
    const nonce = await chain.provider.getTransactionCount(operator);
    const refused = oneLine(cli(["network", "set-weight", "H100", "12000"], KEYS.operator), 1);
    expect(refused).toContain(`${operator} does not hold DEFAULT_ADMIN_ROLE on the ComputeEscrow`);
    expect(refused).toContain(`meterproof network grant-role DEFAULT_ADMIN_ROLE ${operator}`);
    expect(await chain.provider.getTransactionCount(operator)).toBe(nonce);

    const set = cli(["network", "set-weight", "H100", "12000", "--json"], KEYS.admin);
    expect(set.status, set.stderr).toBe(0);
    expect(JSON.parse(set.stdout)).toMatchObject({ deviceClass: "H100", before: "10000", weightBps: 12000 });
    expect(await escrow().deviceWeight(encodeBytes32String("H100"))).toBe(12000n);

    expect(oneLine(cli(["network", "set-weight", "H100", "100001"], KEYS.admin), 2)).toContain(
      "BPS must be a whole number of basis points from 0 to 100000",
    );
  });

  it("pauses and unpauses, and says when there is nothing to do", async () => {
    const paused = cli(["network", "pause"], KEYS.admin);
    expect(paused.status, paused.stderr).toBe(0);
    expect(paused.stdout).toContain("paused the escrow");
    expect(await escrow().paused()).toBe(true);
    expect(cli(["network", "pause"], KEYS.admin).stdout).toContain("paused already; nothing sent");
    await chain.increaseTime(100);
    const resumed = cli(["network", "unpause", "--json"], KEYS.admin);
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(Number(JSON.parse(resumed.stdout).pausedSeconds)).toBeGreaterThanOrEqual(100);
    expect(await escrow().paused()).toBe(false);
  });

  it("grants and revokes a role on the contract it lives on", async () => {
    expect(oneLine(cli(["network", "pause"], KEYS.operator), 1)).toContain(
      `${operator} does not hold PAUSER_ROLE on the ComputeEscrow`,
    );
    const granted = cli(["network", "grant-role", "pauser_role", operator], KEYS.admin);
    expect(granted.status, granted.stderr).toBe(0);
    expect(granted.stdout).toContain(`granted PAUSER_ROLE to ${operator} on ComputeEscrow`);
    expect(cli(["network", "pause"], KEYS.operator).status).toBe(0);
    expect(cli(["network", "unpause"], KEYS.operator).status).toBe(0);
    expect(cli(["network", "revoke-role", "PAUSER_ROLE", operator], KEYS.admin).status).toBe(0);
    expect(await escrow().hasRole(id("PAUSER_ROLE"), operator)).toBe(false);

    expect(oneLine(cli(["network", "grant-role", "OWNER", operator], KEYS.admin), 2)).toContain(
      'ROLE must be one of DEFAULT_ADMIN_ROLE, PAUSER_ROLE, ATTESTOR_ROLE, MINTER_ROLE; got "OWNER"',
    );
    expect(oneLine(cli(["network", "grant-role", "DEFAULT_ADMIN_ROLE", operator], KEYS.admin), 2)).toContain(
      "DEFAULT_ADMIN_ROLE lives on every contract: say where with --on all",
    );
    expect(
      oneLine(cli(["network", "grant-role", "MINTER_ROLE", operator, "--on", "escrow"], KEYS.admin), 2),
    ).toContain("--on: MINTER_ROLE lives on the credit only");
  });

  it("hands the admin role to a multisig and renounces the deployer's", async () => {
    expect(oneLine(cli(["network", "hand-over", multisig], KEYS.admin), 2)).toContain(
      `MULTISIG ${multisig} has no code on chain 31337: a multisig is a contract`,
    );
    const r = cli(["network", "hand-over", multisig, "--allow-eoa", "--json"], KEYS.admin);
    expect(r.status, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as { granted: unknown[]; renounced: unknown[] };
    expect(result.granted).toHaveLength(4);
    expect(result.renounced).toHaveLength(4);
    for (const name of ["escrow", "registry", "credit", "router"] as const) {
      const binding = {
        escrow: "ComputeEscrow",
        registry: "WorkerRegistry",
        credit: "ComputeCredit",
        router: "SegmentVerifierRouter",
      } as const;
      const c = attachContract(binding[name], addresses[name], chain.provider);
      expect(await c.hasRole(ZeroHash, multisig), name).toBe(true);
      expect(await c.hasRole(ZeroHash, admin), name).toBe(false);
    }
    // The new admin governs; the old one is told what it lacks.
    expect(cli(["network", "set-weight", "A100", "7000"], KEYS.multisig).status).toBe(0);
    expect(oneLine(cli(["network", "set-weight", "A100", "8000"], KEYS.admin), 1)).toContain(
      `${admin} does not hold DEFAULT_ADMIN_ROLE`,
    );
  });
});
