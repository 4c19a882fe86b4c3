import { existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { bundleSchema, type ProofBundle, type ProofBundleJson } from "../trace/index.ts";

/** Bundles are named by segment index so a directory lists them in order. */
export function bundleFileName(segment: number): string {
  return `segment-${String(segment).padStart(6, "0")}.json`;
}

/** Writes a bundle whole or not at all: a temporary file renamed into place. */
export function writeBundleAtomic(dir: string, bundle: ProofBundleJson): string {
  const path = join(dir, bundleFileName(bundle.segment.index));
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, JSON.stringify(bundle, null, 2) + "\n", { flag: "wx" });
    renameSync(tmp, path);
  } finally {
    rmSync(tmp, { force: true });
  }
  return path;
}

/** The bundles already in `dir`, by segment index; unreadable files are reported, not skipped. */
export function readBundleDir(dir: string): Map<number, { path: string; bundle: ProofBundle }> {
  const found = new Map<number, { path: string; bundle: ProofBundle }>();
  if (!existsSync(dir)) return found;
  for (const name of readdirSync(dir).sort()) {
    const m = /^segment-(\d{6,})\.json$/.exec(name);
    if (!m) continue;
    const path = join(dir, name);
    const parsed = bundleSchema.safeParse(JSON.parse(readFileSync(path, "utf8")));
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new Error(`${path}: ${issue.path.join(".") || "bundle"} ${issue.message}`);
    }
    found.set(Number(m[1]), { path, bundle: parsed.data });
  }
  return found;
}
