import type { Command } from "commander";
import { CliError } from "../output.ts";

function positive(flag: string, v: string, max: number): number {
  if (!/^[0-9]+$/.test(v) || Number(v) < 1 || Number(v) > max)
    throw new CliError(`${flag} must be an integer from 1 to ${max}, got ${JSON.stringify(v)}`);
  return Number(v);
}

export function registerProverServe(program: Command): void {
  program
    .command("prover")
    .description("proving hosts for the provider agent")
    .command("serve")
    .description(
      "prove segments from the agent's BullMQ queue with the long-lived prover, each proof in a sandboxed child " +
        "process; run it on any number of machines. Logs JSON lines on stdout; stops after the proofs in hand on SIGTERM",
    )
    .requiredOption("--queue <redis-url>", "the Redis the agent was started with (--queue)")
    .option("--concurrency <n>", "proofs at once on this host", "1")
    .option("--lock-ms <ms>", "job lock; a host that dies loses its jobs to the others after this", "30000")
    .option(
      "--stalled-check-ms <ms>",
      "how often jobs of dead hosts are looked for (default: half of --lock-ms)",
    )
    .action(async (opts: { queue: string; concurrency: string; lockMs: string; stalledCheckMs?: string }) => {
      const { checkQueueUrl } = await import("../../prover-pool/queue.ts");
      try {
        checkQueueUrl("--queue", opts.queue);
      } catch (err) {
        throw new CliError((err as Error).message);
      }
      const concurrency = positive("--concurrency", opts.concurrency, 64);
      const lockMs = positive("--lock-ms", opts.lockMs, 3_600_000);
      const stalledCheckMs =
        opts.stalledCheckMs !== undefined
          ? positive("--stalled-check-ms", opts.stalledCheckMs, 3_600_000)
          : undefined;
      const { pino } = await import("pino");
      const { startProverServe } = await import("../../prover-pool/serve.ts");
      // Synchronous writes, so a host's last lines survive its crash.
      const logger = pino(
        { base: { pid: process.pid, role: "prover" } },
        pino.destination({ fd: 1, sync: true }),
      );
      const worker = startProverServe({
        url: opts.queue,
        concurrency,
        lockMs,
        ...(stalledCheckMs !== undefined ? { stalledCheckMs } : {}),
        log: (event, fields) => logger.info(fields, event),
      });
      logger.info({ queue: redactUrl(opts.queue), concurrency, lockMs }, "prover serving");
      await new Promise<void>((resolve) => {
        for (const s of ["SIGTERM", "SIGINT"] as const) process.once(s, () => resolve());
      });
      logger.info({}, "stopping after the proofs in hand");
      await worker.close();
    });
}

/** A Redis URL without its password, for logs. */
export function redactUrl(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = "***";
  return u.toString();
}
