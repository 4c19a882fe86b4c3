/**
 * The project configuration file, `meterproof.config.json`, found from the working directory
 * up (or named by METERPROOF_CONFIG). It holds what every chain command would otherwise take
 * as flags: the RPC endpoint, the deployment file, the keystore, and the worker's defaults.
 *
 * Precedence, the same for every command: a flag beats its environment variable
 * (METERPROOF_RPC, METERPROOF_DEPLOYMENT, METERPROOF_KEYSTORE), which beats the file. Paths in
 * the file are relative to the file's folder, so a project can be run from any subfolder.
 * Sections other parts own (`provider`, `dashboard`) are read raw here and checked by them.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import type { Command } from "commander";
import { z } from "zod";
import { CliError } from "./output.ts";

export const CONFIG_FILE_NAME = "meterproof.config.json";
export const CONFIG_ENV = "METERPROOF_CONFIG";

const path = z.string().min(1, "must be a non-empty path");
const positiveInt = z.number().int("must be an integer").positive("must be positive");

/** The keys this module reads; other top-level sections are owned by the parts named below. */
const ConfigSchema = z
  .object({
    $schema: z.string().optional(),
    rpc: z
      .string()
      .regex(/^(https?|wss?):\/\//, "must be an http(s):// or ws(s):// URL")
      .optional(),
    deployment: path.optional(),
    keystore: path.optional(),
    worker: z
      .object({
        key: path.optional(),
        segment: positiveInt.optional(),
        intervalMs: positiveInt.optional(),
        sampleMs: positiveInt.optional(),
        deviceClass: z.string().min(1).optional(),
      })
      .strict()
      .optional(),
    provider: z.unknown().optional(),
    dashboard: z.unknown().optional(),
  })
  .strict();

type RawConfig = z.infer<typeof ConfigSchema>;

export interface ProjectConfig {
  /** Absolute path of the file. */
  path: string;
  /** Its folder: relative paths in the file are resolved against it. */
  dir: string;
  rpc?: string;
  /** Absolute. */
  deployment?: string;
  /** Absolute. */
  keystore?: string;
  /** Defaults of `worker run` (the key path absolute). */
  worker: NonNullable<RawConfig["worker"]>;
  /** The raw JSON of a top-level section (`provider`, `dashboard`), undefined when absent. */
  section(name: string): unknown;
  /** A path from the file, resolved against its folder. */
  resolve(p: string): string;
}

/** The config file: METERPROOF_CONFIG when set, else the nearest meterproof.config.json up from cwd. */
export function findConfigFile(
  cwd = process.cwd(),
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  const named = env[CONFIG_ENV];
  if (named !== undefined && named !== "") {
    const file = resolve(cwd, named);
    if (!existsSync(file)) throw new CliError(`${CONFIG_ENV}=${named}: no such file`);
    if (statSync(file).isDirectory()) {
      throw new CliError(`${CONFIG_ENV}=${named}: is a folder; name the ${CONFIG_FILE_NAME} file`);
    }
    return file;
  }
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    const file = join(dir, CONFIG_FILE_NAME);
    if (existsSync(file) && statSync(file).isFile()) return file;
    if (dirname(dir) === dir) return undefined;
  }
}

/** Reads and checks the project config; undefined when there is none. Errors name the file and the key. */
export function loadProjectConfig(
  opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): ProjectConfig | undefined {
  const file = findConfigFile(opts.cwd, opts.env);
  if (file === undefined) return undefined;
  return parseProjectConfig(file, readFileSync(file, "utf8"));
}

export function parseProjectConfig(file: string, text: string): ProjectConfig {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new CliError(`${file}: not valid JSON (${(err as Error).message})`);
  }
  const parsed = ConfigSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const key = issue.path.length > 0 ? issue.path.join(".") : "(top level)";
    const message =
      issue.code === "unrecognized_keys"
        ? `unknown key ${issue.keys.map((k) => JSON.stringify(k)).join(", ")} (known: ${Object.keys(ConfigSchema.shape).join(", ")})`
        : issue.message;
    throw new CliError(`${file}: ${key}: ${message}`);
  }
  const raw = parsed.data;
  const dir = dirname(file);
  const at = (p: string): string => (isAbsolute(p) ? p : join(dir, p));
  const sections = json as Record<string, unknown>;
  return {
    path: file,
    dir,
    ...(raw.rpc !== undefined ? { rpc: raw.rpc } : {}),
    ...(raw.deployment !== undefined ? { deployment: at(raw.deployment) } : {}),
    ...(raw.keystore !== undefined ? { keystore: at(raw.keystore) } : {}),
    worker: { ...raw.worker, ...(raw.worker?.key !== undefined ? { key: at(raw.worker.key) } : {}) },
    section: (name) => sections[name],
    resolve: at,
  };
}

/** Which option (by attribute name) each config value fills, on every command or one only. */
function configValues(config: ProjectConfig, commandPath: string): Record<string, unknown> {
  const everywhere: Record<string, unknown> = {
    rpc: config.rpc,
    deployment: config.deployment,
    keystore: config.keystore,
  };
  if (commandPath !== "worker run") return everywhere;
  return { ...everywhere, ...config.worker };
}

/**
 * Fills options the user did not give from the config file, on every command. Uses
 * commander's "config" source, which environment variables override and flags beat.
 */
export function applyProjectConfig(program: Command, config: ProjectConfig): void {
  const visit = (cmd: Command, path: string[]): void => {
    const values = configValues(config, path.join(" "));
    for (const option of cmd.options) {
      const name = option.attributeName();
      const value = values[name];
      if (value === undefined) continue;
      const source = cmd.getOptionValueSource(name);
      if (source === undefined || source === "default") cmd.setOptionValueWithSource(name, value, "config");
    }
    for (const sub of cmd.commands) visit(sub, [...path, sub.name()]);
  };
  visit(program, []);
}

/** Where an option's value came from, in words for a report ("--rpc", "METERPROOF_RPC", "meterproof.config.json"). */
export function optionSource(
  cmd: Command,
  name: string,
  config: ProjectConfig | undefined,
): string | undefined {
  const source = cmd.getOptionValueSource(name);
  const option = cmd.options.find((o) => o.attributeName() === name);
  if (source === "cli") return option?.long ?? name;
  if (source === "env") return option?.envVar ?? "environment";
  if (source === "config") return config?.path ?? CONFIG_FILE_NAME;
  return source;
}
