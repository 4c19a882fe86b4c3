import type { Command } from "commander";
import { withChainOptions, type ChainOptions } from "../chain-options.ts";
import { CliError, EXIT_FAILED } from "../output.ts";

export function registerCredit(program: Command): void {
  const credit = program
    .command("credit")
    .description("the example ComputeCredit token (symbol CCR; 1 credit = 1 H100-equivalent hour)");
  const mint = credit
    .command("mint")
    .description("mint ComputeCredit to an address (the signer needs MINTER_ROLE: the deployer has it)")
    .requiredOption("--to <address>", "who receives the credits")
    .requiredOption(
      "--amount <amount>",
      "whole credits (e.g. 10 or 0.5) or base units with the suffix `units`",
    );
  withChainOptions(mint, { contracts: ["credit"] }).action(
    async (opts: ChainOptions & { to: string; amount: string }) => {
      const { openSession, addressOf, checkAddress, sendTx, tokenInfo, toJsonText } =
        await import("../chain-session.ts");
      const { parseAmount, toUnits, formatAmount } = await import("../amounts.ts");
      const { attachContract } = await import("../../contracts/index.ts");
      const to = checkAddress("--to", opts.to);
      const amount = parseAmount("--amount", opts.amount);
      const session = await openSession(opts, { contracts: ["credit"], signs: true });
      try {
        const address = addressOf(session, "credit");
        const token = attachContract("ComputeCredit", address, session.signer());
        const info = await tokenInfo(session, address);
        const units = toUnits("--amount", amount, info.decimals);
        if (units === 0n) throw new CliError("--amount must be more than 0");
        const receipt = await sendTx("mint", () => token.mint(to, units));
        if (!receipt) throw new CliError("mint was not mined", EXIT_FAILED);
        if (opts.json) console.log(toJsonText({ to, amount: units, txHash: receipt.hash }));
        else console.log(`minted ${formatAmount(units, info)} to ${to} (tx ${receipt.hash})`);
      } finally {
        session.close();
      }
    },
  );
}
