/**
 * Options shared by the commands that talk to a chain. Light on purpose (commander only):
 * command files add these options when the program is built, and load cli/chain-session.ts,
 * which pulls in ethers, inside their actions.
 */
import { Option, type Command } from "commander";

/** Contracts a command can be pointed at, with the flag that names each. */
export const CONTRACT_FLAGS = {
  escrow: "--escrow",
  registry: "--registry",
  credit: "--credit",
  router: "--router",
} as const;
export type ContractName = keyof typeof CONTRACT_FLAGS;

export interface ChainOptions {
  rpc: string;
  deployment?: string;
  keystore?: string;
  /** Refused with an explanation: keys never come from the command line. */
  privateKey?: string;
  json?: boolean;
  escrow?: string;
  registry?: string;
  credit?: string;
  router?: string;
}

/**
 * Adds --rpc, --deployment, --keystore, --json and one address flag per contract the command
 * uses (each an alternative to --deployment).
 */
export function withChainOptions(
  cmd: Command,
  opts: { contracts?: readonly ContractName[]; signs?: boolean } = {},
): Command {
  cmd.addOption(
    new Option("--rpc <url>", "JSON-RPC endpoint of the chain (or `rpc` in meterproof.config.json)")
      .env("METERPROOF_RPC")
      .makeOptionMandatory(),
  );
  if ((opts.contracts ?? []).length > 0) {
    cmd.addOption(
      new Option(
        "--deployment <file>",
        "deployment file written by `meterproof deploy` (instead of addresses; or `deployment` in the config)",
      ).env("METERPROOF_DEPLOYMENT"),
    );
  }
  for (const name of opts.contracts ?? []) {
    const what = {
      escrow: "ComputeEscrow",
      registry: "WorkerRegistry",
      credit: "ComputeCredit",
      router: "SegmentVerifierRouter",
    }[name];
    cmd.option(`${CONTRACT_FLAGS[name]} <address>`, `${what} address (or take it from --deployment)`);
  }
  if (opts.signs !== false) {
    cmd.addOption(
      new Option(
        "--keystore <file>",
        "encrypted JSON wallet to sign with (password: METERPROOF_KEYSTORE_PASSWORD, or a prompt on a terminal); " +
          "without it the key comes from METERPROOF_PRIVATE_KEY",
      ).env("METERPROOF_KEYSTORE"),
    );
    cmd.addOption(new Option("--private-key <key>").hideHelp());
  }
  cmd.option("--json", "print the result as JSON");
  return cmd;
}
