/**
 * What `worker run` checks before the job's command starts, beyond the job's terms
 * (cli/worker-job.ts): that the trace it is about to write can be proven here and paid on
 * chain. A GPU-hour metered into a trace that no circuit can prove or no escrow will pay is
 * lost; each refusal names the fix. Checks that need a chain are skipped, and said to be
 * skipped, when no RPC is configured.
 */
import { decodeBytes32String, getAddress, ZeroAddress } from "ethers";
import { existsSync } from "node:fs";
import { CircuitError, readManifest, segmentSpec, specArtifacts, REPO_ROOT } from "../circuits/index.ts";
import { attachContract } from "../contracts/index.ts";
import { CliError, EXIT_FAILED } from "./output.ts";
import { connectRpc } from "./wallet.ts";

/** The checks that ran and the ones that could not, for the start line and --json. */
export interface Prechecks {
  checked: string[];
  skipped: string[];
}

/** Refuses a segment size whose circuit is not set up here (its proofs could not be made). */
export function checkCircuitBuilt(size: number, root = REPO_ROOT): void {
  const spec = segmentSpec(size);
  try {
    readManifest(size, root);
  } catch (err) {
    if (err instanceof CircuitError) {
      throw new CliError(
        `--segment ${size}: the circuit for segments of ${size} records is not set up here, so its traces cannot be ` +
          `proven: run \`${spec.setupCommand}\` first (or pass --no-circuit-check when another machine proves)`,
      );
    }
    throw err;
  }
  const zkey = specArtifacts(spec, root).zkey;
  if (!existsSync(zkey))
    throw new CliError(`--segment ${size}: ${zkey} is missing: run \`${spec.setupCommand}\` again`);
}

const bytes32Text = (v: string): string => {
  try {
    return decodeBytes32String(v);
  } catch {
    return v;
  }
};

/**
 * Checks the worker key against the registry the escrow pays through: registered to the
 * job's provider, active, approved (when the network requires it), with the device class and
 * device this host meters.
 */
export async function checkWorkerOnChain(args: {
  rpc: string;
  escrow: string;
  provider: string;
  workerKeyHash: bigint;
  deviceClass: string;
  deviceUuidHash: string;
  keyFile: string;
}): Promise<string[]> {
  const rpc = await connectRpc(args.rpc);
  try {
    const escrow = attachContract("ComputeEscrow", args.escrow, rpc.provider);
    const registryAddress = await escrow.registry();
    const registry = attachContract("WorkerRegistry", registryAddress, rpc.provider);
    const w = await registry.workerOf(args.workerKeyHash);
    const key = `worker key ${args.workerKeyHash} (--key ${args.keyFile})`;
    if (w.provider === ZeroAddress) {
      throw new CliError(
        `${key} is not registered in the registry ${registryAddress}: the escrow pays no trace it signs; ` +
          "run `meterproof worker register` as the provider first",
        EXIT_FAILED,
      );
    }
    if (getAddress(w.provider) !== getAddress(args.provider)) {
      throw new CliError(
        `${key} is registered to provider ${w.provider}, not --provider ${args.provider}: the escrow pays a worker's ` +
          "time only to its own provider",
        EXIT_FAILED,
      );
    }
    if (!w.active) {
      throw new CliError(
        `${key} is deactivated in the registry: its provider reactivates it first`,
        EXIT_FAILED,
      );
    }
    const billing = await registry.billingOf(args.workerKeyHash);
    if (!billing.approved) {
      throw new CliError(
        `${key} is not approved: this network requires an attestor's approval before a worker bills time ` +
          "(`meterproof worker attest`, then the attestor's `meterproof attest approve`)",
        EXIT_FAILED,
      );
    }
    // Time after the approval lapses is not paid; a job that outlives it needs a new approval.
    const nowSeconds = BigInt(Math.floor(Date.now() / 1000));
    if (billing.approvedUntil <= nowSeconds) {
      throw new CliError(
        `${key}: its approval lapsed at ${new Date(Number(billing.approvedUntil) * 1000).toISOString()}; ` +
          "no time after it is paid: renew it with the attestor (`meterproof worker attest`)",
        EXIT_FAILED,
      );
    }
    if (billing.bond < billing.minimumBond) {
      throw new CliError(
        `${key} has a bond of ${billing.bond} base units and the network's minimum is ${billing.minimumBond}: ` +
          "a worker earns only while bonded (`meterproof worker bond`)",
        EXIT_FAILED,
      );
    }
    const registered = bytes32Text(w.deviceClass);
    if (registered !== args.deviceClass) {
      throw new CliError(
        `the device class here is ${JSON.stringify(args.deviceClass)} and ${key} is registered as ` +
          `${JSON.stringify(registered)}: pass --device-class ${registered} if this is that device, or register a key for this one`,
      );
    }
    if (w.gpuUuidHash.toLowerCase() !== args.deviceUuidHash.toLowerCase()) {
      throw new CliError(
        `this host's device (identity hash ${args.deviceUuidHash}) is not the one ${key} is registered for ` +
          `(${w.gpuUuidHash}): meter the registered GPU (--gpu), or register a key for this device`,
      );
    }
    const weight = await escrow.deviceWeight(w.deviceClass);
    if (weight === 0n) {
      throw new CliError(
        `device class ${JSON.stringify(registered)} has no weight on the escrow's rate card, so its time pays nothing: ` +
          `the network admin sets one (\`meterproof network set-weight ${registered} BPS\`)`,
        EXIT_FAILED,
      );
    }
    return [
      "worker key registered to the provider, active, approved" +
        (billing.approvedUntil < 2n ** 64n - 1n
          ? ` until ${new Date(Number(billing.approvedUntil) * 1000).toISOString()}`
          : "") +
        (billing.minimumBond > 0n ? " and bonded" : ""),
      `device class ${registered} (weight ${weight} bps) and GPU as registered`,
    ];
  } finally {
    rpc.provider.destroy();
  }
}
