import type { Command } from "commander";
import { CliError, EXIT_FAILED } from "../output.ts";

export function registerDemo(program: Command): void {
  program
    .command("demo")
    .description(
      "run the whole flow on an in-process Hardhat chain: deploy, fund, register a worker, run a real CPU job, " +
        "prove, submit, withdraw, close and audit; prints a summary",
    )
    .option("--work-seconds <s>", "seconds of CPU work the demo job does", "22")
    .option("--dir <dir>", "where the key, trace and bundles go (default: a new temporary directory)")
    .option("--dashboard", "then keep the chain and serve the dashboard over it until Ctrl-C")
    .option("--port <n>", "the dashboard's port (0: any free port)", "8780")
    .action(async (opts: { workSeconds: string; dir?: string; dashboard?: boolean; port: string }) => {
      const workSeconds = Number(opts.workSeconds);
      if (!Number.isFinite(workSeconds) || workSeconds < 1 || workSeconds > 600)
        throw new CliError(`--work-seconds must be a number from 1 to 600, got ${opts.workSeconds}`);
      if (opts.dir !== undefined) await checkDemoDir(opts.dir);
      const { parsePort, serveDashboardUntilSignal } = await import("../dashboard-serve.ts");
      const port = parsePort(opts.port);
      const { runDemo, formatDemoSummary } = await import("../demo/run-demo.ts");
      const t0 = performance.now();
      const report = (summary: Awaited<ReturnType<typeof runDemo>>) => {
        for (const line of formatDemoSummary(summary)) console.log(line);
        console.log(`  time             ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      };
      const summary = await runDemo({
        workSeconds,
        ...(opts.dir ? { dir: opts.dir } : {}),
        log: (l) => console.log(l),
        ...(opts.dashboard
          ? {
              whileChainOpen: async ({ provider, deployment, summary }) => {
                report(summary);
                await serveDashboardUntilSignal({
                  provider,
                  deployment,
                  chainLabel: "the demo's in-process Hardhat network",
                  tracesDir: summary.dir,
                  port,
                  host: "127.0.0.1",
                  log: (l) => console.log(l),
                });
              },
            }
          : {}),
      });
      if (!opts.dashboard) {
        report(summary);
        // The in-process chain ends with this process: --dashboard keeps it for the browser.
        console.log(
          "  dashboard        npm run demo -- --dashboard   (keeps this chain and serves the dashboard until Ctrl-C)",
        );
        console.log(
          "                   on a chain of your own: npx meterproof dashboard --deployment FILE --rpc URL --traces DIR",
        );
      }
      if (!summary.audit.ok) {
        for (const f of summary.audit.findings.filter((f) => f.status === "fail"))
          console.error(`  FAIL ${f.check}: ${f.message}`);
        throw new CliError("the audit found mismatches", EXIT_FAILED);
      }
    });
}

/** --dir: created when missing; refused when it is a file or holds an earlier demo's files. */
async function checkDemoDir(dir: string): Promise<void> {
  const { existsSync, mkdirSync, readdirSync, statSync } = await import("node:fs");
  if (!existsSync(dir)) {
    mkdirSync(dir, { recursive: true });
    return;
  }
  if (!statSync(dir).isDirectory()) throw new CliError(`--dir ${dir}: is a file; give a folder`);
  const earlier = readdirSync(dir).filter((f) => ["job.trace", "bundles", "worker.key"].includes(f));
  if (earlier.length > 0) {
    throw new CliError(
      `--dir ${dir} holds an earlier demo's ${earlier.join(", ")}: a trace is never overwritten; give a new or empty folder`,
    );
  }
}
