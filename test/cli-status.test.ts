/**
 * The parts of the read-only commands that need no chain: how amounts and hours print, whose
 * address a configured key names (a keystore is never decrypted), and one-line errors for an
 * endpoint that fails. The commands against a chain: test/cli-listing.test.ts.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { encryptKeystoreJson, Wallet } from "ethers";
import { describe, expect, it } from "vitest";
import { configuredAddress, readChain } from "../cli/read-context.ts";
import { CliError } from "../cli/output.ts";
import { amountJson, formatTokens, formatUsage } from "../cli/token-units.ts";
import { runCli } from "./helpers/cli.ts";
import { runCliAll } from "./helpers/cli-async.ts";
import { cleanEnv, freePort, KEYS } from "./helpers/hardhat-node.ts";
import { tempDir } from "./worker-helpers.ts";

const dir = tempDir("cli-status");
const CCR = { address: "0x5FbDB2315678afecb367f032d93F642f64180aa3", decimals: 18, symbol: "CCR" };

describe("amounts and hours", () => {
  it("prints token units with the symbol, base units on request, both in JSON", () => {
    expect(formatTokens(12_500_000_000_000_000_000n, CCR)).toBe("12.5 CCR");
    expect(formatTokens(12_500_000_000_000_000_000n, CCR, true)).toBe("12500000000000000000 units CCR");
    // A token without decimals() is printed in base units, named by its address without a symbol.
    expect(formatTokens(7n, { address: CCR.address })).toBe(`7 units ${CCR.address}`);
    expect(amountJson(2_500_000_000_000_000_000n, CCR)).toEqual({
      units: 2_500_000_000_000_000_000n,
      tokens: "2.5",
      symbol: "CCR",
    });
  });

  it("names hours after the device class and says the weight that made them H100-equivalent", () => {
    const hour = 36_000_000_000n; // one fully busy device-hour in bps·ms
    expect(formatUsage(hour, "CPU", 100n)).toBe(
      "1.0000 CPU-hours = 0.0100 H100-equivalent hours at weight 100 bps",
    );
    expect(formatUsage(hour, "A100", 4000n)).toBe(
      "1.0000 A100-hours = 0.4000 H100-equivalent hours at weight 4000 bps",
    );
    expect(formatUsage(hour / 2n, "H100", 10_000n)).toBe("0.5000 H100-hours (weight 10000 bps)");
  });
});

describe("the configured key's address", () => {
  it("reads a keystore's address without its password, and the environment's key", async () => {
    const wallet = new Wallet(KEYS.provider);
    const file = join(dir, "k.json");
    // A real encrypted wallet (cheap scrypt): its address field is all the command reads.
    writeFileSync(
      file,
      await encryptKeystoreJson({ address: wallet.address, privateKey: wallet.privateKey }, "pw", {
        scrypt: { N: 2 },
      }),
    );
    expect(configuredAddress({ keystore: file })).toBe(wallet.address);
    const bad = join(dir, "bad.json");
    writeFileSync(bad, JSON.stringify({ version: 3 }));
    expect(() => configuredAddress({ keystore: bad })).toThrow(
      `--keystore ${bad}: the wallet names no address`,
    );
    expect(() => configuredAddress({ keystore: join(dir, "none.json") })).toThrow("no such file");
    const before = process.env.METERPROOF_PRIVATE_KEY;
    try {
      process.env.METERPROOF_PRIVATE_KEY = KEYS.admin;
      expect(configuredAddress({})).toBe(new Wallet(KEYS.admin).address);
      delete process.env.METERPROOF_PRIVATE_KEY;
      expect(configuredAddress({})).toBeUndefined();
    } finally {
      if (before === undefined) delete process.env.METERPROOF_PRIVATE_KEY;
      else process.env.METERPROOF_PRIVATE_KEY = before;
    }
  });
});

describe("errors", () => {
  it("turns an endpoint's error into one line, and leaves a bug a bug", async () => {
    const rpcError = Object.assign(new Error("missing trie node\n  at geth"), { code: "UNKNOWN_ERROR" });
    await expect(readChain(() => Promise.reject(rpcError))).rejects.toThrow(
      new CliError("the JSON-RPC endpoint failed a read: missing trie node"),
    );
    await expect(readChain(() => Promise.reject(new TypeError("x is undefined")))).rejects.toBeInstanceOf(
      TypeError,
    );
  });

  it("status, balance and the lists name an endpoint that does not answer, in one line, exit 2", async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const env = cleanEnv({ METERPROOF_RPC: dead });
    const commands = [
      ["status"],
      ["balance", "--provider", CCR.address],
      ["job", "list"],
      ["worker", "list"],
    ];
    const runs = await runCliAll(
      commands.map((args) => [...args, "--escrow", CCR.address]),
      { env, cwd: dir },
    );
    for (const r of runs) {
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr.trim()).toBe(
        `meterproof: cannot reach the JSON-RPC endpoint --rpc ${dead}: ECONNREFUSED`,
      );
    }
    const noRpc = runCli(["status", "--escrow", CCR.address], { env: cleanEnv(), cwd: dir });
    expect(noRpc.status).toBe(2);
    expect(noRpc.stderr).toMatch(/--rpc/);
  });
});
