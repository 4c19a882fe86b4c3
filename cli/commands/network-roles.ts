/**
 * Role checks and changes behind `meterproof network`: every contract is OpenZeppelin
 * AccessControl, so one code path serves the escrow, registry, credit and router.
 */
import { ZeroHash, id } from "ethers";
import { addressOf, openSession, sendTx, type ChainSession } from "../chain-session.ts";
import type { ChainOptions, ContractName } from "../chain-options.ts";
import { attachContract } from "../../contracts/index.ts";
import { CliError, EXIT_FAILED } from "../output.ts";
import { roleName } from "../../chain/revert-reasons.ts";

const BINDING = {
  escrow: "ComputeEscrow",
  registry: "WorkerRegistry",
  credit: "ComputeCredit",
  router: "SegmentVerifierRouter",
} as const;

export const roleHash = (role: string): string => (role === "DEFAULT_ADMIN_ROLE" ? ZeroHash : id(role));

function accessControl(session: ChainSession, name: ContractName) {
  return attachContract(BINDING[name], addressOf(session, name), session.signer());
}

/** Refuses (exit 1, no gas spent) unless the signer holds `role` on `name`. */
export async function requireRole(
  session: ChainSession,
  name: ContractName,
  role: string,
  action: string,
): Promise<void> {
  const me = session.signer().address;
  if (await accessControl(session, name).hasRole(roleHash(role), me)) return;
  throw new CliError(
    `${me} does not hold ${role} on the ${BINDING[name]} (${addressOf(session, name)}), which is needed to ${action}; ` +
      `an account with its admin role grants it (\`meterproof network grant-role ${role} ${me}\`)`,
    EXIT_FAILED,
  );
}

export interface RoleChange {
  contract: ContractName;
  /** Absent when nothing had to be sent. */
  txHash?: string;
}

/** Grants or revokes `role` for `who` on each contract, after checking the signer may. */
export async function changeRole(
  opts: ChainOptions,
  targets: readonly ContractName[],
  role: string,
  who: string,
  grant: boolean,
): Promise<RoleChange[]> {
  const session = await openSession(opts, { contracts: targets, signs: true });
  try {
    const changes: RoleChange[] = [];
    for (const name of targets) {
      const contract = accessControl(session, name);
      const admin = roleName(await contract.getRoleAdmin(roleHash(role)));
      await requireRole(session, name, admin, `${grant ? "grant" : "revoke"} ${role}`);
      if ((await contract.hasRole(roleHash(role), who)) === grant) {
        changes.push({ contract: name });
        continue;
      }
      const label = `${grant ? "grantRole" : "revokeRole"}(${role}) on the ${BINDING[name]}`;
      const receipt = await sendTx(label, () =>
        grant ? contract.grantRole(roleHash(role), who) : contract.revokeRole(roleHash(role), who),
      );
      changes.push({ contract: name, txHash: receipt.hash });
    }
    return changes;
  } finally {
    session.close();
  }
}

/**
 * Makes `to` admin of every contract and, unless `keep`, renounces the signer's admin role,
 * but only on contracts where `to` is seen holding it: the network can never be left without
 * an admin by this command.
 */
export async function handOverAdmin(
  opts: ChainOptions,
  targets: readonly ContractName[],
  to: string,
  flags: { allowEoa: boolean; keep: boolean },
): Promise<{ from: string; granted: RoleChange[]; renounced: RoleChange[] }> {
  const session = await openSession(opts, { contracts: targets, signs: true });
  try {
    const me = session.signer().address;
    if (to === me)
      throw new CliError(`MULTISIG ${to} is the signer itself; name the multisig that takes over`);
    if (!flags.allowEoa && (await session.rpc.provider.getCode(to)) === "0x") {
      throw new CliError(
        `MULTISIG ${to} has no code on chain ${session.chainId}: a multisig is a contract (deploy the Safe first), ` +
          "or pass --allow-eoa to hand over to a single key",
      );
    }
    const granted: RoleChange[] = [];
    for (const name of targets) {
      const contract = accessControl(session, name);
      if (await contract.hasRole(ZeroHash, to)) {
        granted.push({ contract: name });
        continue;
      }
      await requireRole(session, name, "DEFAULT_ADMIN_ROLE", "hand over the admin role");
      const receipt = await sendTx(`grantRole(DEFAULT_ADMIN_ROLE) on the ${BINDING[name]}`, () =>
        contract.grantRole(ZeroHash, to),
      );
      granted.push({ contract: name, txHash: receipt.hash });
    }
    const renounced: RoleChange[] = [];
    if (flags.keep) return { from: me, granted, renounced };
    for (const name of targets) {
      const contract = accessControl(session, name);
      if (!(await contract.hasRole(ZeroHash, to))) {
        throw new CliError(
          `${to} does not hold DEFAULT_ADMIN_ROLE on the ${BINDING[name]} after the grant; nothing renounced there`,
          EXIT_FAILED,
        );
      }
      if (!(await contract.hasRole(ZeroHash, me))) continue;
      const receipt = await sendTx(`renounceRole(DEFAULT_ADMIN_ROLE) on the ${BINDING[name]}`, () =>
        contract.renounceRole(ZeroHash, me),
      );
      renounced.push({ contract: name, txHash: receipt.hash });
    }
    return { from: me, granted, renounced };
  } finally {
    session.close();
  }
}
