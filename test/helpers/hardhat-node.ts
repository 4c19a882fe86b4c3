/** `hardhat node` (the EDR chain over JSON-RPC) on a free port, for tests whose agent is a separate process. */
import { spawn, type ChildProcess } from "node:child_process";
import { openSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { JsonRpcProvider, Network } from "ethers";
import { REPO_ROOT } from "./cli.ts";
import { freePort } from "./free-port.ts";
import { buildContracts } from "./hardhat.ts";

export class HardhatNode {
  readonly url: string;
  readonly provider: JsonRpcProvider;
  private readonly child: ChildProcess;

  private constructor(url: string, child: ChildProcess) {
    this.url = url;
    this.child = child;
    const network = Network.from(31337n);
    this.provider = new JsonRpcProvider(url, network, {
      staticNetwork: network,
      cacheTimeout: -1,
      pollingInterval: 200,
    });
  }

  /** Starts the node (its log goes to `logFile`) and waits until it answers eth_chainId. */
  static async start(logFile: string): Promise<HardhatNode> {
    await buildContracts();
    const port = await freePort();
    const out = openSync(logFile, "a");
    const child = spawn(
      process.execPath,
      [
        join(REPO_ROOT, "node_modules/.bin/hardhat"),
        "node",
        "--port",
        String(port),
        "--hostname",
        "127.0.0.1",
      ],
      { cwd: REPO_ROOT, stdio: ["ignore", out, out] },
    );
    const node = new HardhatNode(`http://127.0.0.1:${port}`, child);
    const until = Date.now() + 120_000;
    for (;;) {
      if (child.exitCode !== null)
        throw new Error(`hardhat node exited: ${readFileSync(logFile, "utf8").slice(-2000)}`);
      try {
        if ((await node.send("eth_chainId")) === "0x7a69") return node;
      } catch {
        // not listening yet
      }
      if (Date.now() > until) {
        await node.stop();
        throw new Error("hardhat node did not answer within 120 s");
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  async send(method: string, params: unknown[] = []): Promise<unknown> {
    const res = await fetch(this.url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
    });
    const body = (await res.json()) as { result?: unknown; error?: { message: string } };
    if (body.error) throw new Error(`${method}: ${body.error.message}`);
    return body.result;
  }

  async stop(): Promise<void> {
    this.provider.destroy();
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once("exit", () => resolve()));
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
  }
}
