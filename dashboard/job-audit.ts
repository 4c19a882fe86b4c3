import { stat } from "node:fs/promises";
import { readJobChainView } from "../chain/audit-view.ts";
import { auditTrace, type AuditReport } from "../verifier/audit.ts";
import type { ChainIndex } from "./chain-index.ts";
import { firstLine } from "./errors.ts";
import type { TraceFile } from "./trace-library.ts";

export interface TraceAudit {
  trace: string;
  workerKeyHash: string;
  /** The auditor's report, or why the audit could not run. */
  report: AuditReport | null;
  error: string | null;
}

/**
 * Runs the auditor (`meterproof audit --rpc`) on each trace of a job, server side. A report is
 * kept until the trace file changes or the job gets another accepted segment.
 */
export class JobAuditor {
  /** By trace path: the last audit and what it was run on. */
  private readonly cache = new Map<string, { key: string; run: Promise<TraceAudit> }>();
  private readonly chain: ChainIndex;

  constructor(chain: ChainIndex) {
    this.chain = chain;
  }

  async audit(jobId: bigint, traces: readonly TraceFile[], acceptedSegments: number): Promise<TraceAudit[]> {
    return Promise.all(
      traces.map(async (t) => {
        const info = await stat(t.path).catch(() => undefined);
        const key = `${t.path}:${info?.mtimeMs}:${info?.size}:${acceptedSegments}`;
        const cached = this.cache.get(t.path);
        if (cached?.key === key) return cached.run;
        const run = this.run(jobId, t);
        this.cache.set(t.path, { key, run });
        return run;
      }),
    );
  }

  private async run(jobId: bigint, t: TraceFile): Promise<TraceAudit> {
    const base = { trace: t.rel, workerKeyHash: t.header.workerKeyHash.toString() };
    try {
      const view = await readJobChainView({
        provider: this.chain.provider,
        escrow: this.chain.deployment.addresses.escrow,
        jobId,
        fromBlock: this.chain.deployment.block,
      });
      return { ...base, report: await auditTrace(t.path, view), error: null };
    } catch (err) {
      return { ...base, report: null, error: `the audit could not run: ${firstLine(err)}` };
    }
  }
}
