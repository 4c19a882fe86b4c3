import type { Command } from "commander";

export function registerKeygen(program: Command): void {
  program
    .command("keygen")
    .description(
      "create a worker signing key (BabyJubjub EdDSA-Poseidon); the file is written with mode 0600",
    )
    .requiredOption("--out <file>", "where to write the key file (never overwritten)")
    .option("--json", "print the key's public part as JSON")
    .action(async (opts: { out: string; json?: boolean }) => {
      const { generateWorkerKey, saveWorkerKey } = await import("../../trace/index.ts");
      const { requireWritableFile } = await import("../paths.ts");
      requireWritableFile("--out", opts.out);
      const key = await generateWorkerKey();
      saveWorkerKey(opts.out, key);
      if (opts.json) {
        const { ax, ay } = key.publicKey;
        console.log(
          JSON.stringify(
            { file: opts.out, workerKeyHash: `${key.keyHash}`, publicKey: { ax: `${ax}`, ay: `${ay}` } },
            null,
            2,
          ),
        );
        return;
      }
      console.log(`wrote ${opts.out}`);
      console.log(`workerKeyHash ${key.keyHash}`);
      console.log(`publicKey.ax  ${key.publicKey.ax}`);
      console.log(`publicKey.ay  ${key.publicKey.ay}`);
    });
}
