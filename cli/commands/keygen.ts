import type { Command } from "commander";

export function registerKeygen(program: Command): void {
  program
    .command("keygen")
    .description(
      "create a worker signing key (BabyJubjub EdDSA-Poseidon); the file is written with mode 0600",
    )
    .requiredOption("--out <file>", "where to write the key file (never overwritten)")
    .action(async (opts: { out: string }) => {
      const { generateWorkerKey, saveWorkerKey } = await import("../../trace/index.ts");
      const key = await generateWorkerKey();
      saveWorkerKey(opts.out, key);
      console.log(`wrote ${opts.out}`);
      console.log(`workerKeyHash ${key.keyHash}`);
      console.log(`publicKey.ax  ${key.publicKey.ax}`);
      console.log(`publicKey.ay  ${key.publicKey.ay}`);
    });
}
