/**
 * The segment-size trade-off: for MeteredSegment(N), N = 8 … 256, the constraints (compiled
 * here), the powers of tau it needs, proving time and peak memory per segment (measured where a
 * development ceremony file exists, extrapolated above), and what a metered GPU-hour costs in
 * gas and in proving for records of 10, 15 and 30 s (docs/segment-size.md).
 *
 * Gas per GPU-hour = gas per segment × segments per hour, segments per hour = 3600 / (N × record
 * seconds); the gas per segment (a batch of 16) is the gas section's measurement, shared.
 */
import { spawnSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { z } from "zod";
import {
  checkArtifactHashes,
  circuitArtifacts,
  CircuitError,
  fileSha256,
  relativePath,
  REPO_ROOT,
} from "../circuits/index.ts";
import { readR1csHeader, requiredPtauPower, type R1csHeader } from "../circuits/r1cs.ts";
import { compileCircuit } from "../setup/compile.ts";
import { runSetup } from "../setup/index.ts";
import { withDirLock } from "../setup/lock.ts";
import { DEV_PTAU_SHA256, devPtauCacheDir, devPtauName, sharedPtauDir } from "../setup/ptau.ts";
import { releaseCurve } from "../setup/snarkjs-api.ts";
import { segmentWitnessInput } from "../prover/witness-input.ts";
import { checkTrace } from "../trace/index.ts";
import { syntheticTrace } from "../test/fixtures/traces.ts";
import { measureGasOnce, PRODUCTION, segmentsPerHour } from "./gas.ts";
import { fmt, median, type BenchRow, type BenchSection } from "./lib.ts";
import type { SegmentProofRun } from "./segment-proof-child.ts";

/** Segment sizes compared. */
export const SEGMENT_SIZES = [8, 16, 32, 64, 128, 256] as const;
/** Record lengths compared; 30 s is the longest the audit resolution allows. */
export const RECORD_SECONDS = [10, 15, 30] as const;
/** Largest size whose setup and proofs are measured: a setup of N = 64 already takes about 6 minutes. */
export const MAX_MEASURED_SIZE = 64;
/** Timed proofs per size (after one warm-up); the figure is their median. */
export const PROOF_RUNS = 3;
/** Batch whose per-segment gas prices every row. */
export const GAS_BATCH = 16;

/**
 * The production defaults this section argues for (docs/segment-size.md). bench/gas.ts's
 * PRODUCTION should say the same; the section's notes name any difference.
 */
export const RECOMMENDED = { segmentSize: 128, recordSeconds: 30, batch: 16 } as const;

/** The pinned constraint formula (docs/circuit.md): 4,835 + 771·N. */
export const constraintFormula = (size: number): number => 4_835 + 771 * size;

/** requiredPtauPower for a segment circuit of `constraints` (five public inputs). */
const powerFor = (constraints: number): number =>
  requiredPtauPower({ nConstraints: constraints, nPubIn: 5, nPubOut: 0 } as R1csHeader);

const CHILD = new URL("./segment-proof-child.ts", import.meta.url).pathname;

const childRunSchema = z.object({
  size: z.number().int(),
  wallMs: z.array(z.number()),
  cpuMs: z.array(z.number()),
  peakRssBytes: z.number().positive(),
});

/** Proving cost of one full segment. */
export interface ProofFigures {
  wallMs: number;
  cpuMs: number;
  peakRssBytes: number;
  /** False: read off the least-squares lines through the measured sizes. */
  measured: boolean;
}

/** What one segment size costs, whatever the record length. */
export interface SizeFigures {
  size: number;
  constraints: number;
  /** Wall-clock ms of compiling it here (circom2 --r1cs --wasm --sym --O2); absent when copied. */
  compileMs?: number;
  /** Smallest powers-of-tau exponent that fits. */
  power: number;
  ptauBytes: number;
  /** A development file of that power exists here (else its size is computed: doubles per power). */
  ptauHere: boolean;
  /** The setup used for proving: fresh, or copied from the repository's own (up to date) setup. */
  setup?: { ms: number; reused: boolean };
  proof?: ProofFigures;
}

/** The development powers-of-tau file setup would use for `power` (shared or cached), if any is here. */
async function devPtauFor(power: number): Promise<{ path: string; power: number } | undefined> {
  for (let p = power; p <= 28; p++) {
    for (const dir of [sharedPtauDir(REPO_ROOT), devPtauCacheDir()]) {
      const path = join(dir, devPtauName(p));
      if (!existsSync(path)) continue;
      const known = DEV_PTAU_SHA256[p];
      if (known === undefined || (await fileSha256(path)) === known) return { path, power: p };
    }
  }
  return undefined;
}

/** Bytes of a development file of `power`: the file when present, else the nearest one scaled (sizes double per power). */
function ptauBytes(power: number): { ptauBytes: number; ptauHere: boolean } {
  const sizeOf = (p: number): number | undefined => {
    for (const dir of [sharedPtauDir(REPO_ROOT), devPtauCacheDir()]) {
      const path = join(dir, devPtauName(p));
      if (existsSync(path)) return statSync(path).size;
    }
    return undefined;
  };
  const exact = sizeOf(power);
  if (exact !== undefined) return { ptauBytes: exact, ptauHere: true };
  for (let d = 1; d <= 14; d++) {
    for (const p of [power - d, power + d]) {
      const known = sizeOf(p);
      if (known !== undefined) return { ptauBytes: known * 2 ** (power - p), ptauHere: false };
    }
  }
  // No file at all: 2^16 is 75,498,947 bytes (development files of snarkjs 0.7.6).
  return { ptauBytes: 75_498_947 * 2 ** (power - 16), ptauHere: false };
}

/**
 * Copies the repository's setup of `size` into `root` when every artifact still has the hash its
 * manifest pins (under the setup lock, like a setup would), so runSetup there only checks it.
 */
async function seedFromRepository(size: number, root: string): Promise<boolean> {
  const repo = circuitArtifacts(size);
  if (!existsSync(repo.manifest) || !existsSync(repo.stages)) return false;
  return withDirLock(repo.dir, async () => {
    if ((await checkArtifactHashes(size).catch(() => ["unreadable"])).length > 0) return false;
    const stages = JSON.parse(readFileSync(repo.stages, "utf8")) as Record<
      string,
      { outputs: Record<string, string> }
    >;
    const files = [
      ...Object.values(stages).flatMap((s) => Object.keys(s.outputs)),
      ...[repo.stages, repo.manifest].map((p) => relativePath(REPO_ROOT, p)),
    ];
    for (const rel of files) {
      mkdirSync(dirname(join(root, rel)), { recursive: true });
      cpSync(join(REPO_ROOT, rel), join(root, rel));
    }
    return true;
  });
}

/** Least-squares line y = a + b·x. */
export function fitLine(points: readonly { x: number; y: number }[]): (x: number) => number {
  const n = points.length;
  if (n < 2) throw new RangeError(`a line needs at least 2 points, got ${n}`);
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  const sxx = points.reduce((s, p) => s + (p.x - mx) ** 2, 0);
  const sxy = points.reduce((s, p) => s + (p.x - mx) * (p.y - my), 0);
  const b = sxy / sxx;
  return (x) => my + b * (x - mx);
}

/** A full segment of `size` 10-s records at full utilization (the proof does not depend on the values). */
async function fullSegmentInput(size: number): Promise<Record<string, unknown>> {
  const { lines } = await syntheticTrace({
    records: size,
    segmentSize: size,
    sample: () => ({ utilBps: 10000, memMiB: 70_000, powerMw: 650_000, energyMj: 6_500_000 }),
  });
  const trace = await checkTrace(lines);
  return segmentWitnessInput({ trace, segment: trace.segments[0]!, size });
}

/** Proves one full segment in a child process (its own peak memory) and returns the medians. */
async function measureProof(size: number, root: string): Promise<ProofFigures> {
  const inputPath = join(root, `input_${size}.json`);
  writeFileSync(inputPath, JSON.stringify(await fullSegmentInput(size)));
  const r = spawnSync(process.execPath, [CHILD, String(size), root, inputPath, String(PROOF_RUNS)], {
    encoding: "utf8",
    maxBuffer: 16 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`proving N=${size} failed (exit ${r.status}): ${r.stderr}`);
  const last = r.stdout.trim().split("\n").at(-1) ?? "";
  const run: SegmentProofRun = childRunSchema.parse(JSON.parse(last));
  return {
    wallMs: median(run.wallMs),
    cpuMs: median(run.cpuMs),
    peakRssBytes: run.peakRssBytes,
    measured: true,
  };
}

/**
 * Compiles every size (compile only) in a scratch folder, sets up and proves those a development
 * powers of tau here fits (up to MAX_MEASURED_SIZE), and extrapolates proof time and memory for
 * the others from least-squares lines against the constraint count.
 */
export async function measureSegmentSizes(
  sizes: readonly number[] = SEGMENT_SIZES,
): Promise<{ figures: SizeFigures[]; ms: { compile: number; setup: number; prove: number } }> {
  const scratch = mkdtempSync(join(tmpdir(), "meterproof-bench-segments-"));
  const ms = { compile: 0, setup: 0, prove: 0 };
  const figures: SizeFigures[] = [];
  try {
    for (const size of sizes) {
      // Sizes a development powers of tau here fits: set up and prove (setup compiles first).
      // The power is predicted from the pinned formula and the file passed explicitly, so a
      // circuit that grew past it fails with a CircuitError instead of generating a ceremony.
      const ptau =
        size <= MAX_MEASURED_SIZE ? await devPtauFor(powerFor(constraintFormula(size))) : undefined;
      if (ptau) {
        const root = join(scratch, "setup");
        const t1 = performance.now();
        const seeded = await seedFromRepository(size, root);
        const setup = await runSetup({ size, root, keyPossession: false, ptau: ptau.path }).catch(
          (err: unknown) => {
            if (err instanceof CircuitError && err.field === "--ptau") return undefined;
            throw err;
          },
        );
        await releaseCurve();
        if (setup) {
          const setupMs = performance.now() - t1;
          ms.setup += setupMs;
          const header = readR1csHeader(setup.paths.r1cs);
          const power = requiredPtauPower(header);
          const t2 = performance.now();
          const proof = await measureProof(size, root);
          ms.prove += performance.now() - t2;
          rmSync(setup.paths.dir, { recursive: true, force: true });
          figures.push({
            size,
            constraints: header.nConstraints,
            ...(setup.stages.compile.reused ? {} : { compileMs: setup.stages.compile.ms }),
            power,
            ...ptauBytes(power),
            setup: { ms: setupMs, reused: seeded && setup.stages.zkey.reused },
            proof,
          });
          continue;
        }
      }
      // The others: compile only, for the constraints and the powers of tau they need.
      const paths = circuitArtifacts(size, join(scratch, "compile"));
      const t0 = performance.now();
      await compileCircuit(paths);
      const compileMs = performance.now() - t0;
      ms.compile += compileMs;
      const header = readR1csHeader(paths.r1cs);
      const power = requiredPtauPower(header);
      rmSync(paths.dir, { recursive: true, force: true });
      figures.push({ size, constraints: header.nConstraints, compileMs, power, ...ptauBytes(power) });
    }

    const measured = figures.filter((f) => f.proof);
    if (measured.length >= 2) {
      const line = (pick: (p: ProofFigures) => number) =>
        fitLine(measured.map((f) => ({ x: f.constraints, y: pick(f.proof!) })));
      const [wall, cpu, rss] = [line((p) => p.wallMs), line((p) => p.cpuMs), line((p) => p.peakRssBytes)];
      for (const f of figures) {
        if (f.proof) continue;
        const x = f.constraints;
        f.proof = { wallMs: wall(x), cpuMs: cpu(x), peakRssBytes: rss(x), measured: false };
      }
    }
    return { figures, ms };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** One option: a segment size with a record length. */
export interface SegmentOption {
  size: number;
  recordSeconds: number;
  segmentSeconds: number;
  segmentsPerHour: number;
  gasPerHour: number;
  /** CPU-seconds of proving per metered GPU-hour (undefined when no proof figure exists). */
  provingCpuPerHour: number | undefined;
}

/** The options that matter (see `omitted`): every size at 10 and 30 s, and 15 s where no (N/2, 30 s) has the same segment length. */
export function segmentOptions(figures: readonly SizeFigures[], gasPerSegment: number): SegmentOption[] {
  const sizes = new Set(figures.map((f) => f.size));
  const out: SegmentOption[] = [];
  for (const f of figures) {
    for (const recordSeconds of RECORD_SECONDS) {
      if (recordSeconds === 15 && sizes.has(f.size / 2) && !isLeadComparison(f.size, recordSeconds)) continue;
      const perHour = segmentsPerHour(f.size, recordSeconds);
      out.push({
        size: f.size,
        recordSeconds,
        segmentSeconds: f.size * recordSeconds,
        segmentsPerHour: perHour,
        gasPerHour: gasPerSegment * perHour,
        provingCpuPerHour: f.proof ? (f.proof.cpuMs / 1000) * perHour : undefined,
      });
    }
  }
  return out;
}

/** N = 256 × 15 s is shown although N = 128 × 30 s dominates it: it is the comparison the choice is made against. */
const isLeadComparison = (size: number, recordSeconds: number): boolean =>
  size === 256 && recordSeconds === 15;

function duration(seconds: number): string {
  if (seconds < 3600) return `${+(seconds / 60).toFixed(1)} min`;
  const h = Math.floor(seconds / 3600);
  const m = Math.round((seconds - h * 3600) / 60);
  return m ? `${h} h ${m} min` : `${h} h`;
}

const mb = (bytes: number): string => fmt(bytes / 1e6, "MB");
const gas = (v: number): string => `${Math.round(v).toLocaleString("en-US")} gas`;

export async function benchSegmentSize(): Promise<BenchSection> {
  const t0 = performance.now();
  const { figures, ms } = await measureSegmentSizes();
  const tGas = performance.now();
  const g = await measureGasOnce();
  const batch = g.batches.find((b) => b.n === GAS_BATCH);
  if (!batch) throw new Error(`the gas measurement has no batch of ${GAS_BATCH}`);
  const now = performance.now();
  return segmentSizeSection({
    figures,
    ms: { ...ms, gas: now - tGas, total: now - t0 },
    batchGas: Number(batch.gas),
  });
}

/** The section from the figures: rows per size, per option that matters, and the notes. */
export function segmentSizeSection(args: {
  figures: readonly SizeFigures[];
  ms: { compile: number; setup: number; prove: number; gas: number; total: number };
  /** Whole-transaction gas of submitSegments with GAS_BATCH segments. */
  batchGas: number;
}): BenchSection {
  const { figures, ms, batchGas } = args;
  const gasPerSegment = batchGas / GAS_BATCH;
  const options = segmentOptions(figures, gasPerSegment);
  const byKey = new Map(options.map((o) => [`${o.size}x${o.recordSeconds}`, o]));
  const measuredSizes = figures.filter((f) => f.proof?.measured).map((f) => f.size);
  const extrapolatedSizes = figures.filter((f) => f.proof && !f.proof.measured).map((f) => f.size);
  const noCeremony = `extrapolated (no ${[...new Set(figures.filter((f) => f.proof && !f.proof.measured).map((f) => `2^${f.power}`))].join("/")} ceremony file here)`;

  const rows: BenchRow[] = [];
  for (const f of figures) {
    const formula = constraintFormula(f.size);
    rows.push({
      metric: `N=${f.size}: constraints`,
      value: f.constraints.toLocaleString("en-US"),
      note:
        (f.compileMs === undefined
          ? "compile copied with the repository's setup"
          : `compiled here in ${fmt(f.compileMs / 1000, "s")}`) +
        (f.constraints === formula
          ? " (= 4,835 + 771·N)"
          : ` (formula 4,835 + 771·N gives ${formula.toLocaleString("en-US")})`) +
        `; needs 2^${f.power}: ${mb(f.ptauBytes)} powers of tau` +
        (f.ptauHere ? " (development file here)" : " (computed: sizes double per power)"),
    });
  }
  for (const f of figures) {
    if (!f.proof) continue;
    const p = f.proof;
    rows.push({
      metric: `N=${f.size}: one proof`,
      value: fmt(p.wallMs / 1000, "s"),
      note:
        `${fmt(p.cpuMs / 1000, "CPU-s")}, peak RSS ${mb(p.peakRssBytes)}; ` +
        (p.measured
          ? `measured: median of ${PROOF_RUNS} warm proofs, one child process` +
            (f.setup
              ? `; setup ${f.setup.reused ? "copied from the repository's" : `here in ${fmt(f.setup.ms / 1000, "s")}`}`
              : "")
          : `${noCeremony}: least-squares lines over N = ${measuredSizes.join(", ")} against constraints`),
    });
  }
  rows.push({
    metric: `gas per segment, batch of ${GAS_BATCH}`,
    value: gas(gasPerSegment),
    note: `submitSegments of ${GAS_BATCH}, whole tx ${gas(batchGas)} / ${GAS_BATCH} (the gas section's measurement); the same for every N`,
  });
  for (const o of options) {
    const f = figures.find((x) => x.size === o.size)!;
    const proving =
      o.provingCpuPerHour === undefined
        ? "proving not measured"
        : `proving ${fmt(o.provingCpuPerHour, "CPU-s")}${f.proof!.measured ? "" : " (extrapolated)"}`;
    rows.push({
      metric: `N=${o.size} × ${o.recordSeconds} s: gas per GPU-hour`,
      value: gas(o.gasPerHour),
      note:
        `${+o.segmentsPerHour.toFixed(3)} segments per GPU-hour (one per ${duration(o.segmentSeconds)}); ${proving} per GPU-hour; 2^${f.power}` +
        (isLeadComparison(o.size, o.recordSeconds)
          ? "; dominated by N=128 × 30 s, shown for comparison"
          : ""),
    });
  }

  const rec = byKey.get(`${RECOMMENDED.segmentSize}x${RECOMMENDED.recordSeconds}`);
  const half = byKey.get(`${RECOMMENDED.segmentSize / 2}x${RECOMMENDED.recordSeconds}`);
  const dbl = byKey.get(`${RECOMMENDED.segmentSize * 2}x${RECOMMENDED.recordSeconds}`);
  const lead15 = byKey.get("256x15");
  const recFig = figures.find((f) => f.size === RECOMMENDED.segmentSize);
  const dblFig = figures.find((f) => f.size === RECOMMENDED.segmentSize * 2);
  const cpuS = (o: SegmentOption | undefined) =>
    o?.provingCpuPerHour === undefined ? "?" : fmt(o.provingCpuPerHour, "CPU-s");
  const notes = [
    `Constraints from the r1cs header of each size compiled here, in a scratch folder (by its setup for the sizes proved, compile only for the others). Proofs: MeteredSegment(N) set up in a scratch folder with the development powers of tau (a setup of the repository that is up to date is copied instead of redone), then ${PROOF_RUNS} warm proofs (after one warm-up) with the long-lived prover (SegmentProver, one job on all cores) in a child process per size; peak memory is that process's VmHWM (keys, witness calculator and curve threads).`,
    `Measured for N = ${measuredSizes.join(", ")}; N = ${extrapolatedSizes.join(", ") || "none"} ${noCeremony}, read off least-squares lines of time, CPU and memory against the constraint count. snarkjs proves over a power-of-two domain, so real times step up at each power; the lines are an estimate. Wall-clock times vary with other load on the machine; the CPU-seconds, which the per-hour figures use, are the steadier measure.`,
    `Gas per GPU-hour = ${gas(gasPerSegment)} × 3600 / (N × record seconds): it depends only on the segment's length. Proving per GPU-hour = CPU-seconds per proof × segments per hour: since a proof costs about 771 constraints a record plus 4,835 a segment, it depends mostly on the record length (records per hour) and hardly on N.`,
    "Rows left out: N × 15 s for N ≥ 16. Each has the same segment length, hence the same gas per hour and the same payout delay, as (N/2) × 30 s, which proves half as many records in a circuit half the size (half the proving, half the memory, a ceremony file half as large); 15-s records buy only a finer audit resolution, and the 10-s rows show that end. N=256 × 15 s stays as the comparison for N=128 × 30 s.",
    `This section took ${fmt(ms.total / 60_000, "min")} here: setups of N = ${measuredSizes.join(", ")} (compile included) ${fmt(ms.setup / 1000, "s")}, proofs ${fmt(ms.prove / 1000, "s")}, compiling the larger sizes ${fmt(ms.compile / 1000, "s")}, gas ${fmt(ms.gas / 1000, "s")} (measured once and shared with the gas section). A setup of N = 64 from scratch takes about 6 minutes on an idle 2-core machine; inside \`npm run bench\` the proving section has just set up N = 8 and 64 in the repository, and they are copied.`,
  ];
  const production: { segmentSize: number; recordSeconds: number; batch: number } = PRODUCTION;
  const current = byKey.get(`${production.segmentSize}x${production.recordSeconds}`);
  if (
    production.segmentSize !== RECOMMENDED.segmentSize ||
    production.recordSeconds !== RECOMMENDED.recordSeconds ||
    production.batch !== RECOMMENDED.batch
  ) {
    notes.push(
      `bench/gas.ts PRODUCTION still says N = ${production.segmentSize} × ${production.recordSeconds} s, batches of ${production.batch}` +
        (current ? ` (${gas(current.gasPerHour)} and ${cpuS(current)} of proving per GPU-hour here)` : "") +
        ": the gas section's production row prices that, not the default below.",
    );
  }
  if (rec && half && dbl && recFig?.proof && dblFig?.proof) {
    const batchHours = (o: SegmentOption) => (RECOMMENDED.batch * o.segmentSeconds) / 3600;
    notes.push(
      `Production default: N = ${RECOMMENDED.segmentSize} records of ${RECOMMENDED.recordSeconds} s (one segment per ${duration(rec.segmentSeconds)}, ${+rec.segmentsPerHour.toFixed(4)} per GPU-hour), batches of ${RECOMMENDED.batch}: ${gas(rec.gasPerHour)} and ${cpuS(rec)} of proving per GPU-hour. ` +
        "30-s records are the longest the audit resolution allows and give the least proving per hour; N then trades gas against the ceremony file, prover memory and how long a provider waits to be paid. " +
        `Against N = ${half.size} × ${half.recordSeconds} s it halves the gas (${gas(half.gasPerHour)}) for about the same proving (${cpuS(half)}), at the price of a 2^${recFig.power} ceremony file (${mb(recFig.ptauBytes)}; public ceremonies publish it), ${mb(recFig.proof.peakRssBytes)} per prover and a payout step of ${duration(rec.segmentSeconds)}; a batch of ${RECOMMENDED.batch} is ${+batchHours(rec).toFixed(1)} GPU-hours, which one GPU fills within the day a client must wait after a job's expiry before closing it. ` +
        `N = ${dbl.size} × ${dbl.recordSeconds} s would save another ${gas(rec.gasPerHour - dbl.gasPerHour)} per GPU-hour but needs 2^${dblFig.power} (${mb(dblFig.ptauBytes)}) and about ${mb(dblFig.proof.peakRssBytes)} per prover, pays every ${duration(dbl.segmentSeconds)}, and its batch of ${RECOMMENDED.batch} is ${+batchHours(dbl).toFixed(1)} GPU-hours: providers with few GPUs would send smaller batches and lose much of the saving` +
        (lead15 && lead15.provingCpuPerHour !== undefined && rec.provingCpuPerHour !== undefined
          ? `. N = 256 × 15 s costs the same gas as the default with ${cpuS(lead15)} of proving, ${(lead15.provingCpuPerHour / rec.provingCpuPerHour).toFixed(1)} times as much.`
          : "."),
    );
  }
  return { title: "Segment size", rows, notes };
}
