import { spawn } from "node:child_process";
import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { computeJobTag, readTrace } from "../trace/index.ts";
import { intervalOutputSha256 } from "../worker/index.ts";
import { TEST_CLIENT, TEST_ESCROW, TEST_PROVIDER, TEST_TERMS, TEST_TOKEN } from "./fixtures/traces.ts";
import { runCli } from "./helpers/cli.ts";
import { tempDir, traceRecords } from "./worker-helpers.ts";

const BIN = fileURLToPath(new URL("../bin/meterproof.js", import.meta.url));
const dir = tempDir("worker-cli");
const keyFile = join(dir, "worker.key");

beforeAll(() => {
  expect(runCli(["keygen", "--out", keyFile]).status).toBe(0);
});

/** The job the tests run, and `--terms` as `meterproof job create` prints it. */
const JOB_REF = {
  chainId: 31337n,
  escrow: TEST_ESCROW,
  jobId: 42n,
  provider: TEST_PROVIDER,
  terms: TEST_TERMS,
};
const TERMS = `${TEST_CLIENT},${TEST_TOKEN},${TEST_TERMS.price},${TEST_TERMS.expiry}`;

/** The worker's options without the terms (`--terms`, `--rpc`): what a run needs besides them. */
function bareWorkerArgs(out: string, extra: string[] = []): string[] {
  return [
    "worker",
    "run",
    "--key",
    keyFile,
    "--job",
    "42",
    "--escrow",
    TEST_ESCROW,
    "--chain-id",
    "31337",
    "--provider",
    TEST_PROVIDER,
    "--sampler",
    "proc",
    "--interval-ms",
    "250",
    "--sample-ms",
    "50",
    "--segment",
    "4",
    // These tests are about the trace, not proving it: no size-4 circuit is set up.
    "--no-circuit-check",
    "--quiet",
    "--out",
    out,
    ...extra,
  ];
}

function workerArgs(out: string, extra: string[] = []): string[] {
  return bareWorkerArgs(out, ["--terms", TERMS, ...extra]);
}

/** The environment without METERPROOF_RPC, so the worker does not look for a chain. */
function offlineEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.METERPROOF_RPC;
  return env;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(cond: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

function completeLines(path: string): string[] {
  if (!existsSync(path)) return [];
  const text = readFileSync(path, "utf8");
  return text
    .slice(0, text.lastIndexOf("\n") + 1)
    .split("\n")
    .filter((l) => l.length > 0);
}

describe("meterproof worker run", () => {
  it("passes stdout, stderr and the exit code through untouched, and the trace inspects", () => {
    const out = join(dir, "pass.jsonl");
    // One long interval, so the whole output lands in the one record.
    const r = runCli([
      ...workerArgs(out, ["--interval-ms", "60000"]),
      "--",
      "sh",
      "-c",
      "printf 'out'; printf 'err' >&2; exit 5",
    ]);
    expect(r).toMatchObject({ status: 5, stdout: "out", stderr: "err" });
    const records = traceRecords(out);
    expect(records).toHaveLength(1);
    expect(records[0]!.outputSha256).toBe(intervalOutputSha256(Buffer.from("out"), Buffer.from("err")));
    const inspect = runCli(["trace", "inspect", out, "--json"]);
    expect(inspect.status).toBe(0);
    expect(JSON.parse(inspect.stdout)).toMatchObject({
      ok: true,
      sampler: "proc",
      unsealedRecords: 0,
      jobId: "42",
      terms: {
        client: TEST_CLIENT,
        token: TEST_TOKEN,
        price: TEST_TERMS.price.toString(),
        expiry: 2_000_000_000,
      },
    });
  });

  it("binds the trace to --terms: the header holds them and its jobTag commits to them", async () => {
    const out = join(dir, "terms.jsonl");
    const tag = computeJobTag(JOB_REF);
    // Lower-case addresses are valid too; the header stores them checksummed.
    const terms = `${TEST_CLIENT.toLowerCase()},${TEST_TOKEN.toLowerCase()},${TEST_TERMS.price},${TEST_TERMS.expiry}`;
    const r = runCli(
      [...bareWorkerArgs(out, ["--terms", terms, "--job-tag", tag.toString()]), "--", "true"],
      {
        env: offlineEnv(),
      },
    );
    expect(r.status).toBe(0);
    expect(r.stderr).toBe("");
    const trace = await readTrace(out);
    expect(trace.header.version).toBe(2);
    expect(trace.header.terms).toEqual({
      client: TEST_CLIENT,
      token: TEST_TOKEN,
      price: TEST_TERMS.price,
      expiry: 2_000_000_000,
    });
    expect(trace.header.jobTag).toBe(tag);
    const other = computeJobTag({ ...JOB_REF, terms: { ...TEST_TERMS, price: TEST_TERMS.price + 1n } });
    expect(trace.header.jobTag).not.toBe(other);
  });

  it("refuses malformed --terms, a --job-tag that differs, and no terms at all, before the job starts", () => {
    const marker = join(dir, "started");
    const out = join(dir, "refused.jsonl");
    // The job would leave a file behind: none of these may run it.
    const job = ["--", "touch", marker];
    const refused = (args: string[]) => {
      const r = runCli([...args, ...job], { env: offlineEnv() });
      expect(existsSync(marker)).toBe(false);
      expect(existsSync(out)).toBe(false);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      return r;
    };
    const withTerms = (terms: string, extra: string[] = []) =>
      refused(bareWorkerArgs(out, ["--terms", terms, ...extra]));
    const cases: [string, RegExp][] = [
      [
        `${TEST_CLIENT},${TEST_TOKEN},${TEST_TERMS.price}`,
        /--terms must be CLIENT,TOKEN,PRICE,EXPIRY .*got 3/,
      ],
      [`0x1234,${TEST_TOKEN},1,2000000000`, /--terms CLIENT must be a 20-byte hex address/],
      [`${TEST_CLIENT},token,1,2000000000`, /--terms TOKEN must be a 20-byte hex address/],
      [`${TEST_CLIENT},${TEST_TOKEN},2.5,2000000000`, /--terms PRICE must be .* base units .*got "2.5"/],
      [`${TEST_CLIENT},${TEST_TOKEN},0,2000000000`, /--terms PRICE must be .*from 1 to 2\^96-1/],
      [
        `${TEST_CLIENT},${TEST_TOKEN},1,2000000000000`,
        /--terms EXPIRY must be .*unix seconds \(not milliseconds\)/,
      ],
    ];
    for (const [terms, message] of cases) {
      const r = withTerms(terms);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(message);
    }
    const wrongTag = computeJobTag({ ...JOB_REF, terms: { ...TEST_TERMS, price: 1n } });
    const mismatch = withTerms(TERMS, ["--job-tag", wrongTag.toString()]);
    expect(mismatch.status).toBe(2);
    expect(mismatch.stderr).toMatch(
      new RegExp(`--job-tag ${wrongTag} differs from the jobTag of .* \\(${computeJobTag(JOB_REF)}\\)`),
    );
    const badTag = withTerms(TERMS, ["--job-tag", "tag"]);
    expect(badTag.status).toBe(2);
    expect(badTag.stderr).toMatch(/--job-tag must be the jobTag `meterproof job create` printed/);
    const neither = refused(bareWorkerArgs(out));
    expect(neither.status).toBe(2);
    expect(neither.stderr).toMatch(/give --rpc URL .* or --terms CLIENT,TOKEN,PRICE,EXPIRY/);
    const noChainId = refused(
      bareWorkerArgs(out, ["--terms", TERMS]).filter(
        (a, i, all) => a !== "--chain-id" && all[i - 1] !== "--chain-id",
      ),
    );
    expect(noChainId.status).toBe(2);
    expect(noChainId.stderr).toMatch(/--chain-id is required without --rpc/);
  });

  it("refuses bad input with exit 2 and names the option", () => {
    const out = join(dir, "bad.jsonl");
    const badAddress = runCli([
      ...workerArgs(out).map((a) => (a === TEST_ESCROW ? "0x1234" : a)),
      "--",
      "true",
    ]);
    expect(badAddress.status).toBe(2);
    expect(badAddress.stderr).toMatch(/--escrow must be a 20-byte hex address/);
    const noKey = runCli([
      ...workerArgs(out).map((a) => (a === keyFile ? join(dir, "absent.key") : a)),
      "--",
      "true",
    ]);
    expect(noKey.status).toBe(2);
    expect(noKey.stderr).toMatch(/--key .*absent.key: key file must be readable JSON/);
    const missing = runCli([...workerArgs(out), "--", "/no/such/program"]);
    expect(missing.status).toBe(127);
    expect(missing.stderr).toMatch(/cannot run "\/no\/such\/program": ENOENT/);
    expect(existsSync(out)).toBe(false);
  });

  it("forwards SIGTERM to the job, then writes the last record and seal and exits 143", async () => {
    const out = join(dir, "sigterm.jsonl");
    const worker = spawn(process.execPath, [BIN, ...workerArgs(out), "--", "sleep", "30"], {
      stdio: "ignore",
    });
    const exited = new Promise<number | null>((r) => worker.once("exit", (code) => r(code)));
    await waitFor(
      () => completeLines(out).filter((l) => l.includes('"type":"record"')).length >= 2,
      "two records",
    );
    worker.kill("SIGTERM");
    expect(await exited).toBe(143);
    const trace = await readTrace(out);
    expect(trace.unsealedRecords).toBe(0);
    expect(trace.records.at(-1)!.tEnd - trace.header.startTime).toBeLessThan(20_000);
  });

  it("survives kill -9: --resume keeps every complete record, drops only the torn one and continues", async () => {
    const out = join(dir, "kill9.jsonl");
    const pids = join(dir, "kill9.pids");
    // The same command line both times; the environment decides how long it runs.
    const job = ["--", "sh", "-c", 'echo $$ >> "$MP_PIDS"; exec sleep "$MP_SLEEP"'];
    const worker = spawn(process.execPath, [BIN, ...workerArgs(out), ...job], {
      stdio: "ignore",
      env: { ...process.env, MP_PIDS: pids, MP_SLEEP: "60" },
    });
    const killed = new Promise((r) => worker.once("exit", r));
    await waitFor(
      () => completeLines(out).filter((l) => l.includes('"type":"record"')).length >= 6,
      "six records",
    );
    worker.kill("SIGKILL");
    await killed;
    // The job has its own process group and outlives the worker; stop it as an operator would.
    const jobPid = Number(readFileSync(pids, "utf8").trim().split("\n")[0]);
    process.kill(-jobPid, "SIGKILL");
    const survived = completeLines(out);
    const recordsBefore = survived.filter((l) => l.includes('"type":"record"')).length;
    // What a crash mid-write leaves: half of the next record.
    appendFileSync(out, '{"type":"record","seq":' + recordsBefore + ',"tStart":');

    const resume = runCli([...workerArgs(out, ["--resume"]), ...job], {
      env: { ...process.env, MP_PIDS: pids, MP_SLEEP: "0.6" },
    });
    expect(resume.status).toBe(0);
    expect(resume.stderr).toMatch(
      new RegExp(`meterproof: warning: dropped the torn last line ${survived.length + 1} of `),
    );
    const after = completeLines(out);
    expect(after.slice(0, survived.length)).toEqual(survived);
    const trace = await readTrace(out);
    expect(trace.records.length).toBeGreaterThan(recordsBefore);
    trace.records.forEach((r, i) => expect(r.seq).toBe(i));
    expect(trace.records[recordsBefore]!.tStart).toBeGreaterThanOrEqual(
      trace.records[recordsBefore - 1]!.tEnd,
    );
    expect(trace.unsealedRecords).toBe(0);
    const inspect = runCli(["trace", "inspect", out]);
    expect(inspect.status).toBe(0);
    expect(inspect.stdout).toMatch(/ok \(every hash, head and seal checks out\)/);
  });
});
