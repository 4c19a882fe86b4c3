import { readFileSync } from "node:fs";
import { join } from "node:path";
import { AbiCoder, encodeBytes32String, id, ZeroHash, type Result, type Signer } from "ethers";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { deployMeterproof, DEFAULT_RATE_CARD, type MeterproofDeployment } from "../chain/deploy.ts";
import { decodeContractError } from "../chain/errors.ts";
import { decodeEvents } from "../chain/events.ts";
import { buildSubmission, parseSolidityCallData, submissionFromBundle } from "../chain/submission.ts";
import { attachContract, REPO_ROOT } from "../contracts/index.ts";
import { proveKeyPossession } from "../prover/key-possession.ts";
import { FIELD_MODULUS, registrationBinding, TraceError, type WorkerKey } from "../trace/index.ts";
import { generateBindings } from "../scripts/contract-bindings.ts";
import { meterproofModule } from "../ignition/modules/Meterproof.ts";
import { expectCustomError } from "./helpers/expect-custom-error.ts";
import { chainControl, connectHardhat } from "./helpers/hardhat.ts";
import { testWorkerKey } from "./helpers/segment-proof.ts";

type Connection = Awaited<ReturnType<typeof connectHardhat>>;
type Account = Signer & { address: string };

let connection: Connection;
let chain: ReturnType<typeof chainControl>;
let d: MeterproofDeployment;
let admin: Account, provider: Account, other: Account, attestor: Account;
let k1: WorkerKey, k2: WorkerKey;
let snapshot: string;

const H100 = encodeBytes32String("H100");
const FAR_FUTURE = 4_000_000_000n;
const EVIDENCE = id("attestation report");
const gpu = (n: number) => "0x" + n.toString(16).padStart(64, "0");

beforeAll(async () => {
  connection = await connectHardhat();
  chain = chainControl(connection);
  [admin, provider, other, attestor] = (await connection.ethers.getSigners()) as [
    Account,
    Account,
    Account,
    Account,
  ];
  d = await deployMeterproof({ signer: admin, circuitSizes: [8] });
  [k1, k2] = [await testWorkerKey("registry-1"), await testWorkerKey("registry-2")];
  await (await d.registry.grantRole(await d.registry.ATTESTOR_ROLE(), attestor.address)).wait();
  snapshot = await chain.snapshot();
});
beforeEach(async () => {
  await chain.revert(snapshot);
  snapshot = await chain.snapshot();
});
afterAll(async () => {
  await connection?.close();
});

/** Proof words that verify for nothing: for refusals the registry makes before it checks the proof. */
const NO_PROOF = Array<bigint>(8).fill(0n);

/** A proof that `signer`'s worker holds `key`, for this deployment's registry (or `registry`). */
async function keyProof(signer: Account, key: WorkerKey, registry = d.addresses.registry): Promise<bigint[]> {
  const { proof } = await proveKeyPossession({ key, chainId: d.chainId, registry, provider: signer.address });
  return proof;
}

async function register(signer: Account, key: WorkerKey, gpuN: number) {
  return (
    await d.registry.connect(signer).registerWorker(key.keyHash, H100, gpu(gpuN), await keyProof(signer, key))
  ).wait();
}

describe("WorkerRegistry", () => {
  it("registers a worker for its provider, with events and the billing view", async () => {
    const receipt = await register(provider, k1, 1);
    const [event] = decodeEvents(receipt!.logs);
    expect(event?.name).toBe("WorkerRegistered");
    expect(event?.args).toMatchObject({
      workerKeyHash: k1.keyHash,
      provider: provider.address,
      deviceClass: H100,
      gpuUuidHash: gpu(1),
    });

    const w = (await d.registry.workerOf(k1.keyHash)) as unknown as Result;
    expect(w.toObject()).toMatchObject({
      provider: provider.address,
      active: true,
      approved: false,
      deviceClass: H100,
      gpuUuidHash: gpu(1),
    });
    expect(await d.registry.workerOfGpu(gpu(1))).toBe(k1.keyHash);
    expect([...(await d.registry.billingStatus(k1.keyHash))]).toEqual([provider.address, H100, true, true]);
    expect([...(await d.registry.billingStatus(999n))]).toEqual([
      "0x0000000000000000000000000000000000000000",
      encodeBytes32String(""),
      false,
      true,
    ]);
  });

  it("refuses bad keys, duplicates and a GPU registered twice", async () => {
    const registry = d.registry.connect(provider);
    await expectCustomError(
      registry.registerWorker(0n, H100, gpu(1), NO_PROOF),
      "WorkerRegistry__InvalidKeyHash",
      [0n],
    );
    await expectCustomError(
      registry.registerWorker(FIELD_MODULUS, H100, gpu(1), NO_PROOF),
      "WorkerRegistry__InvalidKeyHash",
      [FIELD_MODULUS],
    );
    await expectCustomError(
      registry.registerWorker(k1.keyHash, encodeBytes32String(""), gpu(1), NO_PROOF),
      "WorkerRegistry__EmptyDeviceClass",
      [],
    );
    await expectCustomError(
      registry.registerWorker(k1.keyHash, H100, gpu(0), NO_PROOF),
      "WorkerRegistry__EmptyGpuUuidHash",
      [],
    );
    await register(provider, k1, 1);
    await expectCustomError(
      d.registry.connect(other).registerWorker(k1.keyHash, H100, gpu(2), NO_PROOF),
      "WorkerRegistry__AlreadyRegistered",
      [k1.keyHash],
    );
    await expectCustomError(
      registry.registerWorker(k2.keyHash, H100, gpu(1), NO_PROOF),
      "WorkerRegistry__GpuAlreadyRegistered",
      [gpu(1), k1.keyHash],
    );
  });

  it("takes a key only with a proof of possession bound to this chain, registry and caller", async () => {
    const binding = await d.registry.keyBinding(provider.address);
    expect(binding).toBe(
      registrationBinding({ chainId: d.chainId, registry: d.addresses.registry, provider: provider.address }),
    );
    const proof = await keyProof(provider, k1);
    // A front-runner who copies the provider's transaction: the proof is bound to the provider.
    await expectCustomError(
      d.registry.connect(other).registerWorker(k1.keyHash, H100, gpu(1), proof),
      "WorkerRegistry__InvalidKeyProof",
      [k1.keyHash, await d.registry.keyBinding(other.address)],
    );
    // Somebody else's key hash with one's own proof.
    await expectCustomError(
      d.registry.connect(provider).registerWorker(k2.keyHash, H100, gpu(1), proof),
      "WorkerRegistry__InvalidKeyProof",
      [k2.keyHash, binding],
    );
    // A proof made for another registry (or chain) does not carry over.
    const elsewhere = await keyProof(provider, k1, other.address);
    await expectCustomError(
      d.registry.connect(provider).registerWorker(k1.keyHash, H100, gpu(1), elsewhere),
      "WorkerRegistry__InvalidKeyProof",
    );
    const wrongChain = await proveKeyPossession({
      key: k1,
      chainId: d.chainId + 1n,
      registry: d.addresses.registry,
      provider: provider.address,
    });
    await expectCustomError(
      d.registry.connect(provider).registerWorker(k1.keyHash, H100, gpu(1), wrongChain.proof),
      "WorkerRegistry__InvalidKeyProof",
    );
    // A changed proof word.
    await expectCustomError(
      d.registry
        .connect(provider)
        .registerWorker(k1.keyHash, H100, gpu(1), [proof[0]! + 1n, ...proof.slice(1)]),
      "WorkerRegistry__InvalidKeyProof",
    );
    await d.registry.connect(provider).registerWorker(k1.keyHash, H100, gpu(1), proof);
    expect((await d.registry.workerOf(k1.keyHash)).provider).toBe(provider.address);
  });

  it("lets an attestor or the admin release a squatted GPU, and the squatter's worker stays off", async () => {
    // A stranger registers its own key with the provider's GPU UUID hash.
    await register(other, k2, 5);
    await expectCustomError(
      d.registry.connect(provider).registerWorker(k1.keyHash, H100, gpu(5), await keyProof(provider, k1)),
      "WorkerRegistry__GpuAlreadyRegistered",
      [gpu(5), k2.keyHash],
    );
    const reason = encodeBytes32String("squatted GPU-5");
    await expectCustomError(
      d.registry.connect(other).releaseGpu(gpu(5), reason),
      "WorkerRegistry__NotAttestorOrAdmin",
      [other.address],
    );
    await expectCustomError(
      d.registry.connect(attestor).releaseGpu(gpu(6), reason),
      "WorkerRegistry__UnknownGpu",
      [gpu(6)],
    );
    const released = await (await d.registry.connect(attestor).releaseGpu(gpu(5), reason)).wait();
    expect(decodeEvents(released!.logs).find((e) => e.name === "GpuReleased")?.args).toMatchObject({
      gpuUuidHash: gpu(5),
      workerKeyHash: k2.keyHash,
      releasedBy: attestor.address,
      reason,
    });
    expect(await d.registry.workerOfGpu(gpu(5))).toBe(0n);
    expect((await d.registry.billingStatus(k2.keyHash))[2]).toBe(false);
    await expectCustomError(
      d.registry.connect(other).setActive(k2.keyHash, true),
      "WorkerRegistry__GpuReleased",
      [k2.keyHash],
    );
    await register(provider, k1, 5);
    expect(await d.registry.workerOfGpu(gpu(5))).toBe(k1.keyHash);
    // The admin may release too.
    await (await d.registry.connect(admin).releaseGpu(gpu(5), reason)).wait();
    expect(await d.registry.workerOfGpu(gpu(5))).toBe(0n);
  });

  it("lets only the provider switch a worker on and off", async () => {
    await register(provider, k1, 7);
    await expectCustomError(
      d.registry.connect(other).setActive(k1.keyHash, false),
      "WorkerRegistry__NotWorkerProvider",
      [k1.keyHash, other.address],
    );
    await expectCustomError(
      d.registry.connect(provider).setActive(8n, false),
      "WorkerRegistry__UnknownWorker",
      [8n],
    );
    await (await d.registry.connect(provider).setActive(k1.keyHash, false)).wait();
    expect((await d.registry.workerOf(k1.keyHash)).active).toBe(false);
    expect((await d.registry.billingStatus(k1.keyHash))[2]).toBe(false);
  });

  it("requires attestor approval only when the admin asks for it", async () => {
    await register(provider, k1, 7);
    const k = k1.keyHash;
    await expectCustomError(
      d.registry.connect(other).setRequireAttestation(true),
      "AccessControlUnauthorizedAccount",
    );
    await (await d.registry.setRequireAttestation(true)).wait();
    expect(await d.registry.requireAttestation()).toBe(true);
    expect((await d.registry.billingStatus(k))[3]).toBe(false);

    await expectCustomError(
      d.registry.connect(provider).approveWorker(k, FAR_FUTURE, EVIDENCE, ZeroHash),
      "AccessControlUnauthorizedAccount",
    );
    await expectCustomError(
      d.registry.connect(attestor).approveWorker(8n, FAR_FUTURE, EVIDENCE, ZeroHash),
      "WorkerRegistry__UnknownWorker",
      [8n],
    );
    await (await d.registry.connect(attestor).approveWorker(k, FAR_FUTURE, EVIDENCE, ZeroHash)).wait();
    expect((await d.registry.billingStatus(k))[3]).toBe(true);
    await (await d.registry.connect(attestor).revokeWorker(k, encodeBytes32String("decommissioned"))).wait();
    expect((await d.registry.billingStatus(k))[3]).toBe(false);
    await (await d.registry.setRequireAttestation(false)).wait();
    expect((await d.registry.billingStatus(k))[3]).toBe(true);
  });
});

describe("ComputeCredit", () => {
  it("is an 18-decimal ERC-20 that only the minter can mint", async () => {
    expect(await d.credit.name()).toBe("Compute Credit");
    expect(await d.credit.decimals()).toBe(18n);
    await (await d.credit.mint(other.address, 5n)).wait();
    expect(await d.credit.balanceOf(other.address)).toBe(5n);
    await expectCustomError(
      d.credit.connect(other).mint(other.address, 1n),
      "AccessControlUnauthorizedAccount",
      [other.address, await d.credit.MINTER_ROLE()],
    );
  });
});

describe("deployment", () => {
  it("deployMeterproof wires the set, registers the verifier and sets the rate card", async () => {
    expect(await d.escrow.registry()).toBe(d.addresses.registry);
    expect(await d.escrow.usageVerifier()).toBe(d.addresses.usageVerifier);
    expect(await d.usageVerifier.verifier()).toBe(d.addresses.router);
    expect(await d.router.batchVerifierOf(8)).toBe(d.addresses.batchVerifiers["8"]);
    expect(await d.router.verifierOf(8)).toBe(d.addresses.verifiers["8"]);
    for (const [cls, weight] of Object.entries(DEFAULT_RATE_CARD)) {
      expect(await d.escrow.deviceWeight(encodeBytes32String(cls))).toBe(BigInt(weight));
    }
    expect(await d.escrow.maxClockSkewMs()).toBe(30_000n);
  });

  it("each constructor emits its configuration", async () => {
    const fresh = await deployMeterproof({
      signer: admin,
      circuitSizes: [8],
      maxClockSkewMs: 1234,
      closeGracePeriod: 777,
      requireAttestation: true,
    });
    const logsOf = async (address: string) =>
      decodeEvents(await connection.ethers.provider.getLogs({ address, fromBlock: 0 }));
    const escrowConfig = (await logsOf(fresh.addresses.escrow)).find((e) => e.name === "EscrowConfigured");
    expect(escrowConfig?.args).toMatchObject({
      admin: admin.address,
      registry: fresh.addresses.registry,
      usageVerifier: fresh.addresses.usageVerifier,
      maxClockSkewMs: 1234n,
      closeGracePeriod: 777n,
      maxWeightBps: 100_000n,
    });
    const registryConfig = (await logsOf(fresh.addresses.registry)).find(
      (e) => e.name === "RegistryConfigured",
    );
    expect(registryConfig?.args).toMatchObject({
      admin: admin.address,
      keyVerifier: fresh.addresses.keyVerifier,
      requireAttestation: true,
    });
    // The router's and the credit's only configuration is their admin: RoleGranted says it.
    for (const address of [fresh.addresses.router, fresh.addresses.credit]) {
      const granted = (await logsOf(address)).find((e) => e.name === "RoleGranted");
      expect(granted?.args).toMatchObject({ account: admin.address });
    }
  });

  it("hands every admin role to a separate admin and keeps none for the deployer", async () => {
    const handed = await deployMeterproof({ signer: admin, admin: other.address, circuitSizes: [8] });
    const adminRole = await handed.escrow.DEFAULT_ADMIN_ROLE();
    for (const c of [handed.escrow, handed.registry, handed.router] as const) {
      expect(await c.hasRole(adminRole, other.address)).toBe(true);
      expect(await c.hasRole(adminRole, admin.address)).toBe(false);
    }
    expect(await handed.escrow.hasRole(await handed.escrow.PAUSER_ROLE(), other.address)).toBe(true);
    expect(await handed.escrow.hasRole(await handed.escrow.PAUSER_ROLE(), admin.address)).toBe(false);
    await expectCustomError(handed.escrow.setDeviceWeight(H100, 1), "AccessControlUnauthorizedAccount");
  });

  it("the Ignition module deploys the same configured set", async () => {
    // The default export picks the compiled verifier sizes when it is loaded; name size 8 here.
    const result = await connection.ignition.deploy(meterproofModule([8]), {
      parameters: { Meterproof: { closeGracePeriod: 600, maxClockSkewMs: 5000 } },
      displayUi: false,
    });
    const escrow = attachContract("ComputeEscrow", await result.escrow.getAddress(), admin);
    const router = attachContract("SegmentVerifierRouter", await result.router.getAddress(), admin);
    expect(await escrow.registry()).toBe(await result.registry.getAddress());
    const ledger = attachContract("UsageVerifier", await escrow.usageVerifier(), admin);
    expect(await ledger.verifier()).toBe(await router.getAddress());
    expect(await router.batchVerifierOf(8)).not.toBe("0x0000000000000000000000000000000000000000");
    expect(await escrow.closeGracePeriod()).toBe(600n);
    expect(await escrow.maxClockSkewMs()).toBe(5000n);
    expect(await router.verifierOf(8)).not.toBe("0x0000000000000000000000000000000000000000");
    expect(await escrow.deviceWeight(H100)).toBe(10_000n);
    expect(await escrow.hasRole(await escrow.PAUSER_ROLE(), admin.address)).toBe(true);
  });
});

describe("chain helpers", () => {
  it("decode custom errors, Error(string) and Panic from revert data", () => {
    const data = d.escrow.interface.encodeErrorResult("ComputeEscrow__UnknownJob", [3n]);
    expect(decodeContractError(data)).toMatchObject({
      name: "ComputeEscrow__UnknownJob",
      text: "ComputeEscrow__UnknownJob(3)",
    });
    expect(decodeContractError({ info: { error: { data } } })?.name).toBe("ComputeEscrow__UnknownJob");
    const coder = AbiCoder.defaultAbiCoder();
    expect(decodeContractError("0x08c379a0" + coder.encode(["string"], ["no"]).slice(2))?.text).toBe(
      "Error(no)",
    );
    expect(decodeContractError("0x4e487b71" + coder.encode(["uint256"], [0x11]).slice(2))?.text).toBe(
      "Panic(17)",
    );
    expect(decodeContractError(new Error("plain"))).toBeUndefined();
  });

  it("build submissions from signals and snarkjs call data, refusing wrong shapes", () => {
    const calldata =
      '["0x01", "0x02"],[["0x03", "0x04"],["0x05", "0x06"]],["0x07", "0x08"],["0x0a", "0x0b", "0x0c", "0x0d", "0x0e"]';
    const parsed = parseSolidityCallData(calldata);
    expect(parsed.proof).toEqual([1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n]);
    const s = buildSubmission({ circuitId: 8, ...parsed });
    expect(s).toMatchObject({ circuitId: 8, workerKeyHash: 11n, prevHead: 12n, newHead: 13n, meter: 14n });
    expect(() => buildSubmission({ circuitId: 8, proof: parsed.proof, publicSignals: [1n, 2n] })).toThrow(
      /publicSignals must have 5 entries/,
    );
    expect(() => buildSubmission({ circuitId: 0, ...parsed })).toThrow(TraceError);
    expect(() => buildSubmission({ circuitId: 8, publicSignals: parsed.publicSignals, proof: [1n] })).toThrow(
      /proof must have 8 entries/,
    );
    expect(() => parseSolidityCallData("not call data")).toThrow(
      /calldata must be snarkjs Solidity call data/,
    );
    expect(() => submissionFromBundle({} as never)).toThrow();
  });

  it("the committed contract bindings match the compiled ABIs", async () => {
    const committed = readFileSync(join(REPO_ROOT, "contracts", "bindings.ts"), "utf8");
    expect(committed, "run node scripts/contract-bindings.ts").toBe(await generateBindings());
  });
});
