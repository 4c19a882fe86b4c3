import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { circuitConfig } from "../circuits/index.ts";
import { readR1csHeader, requiredPtauPower } from "../circuits/r1cs.ts";
import { runSetup } from "../setup/index.ts";
import { releaseCurve } from "../setup/snarkjs-api.ts";
import { fmt, type BenchRow, type BenchSection } from "./lib.ts";

/**
 * MeteredSegment(N) for each configured size: constraints (total and per record), a full
 * setup from the cached development powers of tau (compile, phase 2, zkey verify, exports)
 * into a scratch folder.
 */
export async function benchCircuit(sizes: readonly number[] = circuitConfig.sizes): Promise<BenchSection> {
  const rows: BenchRow[] = [];
  const notes: string[] = [];
  const root = mkdtempSync(join(tmpdir(), "meterproof-bench-circuit-"));
  const constraints = new Map<number, number>();
  try {
    for (const size of sizes) {
      const t0 = performance.now();
      const setup = await runSetup({ size, root, force: true, keyPossession: false });
      const setupMs = performance.now() - t0;
      const header = readR1csHeader(setup.paths.r1cs);
      constraints.set(size, header.nConstraints);
      rows.push({
        metric: `N=${size} constraints`,
        value: header.nConstraints.toLocaleString("en-US"),
        note: `${(header.nConstraints / size).toFixed(0)} per record including the signature; fits 2^${requiredPtauPower(header)}`,
      });
      rows.push({
        metric: `N=${size} setup`,
        value: fmt(setupMs / 1000, "s"),
        note: `one run, from scratch with a cached powers of tau: compile ${fmt(setup.stages.compile.ms / 1000, "s")}, phase 2 + verify ${fmt(setup.stages.zkey.ms / 1000, "s")}, exports ${fmt(setup.stages.export.ms / 1000, "s")}; ptau 2^${setup.ptau.power} (${setup.ptau.source})`,
      });

      await releaseCurve();
    }
    const [small, large] = [Math.min(...constraints.keys()), Math.max(...constraints.keys())];
    if (small !== large) {
      const perRecord = (constraints.get(large)! - constraints.get(small)!) / (large - small);
      rows.unshift({
        metric: "constraints per record (marginal)",
        value: perRecord.toFixed(0),
        note: "target ≤ 800",
      });
      notes.push(
        `Fixed cost per segment (seal signature, key hash, 64-bit checks of firstSeq, tFirst, tLast): ${constraints.get(small)! - perRecord * small} constraints.`,
      );
    }
    notes.push(
      "Setup times include compiling with circom2 (WebAssembly) and verifying the zkey against the r1cs and powers of tau. Each is one run: a setup of N=64 takes minutes, and five would take half an hour.",
      "Proving times are in the Proving section (median of 5).",
    );
    return { title: "Circuit and trusted setup", rows, notes };
  } finally {
    rmSync(root, { recursive: true, force: true });
    await releaseCurve();
  }
}
