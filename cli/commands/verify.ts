import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { CliError, EXIT_FAILED } from "../output.ts";

export function registerVerify(program: Command): void {
  program
    .command("verify")
    .description(
      "check proof bundles against the verification keys pinned by the setup manifests; exit 0 only if all hold",
    )
    .argument("<bundle...>", "bundle files written by `meterproof prove`")
    .option("--json", "print one JSON verdict per bundle")
    .action(async (files: string[], opts: { json?: boolean }) => {
      const { verifyBundle, closeVerifier } = await import("../../verifier/verify-bundle.ts");
      const { loadVerificationKeys } = await import("../../verifier/load-keys.ts");
      const { circuitConfig } = await import("../../circuits/index.ts");
      const { keys, problems } = await loadVerificationKeys(circuitConfig.sizes);
      for (const p of problems) console.error(`meterproof: ${p}`);
      let failed = 0;
      try {
        for (const file of files) {
          let json: unknown;
          try {
            json = JSON.parse(readFileSync(file, "utf8"));
          } catch (err) {
            const code = (err as NodeJS.ErrnoException).code;
            json = undefined;
            failed++;
            report(file, false, code === "ENOENT" ? "no such file" : "not a JSON file", opts.json);
            continue;
          }
          const verdict = await verifyBundle(json, (id) => keys.get(id));
          if (!verdict.ok) failed++;
          report(
            file,
            verdict.ok,
            verdict.ok
              ? `segment ${verdict.bundle.segment.index} of job ${verdict.bundle.job.jobId}`
              : verdict.reason,
            opts.json,
          );
        }
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
