import type { Command } from "commander";
import { withChainOptions, type ChainOptions } from "../chain-options.ts";
import { CliError, EXIT_FAILED } from "../output.ts";

interface RegisterOptions extends ChainOptions {
  key: string;
  deviceClass: string;
  gpuUuid?: string;
  cpuHost?: boolean;
}

/** `meterproof worker register`: the provider (the signer) registers a worker key in the WorkerRegistry. */
export function registerWorkerRegister(worker: Command): void {
  const cmd = worker
    .command("register")
    .description(
      "register a worker key in the WorkerRegistry; the signer becomes its provider (the address its work pays). " +
        "It proves possession of the key (a Groth16 proof of a signature bound to this chain, registry and " +
        "provider), so nobody else can register it. One key per GPU: the GPU UUID's hash can be registered once",
    )
    .requiredOption("--key <file>", "worker key file (meterproof keygen)")
    .requiredOption(
      "--device-class <class>",
      "rate-card class of the device, e.g. H100 (at most 31 ASCII characters)",
    )
    .option(
      "--gpu-uuid <uuid>",
      "the GPU's UUID exactly as `nvidia-smi -L` prints it (GPU-…); its SHA-256 is registered",
    )
    .option(
      "--cpu-host",
      "a CPU-only host: register the identity the proc sampler writes (SHA-256 of cpu: + machine id)",
    );
  withChainOptions(cmd, { contracts: ["registry"] }).action(async (opts: RegisterOptions) => {
    const { openSession, addressOf, sendTx, toJsonText } = await import("../chain-session.ts");
    const { attachContract } = await import("../../contracts/index.ts");
    const { loadWorkerKey, TraceError } = await import("../../trace/index.ts");
    const { checkDeviceClass, cpuDevice, gpuUuidHash, WorkerError } = await import("../../worker/index.ts");
    const { decodeBytes32String, encodeBytes32String, ZeroAddress, getAddress } = await import("ethers");

    if ((opts.gpuUuid === undefined) === (opts.cpuHost === undefined))
      throw new CliError("give exactly one of --gpu-uuid UUID (a GPU) and --cpu-host (a CPU-only host)");
    if (opts.gpuUuid !== undefined && opts.gpuUuid.trim() === "")
      throw new CliError("--gpu-uuid must not be empty");
    let deviceClass: string;
    try {
      deviceClass = checkDeviceClass(opts.deviceClass);
    } catch (err) {
      throw err instanceof WorkerError ? new CliError(err.message) : err;
    }
    const uuidHash = opts.gpuUuid !== undefined ? gpuUuidHash(opts.gpuUuid) : cpuDevice().uuidHash;
    let key;
    try {
      key = await loadWorkerKey(opts.key);
    } catch (err) {
      throw err instanceof TraceError ? new CliError(`--key ${opts.key}: ${err.message}`) : err;
    }

    const session = await openSession(opts, { contracts: ["registry"], signs: true });
    try {
      const signer = session.signer();
      const registry = attachContract("WorkerRegistry", addressOf(session, "registry"), signer);
      const existing = await registry.workerOf(key.keyHash);
      const classBytes = encodeBytes32String(deviceClass);
      if (existing.provider !== ZeroAddress) {
        const same =
          getAddress(existing.provider) === signer.address &&
          existing.deviceClass === classBytes &&
          existing.gpuUuidHash === uuidHash;
        if (!same)
          throw new CliError(
            `worker key ${key.keyHash} is already registered to provider ${existing.provider} as ` +
              `${decodeBytes32String(existing.deviceClass)} with GPU hash ${existing.gpuUuidHash}; keys are never re-registered`,
            EXIT_FAILED,
          );
        console.log(
          `worker key ${key.keyHash} is already registered to ${signer.address} as ${deviceClass}: nothing to do`,
        );
        return;
      }
      const onGpu = await registry.workerOfGpu(uuidHash);
      if (onGpu !== 0n)
        throw new CliError(
          `this device (hash ${uuidHash}) is already registered for worker key ${onGpu}`,
          EXIT_FAILED,
        );

      const escrowAddress = session.deployment?.addresses.escrow;
      if (escrowAddress !== undefined) {
        const weight = await attachContract(
          "ComputeEscrow",
          escrowAddress,
          session.rpc.provider,
        ).deviceWeight(classBytes);
        if (weight === 0n)
          console.error(
            `meterproof: warning: device class ${deviceClass} has no weight in the escrow's rate card: its segments will be refused (ComputeEscrow__DeviceClassNotRated) until the network sets one`,
          );
      }
      // The registry takes the key only with a proof that the signer's worker holds it.
      const { proveKeyPossession } = await import("../../prover/key-possession.ts");
      let keyProof;
      try {
        keyProof = await proveKeyPossession({
          key,
          chainId: session.chainId,
          registry: await registry.getAddress(),
          provider: signer.address,
        });
      } catch (err) {
        throw new CliError(`proof of key possession: ${(err as Error).message}`, EXIT_FAILED);
      }
      const receipt = await sendTx("registerWorker", () =>
        registry.registerWorker(key.keyHash, classBytes, uuidHash, keyProof.proof),
      );
      const attestation = await registry.requireAttestation();
      const result = {
        workerKeyHash: key.keyHash,
        provider: signer.address,
        deviceClass,
        gpuUuidHash: uuidHash,
        attestationRequired: attestation,
        txHash: receipt.hash,
      };
      if (opts.json) {
        console.log(toJsonText(result));
        return;
      }
      console.log(`registered worker key ${key.keyHash} (tx ${receipt.hash})`);
      console.log(`  provider      ${signer.address}`);
      console.log(`  device class  ${deviceClass}`);
      console.log(`  device hash   ${uuidHash}`);
      if (attestation) console.log("an attestor must approve the key before its segments are paid");
    } finally {
      session.close();
    }
  });
}
