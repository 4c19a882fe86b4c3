// `npm run bench`: measures every part side by side in one run and writes bench/RESULTS.md
// with the machine, date and commit. Each section lives in its own file; pass section names
// to run only some (e.g. `npm run bench -- audit worker`), which prints without writing.
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import type { BenchSection } from "./lib.ts";

const sections: Record<string, () => Promise<BenchSection>> = {
  circuit: async () => (await import("./circuit.ts")).benchCircuit(),
  proving: async () => (await import("./proving.ts")).benchProving(),
  gas: async () => (await import("./gas.ts")).benchGas(),
  segments: async () => (await import("./segment-size.ts")).benchSegmentSize(),
  batch: async () => (await import("./batch-verify.ts")).benchBatchVerify(),
  audit: async () => (await import("./audit.ts")).benchAudit(),
  worker: async () => (await import("./worker.ts")).benchWorker(),
  provider: async () => (await import("./provider.ts")).benchProvider(),
};

const only = process.argv.slice(2);
for (const name of only) {
  if (!(name in sections)) {
    console.error(
      `bench: unknown section ${JSON.stringify(name)}; sections are ${Object.keys(sections).join(", ")}`,
    );
    process.exit(2);
  }
}

const results: BenchSection[] = [];
for (const [name, run] of Object.entries(sections)) {
  if (only.length > 0 && !only.includes(name)) continue;
  console.error(`bench: ${name}…`);
  const t0 = performance.now();
  const section = await run();
  console.error(`bench: ${name} done in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  results.push(section);
  console.log(render([section]));
}

if (only.length === 0) {
  const commit = git(["rev-parse", "--short", "HEAD"]);
  const dirty = git(["status", "--porcelain", "--untracked-files=no"]) ? " (with uncommitted changes)" : "";
  const header = [
    "# meterproof benchmark results",
    "",
    "Written by `npm run bench`; every timed figure is the median of 5 runs unless its row says otherwise.",
    "",
    `- date: ${new Date().toISOString()}`,
    `- commit: ${commit}${dirty}`,
    `- machine: ${cpus().length} × ${cpus()[0]?.model.trim() ?? "unknown CPU"}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, ${process.platform} ${process.arch}`,
    `- node: ${process.version}`,
    "",
    "",
  ].join("\n");
  writeFileSync(new URL("./RESULTS.md", import.meta.url), header + render(results));
  console.error("bench: wrote bench/RESULTS.md");
}

function render(list: readonly BenchSection[]): string {
  return list
    .map((s) => {
      const rows = s.rows.map((r) => `| ${r.metric} | ${r.value} | ${r.note ?? ""} |`);
      const notes = (s.notes ?? []).map((n) => `- ${n}`);
      return [
        `## ${s.title}`,
        "",
        "| metric | value | note |",
        "|---|---|---|",
        ...rows,
        "",
        ...notes,
        notes.length ? "" : null,
      ]
        .filter((l) => l !== null)
        .join("\n");
    })
    .join("\n");
}

function git(args: string[]): string {
  try {
    return execFileSync("git", args, { encoding: "utf8" }).trim();
  } catch {
    return "unknown";
  }
}
