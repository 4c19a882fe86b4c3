/**
 * vitest globalSetup: makes sure the test circuit (segment size 8) is set up before any
 * test runs. `meterproof setup` reuses every stage whose inputs are unchanged, so this
 * costs about a second once the artifacts exist (about a minute and a half the first time).
 */
import { TEST_SEGMENT_SIZE } from "../circuits/index.ts";
import { runSetup, type SetupResult } from "../setup/index.ts";

/** Runs (or reuses) `meterproof setup --size 8` with the development powers of tau. */
export function ensureTestCircuit(log: (line: string) => void = () => {}): Promise<SetupResult> {
  return runSetup({ size: TEST_SEGMENT_SIZE, log });
}

export default async function setup(): Promise<void> {
  await ensureTestCircuit((line) => process.stderr.write(`[circuit setup] ${line}\n`));
}
