/**
 * The README's quickstart, run as it is written: its shell blocks, in a scratch folder where
 * `npx meterproof` is this checkout, against a `hardhat node` on a free port (the README's
 * 8545 is replaced by it). The first block's `npx hardhat node` is that node; its `setup` line
 * runs as written (quick here: the test set-up built size 8 already; on a fresh clone it
 * builds it, which is the point of the line).
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "./helpers/cli.ts";
import { cleanEnv, startHardhatNode, type HardhatNode } from "./helpers/hardhat-node.ts";
import { tempDir } from "./worker-helpers.ts";

const dir = tempDir("quickstart");
let chain: HardhatNode;

/** The ```sh blocks of the README section headed `heading`. */
function shellBlocks(readme: string, heading: string): string[] {
  const start = readme.indexOf(`## ${heading}`);
  if (start < 0) throw new Error(`README has no section "## ${heading}"`);
  const end = readme.indexOf("\n## ", start + 3);
  const section = readme.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

beforeAll(async () => {
  chain = await startHardhatNode(dir);
  // `npx meterproof` in the scratch folder runs this checkout, as it does in the repository.
  mkdirSync(join(dir, "node_modules", ".bin"), { recursive: true });
  symlinkSync(join(REPO_ROOT, "bin", "meterproof.js"), join(dir, "node_modules", ".bin", "meterproof"));
});

afterAll(async () => {
  await chain?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("README quickstart", () => {
  it("runs line by line against a hardhat node", () => {
    const [setup, session] = shellBlocks(
      readFileSync(join(REPO_ROOT, "README.md"), "utf8"),
      "Quickstart: your own job on a local chain",
    );
    expect(setup, "the quickstart's first block").toMatch(/^npx meterproof setup --size 8 /m);
    expect(setup).toMatch(/^npx hardhat node /m);
    const port = new URL(chain.rpc).port;
    const script = [
      "set -euo pipefail",
      "set -x",
      // The first block without the node this test started.
      ...setup!.split("\n").filter((l) => !l.startsWith("npx hardhat node")),
      session!.replaceAll("127.0.0.1:8545", `127.0.0.1:${port}`),
    ].join("\n");
    const r = spawnSync("bash", ["-c", script], {
      cwd: dir,
      encoding: "utf8",
      timeout: 900_000,
      env: cleanEnv({ PATH: `${join(REPO_ROOT, "node_modules", ".bin")}:${process.env.PATH ?? ""}` }),
    });
    const output = `${r.stdout}\n${r.stderr}`;
    expect(r.status, output.slice(-6000)).toBe(0);
    // The steps did what they say: proofs verified, paid, withdrawn, audited, closed.
    expect(r.stdout).toMatch(/segments proven/);
    expect(r.stdout).toMatch(/withdrew \d/);
    expect(r.stdout).toMatch(/closed job 1/);
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });
});
