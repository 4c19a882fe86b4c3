/** The agent's status file (`<stateDir>/status.json`), which `meterproof provider status` reads. */
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";

const laneStatusSchema = z.object({
  trace: z.string(),
  jobId: z.string().optional(),
  workerKeyHash: z.string().optional(),
  sealed: z.number(),
  proven: z.number(),
  submitted: z.number(),
  accepted: z.number(),
  /** Token base units credited to the provider for this lane's accepted segments. */
  paid: z.string(),
  /** Sealed segments not yet accepted. */
  backlog: z.number(),
  lastError: z.string().optional(),
  refused: z.string().optional(),
  /** For a job the agent runs itself: `running (pid N)` or `exited with CODE`. */
  worker: z.string().optional(),
});

export const agentStatusSchema = z.object({
  kind: z.literal("meterproof-provider-status"),
  updatedAt: z.string(),
  pid: z.number(),
  chainId: z.string(),
  escrow: z.string(),
  submitter: z.string(),
  pool: z.string(),
  proofsPending: z.number(),
  lastError: z.string().optional(),
  withdrawn: z.record(z.string(), z.string()),
  lanes: z.array(laneStatusSchema),
});

export type AgentStatus = z.infer<typeof agentStatusSchema>;
export type LaneStatus = z.infer<typeof laneStatusSchema>;

export function statusPath(stateDir: string): string {
  return join(stateDir, "status.json");
}

/** Written to a temporary file and renamed: a reader never sees half a status. */
export function writeStatus(stateDir: string, status: AgentStatus): void {
  const path = statusPath(stateDir);
  writeFileSync(`${path}.tmp`, JSON.stringify(status, null, 2) + "\n");
  renameSync(`${path}.tmp`, path);
}

export function readStatus(stateDir: string): AgentStatus | undefined {
  const path = statusPath(stateDir);
  if (!existsSync(path)) return undefined;
  const parsed = agentStatusSchema.safeParse(JSON.parse(readFileSync(path, "utf8")));
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`${path}: ${issue.path.join(".") || "status"} ${issue.message}`);
  }
  return parsed.data;
}
