import { readFileSync } from "node:fs";
import { join } from "node:path";
import { AbiCoder, encodeBytes32String, type Result, type Signer } from "ethers";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { deployMeterproof, DEFAULT_RATE_CARD, type MeterproofDeployment } from "../chain/deploy.ts";
import { decodeContractError } from "../chain/errors.ts";
import { decodeEvents } from "../chain/events.ts";
import { buildSubmission, parseSolidityCallData, submissionFromBundle } from "../chain/submission.ts";
import { attachContract, REPO_ROOT } from "../contracts/index.ts";
import { FIELD_MODULUS, TraceError } from "../trace/index.ts";
import { generateBindings } from "../scripts/contract-bindings.ts";
import { meterproofModule } from "../ignition/modules/Meterproof.ts";
import { expectCustomError } from "./helpers/expect-custom-error.ts";
import { chainControl, connectHardhat } from "./helpers/hardhat.ts";

type Connection = Awaited<ReturnType<typeof connectHardhat>>;
type Account = Signer & { address: string };

let connection: Connection;
let chain: ReturnType<typeof chainControl>;
let d: MeterproofDeployment;
let admin: Account, provider: Account, other: Account, attestor: Account;
let snapshot: string;

const H100 = encodeBytes32String("H100");
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

describe("WorkerRegistry", () => {
  it("registers a worker for its provider, with events and the billing view", async () => {
    const registry = d.registry.connect(provider);
    const receipt = await (await registry.registerWorker(123n, H100, gpu(1))).wait();
    const [event] = decodeEvents(receipt!.logs);
    expect(event?.name).toBe("WorkerRegistered");
    expect(event?.args).toMatchObject({
      workerKeyHash: 123n,
      provider: provider.address,
      deviceClass: H100,
      gpuUuidHash: gpu(1),
    });

    const w = (await d.registry.workerOf(123n)) as unknown as Result;
    expect(w.toObject()).toMatchObject({
      provider: provider.address,
      active: true,
      approved: false,
      deviceClass: H100,
      gpuUuidHash: gpu(1),
    });
    expect(await d.registry.workerOfGpu(gpu(1))).toBe(123n);
    expect([...(await d.registry.billingStatus(123n))]).toEqual([provider.address, H100, true, true]);
    expect([...(await d.registry.billingStatus(999n))]).toEqual([
      "0x0000000000000000000000000000000000000000",
      encodeBytes32String(""),
      false,
      true,
    ]);
  });

  it("refuses bad keys, duplicates and a GPU registered twice", async () => {
    const registry = d.registry.connect(provider);
    await expectCustomError(registry.registerWorker(0n, H100, gpu(1)), "WorkerRegistry__InvalidKeyHash", [
      0n,
    ]);
    await expectCustomError(
      registry.registerWorker(FIELD_MODULUS, H100, gpu(1)),
      "WorkerRegistry__InvalidKeyHash",
      [FIELD_MODULUS],
    );
    await expectCustomError(
      registry.registerWorker(1n, encodeBytes32String(""), gpu(1)),
      "WorkerRegistry__EmptyDeviceClass",
      [],
    );
    await expectCustomError(
      registry.registerWorker(1n, H100, gpu(0)),
      "WorkerRegistry__EmptyGpuUuidHash",
      [],
    );
    await (await registry.registerWorker(FIELD_MODULUS - 1n, H100, gpu(1))).wait();
    await expectCustomError(
      d.registry.connect(other).registerWorker(FIELD_MODULUS - 1n, H100, gpu(2)),
      "WorkerRegistry__AlreadyRegistered",
      [FIELD_MODULUS - 1n],
    );
    await expectCustomError(
      registry.registerWorker(5n, H100, gpu(1)),
      "WorkerRegistry__GpuAlreadyRegistered",
      [gpu(1), FIELD_MODULUS - 1n],
    );
  });

  it("lets only the provider switch a worker on and off", async () => {
    await (await d.registry.connect(provider).registerWorker(7n, H100, gpu(7))).wait();
    await expectCustomError(
      d.registry.connect(other).setActive(7n, false),
      "WorkerRegistry__NotWorkerProvider",
      [7n, other.address],
    );
    await expectCustomError(
      d.registry.connect(provider).setActive(8n, false),
      "WorkerRegistry__UnknownWorker",
      [8n],
    );
    await (await d.registry.connect(provider).setActive(7n, false)).wait();
    expect((await d.registry.workerOf(7n)).active).toBe(false);
    expect((await d.registry.billingStatus(7n))[2]).toBe(false);
  });

  it("requires attestor approval only when the admin asks for it", async () => {
    await (await d.registry.connect(provider).registerWorker(7n, H100, gpu(7))).wait();
    await expectCustomError(
      d.registry.connect(other).setRequireAttestation(true),
      "AccessControlUnauthorizedAccount",
    );
    await (await d.registry.setRequireAttestation(true)).wait();
    expect(await d.registry.requireAttestation()).toBe(true);
    expect((await d.registry.billingStatus(7n))[3]).toBe(false);

    await expectCustomError(
      d.registry.connect(provider).approveWorker(7n),
      "AccessControlUnauthorizedAccount",
    );
    await expectCustomError(d.registry.connect(attestor).approveWorker(8n), "WorkerRegistry__UnknownWorker", [
      8n,
    ]);
    await (await d.registry.connect(attestor).approveWorker(7n)).wait();
    expect((await d.registry.billingStatus(7n))[3]).toBe(true);
    await (await d.registry.connect(attestor).revokeWorker(7n)).wait();
    expect((await d.registry.billingStatus(7n))[3]).toBe(false);
    await (await d.registry.setRequireAttestation(false)).wait();
    expect((await d.registry.billingStatus(7n))[3]).toBe(true);
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
    expect(await d.escrow.verifier()).toBe(d.addresses.router);
    expect(await d.router.verifierOf(8)).toBe(d.addresses.verifiers["8"]);
    for (const [cls, weight] of Object.entries(DEFAULT_RATE_CARD)) {
      expect(await d.escrow.deviceWeight(encodeBytes32String(cls))).toBe(BigInt(weight));
    }
    expect(await d.escrow.maxClockSkewMs()).toBe(30_000n);
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
    expect(await escrow.verifier()).toBe(await router.getAddress());
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
