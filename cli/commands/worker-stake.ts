import { InvalidArgumentError, type Command } from "commander";
import { withChainOptions, type ChainOptions } from "../chain-options.ts";
import { CliError } from "../output.ts";
import type { ChainSession } from "../chain-session.ts";
import type { WorkerRegistry } from "../../contracts/index.ts";

/**
 * The registry side of a worker key after registration: the attestor's approve, revoke and
 * revoke-for-cause, the provider's bond, unbond and withdraw-bond, and anyone's status.
 * Thin: each checks its input, sends one transaction (plus an ERC-20 approve for a bond) and
 * reports the event; refusals come back as the contract's custom error.
 */

const FIELD_MODULUS = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;

function keyHashArg(v: string): bigint {
  if (!/^(0x[0-9a-fA-F]+|[0-9]+)$/.test(v))
    throw new InvalidArgumentError("KEYHASH must be the worker key hash, a decimal or 0x hex integer");
  const k = BigInt(v);
  if (k === 0n || k >= FIELD_MODULUS)
    throw new InvalidArgumentError("KEYHASH must be above 0 and below the BN254 field modulus");
  return k;
}

/** A bytes32 option: 0x and 64 hex digits (a hash), or, where `text` allows, ASCII of at most 31 bytes. */
async function bytes32Option(flag: string, v: string, text: boolean): Promise<string> {
  if (/^0x[0-9a-fA-F]{64}$/.test(v)) return v.toLowerCase();
  if (text && v !== "" && /^[\x20-\x7e]{1,31}$/.test(v)) {
    const { encodeBytes32String } = await import("ethers");
    return encodeBytes32String(v);
  }
  throw new CliError(
    `${flag} must be 0x and 64 hex digits${text ? " or printable ASCII of 1 to 31 characters" : ""}, got ${JSON.stringify(v)}`,
  );
}

type Opts = ChainOptions & Record<string, string | boolean | undefined>;

/** Opens a registry session, runs `fn` and closes it. */
async function withRegistry(
  opts: Opts,
  fn: (s: ChainSession, registry: WorkerRegistry) => Promise<void>,
): Promise<void> {
  const { openSession, addressOf } = await import("../chain-session.ts");
  const { attachContract } = await import("../../contracts/index.ts");
  const session = await openSession(opts, { contracts: ["registry"], signs: true });
  try {
    await fn(session, attachContract("WorkerRegistry", addressOf(session, "registry"), session.signer()));
  } finally {
    session.close();
  }
}

/** Prints `result` as JSON, or `lines` as text. */
async function report(opts: Opts, result: Record<string, unknown>, lines: string[]): Promise<void> {
  const { toJsonText } = await import("../chain-session.ts");
  if (opts.json) console.log(toJsonText(result));
  else for (const l of lines) console.log(l);
}

/** The bond token's amount of an option, in base units, with the token's decimals. */
async function bondAmount(session: ChainSession, registry: WorkerRegistry, flag: string, text: string) {
  const { parseAmount, toUnits, checkAmountRange } = await import("../amounts.ts");
  const { tokenInfo } = await import("../chain-session.ts");
  const spec = parseAmount(flag, text);
  const token = (await registry.stakeTerms()).token;
  if (/^0x0{40}$/.test(token))
    throw new CliError("this registry has no bond token: the network has bonds off", 1);
  const info = await tokenInfo(session, token);
  const units = checkAmountRange(flag, toUnits(flag, spec, info.decimals), (1n << 128n) - 1n, "2^128-1");
  return { token, info, units };
}

export function registerWorkerStake(worker: Command): void {
  const approve = worker
    .command("approve")
    .description(
      "approve a worker key in the WorkerRegistry after checking its attestation evidence (attestor role): it may " +
        "bill windows that end by --expires. One key per attested device: another key's current approval for " +
        "--device-id-hash refuses this one",
    )
    .argument("<keyhash>", "worker key hash (decimal or 0x hex)", keyHashArg)
    .requiredOption(
      "--expires <time>",
      "approval expiry: unix seconds, or +duration after the latest block (+30d)",
    )
    .requiredOption("--evidence-hash <hash>", "hash of the evidence checked (0x and 64 hex digits)")
    .option(
      "--device-id-hash <hash>",
      "hash of the attested device identity (omit when the evidence has none)",
    );
  withChainOptions(approve, { contracts: ["registry"] }).action(async (key: bigint, opts: Opts) => {
    const evidence = await bytes32Option("--evidence-hash", String(opts.evidenceHash), false);
    const device =
      opts.deviceIdHash === undefined
        ? "0x" + "0".repeat(64)
        : await bytes32Option("--device-id-hash", String(opts.deviceIdHash), false);
    const { parseExpiry } = await import("../amounts.ts");
    const { sendTx } = await import("../chain-session.ts");
    await withRegistry(opts, async (session, registry) => {
      const latest = await session.rpc.provider.getBlock("latest");
      const expires = parseExpiry("--expires", String(opts.expires), latest!.timestamp);
      if (expires >= 1n << 64n) throw new CliError("--expires must fit 64 bits");
      const receipt = await sendTx("approveWorker", () =>
        registry.approveWorker(key, expires, evidence, device),
      );
      const result = {
        workerKeyHash: key,
        expiresAt: expires,
        evidenceHash: evidence,
        deviceIdHash: device,
        txHash: receipt.hash,
      };
      await report(opts, result, [
        `approved worker key ${key} until ${new Date(Number(expires) * 1000).toISOString()} (tx ${receipt.hash})`,
        `  evidence hash   ${evidence}`,
        `  device id hash  ${device}`,
      ]);
    });
  });

  const revoke = worker
    .command("revoke")
    .description(
      "revoke a worker key's approval at once (attestor role): none of its segments are billed from now on",
    )
    .argument("<keyhash>", "worker key hash (decimal or 0x hex)", keyHashArg)
    .requiredOption(
      "--reason <reason>",
      "a short ASCII reason (at most 31 characters) or a 0x 32-byte evidence hash",
    );
  withChainOptions(revoke, { contracts: ["registry"] }).action(async (key: bigint, opts: Opts) => {
    const reason = await bytes32Option("--reason", String(opts.reason), true);
    const { sendTx } = await import("../chain-session.ts");
    await withRegistry(opts, async (_s, registry) => {
      const receipt = await sendTx("revokeWorker", () => registry.revokeWorker(key, reason));
      await report(opts, { workerKeyHash: key, reason, txHash: receipt.hash }, [
        `revoked the approval of worker key ${key} (reason ${reason}, tx ${receipt.hash})`,
      ]);
    });
  });

  const cause = worker
    .command("revoke-for-cause")
    .description(
      "revoke a worker key for cause (attestor role): it is switched off for good, its whole bond is slashed " +
        "(the reporter's share to --reporter, the rest to the treasury or burned) and its payouts still in the " +
        "challenge window go back to their jobs (`meterproof withdraw` or anyone's settlePending moves them)",
    )
    .argument("<keyhash>", "worker key hash (decimal or 0x hex)", keyHashArg)
    .requiredOption("--evidence-hash <hash>", "hash of the evidence of the violation (0x and 64 hex digits)")
    .requiredOption("--reporter <address>", "who reported it: receives the reporter's share of the bond");
  withChainOptions(cause, { contracts: ["registry"] }).action(async (key: bigint, opts: Opts) => {
    const evidence = await bytes32Option("--evidence-hash", String(opts.evidenceHash), false);
    const { sendTx, checkAddress } = await import("../chain-session.ts");
    const { decodeEvents } = await import("../../chain/events.ts");
    const reporter = checkAddress("--reporter", String(opts.reporter));
    await withRegistry(opts, async (_s, registry) => {
      const receipt = await sendTx("revokeForCause", () => registry.revokeForCause(key, evidence, reporter));
      const ev = decodeEvents(receipt.logs).find((e) => e.name === "WorkerSlashed")?.args ?? {};
      const result = {
        workerKeyHash: key,
        evidenceHash: evidence,
        reporter,
        toReporter: ev.toReporter,
        toTreasury: ev.toTreasury,
        txHash: receipt.hash,
      };
      await report(opts, result, [
        `revoked worker key ${key} for cause (tx ${receipt.hash})`,
        `  slashed: ${String(ev.toReporter)} units to the reporter ${reporter}, ${String(ev.toTreasury)} units to the treasury`,
      ]);
    });
  });

  const bond = worker
    .command("bond")
    .description(
      "add to a worker key's bond in the network's bond token (its provider): approves the registry if needed",
    )
    .argument("<keyhash>", "worker key hash (decimal or 0x hex)", keyHashArg)
    .requiredOption("--amount <amount>", "in whole tokens (100) or base units (100units)");
  withChainOptions(bond, { contracts: ["registry"] }).action(async (key: bigint, opts: Opts) => {
    const { sendTx } = await import("../chain-session.ts");
    const { formatAmount } = await import("../amounts.ts");
    const { attachContract } = await import("../../contracts/index.ts");
    await withRegistry(opts, async (session, registry) => {
      const { token, info, units } = await bondAmount(session, registry, "--amount", String(opts.amount));
      const signer = session.signer();
      const erc20 = attachContract("ComputeCredit", token, signer);
      const spender = await registry.getAddress();
      if ((await erc20.allowance(signer.address, spender)) < units) {
        const r = await sendTx("approve", () => erc20.approve(spender, units));
        (opts.json ? console.error : console.log)(
          `approved the registry to take ${formatAmount(units, info)} (tx ${r.hash})`,
        );
      }
      const receipt = await sendTx("bond", () => registry.bond(key, units));
      const stake = await registry.stakeOf(key);
      const { minimumBond } = await registry.stakeTerms();
      await report(
        opts,
        { workerKeyHash: key, amount: units, bonded: stake.bonded, minimumBond, txHash: receipt.hash },
        [
          `bonded ${formatAmount(units, info)} to worker key ${key} (tx ${receipt.hash})`,
          `  bond now ${formatAmount(stake.bonded, info)}; the network's minimum is ${formatAmount(minimumBond, info)}`,
        ],
      );
    });
  });

  const unbond = worker
    .command("unbond")
    .description(
      "start taking stake out of a worker key's bond (its provider): it stops counting towards the minimum at once " +
        "and can be withdrawn with `worker withdraw-bond` after the network's unbond delay",
    )
    .argument("<keyhash>", "worker key hash (decimal or 0x hex)", keyHashArg)
    .requiredOption("--amount <amount>", "in whole tokens (100) or base units (100units)");
  withChainOptions(unbond, { contracts: ["registry"] }).action(async (key: bigint, opts: Opts) => {
    const { sendTx } = await import("../chain-session.ts");
    const { formatAmount } = await import("../amounts.ts");
    await withRegistry(opts, async (session, registry) => {
      const { info, units } = await bondAmount(session, registry, "--amount", String(opts.amount));
      const receipt = await sendTx("requestUnbond", () => registry.requestUnbond(key, units));
      const stake = await registry.stakeOf(key);
      await report(
        opts,
        {
          workerKeyHash: key,
          amount: units,
          unbonding: stake.unbonding,
          unbondableAt: stake.unbondableAt,
          txHash: receipt.hash,
        },
        [
          `unbonding ${formatAmount(stake.unbonding, info)} of worker key ${key}, withdrawable from ${new Date(Number(stake.unbondableAt) * 1000).toISOString()} (tx ${receipt.hash})`,
        ],
      );
    });
  });

  const withdrawBond = worker
    .command("withdraw-bond")
    .description("send the provider a worker key's unbonding stake once the unbond delay has passed")
    .argument("<keyhash>", "worker key hash (decimal or 0x hex)", keyHashArg);
  withChainOptions(withdrawBond, { contracts: ["registry"] }).action(async (key: bigint, opts: Opts) => {
    const { sendTx } = await import("../chain-session.ts");
    const { decodeEvents } = await import("../../chain/events.ts");
    await withRegistry(opts, async (_s, registry) => {
      const receipt = await sendTx("withdrawUnbonded", () => registry.withdrawUnbonded(key));
      const amount = decodeEvents(receipt.logs).find((e) => e.name === "Unbonded")?.args.amount;
      await report(opts, { workerKeyHash: key, amount, txHash: receipt.hash }, [
        `withdrew ${String(amount)} units of unbonded stake of worker key ${key} (tx ${receipt.hash})`,
      ]);
    });
  });

  const status = worker
    .command("status")
    .description(
      "show a worker key's registration, approval (expiry, evidence, device), stake and whether it may bill now",
    )
    .argument("<keyhash>", "worker key hash (decimal or 0x hex)", keyHashArg);
  withChainOptions(status, { contracts: ["registry"], signs: false }).action(
    async (key: bigint, opts: Opts) => {
      const { openSession, addressOf, toJsonText } = await import("../chain-session.ts");
      const { attachContract } = await import("../../contracts/index.ts");
      const session = await openSession(opts, { contracts: ["registry"] });
      try {
        const registry = attachContract(
          "WorkerRegistry",
          addressOf(session, "registry"),
          session.rpc.provider,
        );
        const [w, a, s, b, terms] = await Promise.all([
          registry.workerOf(key),
          registry.approvalOf(key),
          registry.stakeOf(key),
          registry.billingOf(key),
          registry.stakeTerms(),
        ]);
        if (/^0x0{40}$/.test(w.provider)) throw new CliError(`worker key ${key} is not registered`, 1);
        const now = BigInt((await session.rpc.provider.getBlock("latest"))!.timestamp);
        const refusal = !b.active
          ? s.slashedAt !== 0n
            ? "revoked for cause"
            : "switched off"
          : !b.approved
            ? "not approved"
            : b.approvedUntil <= now
              ? "approval lapsed"
              : b.bond < b.minimumBond
                ? "bond below the minimum"
                : undefined;
        const result = {
          workerKeyHash: key,
          provider: w.provider,
          active: w.active,
          approved: w.approved,
          approval: {
            expiresAt: a.expiresAt,
            attestor: a.attestor,
            evidenceHash: a.evidenceHash,
            deviceIdHash: a.deviceIdHash,
          },
          stake: {
            bonded: s.bonded,
            unbonding: s.unbonding,
            unbondableAt: s.unbondableAt,
            slashedAt: s.slashedAt,
          },
          minimumBond: terms.minimumBond,
          challengeWindow: terms.challengeWindow,
          billable: refusal === undefined,
          ...(refusal !== undefined ? { refusal } : {}),
        };
        if (opts.json) {
          console.log(toJsonText(result));
          return;
        }
        const when = (t: bigint) => (t === 0n ? "-" : new Date(Number(t) * 1000).toISOString());
        console.log(
          `worker key ${key} of provider ${w.provider}: ${refusal === undefined ? "may bill new time" : `may not bill (${refusal})`}`,
        );
        console.log(
          `  approval  ${w.approved ? "approved" : "not approved"}, expires ${when(a.expiresAt)}, evidence ${a.evidenceHash}, device ${a.deviceIdHash}`,
        );
        console.log(
          `  stake     bonded ${s.bonded} units (minimum ${terms.minimumBond}), unbonding ${s.unbonding} units from ${when(s.unbondableAt)}${s.slashedAt !== 0n ? `, slashed at ${when(s.slashedAt)}` : ""}`,
        );
      } finally {
        session.close();
      }
    },
  );
}
