import { Option, type Command } from "commander";
import type { AuditReport, ChainView, Finding } from "../../verifier/audit.ts";
import type { TokenMeta } from "../token-units.ts";
import { CliError, EXIT_FAILED } from "../output.ts";

interface AuditOptions {
  rpc?: string;
  deployment?: string;
  escrow?: string;
  fromBlock?: string;
  json?: boolean;
  raw?: boolean;
}

/** Why the chain checks did not run, in the words of every way to configure an endpoint. */
export const NO_RPC = "no --rpc, METERPROOF_RPC or rpc in meterproof.config.json";

export function registerAudit(program: Command): void {
  program
    .command("audit")
    .description(
      "replay a trace: recompute every hash, head, seal, signature and usage, run plausibility checks, " +
        "and with --rpc compare every proven segment, payout and weight with the escrow's events, the device with " +
        "the registry, and say which segments not on chain can still be paid. " +
        "Exit 0 when everything matches, 1 on any mismatch, 2 on bad input",
    )
    .argument("<trace>", "trace file (JSON Lines)")
    .addOption(
      new Option(
        "--rpc <url>",
        "JSON-RPC endpoint of the chain the job lives on (or `rpc` in meterproof.config.json)",
      ).env("METERPROOF_RPC"),
    )
    .addOption(
      new Option(
        "--deployment <file>",
        "deployment file: its first block is where events are read from when its escrow is the trace's",
      ).env("METERPROOF_DEPLOYMENT"),
    )
    .option("--escrow <address>", "ComputeEscrow address (default: the trace header's)")
    .option("--from-block <n>", "first block to read events from (default: the deployment's, else 0)")
    .option("--raw", "print token amounts in base units")
    .option("--json", "print the report as JSON (amounts in base units, and in token units beside them)")
    .action(async (tracePath: string, opts: AuditOptions) => {
      const { existsSync, statSync } = await import("node:fs");
      if (!existsSync(tracePath)) throw new CliError(`TRACE ${tracePath}: no such file`);
      if (statSync(tracePath).isDirectory())
        throw new CliError(`TRACE ${tracePath}: is a folder; give a file`);
      if (opts.escrow && !opts.rpc) throw new CliError(`--escrow needs a chain to read: ${NO_RPC}`);
      let fromBlock: number | undefined;
      if (opts.fromBlock !== undefined) {
        fromBlock = Number(opts.fromBlock);
        if (!/^[0-9]+$/.test(opts.fromBlock) || !Number.isSafeInteger(fromBlock))
          throw new CliError(`--from-block must be a block number, got ${opts.fromBlock}`);
      }
      const { auditTrace } = await import("../../verifier/audit.ts");
      const { nativeAddon } = await import("../../trace/native.ts");
      if (!nativeAddon && process.env.METERPROOF_NATIVE !== "0")
        console.error(
          "meterproof: the native addon is not built, so hashing runs in WebAssembly (four to five times slower); " +
            "`npm run build:native` builds it or shows why it cannot (docs/native.md)",
        );
      const target = opts.rpc ? await chainView(tracePath, opts, fromBlock) : undefined;
      const report = await auditTrace(tracePath, target?.view, { noChainReason: NO_RPC });
      const { amountJson, formatTokens } = await import("../token-units.ts");
      if (report.subject && target) {
        report.subject.escrow = target.escrow;
        Object.assign(report.subject, {
          fromBlock: target.fromBlock,
          block: target.block,
          token: target.token,
        });
      }
      const paid = target && report.summary.paid !== undefined ? BigInt(report.summary.paid) : undefined;
      if (opts.json) {
        const { toJsonText } = await import("../chain-session.ts");
        const summary =
          paid !== undefined && target
            ? { ...report.summary, paidAmount: amountJson(paid, target.token) }
            : report.summary;
        console.log(toJsonText({ ...report, summary }));
      } else {
        const paidText =
          paid !== undefined && target ? formatTokens(paid, target.token, opts.raw) : undefined;
        printReport(tracePath, report, Boolean(target), paidText);
      }
      if (!report.ok) process.exitCode = EXIT_FAILED;
    });
}

/** The chain view of the trace's job: RPC, escrow and first block from the options, config and header. */
async function chainView(
  tracePath: string,
  opts: AuditOptions,
  fromBlockOpt: number | undefined,
): Promise<{ view: ChainView; escrow: string; fromBlock: number; block: number; token: TokenMeta }> {
  const { readLines, headerSchema } = await import("../../trace/index.ts");
  const { getAddress, isAddress } = await import("ethers");
  const { readJobChainView } = await import("../../chain/audit-view.ts");
  const { connectRpc } = await import("../wallet.ts");
  const { readDeploymentFile, DeploymentFileError } = await import("../../chain/deployment-file.ts");
  let header;
  for await (const { text } of readLines(tracePath)) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      value = undefined;
    }
    const parsed = headerSchema.safeParse(value);
    if (!parsed.success)
      throw new CliError(
        `${tracePath}: line 1 is not a valid trace header; run \`meterproof trace inspect\``,
      );
    header = parsed.data;
    break;
  }
  if (!header) throw new CliError(`${tracePath}: the trace is empty`);
  const escrowText = opts.escrow ?? header.escrow;
  if (!isAddress(escrowText)) throw new CliError(`--escrow must be a 20-byte hex address, got ${escrowText}`);
  const escrow = getAddress(escrowText);
  let deployment;
  if (opts.deployment !== undefined) {
    try {
      deployment = readDeploymentFile(opts.deployment);
    } catch (err) {
      if (err instanceof DeploymentFileError) throw new CliError(`--deployment ${err.message}`);
      throw err;
    }
  }
  const rpc = await connectRpc(opts.rpc!);
  try {
    if (rpc.chainId !== header.chainId)
      throw new CliError(
        `--rpc ${opts.rpc} is chain ${rpc.chainId}, but the trace is bound to chain ${header.chainId}`,
      );
    // The deployment (often from the project config) only tells where to start reading, and only for its own escrow.
    let fromBlock = fromBlockOpt ?? 0;
    if (deployment && fromBlockOpt === undefined) {
      if (deployment.chainId === rpc.chainId && deployment.addresses.escrow === escrow)
        fromBlock = deployment.block;
      else
        console.error(
          `meterproof: note: --deployment ${opts.deployment} is not for escrow ${escrow} on chain ${rpc.chainId}; ` +
            "reading events from block 0",
        );
    }
    const block = await rpc.provider.getBlockNumber();
    try {
      const view = await readJobChainView({
        provider: rpc.provider,
        escrow,
        jobId: header.jobId,
        fromBlock,
        workerKeyHash: header.workerKeyHash,
      });
      const { readTokens } = await import("../token-units.ts");
      const token = (await readTokens(rpc.provider, [view.token])).get(view.token)!;
      return { view, escrow, fromBlock, block, token };
    } catch (err) {
      if (err instanceof CliError) throw err;
      throw new CliError((err as Error).message.split("\n")[0]!);
    }
  } finally {
    rpc.provider.destroy();
  }
}

const MARK: Record<Finding["status"], string> = { pass: "pass", warn: "WARN", fail: "FAIL" };

function printReport(tracePath: string, report: AuditReport, withChain: boolean, paid?: string): void {
  const s = report.summary;
  const subject = report.subject;
  const about = subject
    ? ` (job ${subject.jobId} on chain ${subject.chainId}, escrow ${subject.escrow}, worker key ${subject.workerKeyHash})`
    : "";
  console.log(`audit of ${tracePath}${about}${withChain ? " against the chain" : ""}`);
  for (const why of report.skipped) console.log(`  skipped: ${why}`);
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
  // Hours of the trace's own device class: a CPU trace is not reported in GPU-hours.
  const unit = s.deviceClass ? `${s.deviceClass}-hours` : "device-hours";
  let line = `  ${s.records} records, ${s.segments} segments, ${s.gpuHours.toFixed(4)} ${unit} at full utilization`;
  if (s.onChainSegments !== undefined) {
    line += `; ${s.onChainSegments} segments on chain, paid ${paid ?? `${s.paid} units`}`;
    if (s.h100EquivalentHours !== undefined)
      line += ` for ${s.h100EquivalentHours.toFixed(4)} H100-equivalent hours${s.weightBps !== undefined ? ` (weight ${s.weightBps} bps)` : ""}`;
  }
  console.log(line);
  console.log(
    `result: ${report.ok ? "ok" : "MISMATCH"} (${report.counts.pass} pass, ${report.counts.warn} warn, ${report.counts.fail} fail)`,
  );
}
