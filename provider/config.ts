/**
 * The `provider` section of meterproof.config.json: what the agent follows, how it batches and
 * withdraws. Paths are relative to the config file's folder. Every field is checked here, and a
 * bad one is named with its rule (`provider.batch.segments must be …`).
 */
import { z } from "zod";

const positiveInt = (max: number) => z.number().int().min(1).max(max);
const baseUnits = z.string().regex(/^[0-9]+$/, "must be a decimal integer string (token base units)");

/** A job the agent starts `worker run` for itself (instead of following a worker started elsewhere). */
const runSchema = z.strictObject({
  /** Job id in the escrow. */
  job: z.string().regex(/^[0-9]+$/, "must be a decimal job id string"),
  /** Worker key file (meterproof keygen). */
  key: z.string().min(1),
  /** The job's command. */
  command: z.array(z.string().min(1)).min(1),
  /** Payout address bound into the trace (default: the agent's signer). */
  provider: z
    .string()
    .regex(/^0x[0-9a-fA-F]{40}$/, "must be a 20-byte hex address")
    .optional(),
  /** More `worker run` options, e.g. ["--sampler", "proc", "--segment", "128"]. */
  options: z.array(z.string()).default([]),
});

const jobSchema = z.strictObject({
  /** Trace file the worker writes (or will write). */
  trace: z.string().min(1),
  /** Where this trace's bundles go (default: <stateDir>/bundles/<trace file name>). */
  bundles: z.string().min(1).optional(),
  run: runSchema.optional(),
});

export const providerSectionSchema = z.strictObject({
  /** Journal, status file and default bundle folders. */
  stateDir: z.string().min(1).default("provider-state"),
  jobs: z.array(jobSchema).min(1),
  /** Circuit size to prove with (default: each trace's segment size). */
  circuitSize: positiveInt(4096).optional(),
  batch: z
    .strictObject({
      /** K: submit once this many segments are ready… */
      segments: positiveInt(256).default(16),
      /** T: …or once the oldest ready one has waited this long. */
      maxWaitSeconds: z
        .number()
        .min(0)
        .max(7 * 24 * 3600)
        .default(300),
      /** Segments per transaction at most. */
      maxPerTx: positiveInt(256).default(16),
    })
    .default({ segments: 16, maxWaitSeconds: 300, maxPerTx: 16 }),
  withdraw: z
    .strictObject({
      /** Withdraw a token once the escrow owes at least this much of it… */
      threshold: baseUnits.optional(),
      /** …and/or at this interval whenever something is owed. */
      everySeconds: z.number().min(1).optional(),
    })
    .default({}),
  /** redis:// URL: prove on `meterproof prover serve` hosts instead of in this process. */
  queue: z.string().min(1).optional(),
  metricsPort: z.number().int().min(1).max(65535).optional(),
  /** Proof threads of the embedded pool. */
  proverThreads: positiveInt(64).default(1),
  pollSeconds: z.number().min(0.05).max(600).default(2),
  /** How long a sent transaction may stay unmined before it is looked for (and sent again if dropped). */
  confirmSeconds: z.number().min(1).max(3600).default(60),
});

export type ProviderSection = z.output<typeof providerSectionSchema>;

/** Where the section comes from: the project config (cli/project-config.ts) has this shape. */
export interface ConfigSource {
  path: string;
  section(name: string): unknown;
  resolve(p: string): string;
}

/** The agent's settings, with every path absolute. */
export interface ProviderSettings extends Omit<ProviderSection, "jobs" | "stateDir" | "withdraw"> {
  stateDir: string;
  jobs: { trace: string; bundles: string; name: string; run?: z.output<typeof runSchema> }[];
  withdraw: { threshold?: bigint; everySeconds?: number };
}

export class ProviderConfigError extends Error {
  override readonly name = "ProviderConfigError";
}

/** Reads and checks the `provider` section; paths resolved against the config file's folder. */
export function providerSettings(source: ConfigSource): ProviderSettings {
  const raw = source.section("provider");
  if (raw === undefined)
    throw new ProviderConfigError(`${source.path}: has no "provider" section (see docs/provider.md)`);
  const parsed = providerSectionSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = ["provider", ...issue.path].join(".");
    const rule =
      issue.code === "unrecognized_keys" ? `has unknown fields ${issue.keys.join(", ")}` : issue.message;
    throw new ProviderConfigError(`${source.path}: ${field} ${rule}`);
  }
  const s = parsed.data;
  const stateDir = source.resolve(s.stateDir);
  const seen = new Set<string>();
  const jobs = s.jobs.map((j, i) => {
    const trace = source.resolve(j.trace);
    if (seen.has(trace))
      throw new ProviderConfigError(`${source.path}: provider.jobs.${i}.trace names ${trace} a second time`);
    seen.add(trace);
    const name = trace
      .split("/")
      .at(-1)!
      .replace(/(\.(jsonl|trace))+$/, "");
    return {
      trace,
      name,
      bundles: j.bundles ? source.resolve(j.bundles) : `${stateDir}/bundles/${name}`,
      ...(j.run ? { run: { ...j.run, key: source.resolve(j.run.key) } } : {}),
    };
  });
  return {
    ...s,
    stateDir,
    jobs,
    withdraw: {
      ...(s.withdraw.threshold !== undefined ? { threshold: BigInt(s.withdraw.threshold) } : {}),
      ...(s.withdraw.everySeconds !== undefined ? { everySeconds: s.withdraw.everySeconds } : {}),
    },
  };
}
