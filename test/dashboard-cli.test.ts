import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deploymentToJson, type DeploymentFile } from "../chain/deployment-file.ts";
import { REPO_ROOT } from "./helpers/cli.ts";
import { baseFixture, GRACE_S, SKEW_MS, type BaseFixture } from "./helpers/escrow-fixture.ts";

// `meterproof dashboard` as a user runs it: a deployment file and an RPC URL (here the
// in-process chain behind a small JSON-RPC HTTP server), then Ctrl-C.

const dir = mkdtempSync(join(tmpdir(), "meterproof-dashboard-cli-"));
let f: BaseFixture;
let rpc: Server;
let rpcUrl: string;
let deploymentPath: string;
/** Every dashboard process a test started, ended in afterAll if a failed test left it running. */
const started: ChildProcess[] = [];

beforeAll(async () => {
  f = await baseFixture();
  const deployment: DeploymentFile = {
    kind: "meterproof-deployment",
    version: 2,
    chainId: f.chainId,
    deployer: f.admin.address,
    block: 0,
    addresses: f.d.addresses,
    parameters: { maxClockSkewMs: SKEW_MS, closeGracePeriod: GRACE_S, requireAttestation: false },
  };
  deploymentPath = join(dir, "net.json");
  writeFileSync(deploymentPath, JSON.stringify(deploymentToJson(deployment)));
  writeFileSync(join(dir, "other.json"), JSON.stringify({ ...deploymentToJson(deployment), chainId: "5" }));
  rpc = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      const call = JSON.parse(body) as { id: number; method: string; params?: unknown[] };
      f.connection.provider.request({ method: call.method, params: call.params ?? [] }).then(
        (result) => res.end(JSON.stringify({ jsonrpc: "2.0", id: call.id, result })),
        (err: Error) =>
          res.end(
            JSON.stringify({ jsonrpc: "2.0", id: call.id, error: { code: -32000, message: err.message } }),
          ),
      );
    });
  });
  await new Promise<void>((r) => rpc.listen(0, "127.0.0.1", r));
  rpcUrl = `http://127.0.0.1:${(rpc.address() as AddressInfo).port}`;
}, 600_000);

afterAll(async () => {
  for (const child of started) if (child.exitCode === null) child.kill("SIGKILL");
  await new Promise((r) => rpc?.close(r));
  await f?.connection.close();
});

/** Runs `meterproof dashboard …` to its end, without blocking: this process serves the RPC endpoint. */
function run(args: string[]): Promise<{ status: number | null; stderr: string }> {
  const child = spawn(process.execPath, [join(REPO_ROOT, "bin/meterproof.js"), "dashboard", ...args], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr!.on("data", (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) => child.on("exit", (status) => resolve({ status, stderr })));
}

/** Starts `meterproof dashboard …` and resolves with the URL it prints. */
function startCli(args: string[]): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  const child = spawn(process.execPath, [join(REPO_ROOT, "bin/meterproof.js"), "dashboard", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  started.push(child);
  let out = "";
  return new Promise((resolve, reject) => {
    const onData = (c: Buffer) => {
      out += c.toString();
      const m = /meterproof dashboard: (http:\/\/\S+)/.exec(out);
      if (m) resolve({ child, url: m[1]!, output: () => out });
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.on("exit", (code) => reject(new Error(`meterproof dashboard exited with ${code}: ${out}`)));
  });
}

function stop(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    child.once("exit", (code) => resolve(code));
    child.kill("SIGINT");
  });
}

describe("meterproof dashboard (command)", () => {
  it("serves the page, its assets and the API from a deployment file and an RPC URL, until Ctrl-C", async () => {
    const { child, url, output } = await startCli([
      "--deployment",
      deploymentPath,
      "--rpc",
      rpcUrl,
      "--port",
      "0",
      "--traces",
      dir,
    ]);
    try {
      const page = await (await fetch(`${url}/`)).text();
      expect(page).toContain('src="/assets/uplot.js"');
      // Served from this machine: the page works offline.
      for (const asset of ["uplot.js", "uplot.css", "app.js", "style.css"]) {
        const res = await fetch(`${url}/assets/${asset}`);
        expect(res.status, asset).toBe(200);
        expect((await res.text()).length, asset).toBeGreaterThan(100);
      }
      const overview = (await (await fetch(`${url}/api/overview`)).json()) as {
        chain: { chainId: string; escrow: string };
        jobs: { total: number };
        rateCard: { deviceClass: string; weightBps: number }[];
      };
      expect(overview.chain).toMatchObject({ chainId: "31337", escrow: f.d.addresses.escrow });
      expect(overview.jobs.total).toBe(0);
      expect(overview.rateCard).toContainEqual({ deviceClass: "CPU", weightBps: 100 });
      const unknown = await fetch(`${url}/api/jobs/1`);
      expect(unknown.status).toBe(404);
      expect(((await unknown.json()) as { error: string }).error).toBe(
        "job 1 does not exist on this escrow (it has no jobs yet)",
      );
    } finally {
      expect(await stop(child)).toBe(0);
    }
    expect(output()).toContain("meterproof dashboard: stopping");
  });

  it("refuses bad input with exit 2 and the reason", async () => {
    const bad = async (args: string[], message: string) => {
      const r = await run(args);
      expect(r.stderr).toContain(message);
      expect(r.status).toBe(2);
    };
    await bad(["--deployment", join(dir, "none.json"), "--rpc", rpcUrl], "none.json: file does not exist");
    await bad(["--deployment", join(dir, "other.json"), "--rpc", rpcUrl], "is for chain 5, but --rpc");
    await bad(
      ["--deployment", deploymentPath, "--rpc", rpcUrl, "--port", "http"],
      "--port must be a whole number from 0 to 65535",
    );
    await bad(
      ["--deployment", deploymentPath, "--rpc", rpcUrl, "--traces", join(dir, "nowhere")],
      "nowhere is not a folder",
    );
    await bad(["--deployment", deploymentPath], "required option '--rpc <url>'");
  });

  it("starts while the RPC endpoint is down and says so", async () => {
    const { child, url, output } = await startCli([
      "--deployment",
      deploymentPath,
      "--rpc",
      "http://127.0.0.1:9",
      "--port",
      "0",
    ]);
    try {
      expect(output()).toContain("cannot reach the JSON-RPC endpoint --rpc http://127.0.0.1:9");
      const res = await fetch(`${url}/api/overview`);
      expect(res.status).toBe(503);
      expect(((await res.json()) as { error: string }).error).toContain(
        "cannot read the chain at http://127.0.0.1:9",
      );
    } finally {
      expect(await stop(child)).toBe(0);
    }
  });
});
