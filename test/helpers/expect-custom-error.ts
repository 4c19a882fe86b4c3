import { expect } from "vitest";
import { decodeContractError } from "../../chain/errors.ts";
import type { ContractErrorName } from "../../contracts/index.ts";

/**
 * Awaits a contract call that must revert with the custom error `name`, decoded from the
 * revert data with the ABIs of all meterproof contracts. When `args` is given, the error's
 * arguments must equal it (numbers compared as bigints, addresses case-insensitively).
 */
export async function expectCustomError(
  call: Promise<unknown>,
  name: ContractErrorName,
  args?: readonly unknown[],
): Promise<void> {
  let error: unknown;
  try {
    await call;
  } catch (err) {
    error = err;
  }
  expect(error, `expected a revert with ${name}, but the call succeeded`).toBeDefined();
  const decoded = decodeContractError(error);
  expect(decoded?.name, `expected ${name}, got ${decoded?.text ?? String(error)}`).toBe(name);
  if (args !== undefined) {
    expect([...decoded!.args].map(normalize), `arguments of ${name}`).toEqual(args.map(normalize));
  }
}

function normalize(v: unknown): unknown {
  if (typeof v === "number") return BigInt(v);
  if (typeof v === "string" && /^0x[0-9a-fA-F]{40}$/.test(v)) return v.toLowerCase();
  return v;
}
