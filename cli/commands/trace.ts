import type { Command } from "commander";
import { CliError, EXIT_FAILED, formatGpuHours, formatTime } from "../output.ts";

export function registerTrace(program: Command): void {
  const trace = program.command("trace").description("work with trace files");
  trace
    .command("inspect")
    .description(
      "check every hash, head and seal of a trace and summarize it; exit 1 naming the first bad line",
    )
    .argument("<file>", "trace file (JSON Lines)")
    .option("--json", "print the summary as JSON")
    .action(async (file: string, opts: { json?: boolean }) => {
      const { readTrace, usageToGpuHours, TraceError } = await import("../../trace/index.ts");
      const { requireFile } = await import("../paths.ts");
      requireFile("FILE", file);
      let t;
      try {
        t = await readTrace(file);
      } catch (err) {
        if (err instanceof TraceError) throw new CliError(`${file}: ${err.message}`, EXIT_FAILED);
        if ((err as NodeJS.ErrnoException).code === "ENOENT") throw new CliError(`${file}: no such file`);
        throw err;
      }
      const usage = t.records.reduce((sum, r) => sum + BigInt(r.tEnd - r.tStart) * BigInt(r.utilBps), 0n);
      const sealedUsage = t.segments.reduce((sum, s) => sum + s.usage, 0n);
      const first = t.records[0];
      const last = t.records.at(-1);
      const summary = {
        file,
        ok: true,
        jobId: t.header.jobId.toString(),
        chainId: t.header.chainId.toString(),
        escrow: t.header.escrow,
        provider: t.header.provider,
        terms: { ...t.header.terms, price: t.header.terms.price.toString() },
        jobTag: t.header.jobTag.toString(),
        device: t.header.device,
        sampler: t.header.sampler,
        records: t.records.length,
        segments: t.segments.length,
        unsealedRecords: t.unsealedRecords,
        usage: usage.toString(),
        gpuHours: usageToGpuHours(usage),
        sealedGpuHours: usageToGpuHours(sealedUsage),
        window: first && last ? { start: first.tStart, end: last.tEnd } : null,
        head: t.head.toString(),
      };
      if (opts.json) {
        console.log(JSON.stringify(summary, null, 2));
        return;
      }
      console.log(`${file}: ok (every hash, head and seal checks out)`);
      console.log(`  job        ${summary.jobId} on chain ${summary.chainId}, escrow ${summary.escrow}`);
      console.log(`  provider   ${summary.provider}`);
      const { client, token, price, expiry } = t.header.terms;
      console.log(`  client     ${client}`);
      console.log(`  token      ${token}`);
      console.log(`  price      ${price} base units per H100-equivalent hour`);
      console.log(`  expiry     ${formatTime(expiry * 1000)} (unix ${expiry})`);
      console.log(`  jobTag     ${summary.jobTag}`);
      console.log(
        `  device     ${t.header.device.class} (${t.header.device.name}), sampler ${t.header.sampler}`,
      );
      console.log(`  records    ${summary.records} (${t.unsealedRecords} not yet sealed)`);
      console.log(`  segments   ${summary.segments} of up to ${t.header.segmentSize} records`);
      console.log(
        // Hours of this device fully used: a CPU trace is not GPU time, and the escrow pays these
        // hours at the device class's weight in H100-equivalent hours (`meterproof status`).
        `  usage      ${formatGpuHours(summary.gpuHours)} ${t.header.device.class}-hours (${summary.usage} bps·ms, ` +
          `paid at the ${t.header.device.class} weight), sealed ${formatGpuHours(summary.sealedGpuHours)}`,
      );
      if (first && last) console.log(`  window     ${formatTime(first.tStart)} .. ${formatTime(last.tEnd)}`);
    });
}
