/**
 * The dashboard web app: a small Hono server with a JSON API over a chain snapshot and a trace
 * folder, server-sent events for new blocks, and the page's static files (served from here and
 * node_modules, so it works offline). It reads the chain and never sends a transaction.
 */
import { EventEmitter } from "node:events";
import { readFile } from "node:fs/promises";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { serve, type ServerType } from "@hono/node-server";
import { getAddress, isAddress, type Provider } from "ethers";
import { Hono, type Context } from "hono";
import { streamSSE } from "hono/streaming";
import { attachContract } from "../contracts/index.ts";
import { ChainIndex, type ChainSnapshot, type DashboardDeployment } from "./chain-index.ts";
import { DashboardError, firstLine } from "./errors.ts";
import { JobAuditor } from "./job-audit.ts";
import { TraceLibrary, type TraceScan } from "./trace-library.ts";
import { amount } from "./units.ts";
import { jobsList, jobView, overview, parseJobId, providerView } from "./views.ts";

/** How long close() waits for a poll in flight. */
const CLOSE_WAIT_MS = 2000;
const STATIC_DIR = join(dirname(fileURLToPath(import.meta.url)), "static");
const UPLOT_DIR = dirname(createRequire(import.meta.url).resolve("uplot"));
const ASSETS: Record<string, { file: string; type: string }> = {
  "app.js": { file: join(STATIC_DIR, "app.js"), type: "text/javascript; charset=utf-8" },
  "style.css": { file: join(STATIC_DIR, "style.css"), type: "text/css; charset=utf-8" },
  "uplot.js": { file: join(UPLOT_DIR, "uPlot.iife.min.js"), type: "text/javascript; charset=utf-8" },
  "uplot.css": { file: join(UPLOT_DIR, "uPlot.min.css"), type: "text/css; charset=utf-8" },
};

export interface DashboardOptions {
  /** Any ethers provider: a JsonRpcProvider, or the in-process Hardhat network's. */
  provider: Provider;
  deployment: DashboardDeployment;
  /** Names the chain in messages (the RPC URL). */
  chainLabel: string;
  /** Folder with trace files and proof bundles (searched four levels deep). */
  tracesDir?: string;
  /** How often the server looks for new blocks and trace changes (ms, default 2000). */
  pollMs?: number;
}

export interface RunningDashboard {
  url: string;
  close(): Promise<void>;
}

/** The dashboard's Hono app and the loop that follows the chain; `listen` serves it. */
export class Dashboard {
  readonly app = new Hono();
  private readonly chain: ChainIndex;
  private readonly traces: TraceLibrary | undefined;
  private readonly auditor: JobAuditor;
  private readonly pollMs: number;
  private readonly changes = new EventEmitter();
  private version = "";
  private scanning: Promise<TraceScan> | undefined;

  constructor(opts: DashboardOptions) {
    this.chain = new ChainIndex({
      provider: opts.provider,
      deployment: opts.deployment,
      label: opts.chainLabel,
    });
    this.traces = opts.tracesDir
      ? new TraceLibrary({
          dir: opts.tracesDir,
          chainId: opts.deployment.chainId,
          escrow: opts.deployment.addresses.escrow,
        })
      : undefined;
    this.auditor = new JobAuditor(this.chain);
    this.pollMs = opts.pollMs ?? 2000;
    this.changes.setMaxListeners(0);
    this.routes();
  }

  /** Chain and trace folder as of now (reads only what changed since the last call). */
  private async current(): Promise<{ snap: ChainSnapshot; scan: TraceScan }> {
    const snap = await this.chain.sync();
    this.scanning ??= (
      this.traces?.scan() ?? Promise.resolve({ traces: [], bundles: [], problems: [] })
    ).finally(() => (this.scanning = undefined));
    return { snap, scan: await this.scanning };
  }

  private routes(): void {
    const app = this.app;
    app.onError((err, c) => {
      if (err instanceof DashboardError) return c.json({ error: err.message }, err.status);
      return c.json({ error: `the dashboard failed: ${firstLine(err)}` }, 500);
    });
    for (const page of ["/", "/jobs", "/jobs/:id", "/providers/:address"])
      app.get(page, async (c) => c.html(await readFile(join(STATIC_DIR, "index.html"), "utf8")));
    app.get("/assets/:name", async (c) => {
      const asset = ASSETS[c.req.param("name")];
      if (!asset) return c.text("no such asset", 404);
      return c.body(await readFile(asset.file), 200, { "content-type": asset.type });
    });

    app.get("/api/overview", async (c) => {
      const { snap, scan } = await this.current();
      return c.json({
        ...this.meta(snap, scan),
        ...overview(snap),
        jobsList: jobsList(snap),
      });
    });
    app.get("/api/jobs", async (c) => {
      const { snap, scan } = await this.current();
      return c.json({ ...this.meta(snap, scan), jobs: jobsList(snap) });
    });
    app.get("/api/jobs/:id", async (c) => {
      const { snap, scan } = await this.current();
      return c.json({ ...this.meta(snap, scan), ...jobView(snap, scan, c.req.param("id"), bundleUrl) });
    });
    app.get("/api/jobs/:id/audit", async (c) => {
      const { snap, scan } = await this.current();
      const id = parseJobId(c.req.param("id"));
      if (!snap.jobs.has(id)) throw new DashboardError(404, `job ${id} does not exist on this escrow`);
      const traces = scan.traces.filter((t) => t.header.jobId === id);
      const accepted = snap.accepted.filter((s) => s.jobId === id).length;
      return c.json({ audits: await this.auditor.audit(id, traces, accepted) });
    });
    app.get("/api/providers/:address", async (c) => {
      const text = c.req.param("address");
      if (!isAddress(text))
        throw new DashboardError(
          400,
          `provider must be a 20-byte hex address (0x and 40 hex digits), got ${JSON.stringify(text)}`,
        );
      const address = getAddress(text);
      const { snap, scan } = await this.current();
      const view = providerView(snap, scan, address);
      const escrow = attachContract(
        "ComputeEscrow",
        this.chain.deployment.addresses.escrow,
        this.chain.provider,
      );
      let balances;
      try {
        balances = await Promise.all(
          view.tokens.map(async (t) => ({
            ...t,
            withdrawable: amount(await escrow.balanceOf(address, t.token), snap.tokens.get(t.token), t.token),
          })),
        );
      } catch (err) {
        throw new DashboardError(503, `cannot read balances at ${this.chain.label}: ${firstLine(err)}`);
      }
      return c.json({ ...this.meta(snap, scan), ...view, tokens: balances });
    });
    app.get("/bundles/*", async (c) => {
      const rel = decodeURIComponent(c.req.path.slice("/bundles/".length));
      const { scan } = await this.current();
      // Only files the scan found as bundles: the path never reaches outside the traces folder.
      const bundle = scan.bundles.find((b) => b.rel === rel);
      if (!bundle)
        return c.json({ error: `no proof bundle ${JSON.stringify(rel)} in the traces folder` }, 404);
      return c.body(await readFile(bundle.path), 200, { "content-type": "application/json; charset=utf-8" });
    });
    app.get("/api/live", (c) => this.live(c));
  }

  private meta(snap: ChainSnapshot, scan: TraceScan) {
    return {
      chain: {
        chainId: snap.chainId.toString(),
        label: this.chain.label,
        block: snap.block,
        blockTime: snap.blockTime,
        escrow: this.chain.deployment.addresses.escrow,
        registry: this.chain.deployment.addresses.registry,
      },
      traces: {
        dir: this.traces ? this.traces.dir : null,
        files: scan.traces.length,
        bundles: scan.bundles.length,
        problems: scan.problems,
      },
    };
  }

  /** Server-sent events: `change` with the block whenever the chain or the trace folder changes. */
  private live(c: Context) {
    return streamSSE(c, async (stream) => {
      let resolveNext: (() => void) | undefined;
      const onChange = () => resolveNext?.();
      this.changes.on("change", onChange);
      stream.onAbort(() => resolveNext?.());
      try {
        await stream.writeSSE({ event: "hello", data: this.version });
        while (!stream.aborted) {
          await new Promise<void>((r) => (resolveNext = r));
          if (!stream.aborted) await stream.writeSSE({ event: "change", data: this.version });
        }
      } finally {
        this.changes.off("change", onChange);
      }
    });
  }

  /** One look at the chain and the trace folder; tells live pages when anything changed. */
  async poll(): Promise<void> {
    let version: string;
    try {
      const { snap, scan } = await this.current();
      const records = scan.traces.reduce((s, t) => s + t.records.length + t.seals.length, 0);
      version = JSON.stringify({ block: snap.block, records, bundles: scan.bundles.length, error: null });
    } catch (err) {
      version = JSON.stringify({
        block: null,
        error: err instanceof DashboardError ? err.message : firstLine(err),
      });
    }
    if (version !== this.version) {
      this.version = version;
      this.changes.emit("change");
    }
  }

  /** Serves the app on `host:port` (port 0: a free port) and polls until closed. */
  async listen(args: { port: number; host?: string }): Promise<RunningDashboard> {
    const host = args.host ?? "127.0.0.1";
    const server: ServerType = await new Promise((resolve, reject) => {
      const s = serve({ fetch: this.app.fetch, port: args.port, hostname: host }, () => resolve(s));
      s.once("error", reject);
    });
    let stopped = false;
    let timer: NodeJS.Timeout | undefined;
    let polling: Promise<void> = Promise.resolve();
    const loop = () => {
      polling = this.poll().then(() => {
        if (!stopped) timer = setTimeout(loop, this.pollMs);
      });
    };
    loop();
    const { port } = server.address() as AddressInfo;
    return {
      url: `http://${host.includes(":") ? `[${host}]` : host}:${port}`,
      close: async () => {
        stopped = true;
        clearTimeout(timer);
        // A poll waiting on an endpoint that does not answer is not waited for past CLOSE_WAIT_MS.
        await Promise.race([polling, new Promise((r) => setTimeout(r, CLOSE_WAIT_MS).unref())]);
        this.changes.emit("change");
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          // Live pages hold their event streams open: end them, or close would wait for them.
          (server as Server).closeAllConnections();
        });
      },
    };
  }
}

/** Starts a dashboard: `startDashboard({ provider, deployment, chainLabel, tracesDir, port })`. */
export async function startDashboard(
  opts: DashboardOptions & { port?: number; host?: string },
): Promise<RunningDashboard> {
  return new Dashboard(opts).listen({ port: opts.port ?? 0, ...(opts.host ? { host: opts.host } : {}) });
}

function bundleUrl(rel: string): string {
  return `/bundles/${rel.split("/").map(encodeURIComponent).join("/")}`;
}
