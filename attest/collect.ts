/**
 * The provider's side: runs the vendor tool on the host to produce evidence whose report data
 * or nonce is the binding, and packs it as an evidence file. Nothing here is trusted by the
 * attestor; it only saves the provider a round trip when the tool misbehaves.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { attestationBinding } from "./binding.ts";
import { AttestError } from "./errors.ts";
import type { ChallengeFile, EvidenceFile } from "./files.ts";
import { detachedEatSchema, type DetachedEat } from "./nvidia.ts";
import { OFFSET, REPORT_SIZE } from "./sev-snp.ts";

/** Why collection failed on this host (tool missing, tool error): exit 1 in the CLI. */
export class CollectError extends Error {
  override readonly name = "CollectError";
}

export const TOOLS = {
  "sev-snp": {
    tool: "snpguest",
    install:
      "install VirTEE's snpguest (https://github.com/virtee/snpguest, `cargo install snpguest`) in the SEV-SNP guest, or give --tool PATH",
  },
  nvidia: {
    tool: "nvattest",
    install:
      "install NVIDIA's Attestation CLI nvattest (https://docs.nvidia.com/attestation/, part of the nvTrust attestation SDK) on the confidential-computing host, or give --tool PATH",
  },
} as const;
export type CollectFormat = keyof typeof TOOLS;

function run(tool: string, args: string[], format: CollectFormat): string {
  const r = spawnSync(tool, args, { encoding: "utf8", timeout: 300_000, maxBuffer: 64 << 20 });
  if (r.error) {
    if ((r.error as NodeJS.ErrnoException).code === "ENOENT")
      throw new CollectError(`${tool} was not found: ${TOOLS[format].install}`);
    throw new CollectError(`${tool} ${args[0]} could not run: ${r.error.message}`);
  }
  if (r.status !== 0) {
    const last = (r.stderr || r.stdout).trim().split("\n").pop() ?? "";
    throw new CollectError(
      `${tool} ${args[0]} exited with ${r.status ?? r.signal}${last ? `: ${last}` : ""}`,
    );
  }
  return r.stdout;
}

function readIf(path: string): string | undefined {
  return existsSync(path) ? readFileSync(path, "utf8") : undefined;
}

/** `snpguest report` with the binding as request data, then the certificates (host first, then AMD's KDS). */
function collectSevSnp(
  tool: string,
  binding: string,
  processor: string,
): NonNullable<EvidenceFile["sevSnp"]> {
  const dir = mkdtempSync(join(tmpdir(), "meterproof-snp-"));
  try {
    const request = join(dir, "request.bin");
    const reportPath = join(dir, "report.bin");
    const certs = join(dir, "certs");
    writeFileSync(request, Buffer.concat([Buffer.from(binding.slice(2), "hex"), Buffer.alloc(32)]));
    run(tool, ["report", reportPath, request], "sev-snp");
    const report = readFileSync(reportPath);
    if (report.length !== REPORT_SIZE)
      throw new CollectError(
        `${tool} report wrote ${report.length} bytes, not a ${REPORT_SIZE}-byte SEV-SNP report`,
      );
    const data = report.subarray(OFFSET.reportData, OFFSET.reportData + 32).toString("hex");
    if (data !== binding.slice(2))
      throw new AttestError(
        "report REPORT_DATA",
        `is 0x${data}, not the binding ${binding}: the tool ignored the request data`,
      );
    // The host may hand out the certificates with an extended report; otherwise ask AMD's KDS.
    // A cloud host that loaded a VLEK hands it out here too; the report's SIGNING_KEY says which.
    let vcek: string | undefined;
    let vlek: string | undefined;
    try {
      run(tool, ["certificates", "pem", certs], "sev-snp");
      vcek = readIf(join(certs, "vcek.pem"));
      vlek = readIf(join(certs, "vlek.pem"));
    } catch (err) {
      if (err instanceof CollectError && err.message.includes("was not found")) throw err;
    }
    const signingKey = (report.readUInt32LE(OFFSET.flags) >> 2) & 0b111;
    if (signingKey === 1) {
      if (vlek === undefined)
        throw new CollectError(`the report is signed with a VLEK, but ${tool} certificates gave no vlek.pem`);
      const chain = ["asvk.pem", "ark.pem"].map((f) => readIf(join(certs, f)) ?? "").join("");
      return { report: report.toString("base64"), vlek, chain };
    }
    if (vcek === undefined) {
      run(tool, ["fetch", "ca", "pem", certs, processor], "sev-snp");
      run(tool, ["fetch", "vcek", "pem", certs, reportPath], "sev-snp");
      vcek = readIf(join(certs, "vcek.pem"));
    }
    if (vcek === undefined) throw new CollectError(`${tool} wrote no vcek.pem in ${certs}`);
    const chain = ["ask.pem", "ark.pem"].map((f) => readIf(join(certs, f)) ?? "").join("");
    return { report: report.toString("base64"), vcek, chain };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `nvattest attest` with the binding as nonce; its JSON output holds the detached EAT. */
function collectNvidia(tool: string, binding: string, verifier: string): DetachedEat {
  const out = run(
    tool,
    ["attest", "--device", "gpu", "--verifier", verifier, "--nonce", binding.slice(2)],
    "nvidia",
  );
  let doc: unknown;
  try {
    doc = JSON.parse(out);
  } catch {
    throw new CollectError(`${tool} attest printed no JSON`);
  }
  let eat: unknown = Array.isArray(doc) ? doc : (doc as Record<string, unknown>)["detached_eat"];
  if (typeof eat === "string") {
    try {
      eat = JSON.parse(eat);
    } catch {
      throw new CollectError(`${tool} attest: detached_eat is not JSON`);
    }
  }
  const parsed = detachedEatSchema.safeParse(eat);
  if (!parsed.success)
    throw new CollectError(`${tool} attest printed no detached EAT ([["JWT", token], {"GPU-0": token}])`);
  return parsed.data;
}

export interface CollectOptions {
  challenge: ChallengeFile;
  format: CollectFormat;
  /** Path or name of the vendor tool; default the tool's name, looked up on PATH. */
  tool?: string;
  /** sev-snp: processor model for AMD's KDS when the host gives no certificates. */
  processor?: string;
  /** nvidia: nvattest's verifier, `remote` (NRAS) by default. */
  verifier?: string;
  now?: Date;
}

export function collectEvidence(o: CollectOptions): EvidenceFile {
  const ch = o.challenge;
  const binding = attestationBinding({
    workerKeyHash: BigInt(ch.workerKeyHash),
    chainId: BigInt(ch.chainId),
    registry: ch.registry,
    challenge: ch.challenge,
  });
  const tool = o.tool ?? TOOLS[o.format].tool;
  const common = {
    kind: "meterproof-attestation-evidence" as const,
    version: 1 as const,
    workerKeyHash: ch.workerKeyHash,
    chainId: ch.chainId,
    registry: ch.registry,
    challenge: ch.challenge,
    collectedAt: (o.now ?? new Date()).toISOString(),
    tool,
  };
  if (o.format === "sev-snp")
    return { ...common, format: "sev-snp", sevSnp: collectSevSnp(tool, binding, o.processor ?? "milan") };
  return {
    ...common,
    format: "nvidia-nras",
    nvidia: { detachedEat: collectNvidia(tool, binding, o.verifier ?? "remote") },
  };
}
