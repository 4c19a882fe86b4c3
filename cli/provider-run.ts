/** `meterproof provider run`: opens the chain session and the prover pool, then runs the agent until SIGTERM/SIGINT. */
import { pino } from "pino";
import type { Server } from "node:http";
import { fileURLToPath } from "node:url";
import { LocalProverPool } from "../prover-pool/local-pool.ts";
import { QueueProverPool } from "../prover-pool/queue-pool.ts";
import { ProviderAgent } from "../provider/agent.ts";
import type { ProviderSettings } from "../provider/config.ts";
import { ProviderMetrics } from "../provider/metrics.ts";
import type { AgentStatus } from "../provider/status.ts";
import { formatAmount } from "./amounts.ts";
import type { ChainOptions } from "./chain-options.ts";
import { addressOf, openSession } from "./chain-session.ts";
import { redactUrl } from "./commands/prover-serve.ts";

export async function runProviderAgent(opts: ChainOptions, settings: ProviderSettings): Promise<void> {
  // Synchronous writes: the lines before a crash (kill -9, power loss) are the ones that matter.
  const logger = pino(
    { base: { pid: process.pid, role: "provider" } },
    pino.destination({ fd: 1, sync: true }),
  );
  const log = (event: string, fields: Record<string, unknown>, level: "info" | "warn" | "error" = "info") =>
    logger[level](fields, event);
  const session = await openSession(opts, { contracts: ["escrow"], signs: true });
  const pool = settings.queue
    ? new QueueProverPool({
        url: settings.queue,
        onError: (err) => log("queue connection", { error: err.message }, "warn"),
      })
    : new LocalProverPool({ jobs: settings.proverThreads });
  const metrics = new ProviderMetrics();
  let server: Server | undefined;
  if (settings.metricsPort !== undefined) server = await metrics.serve(settings.metricsPort);
  const agent = new ProviderAgent({
    settings,
    wallet: session.signer(),
    chainId: session.chainId,
    escrow: addressOf(session, "escrow"),
    ...(session.deployment ? { deploymentBlock: session.deployment.block } : {}),
    pool,
    poolName: settings.queue ? redactUrl(settings.queue) : "local",
    metrics,
    log,
    workers: { bin: fileURLToPath(new URL("../bin/meterproof.js", import.meta.url)), rpc: session.rpc.url },
  });
  const stop = () => {
    log("stopping", {});
    agent.stop();
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
  log("provider agent started", {
    chainId: session.chainId.toString(),
    escrow: addressOf(session, "escrow"),
    submitter: session.signer().address,
    traces: settings.jobs.map((j) => j.trace),
    pool: settings.queue ? "queue" : "local",
    ...(server ? { metricsPort: (server.address() as { port: number }).port } : {}),
  });
  try {
    await agent.run();
  } finally {
    await agent.close();
    server?.close();
    session.close();
  }
}

const short = (v: string | undefined) => (v === undefined ? "-" : v.length > 12 ? `${v.slice(0, 10)}…` : v);

/** The status as a table, one row per job and worker. */
export function formatStatus(s: AgentStatus): string[] {
  const age = (Date.now() - Date.parse(s.updatedAt)) / 1000;
  const lines = [
    `agent pid ${s.pid}, chain ${s.chainId}, escrow ${s.escrow}, submitter ${s.submitter}, pool ${s.pool}`,
    `updated ${s.updatedAt} (${age.toFixed(0)} s ago); ${s.proofsPending} proofs pending` +
      (s.lastError ? `; last error: ${s.lastError}` : ""),
    "job  worker        sealed  proven  submitted  accepted  backlog  paid",
  ];
  for (const l of s.lanes) {
    lines.push(
      `${(l.jobId ?? "-").padEnd(4)} ${short(l.workerKeyHash).padEnd(13)} ${String(l.sealed).padStart(6)}  ` +
        `${String(l.proven).padStart(6)}  ${String(l.submitted).padStart(9)}  ${String(l.accepted).padStart(8)}  ` +
        `${String(l.backlog).padStart(7)}  ${formatAmount(BigInt(l.paid), {})}`,
    );
    if (l.worker) lines.push(`     worker: ${l.worker}`);
    if (l.refused) lines.push(`     refused: ${l.refused}`);
    if (l.lastError) lines.push(`     last error: ${l.lastError}`);
  }
  for (const [token, amount] of Object.entries(s.withdrawn))
    lines.push(`withdrawn by this run: ${formatAmount(BigInt(amount), {})} of ${token}`);
  return lines;
}
