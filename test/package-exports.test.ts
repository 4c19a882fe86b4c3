/**
 * meterproof as a library, as another project sees it: packs the package the way `npm pack`
 * would publish it (prepack builds dist/), installs the tarball into a scratch project without
 * the network (its dependencies come from the npm cache that the repository's install filled,
 * pinned by the repository's lock file), then imports "meterproof" from there: JavaScript from
 * dist/ under plain Node, and the .d.ts files under tsc.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BOUND_CONTRACTS } from "../contracts/index.ts";
import { circuitArtifacts, fileSha256, REPO_ROOT } from "../circuits/index.ts";
import { makeBundle } from "../prover/prove-trace.ts";
import { checkTrace, computeJobTag, type JobRef, type ProofBundleJson } from "../trace/index.ts";
import { syntheticTrace, TEST_ESCROW, TEST_PROVIDER, TEST_TERMS } from "./fixtures/traces.ts";
import { closeProver, proveSegments, TEST_CIRCUIT } from "./helpers/segment-proof.ts";

const work = mkdtempSync(join(tmpdir(), "meterproof-package-"));
const packDir = join(work, "pack");
const app = join(work, "app");

/** The job of the fixture trace (syntheticTrace's defaults). */
const JOB: JobRef = {
  chainId: 31337n,
  escrow: TEST_ESCROW,
  jobId: 1n,
  provider: TEST_PROVIDER,
  terms: TEST_TERMS,
};

/**
 * The environment of the npm commands run here: without the npm_* variables of an enclosing
 * `npm test` (npm_config_local_prefix would point a nested install at the repository).
 */
function npmEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
}

function run(cmd: string, args: string[], cwd: string): string {
  const r = spawnSync(cmd, args, { cwd, env: npmEnv(), encoding: "utf8", maxBuffer: 64 << 20 });
  if (r.status !== 0) {
    throw new Error(
      `${cmd} ${args.join(" ")} (in ${cwd}) failed with ${r.error?.message ?? `status ${r.status}`}:\n${r.stdout}${r.stderr}`,
    );
  }
  return r.stdout;
}

/**
 * The scratch project's lock file: the tarball, plus meterproof's production dependencies
 * exactly as the repository's lock file pins them (same versions, integrity hashes and layout),
 * so `npm ci --offline` takes every one from the npm cache.
 */
function scratchLock(tarball: string, spec: string): unknown {
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as Record<string, unknown>;
  const lock = JSON.parse(readFileSync(join(REPO_ROOT, "package-lock.json"), "utf8")) as {
    packages: Record<string, { dev?: boolean }>;
  };
  const packages: Record<string, unknown> = {
    "": { name: "meterproof-consumer", dependencies: { meterproof: spec } },
    "node_modules/meterproof": {
      version: pkg.version,
      resolved: spec,
      integrity: "sha512-" + createHash("sha512").update(readFileSync(tarball)).digest("base64"),
      hasInstallScript: true,
      license: pkg.license,
      dependencies: pkg.dependencies,
      bin: pkg.bin,
      engines: pkg.engines,
    },
  };
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (path !== "" && !entry.dev) packages[path] = entry;
  }
  return { name: "meterproof-consumer", lockfileVersion: 3, requires: true, packages };
}

/** What the consumer script (below) prints. */
interface ConsumerOutput {
  jobTag: string;
  sameFunctionFromSubpath: boolean;
  trace: { records: number; segments: number; lastHead: string; jobTag: string };
  audit: { ok: boolean; fail: number; records: number; usage: string };
  verified: { source: string; ok: boolean; check: string; reason?: string }[];
  batch: { ok: boolean; check: string; batchSize: number }[];
  single: { ok: boolean };
  contracts: { root: string; events: string[]; escrowAbi: number; attached: string };
  deepImport: string;
}

// The consumer's JavaScript: plain ESM run by Node from the scratch project.
const CONSUMER_JS = `
import { readFileSync } from "node:fs";
import { auditTrace, checkTrace, closeVerifier, computeJobTag, verifyBundle, verifyBundles } from "meterproof";
import { computeJobTag as jobTagFromSubpath } from "meterproof/trace";
import { attachContract, loadArtifact, meterproofInterface, REPO_ROOT } from "meterproof/contracts";

const input = JSON.parse(readFileSync("input.json", "utf8"));
const job = {
  ...input.job,
  chainId: BigInt(input.job.chainId),
  jobId: BigInt(input.job.jobId),
  terms: { ...input.job.terms, price: BigInt(input.job.terms.price), expiry: BigInt(input.job.terms.expiry) },
};
const lines = readFileSync("trace.jsonl", "utf8").trim().split("\\n").map((l) => JSON.parse(l));
const trace = await checkTrace(lines);
const audit = await auditTrace("trace.jsonl");
const key = { circuitId: 8, vkey: JSON.parse(readFileSync("vkey.json", "utf8")), vkeySha256: input.vkeySha256 };
const keys = new Map([[8, key]]);
const verified = await verifyBundles(input.bundles, keys);
const batch = await verifyBundles(input.bundles.slice(0, 2), keys);
const single = await verifyBundle(JSON.parse(readFileSync(input.bundles[0], "utf8")), (id) => keys.get(id));
await closeVerifier();
let deepImport = "imported";
try {
  await import("meterproof/dist/trace/index.js");
} catch (err) {
  deepImport = err.code;
}
const iface = meterproofInterface();
const escrow = attachContract("ComputeEscrow", "0x00000000000000000000000000000000000000e5");
console.log(JSON.stringify({
  jobTag: computeJobTag(job).toString(),
  sameFunctionFromSubpath: jobTagFromSubpath === computeJobTag,
  trace: {
    records: trace.records.length,
    segments: trace.segments.length,
    lastHead: trace.segments.at(-1).newHead.toString(),
    jobTag: trace.header.jobTag.toString(),
  },
  audit: { ok: audit.ok, fail: audit.counts.fail, records: audit.summary.records, usage: audit.summary.usage },
  verified: verified.map((r) => ({ source: r.source, ok: r.ok, check: r.check, ...(r.ok ? {} : { reason: r.reason }) })),
  batch: batch.map((r) => ({ ok: r.ok, check: r.check, batchSize: r.batchSize })),
  single: { ok: single.ok },
  contracts: {
    root: REPO_ROOT,
    events: ["SegmentAccepted", "JobCreated", "Withdrawn"].filter((n) => iface.getEvent(n) !== null),
    escrowAbi: loadArtifact("ComputeEscrow").abi.length,
    attached: await escrow.getAddress(),
  },
  deepImport,
}));
`;

// The consumer's TypeScript: type-checked (not run) against the shipped .d.ts files.
const CONSUMER_TS = `
import {
  auditTrace,
  computeJobTag,
  verifyBundles,
  type AuditReport,
  type BundleResult,
  type ComputeEscrow,
  type JobRef,
  type ProofBundle,
  type VerificationKey,
} from "meterproof";
import { eventsIn } from "meterproof/chain";
import { attachContract, type SegmentAcceptedEvent } from "meterproof/contracts";
import { readTrace, type CheckedTrace } from "meterproof/trace";
import type { TransactionReceipt } from "ethers";

export async function summarize(args: {
  trace: string;
  bundles: string[];
  key: VerificationKey;
  job: JobRef;
  receipt: TransactionReceipt;
}): Promise<string> {
  const report: AuditReport = await auditTrace(args.trace);
  const results: BundleResult[] = await verifyBundles(args.bundles, new Map([[args.key.circuitId, args.key]]));
  const trace: CheckedTrace = await readTrace(args.trace);
  const tag: bigint = computeJobTag(args.job);
  const escrow: ComputeEscrow = attachContract("ComputeEscrow", args.job.escrow);
  const first = results[0];
  const bundle: ProofBundle | undefined = first?.ok ? first.bundle : undefined;
  const accepted: SegmentAcceptedEvent[] = eventsIn(args.receipt, "SegmentAccepted");
  // @ts-expect-error computeJobTag gives a bigint: the types are not \`any\`
  const wrong: string = computeJobTag(args.job);
  return [report.ok, tag, trace.segments.length, bundle?.circuitId, await escrow.getAddress(), accepted.length, wrong].join();
}
`;

let tarballFiles: string[] = [];
let expected: { jobTag: bigint; lastHead: bigint; records: number; segments: number };
let output: ConsumerOutput;

beforeAll(async () => {
  // 1. Pack (prepack builds dist/) and install the tarball into a scratch project, offline.
  mkdirSync(packDir);
  mkdirSync(app);
  run("npm", ["pack", "--pack-destination", packDir, "--silent"], REPO_ROOT);
  const { version } = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as {
    version: string;
  };
  const tarball = join(packDir, `meterproof-${version}.tgz`);
  tarballFiles = run("tar", ["-tzf", tarball], packDir)
    .split("\n")
    .filter((f) => f !== "")
    .map((f) => f.replace(/^package\//, ""));
  const spec = `file:${tarball}`;
  writeFileSync(
    join(app, "package.json"),
    JSON.stringify({
      name: "meterproof-consumer",
      private: true,
      type: "module",
      dependencies: { meterproof: spec },
    }),
  );
  writeFileSync(join(app, "package-lock.json"), JSON.stringify(scratchLock(tarball, spec)));
  const install = spawnSync("npm", ["ci", "--offline", "--no-audit", "--no-fund", "--ignore-scripts"], {
    cwd: app,
    env: npmEnv(),
    encoding: "utf8",
  });
  if (install.status !== 0) {
    const log = `${install.stdout}${install.stderr}`;
    throw new Error(
      /ENOTCACHED/.test(log)
        ? `a dependency of meterproof is not in the npm cache, and this test installs without the network; run \`npm ci\` in the repository once with network access to fill the cache:\n${log}`
        : `npm ci --offline of the packed tarball failed:\n${log}`,
    );
  }

  // 2. The fixtures: a signed trace of two segments and their proof bundles (N = 8, cached proofs).
  const { lines } = await syntheticTrace({ records: 16, segmentSize: TEST_CIRCUIT });
  writeFileSync(join(app, "trace.jsonl"), lines.map((l) => JSON.stringify(l) + "\n").join(""));
  const trace = await checkTrace(lines);
  const proven = await proveSegments(trace);
  await closeProver();
  const vkeyPath = circuitArtifacts(TEST_CIRCUIT).vkey;
  const vkeySha256 = "0x" + (await fileSha256(vkeyPath));
  const bundles: ProofBundleJson[] = proven.map((p) =>
    makeBundle(
      trace,
      p.segment,
      { size: TEST_CIRCUIT, vkeySha256 },
      { proof: p.proof, publicSignals: p.publicSignals.map(String) },
    ),
  );
  // A forged bundle: segment 0's statement with segment 1's proof (call data kept consistent),
  // so only the pairing check can refuse it.
  const forged: ProofBundleJson = {
    ...bundles[0]!,
    proof: bundles[1]!.proof,
    calldata: { ...bundles[0]!.calldata, proof: bundles[1]!.calldata.proof },
  };
  const bundlePaths = ["bundle-0.json", "bundle-1.json", "forged.json"];
  [bundles[0], bundles[1], forged].forEach((b, i) =>
    writeFileSync(join(app, bundlePaths[i]!), JSON.stringify(b)),
  );
  writeFileSync(join(app, "vkey.json"), readFileSync(vkeyPath));
  writeFileSync(
    join(app, "input.json"),
    JSON.stringify({
      job: {
        ...JOB,
        chainId: JOB.chainId.toString(),
        jobId: JOB.jobId.toString(),
        terms: { ...JOB.terms, price: JOB.terms.price.toString(), expiry: JOB.terms.expiry.toString() },
      },
      vkeySha256,
      bundles: bundlePaths,
    }),
  );
  expected = {
    jobTag: computeJobTag(JOB),
    lastHead: trace.segments.at(-1)!.newHead,
    records: trace.records.length,
    segments: trace.segments.length,
  };

  // 3. Run the consumer under plain Node: nothing in node_modules is TypeScript.
  writeFileSync(join(app, "consumer.mjs"), CONSUMER_JS);
  output = JSON.parse(run(process.execPath, ["consumer.mjs"], app)) as ConsumerOutput;
}, 240_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("the packed package", () => {
  it("ships dist/ with types, the contract artifacts, circom and native sources, and no TypeScript sources", () => {
    for (const f of [
      "package.json",
      "dist/index.js",
      "dist/index.d.ts",
      "dist/trace/index.js",
      "dist/chain/index.d.ts",
      "dist/contracts/index.js",
      "dist/circuits/circuits.json",
      "dist/prover/proof-worker.js",
      "prover/snarkjs.d.ts",
      "circuits/metered_segment.circom",
      "native/binding.gyp",
      "scripts/build-native.mjs",
      "scripts/ensure-native-deps.mjs",
    ]) {
      expect(tarballFiles, f).toContain(f);
    }
    for (const [name, source] of Object.entries(BOUND_CONTRACTS)) {
      const artifact = `artifacts/${source}/${name}.json`;
      if (source.startsWith("contracts/test/")) expect(tarballFiles).not.toContain(artifact);
      else expect(tarballFiles, artifact).toContain(artifact);
    }
    const sources = tarballFiles.filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"));
    expect(sources).toEqual([]);
    expect(tarballFiles.filter((f) => /^(build|test|cli|setup|worker|cache)\//.test(f))).toEqual([]);
    expect(
      tarballFiles.filter((f) => f.startsWith("artifacts/build-info/") || f.includes("/generated/")),
    ).toEqual([]);
    expect(tarballFiles.length).toBeLessThan(200);
  });

  it("computes the same jobTag as the repository, from the root and from meterproof/trace", () => {
    expect(output.jobTag).toBe(expected.jobTag.toString());
    expect(output.trace.jobTag).toBe(expected.jobTag.toString());
    expect(output.sameFunctionFromSubpath).toBe(true);
  });

  it("checks and audits a trace", () => {
    expect(output.trace).toMatchObject({
      records: expected.records,
      segments: expected.segments,
      lastHead: expected.lastHead.toString(),
    });
    expect(output.audit).toMatchObject({ ok: true, fail: 0, records: expected.records });
  });

  it("verifies proof bundles with a verification key it is given, and names the forged one", () => {
    expect(output.verified.map((r) => [r.source, r.ok])).toEqual([
      ["bundle-0.json", true],
      ["bundle-1.json", true],
      ["forged.json", false],
    ]);
    // The batch with the forged proof fails, so each bundle was checked alone.
    expect(output.verified.map((r) => r.check)).toEqual(["single", "single", "single"]);
    expect(output.verified[2]!.reason).toMatch(/does not verify/);
    expect(output.batch).toEqual([
      { ok: true, check: "batch", batchSize: 2 },
      { ok: true, check: "batch", batchSize: 2 },
    ]);
    expect(output.single.ok).toBe(true);
  });

  it("loads the shipped contract artifacts from the installed package", () => {
    expect(output.contracts.root).toBe(realpathSync(join(app, "node_modules", "meterproof")));
    expect(output.contracts.events).toEqual(["SegmentAccepted", "JobCreated", "Withdrawn"]);
    expect(output.contracts.escrowAbi).toBeGreaterThan(0);
    expect(output.contracts.attached).toBe("0x00000000000000000000000000000000000000e5");
  });

  it("exposes only what package.json exports names", () => {
    expect(output.deepImport).toBe("ERR_PACKAGE_PATH_NOT_EXPORTED");
  });

  it("links a `meterproof` command that says it runs from the repository only", () => {
    const r = spawnSync(join(app, "node_modules", ".bin", "meterproof"), ["--help"], { encoding: "utf8" });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/runs from a checkout of the meterproof repository/);
  });

  it("gives TypeScript consumers working types", () => {
    writeFileSync(join(app, "consumer.ts"), CONSUMER_TS);
    writeFileSync(
      join(app, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "ES2023",
          module: "NodeNext",
          moduleResolution: "NodeNext",
          lib: ["ES2023"],
          strict: true,
          noEmit: true,
          // Check the shipped .d.ts files too, not only their use.
          skipLibCheck: false,
          typeRoots: [join(REPO_ROOT, "node_modules", "@types")],
          types: ["node"],
        },
        files: ["consumer.ts"],
      }),
    );
    run(process.execPath, [join(REPO_ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", "."], app);
  }, 60_000);
});
