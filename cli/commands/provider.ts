import { Option, type Command } from "commander";
import { withChainOptions, type ChainOptions } from "../chain-options.ts";
import { CliError } from "../output.ts";
import { registerProverServe } from "./prover-serve.ts";

interface RunOptions extends ChainOptions {
  queue?: string;
  metricsPort?: string;
}

function port(flag: string, v: string): number {
  if (!/^[0-9]+$/.test(v) || Number(v) > 65535)
    throw new CliError(`${flag} must be a TCP port from 0 to 65535, got ${JSON.stringify(v)}`);
  return Number(v);
}

/** The `provider` section of the project config, checked; a missing file or section is a one-line error. */
async function settingsFromConfig() {
  const { loadProjectConfig } = await import("../project-config.ts");
  const { providerSettings, ProviderConfigError } = await import("../../provider/config.ts");
  const config = loadProjectConfig();
  if (!config)
    throw new CliError(
      "the provider agent is configured in meterproof.config.json (a `provider` section): none found from this folder up, and METERPROOF_CONFIG is not set",
    );
  try {
    return providerSettings(config);
  } catch (err) {
    if (err instanceof ProviderConfigError) throw new CliError(err.message);
    throw err;
  }
}

export function registerProvider(program: Command): void {
  const provider = program
    .command("provider")
    .description("the provider agent: sealed segments to proofs to payouts while the jobs run");
  const run = provider
    .command("run")
    .description(
      "follow the traces named in meterproof.config.json (`provider` section), prove each segment once it is sealed, " +
        "submit in batches (every K segments or T seconds), withdraw by rule; restart-safe. Logs JSON lines on stdout",
    )
    .addOption(
      new Option(
        "--queue <redis-url>",
        "prove on `meterproof prover serve` hosts through this Redis (BullMQ)",
      ),
    )
    .option("--metrics-port <port>", "serve Prometheus metrics on http://0.0.0.0:PORT/metrics");
  withChainOptions(run, { contracts: ["escrow"] }).action(async (opts: RunOptions) => {
    const settings = await settingsFromConfig();
    const { checkQueueUrl } = await import("../../prover-pool/queue.ts");
    if (opts.queue !== undefined) {
      try {
        settings.queue = checkQueueUrl("--queue", opts.queue);
      } catch (err) {
        throw new CliError((err as Error).message);
      }
    } else if (settings.queue !== undefined) {
      try {
        checkQueueUrl("provider.queue", settings.queue);
      } catch (err) {
        throw new CliError((err as Error).message);
      }
    }
    if (opts.metricsPort !== undefined) settings.metricsPort = port("--metrics-port", opts.metricsPort);
    const { runProviderAgent } = await import("../provider-run.ts");
    await runProviderAgent(opts, settings);
  });

  provider
    .command("status")
    .description(
      "per job and worker: segments sealed, proven, submitted and accepted; paid; backlog; last error (from the running agent's status file)",
    )
    .option("--json", "print the status as JSON")
    .action(async (opts: { json?: boolean }) => {
      const settings = await settingsFromConfig();
      const { formatStatus } = await import("../provider-run.ts");
      const { readStatus, statusPath } = await import("../../provider/status.ts");
      const status = readStatus(settings.stateDir);
      if (!status)
        throw new CliError(
          `no status at ${statusPath(settings.stateDir)}: the agent has not run yet (meterproof provider run)`,
          1,
        );
      if (opts.json) console.log(JSON.stringify(status, null, 2));
      else for (const line of formatStatus(status)) console.log(line);
    });

  registerProverServe(program);
}
