import type { Command } from "commander";
import { CliError, EXIT_FAILED } from "../output.ts";

export function registerVerify(program: Command): void {
  program
    .command("verify")
    .description(
      "check proof bundles against the verification keys pinned by the setup manifests; exit 0 only if all hold " +
        "(bundles of one circuit are checked together with one pairing check; a failed batch is checked one by one)",
    )
    .argument("<bundle...>", "bundle files written by `meterproof prove`")
    .option("--json", "print one JSON verdict per bundle")
    .action(async (files: string[], opts: { json?: boolean }) => {
      const { closeVerifier } = await import("../../verifier/verify-bundle.ts");
      const { verifyBundles } = await import("../../verifier/batch-verify.ts");
      const { loadVerificationKeys } = await import("../../verifier/load-keys.ts");
      const { circuitConfig } = await import("../../circuits/index.ts");
      const { requireFile } = await import("../paths.ts");
      for (const f of files) requireFile("BUNDLE", f);
      const { keys, problems } = await loadVerificationKeys(circuitConfig.sizes);
      for (const p of problems) console.error(`meterproof: ${p}`);
      let failed = 0;
      try {
        const results = await verifyBundles(files, keys);
        for (const r of results) {
          if (!r.ok) failed++;
          report(
            r.source,
            r.ok,
            r.ok ? `segment ${r.bundle.segment.index} of job ${r.bundle.job.jobId}` : r.reason,
            opts.json,
          );
        }
        const batched = results.filter((r) => r.check === "batch").length;
        const alone = results.filter((r) => r.check === "single").length;
        const summary =
          `batch check: ${batched} of ${files.length} bundles checked at once (one pairing check per circuit)` +
          (alone > 0 ? `, ${alone} checked one by one` : "");
        // --json keeps stdout one verdict per line.
        if (opts.json) console.error(summary);
        else console.log(summary);
      } finally {
        await closeVerifier();
      }
      if (failed > 0)
        throw new CliError(`${failed} of ${files.length} bundles failed verification`, EXIT_FAILED);
    });
}

function report(file: string, ok: boolean, detail: string, json: boolean | undefined): void {
  if (json) console.log(JSON.stringify({ file, ok, ...(ok ? { detail } : { reason: detail }) }));
  else console.log(`${ok ? "ok  " : "FAIL"} ${file}: ${detail}`);
}
