import type { Command } from "commander";
import type { AuditReport, ChainView, Finding } from "../../verifier/audit.ts";
import { CliError, EXIT_FAILED } from "../output.ts";

export function registerAudit(program: Command): void {
  program
    .command("audit")
    .description(
      "replay a trace: recompute every hash, head, seal, signature and usage, run plausibility checks, " +
        "and with --rpc compare every proven segment and payout with the escrow's events. " +
        "Exit 0 when everything matches, 1 on any mismatch, 2 on bad input",
    )
    .argument("<trace>", "trace file (JSON Lines)")
    .option("--rpc <url>", "JSON-RPC endpoint of the chain the job lives on")
    .option("--escrow <address>", "ComputeEscrow address (default: the trace header's)")
    .option("--from-block <n>", "first block to read events from (default 0)", "0")
    .option("--json", "print the report as JSON")
    .action(
      async (
        tracePath: string,
        opts: { rpc?: string; escrow?: string; fromBlock: string; json?: boolean },
      ) => {
        const { existsSync } = await import("node:fs");
        if (!existsSync(tracePath)) throw new CliError(`${tracePath}: no such file`);
        if (opts.escrow && !opts.rpc) throw new CliError("--escrow needs --rpc");
        const fromBlock = Number(opts.fromBlock);
        if (!Number.isInteger(fromBlock) || fromBlock < 0)
          throw new CliError(`--from-block must be a block number, got ${opts.fromBlock}`);
        const { auditTrace } = await import("../../verifier/audit.ts");
        const { nativeAddon } = await import("../../trace/native.ts");
        if (!nativeAddon && process.env.METERPROOF_NATIVE !== "0")
          console.error(
            "meterproof: the native addon is not built, so hashing runs in WebAssembly (four to five times slower); " +
              "`npm run build:native` builds it or shows why it cannot (docs/native.md)",
          );
        const chain = opts.rpc ? await chainView(tracePath, opts.rpc, opts.escrow, fromBlock) : undefined;
        const report = await auditTrace(tracePath, chain);
        if (opts.json)
          console.log(
            JSON.stringify(report, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v), 2),
          );
        else printReport(tracePath, report, Boolean(chain));
        if (!report.ok) process.exitCode = EXIT_FAILED;
      },
    );
}

async function chainView(
  tracePath: string,
  rpc: string,
  escrowOpt: string | undefined,
  fromBlock: number,
): Promise<ChainView> {
  const { readLines, headerSchema } = await import("../../trace/index.ts");
  const { JsonRpcProvider, isAddress } = await import("ethers");
  const { readJobChainView } = await import("../../chain/audit-view.ts");
  let header;
  for await (const { text } of readLines(tracePath)) {
    const parsed = headerSchema.safeParse(
      (() => {
        try {
          return JSON.parse(text);
        } catch {
          return undefined;
        }
      })(),
    );
    if (!parsed.success)
      throw new CliError(
        `${tracePath}: line 1 is not a valid trace header; run \`meterproof trace inspect\``,
      );
    header = parsed.data;
    break;
  }
  if (!header) throw new CliError(`${tracePath}: the trace is empty`);
  const escrow = escrowOpt ?? header.escrow;
  if (!isAddress(escrow)) throw new CliError(`--escrow must be a 20-byte hex address, got ${escrow}`);
  const provider = new JsonRpcProvider(rpc, undefined, { staticNetwork: true });
  try {
    let chainId: bigint;
    try {
      chainId = (await provider.getNetwork()).chainId;
    } catch (err) {
      throw new CliError(`--rpc ${rpc} does not answer (${(err as Error).message.split("\n")[0]})`);
    }
    if (chainId !== header.chainId)
      throw new CliError(
        `--rpc ${rpc} is chain ${chainId}, but the trace is bound to chain ${header.chainId}`,
      );
    try {
      return await readJobChainView({ provider, escrow, jobId: header.jobId, fromBlock });
    } catch (err) {
      if (err instanceof CliError) throw err;
      throw new CliError((err as Error).message.split("\n")[0]!);
    }
  } finally {
    provider.destroy();
  }
}

const MARK: Record<Finding["status"], string> = { pass: "pass", warn: "WARN", fail: "FAIL" };

function printReport(tracePath: string, report: AuditReport, withChain: boolean): void {
  const s = report.summary;
  console.log(
    `audit of ${tracePath}${withChain ? " against the chain" : " (no chain: --rpc to compare with on-chain events)"}`,
  );
  for (const f of report.findings) {
    const where = [
      f.line !== undefined ? `line ${f.line}` : "",
      f.seq !== undefined ? `record ${f.seq}` : "",
      f.segment !== undefined ? `segment ${f.segment}` : "",
    ]
      .filter(Boolean)
      .join(", ");
    console.log(`  ${MARK[f.status]}  ${f.check.padEnd(16)} ${where ? `[${where}] ` : ""}${f.message}`);
  }
  console.log(
    `  ${s.records} records, ${s.segments} segments, ${s.gpuHours.toFixed(4)} GPU-hours` +
      (s.onChainSegments !== undefined ? `; ${s.onChainSegments} segments on chain, paid ${s.paid}` : ""),
  );
  console.log(
    `result: ${report.ok ? "ok" : "MISMATCH"} (${report.counts.pass} pass, ${report.counts.warn} warn, ${report.counts.fail} fail)`,
  );
}
