import type { Command } from "commander";

export function registerKeystore(program: Command): void {
  const keystore = program
    .command("keystore")
    .description(
      "encrypted JSON wallets (the format ethers and geth use) for the on-chain commands' --keystore",
    );
  keystore
    .command("create")
    .description(
      "write an encrypted JSON wallet (scrypt) holding a new random key, or the key in METERPROOF_PRIVATE_KEY " +
        "with --from-env; the password comes from METERPROOF_KEYSTORE_PASSWORD or is typed twice at a prompt",
    )
    .requiredOption("--out <file>", "where to write the wallet (mode 0600, never overwritten)")
    .option("--from-env", "encrypt the key in METERPROOF_PRIVATE_KEY instead of a new random one")
    .action(async (opts: { out: string; fromEnv?: boolean }) => {
      const { Wallet } = await import("ethers");
      const { privateKeyFromEnv, newKeystorePassword, writeKeystore, PRIVATE_KEY_ENV } =
        await import("../wallet.ts");
      const { CliError } = await import("../output.ts");
      const { existsSync } = await import("node:fs");
      if (existsSync(opts.out))
        throw new CliError(`--out ${opts.out} exists: a keystore is never overwritten`);
      let key: string;
      if (opts.fromEnv) {
        const fromEnv = privateKeyFromEnv();
        if (fromEnv === undefined) throw new CliError(`--from-env needs ${PRIVATE_KEY_ENV} to be set`);
        key = fromEnv;
      } else {
        key = Wallet.createRandom().privateKey;
      }
      const password = await newKeystorePassword();
      const address = await writeKeystore(opts.out, key, password);
      console.log(`wrote ${opts.out}`);
      console.log(`address ${address}`);
    });
}
