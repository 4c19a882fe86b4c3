import { mkdirSync, mkdtempSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { formatEther, JsonRpcProvider, Network } from "ethers";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChainIndex } from "../dashboard/chain-index.ts";
import { DashboardError } from "../dashboard/errors.ts";
import { startDashboard, type RunningDashboard } from "../dashboard/server.ts";
import { readTrace, usageToGpuHours } from "../trace/index.ts";
import { dashboardScenario, tamperRecord } from "./helpers/dashboard-scenario.ts";
import { REPO_ROOT } from "./helpers/cli.ts";
import { closeProver } from "./helpers/segment-proof.ts";

// The dashboard in headless Chromium over a real in-process chain: the numbers on the pages
// must equal chain state and the traces, and a segment accepted while a page is open must appear.

const CHROMIUM = process.env.METERPROOF_CHROMIUM ?? "/usr/bin/chromium";
/** Screenshots land here (gitignored); docs/dashboard-job.png is a copy of one. */
const ARTIFACTS = join(REPO_ROOT, "test-artifacts");
/** Waits are generous: the machine may be busy with other test files. */
const WAIT = { timeout: 90_000 };

const dir = mkdtempSync(join(tmpdir(), "meterproof-dashboard-"));
let s: Awaited<ReturnType<typeof dashboardScenario>>;
let dash: RunningDashboard;
let browser: Browser;
let page: Page;
const ccr = (v: bigint) => `${formatEther(v)} CCR`;

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  s = await dashboardScenario(dir);
  await closeProver();
  // Job 2's trace no longer matches its hashes (nor, so, the chain): its audit must fail.
  tamperRecord(join(dir, `job-${s.job2}.trace`), 3);
  dash = await startDashboard({
    provider: s.f.connection.ethers.provider,
    deployment: {
      chainId: s.f.chainId,
      block: 0,
      addresses: { escrow: s.f.escrowAddress, registry: s.f.d.addresses.registry },
    },
    chainLabel: "the in-process Hardhat network",
    tracesDir: dir,
    pollMs: 300,
  });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
  page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  page.setDefaultTimeout(WAIT.timeout);
  page.setDefaultNavigationTimeout(WAIT.timeout);
}, 900_000);

afterAll(async () => {
  await browser?.close();
  await dash?.close();
  await s?.f.connection.close();
});

/** Waits until a script evaluates to true in the page. */
async function until(script: string): Promise<void> {
  await page.waitForFunction(script, null, WAIT);
}

/** Text of the element with data-testid `id` (inside `within`, if given). */
async function text(id: string, within = page.locator("body")): Promise<string> {
  return (await within.locator(`[data-testid="${id}"]`).first().innerText()).trim();
}

describe("meterproof dashboard", () => {
  it("shows the network overview as the chain has it", async () => {
    await page.goto(`${dash.url}/`);
    await page.locator('[data-testid="overview"]').waitFor(WAIT);
    const { f, accepted } = s;
    expect(await text("segments")).toBe(String(accepted.length));
    const paid = accepted.reduce((sum, e) => sum + e.payout, 0n);
    expect(await text("paid")).toBe(ccr(paid));
    const byClass = (cls: string) =>
      accepted
        .filter((e) => e.jobId === (cls === "CPU" ? s.job2 : s.job1))
        .reduce((sum, e) => sum + e.usage, 0n);
    expect(await text("gpu-hours")).toBe(usageToGpuHours(byClass("H100")).toFixed(6));
    expect(await text("cpu-hours")).toBe(usageToGpuHours(byClass("CPU")).toFixed(6));
    expect(await text("jobs-count")).toBe("1 open · 0 expired · 1 closed");
    const gas = s.receipts.reduce((sum, r) => sum + r.gasUsed, 0n);
    expect(await text("gas-per-segment")).toBe(String(gas / BigInt(accepted.length)));
    const gasOf = (job: bigint) =>
      accepted.filter((e) => e.jobId === job).reduce((sum, e) => sum + e.gasShare, 0n);
    const perHour = (g: bigint, usage: bigint) => String(Math.round(Number(g) / usageToGpuHours(usage)));
    expect(await text("gas-per-gpu-hour")).toBe(perHour(gasOf(s.job1), byClass("H100")));
    expect(await text("gas-per-cpu-hour")).toBe(perHour(gasOf(s.job2), byClass("CPU")));
    const classes = await page.locator('[data-testid="workers-by-class"] tbody tr').allInnerTexts();
    expect(classes.map((r) => r.split("\t").slice(0, 2).join(" ")).sort()).toEqual(["CPU CPU", "H100 GPU"]);
    expect(await f.d.registry.requireAttestation()).toBe(false);
    expect(await text("attestation")).toBe("attestor approval is not required to earn on this network");

    // The jobs list: every job with the escrow's numbers; sortable and filterable.
    for (const id of [s.job1, s.job2]) {
      const job = await f.d.escrow.jobOf(id);
      const row = page.locator(`[data-testid="job-row"][data-job="${id}"]`);
      const cells = await row.locator("td").allInnerTexts();
      expect(cells.slice(3, 6)).toEqual([ccr(job.deposited), ccr(job.paid), ccr(job.remaining)]);
    }
    await page.locator('[data-testid="jobs-status"]').selectOption("closed");
    await until(`document.querySelectorAll('[data-testid="job-row"]').length === 1`);
    expect(await page.locator('[data-testid="job-row"]').getAttribute("data-job")).toBe(String(s.job2));
    await page.locator('[data-testid="jobs-status"]').selectOption("all");
    await page.locator('th[data-sort="id"]').click(); // already by id: now descending
    await until(`document.querySelector('[data-testid="job-row"]')?.getAttribute("data-job") === "2"`);
    await page.screenshot({ path: join(ARTIFACTS, "dashboard-overview.png"), fullPage: true });
  });

  it("shows a job's segments, payouts, timeline and audit as the chain and the trace have them", async () => {
    await page.goto(`${dash.url}/jobs/${s.job1}`);
    await page.locator('[data-testid="audit-verdict"]').waitFor(WAIT);
    const job = await s.f.d.escrow.jobOf(s.job1);
    expect(await text("budget")).toBe(ccr(job.deposited));
    expect(await text("paid")).toBe(ccr(job.paid));
    expect(await text("remaining")).toBe(ccr(job.remaining));

    const trace = await readTrace(join(dir, `job-${s.job1}.trace`));
    const rows = page.locator('[data-testid="segment-row"]');
    expect(await rows.count()).toBe(trace.segments.length);
    const mine = s.accepted.filter((e) => e.jobId === s.job1);
    for (const [i, e] of mine.entries()) {
      const row = page.locator(`[data-testid="segment-row"][data-index="${i}"]`);
      expect(await row.getAttribute("data-status")).toBe("accepted");
      expect(await row.locator('[data-field="payout"]').innerText()).toBe(ccr(e.payout));
      expect(await row.locator('[data-field="usage"]').innerText()).toBe(e.usage.toString());
      expect(await row.locator('[data-field="usage"]').innerText()).toBe(trace.segments[i]!.usage.toString());
      expect(await row.locator('[data-field="weight"]').innerText()).toBe("10000");
      expect(await row.locator('[data-field="gas"]').innerText()).toBe(e.gasShare.toString());
    }
    const last = page.locator('[data-testid="segment-row"][data-index="2"]');
    expect(await last.getAttribute("data-status")).toBe("sealed");
    expect(await last.locator('[data-field="usage"]').innerText()).toBe(trace.segments[2]!.usage.toString());

    // One chart point per trace record.
    const chart = page.locator('[data-testid="timeline"]');
    await until(`document.querySelector('[data-testid="timeline"]')?.hasAttribute("data-points")`);
    expect(Number(await chart.getAttribute("data-points"))).toBe(trace.records.length);
    expect(await chart.locator("canvas").count()).toBe(1);

    expect(await page.locator('[data-testid="audit-verdict"]').getAttribute("data-verdict")).toBe("ok");
    expect(await page.locator('[data-testid="bundles"] a').count()).toBe(trace.segments.length);
    const bundleHref = await page.locator('[data-testid="bundles"] a').first().getAttribute("href");
    const bundle = (await (await fetch(`${dash.url}${bundleHref}`)).json()) as { kind: string };
    expect(bundle.kind).toBe("meterproof-segment-bundle");
    await page.screenshot({ path: join(ARTIFACTS, "dashboard-job.png"), fullPage: true });

    // Raw units on request: base units, the same numbers.
    await page.locator("#raw").check();
    await until(`document.querySelector('[data-testid="paid"]')?.textContent === "${job.paid} base units"`);
    await page.locator("#raw").uncheck();
    await until(
      `document.querySelector('[data-testid="paid"]')?.textContent === ${JSON.stringify(ccr(job.paid))}`,
    );
  });

  it("shows a provider's workers, balance to withdraw and backlog", async () => {
    const { f } = s;
    await page.goto(`${dash.url}/providers/${f.provider.address}`);
    await page.locator('[data-testid="balances"]').waitFor(WAIT);
    expect(await page.locator('[data-testid="worker-row"]').count()).toBe(2);
    const balance = await f.d.escrow.balanceOf(f.provider.address, f.creditAddress);
    expect(balance).toBeGreaterThan(0n);
    const row = page.locator('[data-testid="balance-row"]');
    expect(await row.locator("td").first().innerText()).toMatch(/^CCR \(0x5FbDB2…0aa3\)$/);
    expect(await row.locator('[data-field="withdrawable"]').innerText()).toBe(ccr(balance));
    const earned = s.accepted.reduce((sum, e) => sum + e.payout, 0n);
    expect(await row.locator('[data-field="earned"]').innerText()).toBe(ccr(earned));
    expect(await row.locator('[data-field="withdrawn"]').innerText()).toBe(ccr(earned - balance));
    // Job 1's last segment is sealed in the trace and not on chain yet.
    const trace = await readTrace(join(dir, `job-${s.job1}.trace`));
    const backlog = page.locator('[data-testid="backlog-row"]');
    expect(await backlog.count()).toBe(1);
    expect(await backlog.locator('[data-field="usage"]').innerText()).toBe(
      trace.segments[2]!.usage.toString(),
    );
    await page.screenshot({ path: join(ARTIFACTS, "dashboard-provider.png"), fullPage: true });
  });

  it("shows a segment accepted while the job page is open", async () => {
    await page.goto(`${dash.url}/jobs/${s.job1}`);
    await page.locator('[data-testid="segment-row"]').first().waitFor(WAIT);
    expect(await page.locator('[data-testid="segment-row"][data-status="accepted"]').count()).toBe(2);
    const loadsBefore = Number(await page.locator("#main").getAttribute("data-loaded"));
    await s.submitLast();
    await until(
      `document.querySelectorAll('[data-testid="segment-row"][data-status="accepted"]').length === 3`,
    );
    // Redrawn in place, not reloaded: the page's own redraw counter went up.
    expect(Number(await page.locator("#main").getAttribute("data-loaded"))).toBeGreaterThan(loadsBefore);
    const job = await s.f.d.escrow.jobOf(s.job1);
    await until(
      `document.querySelector('[data-testid="paid"]')?.textContent === ${JSON.stringify(ccr(job.paid))}`,
    );
    const e = s.accepted.at(-1)!;
    expect(
      await page.locator('[data-testid="segment-row"][data-index="2"] [data-field="payout"]').innerText(),
    ).toBe(ccr(e.payout));
  });

  it("says what is wrong for an unknown job, bad input and a trace that fails its audit", async () => {
    await page.goto(`${dash.url}/jobs/99`);
    await page.locator('[data-testid="error"]').waitFor(WAIT);
    expect(await text("error")).toContain("job 99 does not exist on this escrow (it has jobs 1 to 2)");
    await page.goto(`${dash.url}/jobs/abc`);
    await page.locator('[data-testid="error"]').waitFor(WAIT);
    expect(await text("error")).toContain('job id must be a positive whole number, got "abc"');
    await page.goto(`${dash.url}/providers/0x1234`);
    await page.locator('[data-testid="error"]').waitFor(WAIT);
    expect(await text("error")).toContain("provider must be a 20-byte hex address");

    await page.goto(`${dash.url}/jobs/${s.job2}`);
    await page.locator('[data-testid="audit-verdict"]').waitFor(WAIT);
    expect(await page.locator('[data-testid="audit-verdict"]').getAttribute("data-verdict")).toBe("fail");
    expect(await text("audit-verdict")).toContain("FAILED");
    const failed = await page.locator('[data-testid="finding"][data-status="fail"]').allInnerTexts();
    expect(failed.some((f) => f.includes("integrity") && f.includes("record 3"))).toBe(true);
    // A CPU lane's hours are CPU-hours, and the weight that applied is shown.
    expect(
      await page.locator('[data-testid="segment-row"] [data-field="hours"]').first().innerText(),
    ).toMatch(/CPU-hours$/);
    expect(await page.locator('[data-testid="lane"]').innerText()).toContain(
      "device weight that applied: 100 bps",
    );
    await page.screenshot({ path: join(ARTIFACTS, "dashboard-audit-failed.png"), fullPage: true });
  });

  it("says so on the page when the RPC endpoint is dead", async () => {
    const port = await closedPort();
    const rpc = `http://127.0.0.1:${port}`;
    const network = Network.from(31337n);
    const provider = new JsonRpcProvider(rpc, network, { staticNetwork: network });
    const dead = await startDashboard({
      provider,
      deployment: {
        chainId: 31337n,
        block: 0,
        addresses: { escrow: s.f.escrowAddress, registry: s.f.d.addresses.registry },
      },
      chainLabel: rpc,
      pollMs: 300,
    });
    try {
      for (const path of ["/", `/jobs/${s.job1}`, `/providers/${s.f.provider.address}`]) {
        await page.goto(`${dead.url}${path}`);
        await page.locator('[data-testid="error"]').waitFor(WAIT);
        expect(await text("error")).toContain(`cannot read the chain at ${rpc}`);
      }
      await until(`document.getElementById("live")?.textContent === "live · chain not readable"`);
      await page.screenshot({ path: join(ARTIFACTS, "dashboard-dead-rpc.png"), fullPage: true });
    } finally {
      await dead.close();
      provider.destroy();
    }
  });
  it("reads each block once, even when a read fails halfway", async () => {
    const provider = s.f.connection.ethers.provider;
    let failures = 1;
    // The first receipt request fails, as a flaky endpoint's would, after the logs were read.
    const flaky = new Proxy(provider, {
      get(target, key) {
        if (key === "getTransactionReceipt" && failures > 0) {
          failures--;
          return () => Promise.reject(new Error("socket hang up"));
        }
        const value = Reflect.get(target, key, target) as unknown;
        return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const index = new ChainIndex({
      provider: flaky,
      deployment: {
        chainId: s.f.chainId,
        block: 0,
        addresses: { escrow: s.f.escrowAddress, registry: s.f.d.addresses.registry },
      },
      label: "a flaky endpoint",
    });
    const err = await index.sync().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DashboardError);
    expect((err as DashboardError).message).toBe("cannot read the chain at a flaky endpoint: socket hang up");
    const snap = await index.sync();
    for (const id of [s.job1, s.job2]) {
      const job = await s.f.d.escrow.jobOf(id);
      expect(snap.jobs.get(id)).toMatchObject({
        paid: job.paid,
        deposited: job.deposited,
        refunded: job.refunded,
      });
    }
    expect(snap.accepted).toHaveLength(s.accepted.length);
    expect(snap.segmentGas).toBe(s.receipts.reduce((sum, r) => sum + r.gasUsed, 0n));
  });
});

/** A port nothing listens on: bound once, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}
