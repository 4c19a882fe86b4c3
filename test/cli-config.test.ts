import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "./helpers/cli.ts";

const root = mkdtempSync(join(tmpdir(), "meterproof-config-"));
const deeper = join(root, "project", "jobs", "today");
mkdirSync(deeper, { recursive: true });
afterAll(() => rmSync(root, { recursive: true, force: true }));

function writeConfig(json: unknown): void {
  writeFileSync(join(root, "project", "meterproof.config.json"), JSON.stringify(json));
}

/** `meterproof config --json` run from `cwd` with only the given METERPROOF_* variables set. */
function effective(cwd: string, env: Record<string, string> = {}, args: string[] = []) {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("METERPROOF_")));
  const r = runCli(["config", "--json", ...args], { cwd, env: { ...clean, ...env } });
  return { ...r, json: r.status === 0 ? JSON.parse(r.stdout) : undefined };
}

describe("project config file", () => {
  it("is found from a subfolder, with paths relative to the file", () => {
    writeConfig({
      rpc: "http://127.0.0.1:8545",
      deployment: "deployments/local.json",
      worker: { segment: 8 },
    });
    const { json } = effective(deeper);
    expect(json.file).toBe(join(root, "project", "meterproof.config.json"));
    expect(json.settings.rpc).toEqual({ value: "http://127.0.0.1:8545", from: json.file });
    expect(json.settings.deployment.value).toBe(join(root, "project", "deployments", "local.json"));
    expect(json.worker).toEqual({ segment: 8 });
  });

  it("loses to the environment, which loses to a flag", () => {
    writeConfig({ rpc: "http://from-file:1", keystore: "ops.json" });
    const env = effective(deeper, { METERPROOF_RPC: "http://from-env:2" });
    expect(env.json.settings.rpc).toEqual({ value: "http://from-env:2", from: "METERPROOF_RPC" });
    expect(env.json.settings.keystore.value).toBe(join(root, "project", "ops.json"));
    const flag = effective(deeper, { METERPROOF_RPC: "http://from-env:2" }, ["--rpc", "http://from-flag:3"]);
    expect(flag.json.settings.rpc).toEqual({ value: "http://from-flag:3", from: "--rpc" });
  });

  it("can be named by METERPROOF_CONFIG, and is absent outside a project", () => {
    const elsewhere = join(root, "elsewhere");
    mkdirSync(elsewhere, { recursive: true });
    expect(effective(elsewhere).json).toMatchObject({ file: null, settings: { rpc: null } });
    writeConfig({ rpc: "http://named:4" });
    const named = effective(elsewhere, {
      METERPROOF_CONFIG: join(root, "project", "meterproof.config.json"),
    });
    expect(named.json.settings.rpc.value).toBe("http://named:4");
    const missing = effective(elsewhere, { METERPROOF_CONFIG: "nope.json" });
    expect(missing.status).toBe(2);
    expect(missing.stderr.trim()).toBe("meterproof: METERPROOF_CONFIG=nope.json: no such file");
  });

  it("refuses a bad file naming the file, the key and the rule", () => {
    const file = join(root, "project", "meterproof.config.json");
    const cases: [unknown, string][] = [
      [{ rpc: "ftp://x" }, "rpc: must be an http(s):// or ws(s):// URL"],
      [{ rpcUrl: "http://x" }, '(top level): unknown key "rpcUrl"'],
      [{ worker: { segment: 0 } }, "worker.segment: must be positive"],
    ];
    for (const [json, message] of cases) {
      writeConfig(json);
      const r = effective(deeper);
      expect(r.status).toBe(2);
      expect(r.stderr).toContain(`meterproof: ${file}: ${message}`);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
    }
    writeFileSync(file, "{ not json");
    const broken = effective(deeper);
    expect(broken.status).toBe(2);
    expect(broken.stderr).toMatch(/meterproof\.config\.json: not valid JSON/);
  });
});
