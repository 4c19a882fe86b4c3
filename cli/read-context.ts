/**
 * What the read-only commands (status, balance, job list, worker list) share: the address of the
 * configured key without decrypting it, and the block to start reading events from.
 */
import { readFileSync } from "node:fs";
import { getAddress, isAddress, Wallet } from "ethers";
import type { ChainSession } from "./chain-session.ts";
import { CliError } from "./output.ts";
import { privateKeyFromEnv } from "./wallet.ts";

/**
 * The address of the key a command would sign with, or undefined when none is configured. A
 * keystore names its address in clear, so a read-only command needs no password.
 */
export function configuredAddress(opts: { keystore?: string }): string | undefined {
  if (opts.keystore !== undefined) {
    let address: unknown;
    try {
      address = (JSON.parse(readFileSync(opts.keystore, "utf8")) as { address?: unknown }).address;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new CliError(
        `--keystore ${opts.keystore}: ${code === "ENOENT" ? "no such file" : "must be an encrypted JSON wallet"}`,
      );
    }
    const hex = typeof address === "string" ? (address.startsWith("0x") ? address : `0x${address}`) : "";
    if (!isAddress(hex)) throw new CliError(`--keystore ${opts.keystore}: the wallet names no address`);
    return getAddress(hex);
  }
  const key = privateKeyFromEnv();
  return key === undefined ? undefined : new Wallet(key).address;
}

/** `--from-block` checked, else the deployment's first block when its escrow is the one read, else 0. */
export function fromBlockOf(session: ChainSession, given: string | undefined): number {
  if (given !== undefined) {
    const n = Number(given);
    if (!/^[0-9]+$/.test(given) || !Number.isSafeInteger(n))
      throw new CliError(`--from-block must be a block number, got ${JSON.stringify(given)}`);
    return n;
  }
  const d = session.deployment;
  return d && d.addresses.escrow === session.addresses.escrow ? d.block : 0;
}

/** ISO 8601 of unix seconds. */
export function isoSeconds(s: number): string {
  return new Date(s * 1000).toISOString();
}

/**
 * Runs the reads of a command: an error the endpoint returned (ethers gives it a `code`) becomes
 * one line, exit 2, like an endpoint that does not answer; anything else is a bug and stays one.
 */
export async function readChain<T>(read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (err) {
    if (err instanceof CliError || typeof (err as { code?: unknown }).code !== "string") throw err;
    const e = err as Error & { shortMessage?: string };
    throw new CliError(
      `the JSON-RPC endpoint failed a read: ${(e.shortMessage ?? e.message).split("\n")[0]}`,
    );
  }
}
