import { Option, type Command } from "commander";
import { CONFIG_ENV, CONFIG_FILE_NAME } from "../project-config.ts";

/** `meterproof config`: which config file applies and where each setting comes from. */
export function registerConfig(program: Command): void {
  program
    .command("config")
    .description(
      `show the project config (${CONFIG_FILE_NAME}, found from here up, or ${CONFIG_ENV}) and where each ` +
        "chain setting comes from: a flag beats its environment variable, which beats the file",
    )
    .addOption(new Option("--rpc <url>", "JSON-RPC endpoint").env("METERPROOF_RPC"))
    .addOption(new Option("--deployment <file>", "deployment file").env("METERPROOF_DEPLOYMENT"))
    .addOption(new Option("--keystore <file>", "encrypted JSON wallet").env("METERPROOF_KEYSTORE"))
    .option("--json", "print the result as JSON")
    .action(
      async (
        opts: { rpc?: string; deployment?: string; keystore?: string; json?: boolean },
        cmd: Command,
      ) => {
        const { loadProjectConfig, optionSource } = await import("../project-config.ts");
        const config = loadProjectConfig();
        const settings = Object.fromEntries(
          (["rpc", "deployment", "keystore"] as const).map((name) => [
            name,
            opts[name] === undefined ? null : { value: opts[name], from: optionSource(cmd, name, config) },
          ]),
        );
        const worker = config?.worker ?? {};
        if (opts.json) {
          console.log(JSON.stringify({ file: config?.path ?? null, settings, worker }, null, 2));
          return;
        }
        console.log(
          `config file: ${config?.path ?? `none (no ${CONFIG_FILE_NAME} here or above, ${CONFIG_ENV} unset)`}`,
        );
        for (const [name, s] of Object.entries(settings)) {
          console.log(`  ${name.padEnd(11)} ${s ? `${s.value}  (from ${s.from})` : "not set"}`);
        }
        const defaults = Object.entries(worker);
        if (defaults.length > 0) {
          console.log("worker run defaults:");
          for (const [k, v] of defaults) console.log(`  ${k.padEnd(11)} ${String(v)}`);
        }
      },
    );
}
