/**
 * `meterproof worker run --rpc`: the worker takes the job's terms from the escrow and refuses
 * a job it cannot be paid for before the command starts; and `job create` prints the options
 * that bind an offline worker to the same terms and tag. The chain is an in-process Hardhat
 * network behind a small JSON-RPC over HTTP bridge; the CLI runs in child processes.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { encodeBytes32String, parseEther } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { computeJobTag, loadWorkerKey, readTrace } from "../trace/index.ts";
import { cpuDevice } from "../worker/index.ts";
import { runCli } from "./helpers/cli.ts";
import { baseFixture, keyProofFor, PRICE, type BaseFixture } from "./helpers/escrow-fixture.ts";
import { tempDir } from "./worker-helpers.ts";

const BIN = fileURLToPath(new URL("../bin/meterproof.js", import.meta.url));
const dir = tempDir("worker-rpc");
const keyFile = join(dir, "worker.key");
/** Registered to the other provider, and one never registered. */
const otherProvidersKey = join(dir, "other-provider.key");
const unregisteredKey = join(dir, "unregistered.key");
const marker = join(dir, "started");
let f: BaseFixture;
let server: Server;
let rpc = "";
let openJob: bigint;
let closedJob: bigint;

type RpcRequest = { id: unknown; method: string; params?: unknown[] };

/** Answers JSON-RPC over HTTP (single and batched requests) from the in-process network. */
async function answer(req: RpcRequest): Promise<unknown> {
  try {
    const result = await f.connection.provider.request({ method: req.method, params: req.params ?? [] });
    return { jsonrpc: "2.0", id: req.id, result };
  } catch (err) {
    return { jsonrpc: "2.0", id: req.id, error: { code: -32000, message: (err as Error).message } };
  }
}

beforeAll(async () => {
  for (const file of [keyFile, otherProvidersKey, unregisteredKey])
    expect(runCli(["keygen", "--out", file]).status).toBe(0);
  f = await baseFixture();
  // The worker key of this host, registered as the CPU host the proc sampler meters.
  const register = async (file: string, provider: typeof f.provider, uuidHash: string) => {
    const key = await loadWorkerKey(file);
    const proof = await keyProofFor(f, provider, key);
    await (
      await f.d.registry
        .connect(provider)
        .registerWorker(key.keyHash, encodeBytes32String("CPU"), uuidHash, proof)
    ).wait();
  };
  await register(keyFile, f.provider, cpuDevice().uuidHash);
  await register(otherProvidersKey, f.provider2, "0x" + "ab".repeat(32));
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as RpcRequest | RpcRequest[];
      const reply = Array.isArray(body) ? Promise.all(body.map(answer)) : answer(body);
      void reply.then((r) => {
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify(r));
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  rpc = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const now = Math.floor(Date.now() / 1000);
  const escrow = f.d.escrow.connect(f.client);
  for (let i = 0; i < 2; i++) {
    await (
      await escrow.createJob(f.provider.address, f.creditAddress, parseEther("5"), PRICE, now + 7200)
    ).wait();
  }
  openJob = 1n;
  closedJob = 2n;
  await (await f.d.escrow.connect(f.provider).closeJob(closedJob)).wait();
}, 600_000);

afterAll(() => {
  server?.close();
});

/** Runs `meterproof ARGS…` without blocking this process (it serves the RPC). */
function cli(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const base = { ...process.env };
  delete base.METERPROOF_RPC;
  delete base.METERPROOF_PRIVATE_KEY;
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { ...base, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (c: Buffer) => (stdout += c.toString("utf8")));
  child.stderr.on("data", (c: Buffer) => (stderr += c.toString("utf8")));
  return new Promise((resolve) => child.once("close", (status) => resolve({ status, stdout, stderr })));
}

/** Runs `meterproof worker run --rpc` for a job. */
async function worker(
  extra: string[],
  job = openJob,
  command = ["touch", marker],
  key = keyFile,
): Promise<{ status: number | null; stdout: string; stderr: string; out: string; ms: number }> {
  const out = join(dir, `job-${job}-${Math.random().toString(36).slice(2)}.jsonl`);
  const args = [
    "worker",
    "run",
    "--key",
    key,
    "--segment",
    "8",
    "--rpc",
    rpc,
    "--job",
    job.toString(),
    "--escrow",
    f.escrowAddress,
    "--sampler",
    "proc",
    "--interval-ms",
    "250",
    "--out",
    out,
    ...extra,
    "--",
    ...command,
  ];
  const started = performance.now();
  const r = await cli(args);
  return { ...r, out, ms: performance.now() - started };
}

/** The worker's progress lines (`meterproof: worker: …`) apart from anything else on stderr. */
const progress = (stderr: string) => stderr.split("\n").filter((l) => l.startsWith("meterproof: worker: "));
const otherStderr = (stderr: string) =>
  stderr
    .split("\n")
    .filter((l) => l !== "" && !l.startsWith("meterproof: worker: "))
    .join("\n");

describe("meterproof worker run --rpc", () => {
  it("takes the job's terms from the escrow: the trace's jobTag is the escrow's", async () => {
    const r = await worker(["--provider", f.provider.address], openJob, ["true"]);
    expect(otherStderr(r.stderr)).toBe("");
    expect(r.status).toBe(0);
    // Progress: what was checked, the start, each seal and the end with counts.
    const lines = progress(r.stderr);
    expect(lines[0]).toMatch(
      /job 1 on chain 31337 .* checked: job open, provider and terms \(from the escrow\), circuit for segments of 8 is set up, worker key registered to the provider, active, approved, device class CPU \(weight \d+ bps\) and GPU as registered$/,
    );
    expect(lines[1]).toMatch(/^meterproof: worker: started the command \(pid \d+\)$/);
    expect(lines.some((l) => /sealed segment 0: records 0\.\.\d+/.test(l))).toBe(true);
    expect(lines.at(-1)).toMatch(/the command exited with code 0: \d+ records and 1 seals written this run/);
    const trace = await readTrace(r.out);
    const job = await f.d.escrow.jobOf(openJob);
    expect(trace.header.chainId).toBe(f.chainId);
    expect(trace.header.terms).toEqual({
      client: f.client.address,
      token: f.creditAddress,
      price: PRICE,
      expiry: Number(job.expiry),
    });
    expect(trace.header.jobTag).toBe(job.jobTag);
    expect(
      computeJobTag({
        chainId: f.chainId,
        escrow: f.escrowAddress,
        jobId: openJob,
        provider: f.provider.address,
        terms: { client: job.client, token: job.token, price: job.price, expiry: job.expiry },
      }),
    ).toBe(job.jobTag);
  });

  it("refuses, before the job starts, what the escrow would not pay for", async () => {
    const job = await f.d.escrow.jobOf(openJob);
    const cases: [string[], bigint, number, RegExp][] = [
      [["--provider", f.provider2.address], openJob, 2, /--provider .* is not the provider of job 1 \(/],
      [["--provider", f.provider.address], 99n, 1, /--job 99: escrow .* on chain 31337 has no such job/],
      [["--provider", f.provider.address], closedJob, 1, /--job 2: the job is closed/],
      [
        ["--provider", f.provider.address, "--chain-id", "1"],
        openJob,
        2,
        /--chain-id 1 differs from the chain of --rpc .* \(chain 31337\)/,
      ],
      [
        ["--provider", f.provider.address, "--terms", `${job.client},${job.token},1,${job.expiry}`],
        openJob,
        2,
        /--terms .* differ from the terms of job 1 in the escrow/,
      ],
      [["--provider", f.provider.address, "--job-tag", "12345"], openJob, 2, /--job-tag 12345 differs/],
    ];
    for (const [extra, jobId, status, message] of cases) {
      const r = await worker(extra, jobId);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.status).toBe(status);
      expect(existsSync(marker)).toBe(false);
      expect(existsSync(r.out)).toBe(false);
    }
  });

  it("refuses, before the job starts, a key or device the registry would not pay for", async () => {
    const key = await loadWorkerKey(keyFile);
    const provider = ["--provider", f.provider.address];
    const cases: {
      why: string;
      args: string[];
      key?: string;
      status: number;
      message: RegExp;
      before?: () => Promise<void>;
      after?: () => Promise<void>;
    }[] = [
      {
        why: "circuit",
        args: [...provider, "--segment", "16"],
        status: 2,
        message:
          /--segment 16: the circuit for segments of 16 records is not set up here.*run `meterproof setup --size 16`/,
      },
      {
        why: "unregistered",
        args: provider,
        key: unregisteredKey,
        status: 1,
        message:
          /worker key \d+ \(--key .*unregistered\.key\) is not registered in the registry 0x[0-9a-fA-F]{40}.*`meterproof worker register`/,
      },
      {
        why: "other provider",
        args: provider,
        key: otherProvidersKey,
        status: 1,
        message: new RegExp(
          `is registered to provider ${f.provider2.address}, not --provider ${f.provider.address}`,
        ),
      },
      {
        why: "class",
        args: [...provider, "--device-class", "H100"],
        status: 2,
        message:
          /the device class here is "H100" and worker key .* is registered as "CPU": pass --device-class CPU/,
      },
      {
        why: "deactivated",
        args: provider,
        status: 1,
        message: /is deactivated in the registry/,
        before: async () =>
          void (await (await f.d.registry.connect(f.provider).setActive(key.keyHash, false)).wait()),
        after: async () =>
          void (await (await f.d.registry.connect(f.provider).setActive(key.keyHash, true)).wait()),
      },
      {
        why: "not approved",
        args: provider,
        status: 1,
        message: /is not approved: this network requires an attestor's approval/,
        before: async () =>
          void (await (await f.d.registry.connect(f.admin).setRequireAttestation(true)).wait()),
        after: async () =>
          void (await (await f.d.registry.connect(f.admin).setRequireAttestation(false)).wait()),
      },
    ];
    for (const c of cases) {
      await c.before?.();
      try {
        const r = await worker(c.args, openJob, ["touch", marker], c.key);
        expect(r.stderr, c.why).toMatch(c.message);
        expect(r.stderr.trim().split("\n"), c.why).toHaveLength(1);
        expect(r.stderr).not.toMatch(/\n\s+at /);
        expect(r.status, c.why).toBe(c.status);
        // The command never ran: no device time was spent on a trace nobody pays for.
        expect(existsSync(marker), c.why).toBe(false);
        expect(existsSync(r.out), c.why).toBe(false);
        console.log(
          `worker run refused (${c.why}) ${Math.round(r.ms)} ms after it was started, before the job`,
        );
      } finally {
        await c.after?.();
      }
    }
  });
});

describe("meterproof job create", () => {
  it("prints the worker's options, which bind an offline worker to the job's terms and tag", async () => {
    // Hardhat's well-known account 1: the fixture's client.
    const clientKey = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
    const args = ["job", "create", "--rpc", rpc, "--escrow", f.escrowAddress, "--token", f.creditAddress];
    const terms = ["--provider", f.provider.address, "--budget", "1", "--price", "3", "--expiry", "+2h"];
    const created = await cli([...args, ...terms], { METERPROOF_PRIVATE_KEY: clientKey });
    expect(created.stderr).toBe("");
    expect(created.status).toBe(0);
    const jobId = await f.d.escrow.jobCount();
    const job = await f.d.escrow.jobOf(jobId);
    const printed = `${job.client},${job.token},${job.price},${job.expiry}`;
    expect(created.stdout).toContain(`  terms     ${printed} (client, token, price in base units, expiry)\n`);
    const line = created.stdout.split("\n").find((l) => l.startsWith("run the worker with: "));
    expect(line).toBe(
      `run the worker with: --job ${jobId} --escrow ${f.escrowAddress} --chain-id ${f.chainId} ` +
        `--provider ${f.provider.address} --terms ${printed} --job-tag ${job.jobTag}`,
    );
    const shown = await cli(["job", "show", "--rpc", rpc, "--escrow", f.escrowAddress, "--job", `${jobId}`]);
    expect(shown.stdout.trimEnd().split("\n").at(-1)).toBe(line);
    const asJson = await cli([...args, ...terms, "--json"], { METERPROOF_PRIVATE_KEY: clientKey });
    const second = await f.d.escrow.jobOf(jobId + 1n);
    expect(JSON.parse(asJson.stdout)).toMatchObject({
      terms: {
        client: second.client,
        token: second.token,
        price: second.price.toString(),
        expiry: second.expiry.toString(),
      },
    });

    // The printed options, as they are, run an offline worker (no --rpc) bound to the job.
    const out = join(dir, "from-job-create.jsonl");
    const options = line!.slice("run the worker with: ".length).split(" ");
    const run = await cli([
      "worker",
      "run",
      "--key",
      keyFile,
      ...options,
      "--sampler",
      "proc",
      "--segment",
      "8",
      "--out",
      out,
      "--",
      "true",
    ]);
    expect(otherStderr(run.stderr)).toBe("");
    expect(run.status).toBe(0);
    // Without a chain it says which checks it could not make.
    expect(progress(run.stderr)[0]).toContain(
      "skipped: job open, worker key registered and approved, device class: no --rpc, METERPROOF_RPC or rpc in meterproof.config.json",
    );
    const trace = await readTrace(out);
    expect(trace.header.jobTag).toBe(job.jobTag);
  });
});
