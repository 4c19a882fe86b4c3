import { Option, type Command } from "commander";
import { CliError } from "../output.ts";

export function registerDashboard(program: Command): void {
  program
    .command("dashboard")
    .description(
      "serve a web dashboard of one deployment: network totals, jobs, each job's segments, payouts, " +
        "GPU timeline and audit, providers' balances and backlog; live as blocks arrive. " +
        "It reads the chain and never sends a transaction",
    )
    .requiredOption("--deployment <file>", "deployment file written by `meterproof deploy`")
    .addOption(
      new Option("--rpc <url>", "JSON-RPC endpoint of the chain (http:// or https://)")
        .env("METERPROOF_RPC")
        .makeOptionMandatory(),
    )
    .option(
      "--traces <dir>",
      "folder with trace files (*.trace, *.jsonl) and proof bundles, searched 4 levels deep",
    )
    .option("--port <n>", "port to listen on (0: any free port)", "8780")
    .option(
      "--host <address>",
      "address to listen on (0.0.0.0 shares the dashboard with the network)",
      "127.0.0.1",
    )
    .action(
      async (opts: { deployment: string; rpc: string; traces?: string; port: string; host: string }) => {
        const { statSync } = await import("node:fs");
        const { JsonRpcProvider, Network } = await import("ethers");
        const { readDeploymentFile, DeploymentFileError } = await import("../../chain/deployment-file.ts");
        const { connectRpc } = await import("../wallet.ts");
        const { parsePort, serveDashboardUntilSignal } = await import("../dashboard-serve.ts");
        const port = parsePort(opts.port);
        if (opts.traces !== undefined && !statSync(opts.traces, { throwIfNoEntry: false })?.isDirectory())
          throw new CliError(`--traces ${opts.traces} is not a folder`);
        let deployment;
        try {
          deployment = readDeploymentFile(opts.deployment);
        } catch (err) {
          if (err instanceof DeploymentFileError) throw new CliError(`--deployment ${err.message}`);
          throw err;
        }
        let provider;
        try {
          const rpc = await connectRpc(opts.rpc);
          if (rpc.chainId !== deployment.chainId) {
            rpc.provider.destroy();
            throw new CliError(
              `--deployment ${opts.deployment} is for chain ${deployment.chainId}, but --rpc ${opts.rpc} is chain ${rpc.chainId}`,
            );
          }
          provider = rpc.provider;
        } catch (err) {
          if (!(err instanceof CliError) || !err.message.startsWith("cannot reach")) throw err;
          // Serve anyway: the page says the chain cannot be read, and recovers when it answers.
          console.error(
            `meterproof: ${err.message}; the dashboard starts and shows this until the endpoint answers`,
          );
          const network = Network.from(deployment.chainId);
          provider = new JsonRpcProvider(opts.rpc, network, {
            staticNetwork: network,
            pollingInterval: 1000,
          });
        }
        try {
          await serveDashboardUntilSignal({
            provider,
            deployment,
            chainLabel: opts.rpc,
            ...(opts.traces !== undefined ? { tracesDir: opts.traces } : {}),
            port,
            host: opts.host,
            log: (line) => console.log(line),
          });
        } finally {
          provider.destroy();
        }
      },
    );
}
