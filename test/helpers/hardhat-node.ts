/**
 * A real JSON-RPC chain for tests that drive the CLI in child processes: `hardhat node` on a
 * free port, with Hardhat's well-known development accounts, stopped after the file's tests.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { openSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { JsonRpcProvider, Network, Wallet } from "ethers";
import { REPO_ROOT } from "./cli.ts";
import { buildContracts } from "./hardhat.ts";

/** Hardhat's well-known development accounts (`npx hardhat node` prints them). */
export const KEYS = {
  admin: "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
  client: "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
  provider: "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
  submitter: "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
  operator: "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
  multisig: "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
} as const;
export const addressOf = (key: string): string => new Wallet(key).address;

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface HardhatNode {
  rpc: string;
  provider: JsonRpcProvider;
  call(method: string, params?: unknown[]): Promise<unknown>;
  latestBlockTime(): Promise<number>;
  increaseTime(seconds: number): Promise<void>;
  stop(): Promise<void>;
}

/** Builds the contracts, starts `hardhat node` (its log in `logDir`) and waits until it answers. */
export async function startHardhatNode(logDir: string): Promise<HardhatNode> {
  await buildContracts();
  const port = await freePort();
  const rpc = `http://127.0.0.1:${port}`;
  const log = join(logDir, "hardhat-node.log");
  // Output goes to a file: a pipe nobody reads while spawnSync runs the CLI would fill and stall the node.
  const out = openSync(log, "a");
  let child: ChildProcess | undefined = spawn(
    process.execPath,
    [join(REPO_ROOT, "node_modules/.bin/hardhat"), "node", "--port", String(port), "--hostname", "127.0.0.1"],
    { cwd: REPO_ROOT, stdio: ["ignore", out, out] },
  );
  const network = Network.from(31337n);
  const provider = new JsonRpcProvider(rpc, network, { staticNetwork: network, cacheTimeout: -1 });

  const call = async (method: string, params: unknown[] = [], retry = true): Promise<unknown> => {
    let res: Response;
    try {
      res = await fetch(rpc, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
      });
    } catch (err) {
      // A kept-alive socket the node closed while spawnSync blocked this process: one retry on a new one.
      if (retry && child) return call(method, params, false);
      throw err;
    }
    const body = (await res.json()) as { result?: unknown; error?: { message: string } };
    if (body.error) throw new Error(`${method}: ${body.error.message}`);
    return body.result;
  };

  const stop = async (): Promise<void> => {
    provider.destroy();
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => c.once("exit", () => resolve()));
    c.kill("SIGTERM");
    const timer = setTimeout(() => c.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
  };

  try {
    const until = Date.now() + 120_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`hardhat node exited with ${child.exitCode}`);
      try {
        if ((await call("eth_chainId", [], false)) === "0x7a69") break;
      } catch {
        // not listening yet
      }
      if (Date.now() > until) throw new Error("hardhat node did not answer eth_chainId within 120 s");
      await new Promise((r) => setTimeout(r, 250));
    }
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}\n${readFileSync(log, "utf8").slice(-2000)}`);
  }

  return {
    rpc,
    provider,
    call,
    async latestBlockTime() {
      const block = (await call("eth_getBlockByNumber", ["latest", false])) as { timestamp: string };
      return Number(BigInt(block.timestamp));
    },
    async increaseTime(seconds) {
      await call("evm_increaseTime", [seconds]);
      await call("evm_mine");
    },
    stop,
  };
}

/** The environment of a CLI run: no inherited METERPROOF_* variables, plus `extra`. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("METERPROOF_")) e[k] = v;
  return { ...e, ...extra };
}
