/**
 * `meterproof network …`: what a network operator does after `deploy`: set device weights,
 * pause and unpause, grant and revoke roles, and hand the admin role to a multisig. Each
 * command checks the signer's role before it sends, so a missing role is one sentence and no
 * gas; a revert that still happens is decoded like every other command's.
 */
import type { Command } from "commander";
import { withChainOptions, type ChainOptions, type ContractName } from "../chain-options.ts";
import { CliError } from "../output.ts";

/** The contract each role lives on (the admin role lives on all of them). */
const ROLE_HOME: Readonly<Record<string, ContractName>> = {
  PAUSER_ROLE: "escrow",
  ATTESTOR_ROLE: "registry",
  MINTER_ROLE: "credit",
};
const ADMIN_CONTRACTS: readonly ContractName[] = ["escrow", "registry", "credit", "router"];
const CONTRACT_TITLES: Readonly<Record<ContractName, string>> = {
  escrow: "ComputeEscrow",
  registry: "WorkerRegistry",
  credit: "ComputeCredit",
  router: "SegmentVerifierRouter",
};

function roleArg(v: string): string {
  const role = v.toUpperCase();
  if (role !== "DEFAULT_ADMIN_ROLE" && !(role in ROLE_HOME)) {
    throw new CliError(
      `ROLE must be one of DEFAULT_ADMIN_ROLE, ${Object.keys(ROLE_HOME).join(", ")}; got ${JSON.stringify(v)}`,
    );
  }
  return role;
}

/** The contracts a role change applies to: the role's home, or --on for the admin role. */
function contractsFor(role: string, on: string | undefined): ContractName[] {
  if (on !== undefined) {
    const names = on === "all" ? [...ADMIN_CONTRACTS] : on.split(",").map((s) => s.trim());
    for (const n of names) {
      if (!(ADMIN_CONTRACTS as readonly string[]).includes(n))
        throw new CliError(
          `--on must be all or a list of ${ADMIN_CONTRACTS.join(", ")}; got ${JSON.stringify(n)}`,
        );
    }
    if (role !== "DEFAULT_ADMIN_ROLE" && (names.length !== 1 || names[0] !== ROLE_HOME[role]))
      throw new CliError(`--on: ${role} lives on the ${ROLE_HOME[role]} only`);
    return names as ContractName[];
  }
  const home = ROLE_HOME[role];
  if (home === undefined)
    throw new CliError(
      "DEFAULT_ADMIN_ROLE lives on every contract: say where with --on all or --on escrow,…",
    );
  return [home];
}

export function registerNetwork(program: Command): void {
  const network = program
    .command("network")
    .description("operate a deployed network: device weights, pause, roles and the admin hand-over");

  const weight = network
    .command("set-weight")
    .description(
      "set a device class's weight on the rate card, in H100-equivalent basis points (H100 = 10000; at most " +
        "100000). Applies to lanes that start from now on: a running lane keeps the weight it started with",
    )
    .argument("<class>", "device class, as workers register it (e.g. H100, A100, CPU)")
    .argument("<bps>", "weight in basis points (0 takes the class off the rate card)");
  withChainOptions(weight, { contracts: ["escrow"] }).action(
    async (deviceClass: string, bpsText: string, opts: ChainOptions) => {
      if (!/^[0-9]+$/.test(bpsText) || Number(bpsText) > 100_000)
        throw new CliError(`BPS must be a whole number of basis points from 0 to 100000, got ${bpsText}`);
      const { encodeBytes32String } = await import("ethers");
      const classHash = (() => {
        try {
          return encodeBytes32String(deviceClass);
        } catch {
          throw new CliError(`CLASS must be at most 31 bytes, got ${JSON.stringify(deviceClass)}`);
        }
      })();
      const { openSession, addressOf, sendTx, toJsonText } = await import("../chain-session.ts");
      const { attachContract } = await import("../../contracts/index.ts");
      const { requireRole } = await import("./network-roles.ts");
      const session = await openSession(opts, { contracts: ["escrow"], signs: true });
      try {
        const escrow = attachContract("ComputeEscrow", addressOf(session, "escrow"), session.signer());
        await requireRole(session, "escrow", "DEFAULT_ADMIN_ROLE", "set device weights");
        const before = await escrow.deviceWeight(classHash);
        const receipt = await sendTx("setDeviceWeight", () =>
          escrow.setDeviceWeight(classHash, BigInt(bpsText)),
        );
        if (opts.json) {
          console.log(toJsonText({ deviceClass, before, weightBps: Number(bpsText), txHash: receipt.hash }));
          return;
        }
        console.log(`${deviceClass}: ${before} → ${bpsText} bps (tx ${receipt.hash})`);
        console.log("  lanes that start from now on bill at the new weight; running lanes keep theirs");
      } finally {
        session.close();
      }
    },
  );

  for (const paused of [true, false]) {
    const cmd = network
      .command(paused ? "pause" : "unpause")
      .description(
        paused
          ? "pause the escrow: no funding and no accepted segments until unpaused; every paused second extends " +
              "clients' close times, so providers keep their time to submit (PAUSER_ROLE)"
          : "unpause the escrow (PAUSER_ROLE)",
      );
    withChainOptions(cmd, { contracts: ["escrow"] }).action(async (opts: ChainOptions) => {
      const { openSession, addressOf, sendTx, toJsonText } = await import("../chain-session.ts");
      const { attachContract } = await import("../../contracts/index.ts");
      const { requireRole } = await import("./network-roles.ts");
      const session = await openSession(opts, { contracts: ["escrow"], signs: true });
      try {
        const escrow = attachContract("ComputeEscrow", addressOf(session, "escrow"), session.signer());
        await requireRole(session, "escrow", "PAUSER_ROLE", paused ? "pause" : "unpause");
        if ((await escrow.paused()) === paused) {
          if (opts.json) console.log(toJsonText({ paused, changed: false }));
          else console.log(`the escrow is ${paused ? "paused" : "not paused"} already; nothing sent`);
          return;
        }
        const receipt = await sendTx(paused ? "pause" : "unpause", () =>
          paused ? escrow.pause() : escrow.unpause(),
        );
        const total = await escrow.pausedSeconds();
        if (opts.json) {
          console.log(toJsonText({ paused, changed: true, pausedSeconds: total, txHash: receipt.hash }));
          return;
        }
        console.log(`${paused ? "paused" : "unpaused"} the escrow (tx ${receipt.hash})`);
        console.log(`  paused time so far: ${total} s, added to the close time of every job open through it`);
      } finally {
        session.close();
      }
    });
  }

  for (const grant of [true, false]) {
    const cmd = network
      .command(grant ? "grant-role" : "revoke-role")
      .description(
        `${grant ? "grant" : "revoke"} a role: PAUSER_ROLE (escrow), ATTESTOR_ROLE (registry), MINTER_ROLE ` +
          "(credit) or DEFAULT_ADMIN_ROLE (--on all or a list); the signer needs the role's admin role",
      )
      .argument("<role>", "role name", roleArg)
      .argument("<account>", "the account")
      .option(
        "--on <contracts>",
        "for DEFAULT_ADMIN_ROLE: all, or a list of escrow, registry, credit, router",
      );
    withChainOptions(cmd, { contracts: [...ADMIN_CONTRACTS] }).action(
      async (role: string, account: string, opts: ChainOptions & { on?: string }) => {
        const { checkAddress } = await import("../chain-session.ts");
        const who = checkAddress("ACCOUNT", account);
        const targets = contractsFor(role, opts.on);
        const { changeRole } = await import("./network-roles.ts");
        const changes = await changeRole(opts, targets, role, who, grant);
        if (opts.json) {
          const { toJsonText } = await import("../chain-session.ts");
          console.log(toJsonText({ role, account: who, granted: grant, changes }));
          return;
        }
        for (const c of changes) {
          const title = CONTRACT_TITLES[c.contract];
          console.log(
            c.txHash
              ? `${grant ? "granted" : "revoked"} ${role} ${grant ? "to" : "from"} ${who} on ${title} (tx ${c.txHash})`
              : `${who} ${grant ? "holds" : "does not hold"} ${role} on ${title} already; nothing sent`,
          );
        }
      },
    );
  }

  const handOver = network
    .command("hand-over")
    .description(
      "hand the admin role of every contract to MULTISIG (a contract, e.g. a Safe): grant it DEFAULT_ADMIN_ROLE " +
        "on the escrow, registry, credit and router, check it holds them, then renounce the signer's",
    )
    .argument("<multisig>", "the new admin: a contract address")
    .option(
      "--allow-eoa",
      "accept an address without code (not recommended: one key then governs the network)",
    )
    .option("--keep", "grant only; keep the signer's admin role (renounce later with the same command)");
  withChainOptions(handOver, { contracts: [...ADMIN_CONTRACTS] }).action(
    async (multisig: string, opts: ChainOptions & { allowEoa?: boolean; keep?: boolean }) => {
      const { checkAddress, toJsonText } = await import("../chain-session.ts");
      const to = checkAddress("MULTISIG", multisig);
      const { handOverAdmin } = await import("./network-roles.ts");
      const result = await handOverAdmin(opts, [...ADMIN_CONTRACTS], to, {
        allowEoa: opts.allowEoa === true,
        keep: opts.keep === true,
      });
      if (opts.json) {
        console.log(toJsonText({ multisig: to, ...result }));
        return;
      }
      for (const c of result.granted)
        console.log(
          `${CONTRACT_TITLES[c.contract]}: DEFAULT_ADMIN_ROLE ${c.txHash ? `granted (tx ${c.txHash})` : "held already"}`,
        );
      for (const c of result.renounced)
        console.log(
          `${CONTRACT_TITLES[c.contract]}: ${result.from} renounced DEFAULT_ADMIN_ROLE (tx ${c.txHash})`,
        );
      console.log(
        opts.keep
          ? `${to} is admin beside ${result.from}; run again without --keep to renounce`
          : `${to} is now the only admin this key knew of; ${result.from} holds no admin role`,
      );
    },
  );
}
