/**
 * A real Redis for the queue tests: the Debian redis-server started on a free port in a temporary
 * folder and stopped after. With `persist`, it keeps an append-only file there, so a restart on
 * the same port comes back with its data.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./hardhat-node.ts";

export const REDIS_SERVER = "/usr/bin/redis-server";

export class RedisServer {
  readonly port: number;
  readonly dir: string;
  private readonly persist: boolean;
  private child: ChildProcess | undefined;

  private constructor(port: number, persist: boolean) {
    this.port = port;
    this.persist = persist;
    this.dir = mkdtempSync(join(tmpdir(), "meterproof-redis-"));
  }

  static async start(opts: { persist?: boolean } = {}): Promise<RedisServer> {
    const server = new RedisServer(await freePort(), opts.persist ?? false);
    await server.launch();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Stops the server (SIGTERM: it writes its append-only file first) and waits for it to exit. */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill("SIGTERM");
    await exited;
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.launch();
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  private launch(): Promise<void> {
    const args = ["--port", String(this.port), "--bind", "127.0.0.1", "--dir", this.dir, "--save", ""];
    args.push("--appendonly", this.persist ? "yes" : "no", "--appendfsync", "always");
    const child = spawn(REDIS_SERVER, args, { stdio: ["ignore", "pipe", "pipe"] });
    this.child = child;
    return new Promise((resolve, reject) => {
      let out = "";
      const onData = (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes("Ready to accept connections")) {
          child.stdout!.off("data", onData);
          child.stdout!.resume();
          resolve();
        }
      };
      child.stdout!.on("data", onData);
      child.stderr!.resume();
      child.once("exit", (code) => reject(new Error(`redis-server exited with ${code}: ${out.slice(-500)}`)));
      // A missing binary emits "error", not "exit": fail at once, saying what to install.
      child.once("error", (err) =>
        reject(
          new Error(
            `cannot start ${REDIS_SERVER} (${err.message}): install it (apt-get install redis-server)`,
          ),
        ),
      );
    });
  }
}
