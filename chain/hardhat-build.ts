import { existsSync, mkdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "../contracts/index.ts";

const LOCK = join(REPO_ROOT, "cache", "meterproof-build.lock");
let built: Promise<void> | undefined;

/**
 * Compiles the contracts (generated verifiers included) with Hardhat, once per process;
 * Hardhat's cache makes it quick when nothing changed. A lock directory keeps two processes
 * (test files, the demo) from compiling into artifacts/ at the same time.
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
      const { default: hre } = await import("hardhat");
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

/**
 * Compiles the contracts when running from a checkout (contracts/ and hardhat.config.ts next to
 * the code, Hardhat installed); does nothing in an installed package, which ships artifacts.
 */
export async function buildContractsInCheckout(log: (line: string) => void): Promise<boolean> {
  if (!existsSync(join(REPO_ROOT, "hardhat.config.ts")) || !existsSync(join(REPO_ROOT, "contracts")))
    return false;
  try {
    await import("hardhat");
  } catch {
    return false;
  }
  log("compiling the contracts (Hardhat; quick when nothing changed)");
  await buildContracts();
  return true;
}
