/**
 * The provider agent as a separate process against a hardhat node, killed with kill -9 at each
 * stage (after a seal is seen, after a proof, after a submit transaction is sent, after it is
 * accepted) and restarted: every segment is paid exactly once, no transaction is wasted, and a
 * transaction dropped from the mempool while the agent was down is sent again.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deployMeterproof } from "../chain/deploy.ts";
import { decodeEvents } from "../chain/events.ts";
import type { AgentStatus } from "../provider/status.ts";
import { CliProcess } from "./helpers/cli-process.ts";
import { runCli } from "./helpers/cli.ts";
import { startHardhatNode, type HardhatNode } from "./helpers/hardhat-node.ts";
import { DEV_KEYS, providerJob, writeTraceFile, type ProviderJob } from "./helpers/provider-fixture.ts";
import { testWorkerKey } from "./helpers/segment-proof.ts";
import { tempDir } from "./worker-helpers.ts";

const dir = tempDir("provider-restart");
let node: HardhatNode;
let pj: ProviderJob;
const SEGMENTS = 3;

function writeConfig(folder: string, traces: string[], extra: Record<string, unknown> = {}): void {
  mkdirSync(folder, { recursive: true });
  writeFileSync(
    join(folder, "meterproof.config.json"),
    JSON.stringify({
      rpc: node.rpc,
      provider: {
        stateDir: "state",
        jobs: traces.map((trace) => ({ trace })),
        batch: { segments: SEGMENTS, maxWaitSeconds: 3600, maxPerTx: 16 },
        withdraw: { threshold: "1" },
        pollSeconds: 0.2,
        confirmSeconds: 2,
        ...extra,
      },
    }),
  );
}

function agent(folder: string, failpoint?: string, escrow = pj.d.addresses.escrow): CliProcess {
  const env: NodeJS.ProcessEnv = { ...process.env, METERPROOF_PRIVATE_KEY: DEV_KEYS.provider };
  for (const k of ["METERPROOF_RPC", "METERPROOF_CONFIG", "METERPROOF_DEPLOYMENT", "METERPROOF_FAILPOINT"])
    delete env[k];
  if (failpoint) env.METERPROOF_FAILPOINT = failpoint;
  return new CliProcess(["provider", "run", "--escrow", escrow], { cwd: folder, env });
}

async function escrowEvents(name: string) {
  const logs = await node.provider.getLogs({
    address: pj.d.addresses.escrow,
    fromBlock: 0,
    toBlock: "latest",
  });
  return decodeEvents(logs).filter((e) => e.name === name);
}

/** Runs the agent with a failpoint and expects it to die by SIGKILL there. */
async function crashAt(folder: string, failpoint: string): Promise<CliProcess> {
  const a = agent(folder, failpoint);
  const exit = await Promise.race([
    a.exited,
    new Promise<"timeout">((r) => setTimeout(() => r("timeout"), 90_000)),
  ]);
  if (exit === "timeout") await a.stop();
  expect(exit, `agent stopped at ${failpoint}; stderr: ${a.stderr.join("\n")}`).toEqual({
    code: null,
    signal: "SIGKILL",
  });
  return a;
}

beforeAll(async () => {
  node = await startHardhatNode(dir);
  pj = await providerJob(node.provider, { worker: "restart" });
});

afterAll(async () => {
  await node?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("provider agent against a hardhat node", () => {
  it("pays every segment exactly once across five runs", async () => {
    const folder = join(dir, "agent");
    mkdirSync(folder, { recursive: true });
    const trace = await writeTraceFile(join(folder, "job.trace.jsonl"), pj, {
      startMs: pj.createdAt * 1000 + 1000,
      intervalMs: 100,
      records: SEGMENTS * 8,
    });
    expect(trace.segments).toHaveLength(SEGMENTS);
    writeConfig(folder, ["job.trace.jsonl"]);
    const bundleDir = join(folder, "state/bundles/job");
    const bundles = () =>
      existsSync(bundleDir) ? readdirSync(bundleDir).filter((n) => n.endsWith(".json")) : [];
    const nonce0 = await node.provider.getTransactionCount(pj.provider.address);

    // 1. Killed as soon as it sees the seals: nothing proven, nothing sent.
    await crashAt(folder, "after-seal");
    expect(bundles()).toEqual([]);

    // 2. Killed right after its first bundle is written.
    await crashAt(folder, "after-proof");
    expect(bundles()).toHaveLength(1);
    expect(await node.provider.getTransactionCount(pj.provider.address)).toBe(nonce0);

    // 3. Killed right after broadcasting the batch, with mining off: the transaction waits in
    //    the mempool; then the node drops it, as a congested mempool would.
    await node.call("evm_setAutomine", [false]);
    await crashAt(folder, "after-send");
    expect(bundles()).toHaveLength(SEGMENTS);
    // The journal holds the signed transaction, written before it was broadcast.
    const journal = readFileSync(join(folder, "state/transactions.jsonl"), "utf8").trim().split("\n");
    const { type, hash } = JSON.parse(journal.at(-1)!) as { type: string; hash: string };
    expect(type).toBe("sent");
    expect(await node.provider.getTransaction(hash)).not.toBeNull();
    await node.call("hardhat_dropTransaction", [hash]);
    expect(await node.provider.getTransaction(hash)).toBeNull();
    await node.call("evm_setAutomine", [true]);

    // 4. Restarted: it finds the journaled transaction gone and sends the same bytes again;
    //    killed once the segments are accepted.
    const resumed = await crashAt(folder, "after-accept");
    expect(resumed.lines.some((l) => l.msg === "transaction dropped: sent again" && l.hash === hash)).toBe(
      true,
    );
    expect(await escrowEvents("SegmentAccepted")).toHaveLength(SEGMENTS);

    // 5. A clean run: nothing left to submit; it withdraws (threshold 1 unit) and reports.
    const last = agent(folder);
    await last.waitFor((l) => l.msg === "withdrawn", 90_000, "withdrawal");
    await last.stop();
    // SIGTERM ends the agent cleanly.
    expect(await last.exited).toEqual({ code: 0, signal: null });

    const accepted = await escrowEvents("SegmentAccepted");
    expect(accepted.map((e) => e.args.newHead as bigint).sort()).toEqual(
      trace.segments.map((s) => s.newHead).sort(),
    );
    expect(await escrowEvents("SegmentSkipped")).toEqual([]);
    // One submit transaction and one withdrawal: no gas spent twice.
    expect(await node.provider.getTransactionCount(pj.provider.address)).toBe(nonce0 + 2);
    const paid = accepted.reduce((a, e) => a + (e.args.payout as bigint), 0n);
    expect(paid).toBeGreaterThan(0n);
    const withdrawn = await escrowEvents("Withdrawn");
    expect(withdrawn.map((e) => e.args.amount)).toEqual([paid]);

    const status = JSON.parse(
      runCli(["provider", "status", "--json"], {
        cwd: folder,
        env: { ...process.env, METERPROOF_CONFIG: "" },
      }).stdout,
    ) as AgentStatus;
    expect(status.lanes).toEqual([
      expect.objectContaining({
        jobId: pj.jobId.toString(),
        sealed: SEGMENTS,
        proven: SEGMENTS,
        submitted: SEGMENTS,
        accepted: SEGMENTS,
        backlog: 0,
        paid: paid.toString(),
      }),
    ]);
    const table = runCli(["provider", "status"], { cwd: folder }).stdout;
    expect(table).toMatch(/job\s+worker\s+sealed/);
  });

  it("reports a segment the escrow refuses with its reason and does not send it", async () => {
    const folder = join(dir, "refused");
    mkdirSync(folder, { recursive: true });
    // A worker key that was never registered: its proof is valid, the escrow still refuses it.
    const stranger = { job: pj.job, key: await testWorkerKey("never registered") };
    await writeTraceFile(join(folder, "stranger.trace.jsonl"), stranger, {
      startMs: pj.createdAt * 1000 + 600_000,
      intervalMs: 100,
      records: 8,
    });
    writeConfig(folder, ["stranger.trace.jsonl"], {
      batch: { segments: 1, maxWaitSeconds: 0, maxPerTx: 16 },
    });
    const nonce0 = await node.provider.getTransactionCount(pj.provider.address);
    const a = agent(folder);
    try {
      const refused = await a.waitFor((l) => l.msg === "segment refused", 90_000, "refusal");
      expect(String(refused.reason)).toMatch(/^ComputeEscrow__WorkerNotRegistered\(/);
      // More rounds pass without another attempt.
      await new Promise((r) => setTimeout(r, 2000));
      expect(a.lines.filter((l) => l.msg === "segment refused")).toHaveLength(1);
      const status = JSON.parse(readFileSync(join(folder, "state/status.json"), "utf8")) as AgentStatus;
      expect(status.lanes[0]!.refused).toContain(String(refused.reason));
    } finally {
      await a.stop();
    }
    expect(await node.provider.getTransactionCount(pj.provider.address)).toBe(nonce0);
  });

  it("settles payouts out of the challenge window before it withdraws them", async () => {
    const folder = join(dir, "challenge");
    mkdirSync(folder, { recursive: true });
    // A deployment whose payouts stay pending 2 s (released after 2 to 4 s).
    const d = await deployMeterproof({ signer: pj.admin, circuitSizes: [8], stake: { challengeWindow: 2 } });
    const windowed = await providerJob(node.provider, { worker: "challenge", d });
    await writeTraceFile(join(folder, "job.trace.jsonl"), windowed, {
      startMs: windowed.createdAt * 1000 + 1000,
      intervalMs: 100,
      records: 8,
    });
    writeConfig(folder, ["job.trace.jsonl"], { batch: { segments: 1, maxWaitSeconds: 0, maxPerTx: 16 } });
    const a = agent(folder, undefined, d.addresses.escrow);
    // The window ends by block time: keep blocks coming, as a live chain does.
    const miner = setInterval(() => void node.call("evm_mine").catch(() => {}), 1000);
    try {
      const withdrawn = await a.waitFor((l) => l.msg === "withdrawn", 90_000, "withdrawal");
      expect(
        a.lines.some((l) => l.msg === "transaction sent" && String(l.label).startsWith("settle 1 lanes")),
      ).toBe(true);
      const logs = await node.provider.getLogs({
        address: d.addresses.escrow,
        fromBlock: 0,
        toBlock: "latest",
      });
      const payout = decodeEvents(logs).find((e) => e.name === "SegmentAccepted")!.args.payout as bigint;
      expect(payout).toBeGreaterThan(0n);
      expect(withdrawn.amount).toBe(payout.toString());
      expect(await d.escrow.pendingBalanceOf(windowed.provider.address, d.addresses.credit)).toBe(0n);
    } finally {
      clearInterval(miner);
      await a.stop();
    }
  });
});
