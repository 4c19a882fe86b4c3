/**
 * What an on-chain command starts from: the checked options, the contracts' addresses (from
 * flags or a deployment file), the provider and the signer; and how it sends a transaction
 * and reports a revert by its custom error.
 */
import {
  getAddress,
  isAddress,
  isError,
  type ContractTransactionResponse,
  type TransactionReceipt,
  type Wallet,
} from "ethers";
import { decodeContractError } from "../chain/errors.ts";
import { explainContractError } from "../chain/revert-reasons.ts";
import { DeploymentFileError, readDeploymentFile, type DeploymentFile } from "../chain/deployment-file.ts";
import { attachContract } from "../contracts/index.ts";
import { CONTRACT_FLAGS, type ChainOptions, type ContractName } from "./chain-options.ts";
import { CliError, EXIT_FAILED } from "./output.ts";
import { connectRpc, refuseKeyOnCommandLine, signerFor, signingKey, type RpcConnection } from "./wallet.ts";

export interface ChainSession {
  rpc: RpcConnection;
  chainId: bigint;
  deployment?: DeploymentFile;
  /** Checksummed addresses of the contracts the command asked for. */
  addresses: Partial<Record<ContractName, string>>;
  /** The signer; throws for commands opened without `signs`. */
  signer: () => Wallet;
  close: () => void;
}

/** Checks an address option (EIP-55 checksum, or all lower/upper case) and returns it checksummed. */
export function checkAddress(flag: string, value: string): string {
  if (!isAddress(value)) {
    throw new CliError(
      `${flag} must be a 20-byte hex address (0x and 40 hex digits) with a valid EIP-55 checksum or all in one case, got ${JSON.stringify(value)}`,
    );
  }
  return getAddress(value);
}

/**
 * Checks the options, reads the key and the deployment file, then connects. Input errors
 * (exit 2) come before any network traffic.
 */
export async function openSession(
  opts: ChainOptions,
  need: { contracts?: readonly ContractName[]; signs?: boolean },
): Promise<ChainSession> {
  refuseKeyOnCommandLine(opts.privateKey);
  const flagged: Partial<Record<ContractName, string>> = {};
  for (const name of need.contracts ?? []) {
    const value = opts[name];
    if (value !== undefined) flagged[name] = checkAddress(CONTRACT_FLAGS[name], value);
  }
  let deployment: DeploymentFile | undefined;
  if (opts.deployment !== undefined) {
    try {
      deployment = readDeploymentFile(opts.deployment);
    } catch (err) {
      if (err instanceof DeploymentFileError) throw new CliError(`--deployment ${err.message}`);
      throw err;
    }
  }
  const addresses: Partial<Record<ContractName, string>> = {};
  for (const name of need.contracts ?? []) {
    const fromFile = deployment?.addresses[name];
    const fromFlag = flagged[name];
    if (fromFlag !== undefined && fromFile !== undefined && fromFlag !== fromFile) {
      throw new CliError(
        `${CONTRACT_FLAGS[name]} ${fromFlag} differs from the ${name} of --deployment ${opts.deployment} (${fromFile}): give one of them`,
      );
    }
    const address = fromFlag ?? fromFile;
    if (address === undefined) {
      throw new CliError(`give ${CONTRACT_FLAGS[name]} ADDRESS or --deployment FILE`);
    }
    addresses[name] = address;
  }
  const key = need.signs ? await signingKey(opts) : undefined;

  const rpc = await connectRpc(opts.rpc);
  try {
    if (deployment && deployment.chainId !== rpc.chainId) {
      throw new CliError(
        `--deployment ${opts.deployment} is for chain ${deployment.chainId}, but --rpc ${opts.rpc} is chain ${rpc.chainId}`,
      );
    }
    for (const [name, address] of Object.entries(addresses) as [ContractName, string][]) {
      if ((await rpc.provider.getCode(address)) === "0x") {
        throw new CliError(
          `${CONTRACT_FLAGS[name]} ${address}: chain ${rpc.chainId} has no contract at this address`,
        );
      }
    }
  } catch (err) {
    rpc.provider.destroy();
    throw err;
  }
  const wallet = key !== undefined ? signerFor(key, rpc) : undefined;
  return {
    rpc,
    chainId: rpc.chainId,
    ...(deployment ? { deployment } : {}),
    addresses,
    signer: () => {
      if (!wallet) throw new Error("this command was opened without a signer");
      return wallet;
    },
    close: () => rpc.provider.destroy(),
  };
}

/** The address of a contract the session was opened with. */
export function addressOf(session: ChainSession, name: ContractName): string {
  const a = session.addresses[name];
  if (a === undefined) throw new Error(`the session was opened without ${name}`);
  return a;
}

/**
 * Sends a transaction and waits for its receipt. A revert (seen when ethers estimates gas,
 * or in the receipt) becomes a CliError with exit 1 naming the custom error and its arguments.
 */
export async function sendTx(
  label: string,
  send: () => Promise<ContractTransactionResponse>,
  hint?: (errorName: string, args: readonly unknown[]) => string | undefined,
): Promise<TransactionReceipt> {
  let tx: ContractTransactionResponse;
  try {
    tx = await send();
  } catch (err) {
    throw txError(label, err, hint);
  }
  let receipt: TransactionReceipt | null;
  try {
    receipt = await tx.wait();
  } catch (err) {
    throw txError(label, err, hint, tx.hash);
  }
  if (!receipt || receipt.status !== 1) {
    throw new CliError(`${label}: transaction ${tx.hash} reverted`, EXIT_FAILED);
  }
  return receipt;
}

function txError(
  label: string,
  err: unknown,
  hint: ((name: string, args: readonly unknown[]) => string | undefined) | undefined,
  hash?: string,
): Error {
  const where = hash ? ` (transaction ${hash})` : "";
  const decoded = decodeContractError(err);
  if (decoded) {
    const extra = hint?.(decoded.name, [...decoded.args]);
    return new CliError(
      `${label} refused${where}: ${explainContractError(decoded)}${extra ? `; ${extra}` : ""}`,
      EXIT_FAILED,
    );
  }
  if (isError(err, "INSUFFICIENT_FUNDS")) {
    return new CliError(`${label}: the sender cannot pay for gas (${err.shortMessage})`, EXIT_FAILED);
  }
  if (isError(err, "CALL_EXCEPTION")) {
    return new CliError(`${label} reverted${where}: ${err.shortMessage}`, EXIT_FAILED);
  }
  if (
    isError(err, "NONCE_EXPIRED") ||
    isError(err, "REPLACEMENT_UNDERPRICED") ||
    isError(err, "TRANSACTION_REPLACED")
  ) {
    return new CliError(`${label}${where}: ${err.shortMessage}`, EXIT_FAILED);
  }
  return err instanceof Error ? err : new Error(String(err));
}

/** decimals() and symbol() of an ERC-20, each undefined when the token does not answer. */
export async function tokenInfo(
  session: ChainSession,
  address: string,
): Promise<{ decimals?: number; symbol?: string }> {
  const token = attachContract("ComputeCredit", address, session.rpc.provider);
  const [decimals, symbol] = await Promise.all([
    token.decimals().then(Number, () => undefined),
    token.symbol().catch(() => undefined),
  ]);
  return { ...(decimals !== undefined ? { decimals } : {}), ...(symbol !== undefined ? { symbol } : {}) };
}

/** JSON with bigints as decimal strings. */
export function toJsonText(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v), 2);
}
