import { InvalidArgumentError, Option, type Command } from "commander";
import { CliError, EXIT_FAILED } from "../output.ts";
import { registerWorkerAttest } from "./worker-attest.ts";
import { registerWorkerRegister } from "./worker-register.ts";
import { registerWorkerList } from "./worker-list.ts";
import { registerWorkerStake } from "./worker-stake.ts";

function uint(name: string) {
  return (v: string): bigint => {
    if (!/^(0x[0-9a-fA-F]+|[0-9]+)$/.test(v))
      throw new InvalidArgumentError(`${name} must be a non-negative integer (decimal or 0x hex)`);
    return BigInt(v);
  };
}

function int(v: string): number {
  if (!/^[0-9]+$/.test(v)) throw new InvalidArgumentError("must be a positive integer");
  return Number(v);
}

function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

interface RunOptions {
  key: string;
  job: bigint;
  escrow: string;
  deployment?: string;
  chainId?: bigint;
  provider: string;
  rpc?: string;
  terms?: string;
  jobTag?: string;
  out: string;
  deviceClass?: string;
  sampler: string;
  gpu: string;
  intervalMs: number;
  sampleMs: number;
  segment: number;
  output: string[];
  resume?: boolean;
  circuitCheck: boolean;
  quiet?: boolean;
}

const FORWARDED = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

export function registerWorker(program: Command): void {
  const worker = program
    .command("worker")
    .description("run jobs under a worker that meters the device and writes a signed trace");
  registerWorkerRegister(worker);
  registerWorkerList(worker);
  registerWorkerAttest(worker);
  registerWorkerStake(worker);
  worker
    .command("run")
    .description(
      "run COMMAND (after --), pass its output and exit code through, sample the device and write a hash-chained, " +
        "signed trace to --out (one fsync'ed line per record; sealed every --segment records and at the end)",
    )
    .argument("<command...>", "the job to run, after --")
    .requiredOption("--key <file>", "worker key file (meterproof keygen)")
    .requiredOption("--job <id>", "job id in the escrow", uint("--job"))
    .option("--escrow <address>", "ComputeEscrow contract address (default: the escrow of --deployment)")
    .addOption(
      new Option(
        "--deployment <file>",
        "deployment file written by `meterproof deploy` (or `deployment` in the config)",
      ).env("METERPROOF_DEPLOYMENT"),
    )
    .option("--chain-id <id>", "chain id the escrow lives on (required without --rpc)", uint("--chain-id"))
    .requiredOption("--provider <address>", "provider (payout) address bound into the trace")
    .addOption(
      new Option(
        "--rpc <url>",
        "JSON-RPC endpoint: read the job's terms from the escrow and check the job is open and the provider's",
      ).env("METERPROOF_RPC"),
    )
    .option(
      "--terms <client,token,price,expiry>",
      "the job's terms as `meterproof job create` prints them (price in base units, expiry in unix seconds); " +
        "required without --rpc",
    )
    .option(
      "--job-tag <tag>",
      "the jobTag `meterproof job create` printed: refuse to start unless it matches",
    )
    .requiredOption("--out <trace>", "trace file to write (JSON Lines); must not exist unless --resume")
    .option("--device-class <class>", "rate-card class (default: from the GPU name, or CPU)")
    .option("--sampler <kind>", "nvml (nvidia-smi), proc (CPU host) or auto", "auto")
    .option("--gpu <index>", "GPU to meter, as nvidia-smi -i takes it (index, UUID or PCI bus id)", "0")
    .option("--interval-ms <ms>", "length of one record (at most 65535; audits want ≤ 30 s)", int, 30_000)
    .option("--sample-ms <ms>", "how often the device is read", int, 100)
    .option("--segment <n>", "records per sealed segment (the circuit size; docs/segment-size.md)", int, 128)
    .option("--output <path>", "an output file to hash into the last record (repeatable)", collect, [])
    .option("--resume", "continue an interrupted trace: drop a torn last line, keep seq and time going")
    .option(
      "--no-circuit-check",
      "start even when the circuit of --segment is not set up here (another machine proves)",
    )
    .option("--quiet", "print no progress lines (start, seals, end); warnings and errors still go to stderr")
    .action(async (command: string[], opts: RunOptions) => {
      const { isAddress } = await import("ethers");
      const { loadWorkerKey, TraceError } = await import("../../trace/index.ts");
      const { openSampler, startJob, JobStartError, WorkerError } = await import("../../worker/index.ts");
      const { resolveWorkerJob, escrowFromDeployment } = await import("../worker-job.ts");
      Object.assign(opts, escrowFromDeployment(opts));
      for (const [flag, value] of [
        ["--escrow", opts.escrow],
        ["--provider", opts.provider],
      ] as const) {
        if (!isAddress(value))
          throw new CliError(
            `${flag} must be a 20-byte hex address with a valid EIP-55 checksum (or all lower case), got ${value}`,
          );
      }
      if (!["nvml", "proc", "auto"].includes(opts.sampler))
        throw new CliError(`--sampler must be nvml, proc or auto, got ${opts.sampler}`);
      const { requireWritableFile } = await import("../paths.ts");
      requireWritableFile("--out", opts.out);
      // Local checks first: a missing circuit is known before the chain, the key or the device is asked.
      const { checkCircuitBuilt, checkWorkerOnChain } = await import("../worker-prechecks.ts");
      const checked: string[] = [];
      const skipped: string[] = [];
      if (opts.circuitCheck) {
        checkCircuitBuilt(opts.segment);
        checked.push(`circuit for segments of ${opts.segment} is set up`);
      } else skipped.push("circuit (--no-circuit-check)");
      const warn = (m: string) => console.error(`meterproof: warning: ${m}`);
      // The job and the terms its tag commits to are settled before anything starts.
      const { job, from } = await resolveWorkerJob(
        {
          job: opts.job,
          escrow: opts.escrow,
          provider: opts.provider,
          chainId: opts.chainId,
          rpc: opts.rpc,
          terms: opts.terms,
          jobTag: opts.jobTag,
        },
        warn,
      );
      checked.unshift(
        from === "chain" ? "job open, provider and terms (from the escrow)" : "job terms and tag",
      );
      let key, sampler;
      try {
        // Both are slow (EdDSA set-up, a cold GPU driver): do them side by side.
        [key, { sampler }] = await Promise.all([
          loadWorkerKey(opts.key).catch((err: unknown) => {
            throw err instanceof TraceError ? new CliError(`--key ${opts.key}: ${err.message}`) : err;
          }),
          openSampler({
            sampler: opts.sampler as "nvml" | "proc" | "auto",
            gpu: opts.gpu,
            ...(opts.deviceClass !== undefined ? { deviceClass: opts.deviceClass } : {}),
          }),
        ]);
      } catch (err) {
        throw err instanceof WorkerError ? new CliError(err.message) : err;
      }
      if (opts.rpc !== undefined) {
        checked.push(
          ...(await checkWorkerOnChain({
            rpc: opts.rpc,
            escrow: opts.escrow,
            provider: opts.provider,
            workerKeyHash: key.keyHash,
            deviceClass: sampler.device.class,
            deviceUuidHash: sampler.device.uuidHash,
            keyFile: opts.key,
          })),
        );
      } else {
        skipped.push(
          "job open, worker key registered and approved, device class: no --rpc, METERPROOF_RPC or rpc in meterproof.config.json",
        );
      }
      const say = (m: string) => {
        if (!opts.quiet) console.error(`meterproof: worker: ${m}`);
      };
      say(
        `job ${job.jobId} on chain ${job.chainId} (escrow ${job.escrow}), worker key ${key.keyHash}, ` +
          `${sampler.device.class} ${JSON.stringify(sampler.device.name)} via ${sampler.kind}: records of ` +
          `${opts.intervalMs} ms sealed every ${opts.segment}; checked: ${checked.join(", ")}` +
          (skipped.length > 0 ? `; skipped: ${skipped.join("; ")}` : ""),
      );
      let handle;
      try {
        handle = await startJob({
          key,
          job,
          command,
          tracePath: opts.out,
          sampler,
          intervalMs: opts.intervalMs,
          sampleMs: opts.sampleMs,
          segmentSize: opts.segment,
          outputs: opts.output,
          ...(opts.resume ? { resume: true } : {}),
          ...(opts.deviceClass !== undefined ? { deviceClass: opts.deviceClass } : {}),
          onWarning: warn,
          onSeal: (seal) =>
            say(
              `sealed segment ${seal.segment}: records ${seal.firstSeq}..${seal.lastSeq}, ` +
                `${((seal.tLast - seal.tFirst) / 1000).toFixed(1)} s, usage ${seal.usage} bps·ms`,
            ),
        });
      } catch (err) {
        if (err instanceof JobStartError) throw new CliError(err.message, err.exitCode);
        if (err instanceof WorkerError) throw new CliError(err.message);
        // A trace that does not check out cannot be resumed: that is a failed check, not bad input.
        if (err instanceof TraceError) throw new CliError(`${opts.out}: ${err.message}`, EXIT_FAILED);
        throw err;
      }
      // The job runs in its own process group: pass the operator's signals on, then finish the trace.
      const forward = (signal: NodeJS.Signals) => handle.kill(signal);
      for (const s of FORWARDED) process.on(s, forward);
      say(`started the command (pid ${handle.pid})`);
      try {
        const result = await handle.done;
        process.exitCode = result.exitCode;
        say(
          `the command ${result.signal ? `ended on ${result.signal}` : `exited with code ${result.exitCode}`}: ` +
            `${result.records} records and ${result.seals} seals written this run, trace ${opts.out}`,
        );
      } finally {
        for (const s of FORWARDED) process.off(s, forward);
      }
    });
}
