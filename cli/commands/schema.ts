import type { Command } from "commander";
import { CliError } from "../output.ts";

export function registerSchema(program: Command): void {
  program
    .command("schema")
    .description(
      "print the JSON Schema of a file format (docs/bundle.schema.json is this output for bundles)",
    )
    .argument("<format>", "bundle")
    .action(async (format: string) => {
      if (format !== "bundle") throw new CliError(`format must be "bundle", got ${JSON.stringify(format)}`);
      const { bundleJsonSchema } = await import("../../trace/index.ts");
      console.log(JSON.stringify(bundleJsonSchema(), null, 2));
    });
}
