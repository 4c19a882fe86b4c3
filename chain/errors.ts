import type { Result } from "ethers";
import { meterproofInterface, type ContractErrorName } from "../contracts/index.ts";

/** A custom error decoded from revert data. */
export interface DecodedContractError {
  name: ContractErrorName | "Error" | "Panic";
  args: Result;
  /** `Name(arg, …)` for messages. */
  text: string;
}

/**
 * Finds the revert data in an error thrown by ethers or a Hardhat provider: the first
 * `0x…` string under a `data` key, searched breadth-first through nested error objects.
 */
export function revertData(err: unknown): string | undefined {
  const queue: unknown[] = [err];
  const seen = new Set<unknown>();
  while (queue.length > 0) {
    const e = queue.shift();
    if (e === null || typeof e !== "object" || seen.has(e)) continue;
    seen.add(e);
    const data = (e as { data?: unknown }).data;
    if (typeof data === "string" && /^0x([0-9a-fA-F]{8})/.test(data)) return data;
    for (const key of ["data", "error", "info", "cause", "revert", "payload"]) {
      const next = (e as Record<string, unknown>)[key];
      if (next && typeof next === "object") queue.push(next);
    }
  }
  return undefined;
}

/**
 * Decodes revert data (or an error holding it) with the errors of every meterproof contract;
 * `Error(string)` and `Panic(uint256)` are decoded too. Returns undefined for anything else.
 */
export function decodeContractError(errOrData: unknown): DecodedContractError | undefined {
  const data = typeof errOrData === "string" ? errOrData : revertData(errOrData);
  if (data === undefined) return undefined;
  let parsed;
  try {
    parsed = meterproofInterface().parseError(data);
  } catch {
    return undefined; // a known selector with malformed arguments
  }
  if (!parsed) return undefined;
  const text = `${parsed.name}(${parsed.args.map((a: unknown) => String(a)).join(", ")})`;
  return { name: parsed.name as DecodedContractError["name"], args: parsed.args, text };
}
