/**
 * Where every on-chain command gets its provider and signer. The key comes from
 * METERPROOF_PRIVATE_KEY or from an encrypted JSON wallet (--keystore) whose password comes
 * from METERPROOF_KEYSTORE_PASSWORD or, on a terminal only, a hidden prompt. A key is never
 * read from the command line: arguments end up in shell history and in `ps` output.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { JsonRpcProvider, Network, Wallet } from "ethers";
import { CliError, EXIT_BAD_INPUT } from "./output.ts";

export const PRIVATE_KEY_ENV = "METERPROOF_PRIVATE_KEY";
export const KEYSTORE_PASSWORD_ENV = "METERPROOF_KEYSTORE_PASSWORD";
const RPC_TIMEOUT_MS = 15_000;

/** A reachable JSON-RPC endpoint. */
export interface RpcConnection {
  url: string;
  chainId: bigint;
  provider: JsonRpcProvider;
}

/**
 * Checks that `url` answers eth_chainId, then returns a provider pinned to that chain (ethers
 * would otherwise retry an unreachable endpoint forever, printing to the console).
 */
export async function connectRpc(url: string, flag = "--rpc"): Promise<RpcConnection> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new CliError(`${flag} must be an http:// or https:// URL, got ${JSON.stringify(url)}`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new CliError(`${flag} must be an http:// or https:// URL, got ${JSON.stringify(url)}`);
  }
  let chainId: bigint;
  try {
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
      signal: AbortSignal.timeout(RPC_TIMEOUT_MS),
    });
    if (!res.ok) throw new Error(`HTTP ${res.status} ${res.statusText}`);
    const body = (await res.json()) as { result?: unknown; error?: { message?: string } };
    if (typeof body.result !== "string") {
      throw new Error(body.error?.message ?? "the answer to eth_chainId holds no result");
    }
    chainId = BigInt(body.result);
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    const why =
      e.name === "TimeoutError"
        ? `no answer within ${RPC_TIMEOUT_MS / 1000} s`
        : (e.cause?.code ?? e.cause?.message ?? e.message);
    throw new CliError(`cannot reach the JSON-RPC endpoint ${flag} ${url}: ${why}`);
  }
  const network = Network.from(chainId);
  const provider = new JsonRpcProvider(url, network, {
    staticNetwork: network,
    pollingInterval: 1000,
    // ethers reuses an identical request's answer for 250 ms by default: a second transaction sent right
    // after a first would get the same (now used) nonce.
    cacheTimeout: -1,
  });
  return { url, chainId, provider };
}

/** Rejects the hidden --private-key option with the reason. */
export function refuseKeyOnCommandLine(given: string | undefined): void {
  if (given !== undefined) {
    throw new CliError(
      `--private-key is not accepted: a key on the command line ends up in shell history and in the process list; ` +
        `set ${PRIVATE_KEY_ENV} or use --keystore FILE (see \`meterproof keystore create\`)`,
    );
  }
}

/** The 0x-prefixed key in METERPROOF_PRIVATE_KEY, checked; undefined when unset. */
export function privateKeyFromEnv(): string | undefined {
  const raw = process.env[PRIVATE_KEY_ENV]?.trim();
  if (raw === undefined || raw === "") return undefined;
  const hex = raw.startsWith("0x") || raw.startsWith("0X") ? raw.slice(2) : raw;
  // Never echo the value: say only what is wrong with its shape.
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) {
    throw new CliError(
      `${PRIVATE_KEY_ENV} must be a private key of 64 hex digits (optionally 0x-prefixed); it holds ${raw.length} characters that are not one`,
    );
  }
  if (/^0+$/.test(hex)) throw new CliError(`${PRIVATE_KEY_ENV} must not be zero`);
  return `0x${hex.toLowerCase()}`;
}

/**
 * The signing key: decrypted from --keystore when given, else METERPROOF_PRIVATE_KEY. Fails
 * (exit 2) naming both ways when neither is there.
 */
export async function signingKey(opts: { keystore?: string; privateKey?: string }): Promise<string> {
  refuseKeyOnCommandLine(opts.privateKey);
  if (opts.keystore !== undefined) return (await readKeystore(opts.keystore)).privateKey;
  const key = privateKeyFromEnv();
  if (key === undefined) {
    throw new CliError(
      `no signing key: set ${PRIVATE_KEY_ENV}, or give --keystore FILE (an encrypted JSON wallet; ` +
        `password in ${KEYSTORE_PASSWORD_ENV} or typed at a prompt)`,
    );
  }
  return key;
}

/** Decrypts an ethers encrypted JSON wallet. */
export async function readKeystore(path: string): Promise<Wallet> {
  let json: string;
  try {
    json = readFileSync(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CliError(
      `--keystore ${path}: ${code === "ENOENT" ? "no such file" : `cannot read it (${code})`}`,
    );
  }
  try {
    JSON.parse(json);
  } catch {
    throw new CliError(`--keystore ${path}: must be an encrypted JSON wallet (JSON), and it is not JSON`);
  }
  const fromEnv = process.env[KEYSTORE_PASSWORD_ENV];
  const password = fromEnv ?? (await promptHidden(`password for ${path}: `, "--keystore"));
  try {
    const wallet = await Wallet.fromEncryptedJson(json, password);
    return wallet as Wallet;
  } catch (err) {
    const msg = (err as Error).message;
    if (/password/i.test(msg)) {
      throw new CliError(
        `--keystore ${path}: wrong password${fromEnv !== undefined ? ` (from ${KEYSTORE_PASSWORD_ENV})` : ""}`,
      );
    }
    throw new CliError(`--keystore ${path}: not an encrypted JSON wallet ethers can read (${msg})`);
  }
}

/** Encrypts a key into an ethers JSON wallet file, mode 0600, never overwriting a file. */
export async function writeKeystore(path: string, privateKey: string, password: string): Promise<string> {
  const wallet = new Wallet(privateKey);
  const json = await wallet.encrypt(password);
  try {
    writeFileSync(path, json + "\n", { flag: "wx", mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") {
      throw new CliError(`--out ${path} exists: a keystore is never overwritten`);
    }
    throw err;
  }
  return wallet.address;
}

/** A new keystore's password: METERPROOF_KEYSTORE_PASSWORD, or typed twice at a prompt. */
export async function newKeystorePassword(): Promise<string> {
  const fromEnv = process.env[KEYSTORE_PASSWORD_ENV];
  if (fromEnv !== undefined) {
    if (fromEnv.length === 0) throw new CliError(`${KEYSTORE_PASSWORD_ENV} must not be empty`);
    return fromEnv;
  }
  const first = await promptHidden("new keystore password: ", "keystore create");
  if (first.length === 0) throw new CliError("the keystore password must not be empty");
  const again = await promptHidden("repeat the password: ", "keystore create");
  if (again !== first) throw new CliError("the two passwords differ");
  return first;
}

/** Reads a line from the terminal without echoing it; refuses when stdin is not a terminal. */
export function promptHidden(question: string, needer: string): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY) {
    return Promise.reject(
      new CliError(
        `${needer} needs a keystore password: set ${KEYSTORE_PASSWORD_ENV} (stdin is not a terminal, so there is no prompt)`,
      ),
    );
  }
  process.stderr.write(question);
  return new Promise((resolve, reject) => {
    let value = "";
    const finish = () => {
      stdin.off("data", onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write("\n");
    };
    const onData = (chunk: Buffer) => {
      for (const ch of chunk.toString("utf8")) {
        if (ch === "\r" || ch === "\n" || ch === "\u0004") {
          finish();
          resolve(value);
          return;
        }
        if (ch === "\u0003") {
          finish();
          reject(new CliError("interrupted", EXIT_BAD_INPUT));
          return;
        }
        if (ch === "\u007f" || ch === "\b") value = value.slice(0, -1);
        else value += ch;
      }
    };
    stdin.setRawMode(true);
    stdin.resume();
    stdin.on("data", onData);
  });
}

/** A wallet on the connected provider. */
export function signerFor(key: string, rpc: RpcConnection): Wallet {
  return new Wallet(key, rpc.provider);
}
