import { mkdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import hre, { network } from "hardhat";
import { REPO_ROOT } from "../../contracts/index.ts";

const LOCK = join(REPO_ROOT, "cache", "meterproof-build.lock");
let built: Promise<void> | undefined;

/**
 * Compiles the contracts once per process (Hardhat's cache makes it quick when nothing
 * changed). A lock directory keeps two test files running at once from compiling into
 * artifacts/ together.
 */
export function buildContracts(): Promise<void> {
  built ??= (async () => {
    mkdirSync(join(REPO_ROOT, "cache"), { recursive: true });
    for (;;) {
      try {
        mkdirSync(LOCK);
        break;
      } catch {
        // A lock older than ten minutes was left by a killed process.
        if (Date.now() - lockTime() > 600_000) rmSync(LOCK, { recursive: true, force: true });
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    try {
      await hre.tasks.getTask("build").run({ quiet: true, noTests: true });
    } finally {
      rmSync(LOCK, { recursive: true, force: true });
    }
  })();
  return built;
}

function lockTime(): number {
  try {
    return statSync(LOCK).mtimeMs;
  } catch {
    return Date.now();
  }
}

/** A fresh in-process Hardhat network (chain id 31337) with the contracts built. */
export async function connectHardhat() {
  await buildContracts();
  return network.create();
}

type Connection = Awaited<ReturnType<typeof connectHardhat>>;

/** JSON-RPC helpers for time and snapshots on a Hardhat network. */
export function chainControl(connection: Connection) {
  const send = (method: string, params: unknown[] = []) => connection.provider.request({ method, params });
  return {
    /** The next block gets exactly this timestamp (unix seconds). */
    async setNextTimestamp(seconds: number | bigint): Promise<void> {
      await send("evm_setNextBlockTimestamp", [Number(seconds)]);
    },
    /** Mines a block at `seconds` so later blocks follow from there. */
    async mineAt(seconds: number | bigint): Promise<void> {
      await send("evm_setNextBlockTimestamp", [Number(seconds)]);
      await send("evm_mine");
    },
    async latestTimestamp(): Promise<number> {
      const block = (await send("eth_getBlockByNumber", ["latest", false])) as { timestamp: string };
      return Number(BigInt(block.timestamp));
    },
    async snapshot(): Promise<string> {
      return (await send("evm_snapshot")) as string;
    },
    async revert(id: string): Promise<void> {
      const ok = (await send("evm_revert", [id])) as boolean;
      if (!ok) throw new Error(`evm_revert ${id} failed`);
    },
  };
}
