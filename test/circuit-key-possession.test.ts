/**
 * KeyPossession(): the proof WorkerRegistry.registerWorker takes that the registrant holds
 * the worker key, bound to (chain id, registry, provider). Valid proofs verify; a witness
 * that breaks one rule is refused at the template and line of that rule.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { keccak256 } from "ethers";
import * as snarkjs from "snarkjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CIRCUITS_DIR,
  KEY_POSSESSION_PUBLIC_SIGNALS,
  KEY_POSSESSION_SPEC,
  keyPossessionArtifacts,
  readSpecManifest,
} from "../circuits/index.ts";
import { readR1csHeader, requiredPtauPower } from "../circuits/r1cs.ts";
import {
  keyPossessionWitnessInput,
  proveKeyPossession,
  verifyKeyPossession,
  type KeyPossessionProof,
} from "../prover/key-possession.ts";
import { inspectSpec } from "../setup/compile.ts";
import { releaseCurve } from "../setup/snarkjs-api.ts";
import {
  FIELD_MODULUS,
  REGISTER_DOMAIN,
  SEAL_DOMAIN,
  SUBGROUP_ORDER,
  poseidon,
  registrationBinding,
  registrationMessage,
  signRegistration,
  verifyPoseidon,
  workerKeyHash,
  type RegistrationTarget,
} from "../trace/index.ts";
import {
  failedAt,
  keyA,
  keyB,
  lineOf,
  r1csOf,
  signalIndex,
  violatedConstraints,
  witness,
  witnessError,
} from "./circuit-helpers.ts";
import { keyPlusTorsion, signForKey, TORSION } from "./helpers/torsion.ts";

/** Constraints of KeyPossession() with --O2; a change must update this and docs/circuit.md. */
const PINNED_CONSTRAINTS = 4_711;

const paths = keyPossessionArtifacts();
const FILE = "key_possession.circom";
const EDDSA = "circomlib/circuits/eddsaposeidon.circom";

const TARGET: RegistrationTarget = {
  chainId: 31337n,
  registry: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
  provider: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
};

const dir = mkdtempSync(join(tmpdir(), "meterproof-key-possession-"));
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await releaseCurve();
});

/** A witness input: `key` signs the registration for `signed`, the public binding is `claimed`'s. */
async function inputFor(args: { signed?: RegistrationTarget; claimed?: RegistrationTarget } = {}) {
  const key = await keyA;
  const signature = await signRegistration(key, registrationBinding(args.signed ?? TARGET));
  return keyPossessionWitnessInput({ key, binding: registrationBinding(args.claimed ?? TARGET), signature });
}

async function expectFailure(input: Record<string, unknown>, template: string, line?: number): Promise<void> {
  const failure = failedAt(await witnessError(input, paths));
  expect(failure, "the witness must be rejected").toBeDefined();
  expect(failure!.chain.join(" < ")).toContain(template);
  if (line !== undefined) expect(failure!.chain).toContain(`${template}:${line}`);
}

describe("registration binding and message", () => {
  it("binding = keccak256(abi.encode(uint256 chainId, address registry, address provider)) mod r", () => {
    const word = (hex: string) => hex.replace(/^0x/, "").toLowerCase().padStart(64, "0");
    const encoded = "0x" + word(TARGET.chainId.toString(16)) + word(TARGET.registry) + word(TARGET.provider);
    expect(registrationBinding(TARGET)).toBe(BigInt(keccak256(encoded)) % FIELD_MODULUS);
    // Address case does not matter; every part of the target does.
    expect(registrationBinding({ ...TARGET, provider: TARGET.provider.toLowerCase() })).toBe(
      registrationBinding(TARGET),
    );
    const others = [
      { ...TARGET, chainId: 1n },
      { ...TARGET, registry: TARGET.provider },
      { ...TARGET, provider: TARGET.registry },
    ];
    for (const other of others) expect(registrationBinding(other)).not.toBe(registrationBinding(TARGET));
  });

  it("refuses a bad address or chain id, naming the field", () => {
    expect(() => registrationBinding({ ...TARGET, registry: "0x1234" })).toThrow(/registry must be/);
    expect(() => registrationBinding({ ...TARGET, chainId: -1n })).toThrow(/chainId must be/);
    expect(() => registrationMessage(FIELD_MODULUS)).toThrow(/binding must be/);
  });

  it("the message is Poseidon(REGISTER_DOMAIN, binding), signed by the worker key", async () => {
    const binding = registrationBinding(TARGET);
    expect(registrationMessage(binding)).toBe(poseidon([REGISTER_DOMAIN, binding]));
    const key = await keyA;
    const sig = await signRegistration(key, binding);
    expect(await verifyPoseidon(key.publicKey, registrationMessage(binding), sig)).toBe(true);
  });

  it("REGISTER_DOMAIN is ASCII meterproof.register.v1, the same in the circuit, and not SEAL_DOMAIN", () => {
    expect(REGISTER_DOMAIN).toBe(
      BigInt("0x" + Buffer.from("meterproof.register.v1", "ascii").toString("hex")),
    );
    const source = readFileSync(join(CIRCUITS_DIR, FILE), "utf8");
    expect(/var REGISTER_DOMAIN = (\d+);/.exec(source)?.[1]).toBe(REGISTER_DOMAIN.toString());
    expect(REGISTER_DOMAIN).not.toBe(SEAL_DOMAIN);
  });
});

describe("KeyPossession constraints", () => {
  it("pinned count, two public inputs, fits 2^14, and --inspect reports only circomlib's explained warnings", async () => {
    const { r1cs, warnings } = await inspectSpec(KEY_POSSESSION_SPEC, join(dir, "inspect"));
    const header = readR1csHeader(r1cs);
    expect(header.nConstraints).toBe(PINNED_CONSTRAINTS);
    expect({ pubIn: header.nPubIn, pubOut: header.nPubOut }).toEqual({ pubIn: 2, pubOut: 0 });
    expect(requiredPtauPower(header)).toBeLessThanOrEqual(14);
    // The four CA02 warnings inside circomlib that circuits/lib/seal.circom explains.
    expect(warnings).toHaveLength(4);
    for (const w of warnings)
      expect(w).toMatch(/^warning\[CA02\]: In template "(CompConstant|EscalarMulAny|EscalarMulFix)\(/);
  });

  it("was built by setup with that count and its public signals; the verifier is KeyPossessionGroth16Verifier", () => {
    const manifest = readSpecManifest(KEY_POSSESSION_SPEC);
    expect(manifest.circuit).toMatchObject({
      name: "key_possession",
      template: "KeyPossession",
      params: [],
      publicSignals: ["workerKeyHash", "binding"],
      constraints: PINNED_CONSTRAINTS,
    });
    expect(KEY_POSSESSION_PUBLIC_SIGNALS).toEqual(["workerKeyHash", "binding"]);
    expect(manifest.artifacts.verifier.path).toBe("contracts/generated/KeyPossessionVerifier.sol");
    const verifier = readFileSync(paths.verifier, "utf8");
    expect(verifier).toContain("contract KeyPossessionGroth16Verifier {");
    expect(verifier).toMatch(
      /function verifyProof\(uint\[2\] calldata _pA, uint\[2\]\[2\] calldata _pB, uint\[2\] calldata _pC, uint\[2\] calldata _pubSignals\) public view returns \(bool\)/,
    );
    expect(verifier).toContain(`sha256 ${manifest.artifacts.zkey.sha256}`);
  });
});

describe("KeyPossession forged witnesses", () => {
  it("every wire is pinned, public inputs included, but the two free by design", async () => {
    const w = await witness(await inputFor(), paths);
    const r1cs = r1csOf(paths);
    expect(violatedConstraints(w, r1cs)).toEqual([]);
    const uses = new Map<number, number[]>();
    r1cs.constraints.forEach((c, i) => {
      for (const lc of [c.a, c.b, c.c])
        for (const wire of lc.keys()) uses.set(wire, [...(uses.get(wire) ?? []), i]);
    });
    const free: number[] = [];
    for (let wire = 1; wire < w.length; wire++) {
      const f = [...w];
      f[wire] = (w[wire]! + 1n) % FIELD_MODULUS;
      const sub = {
        ...r1cs,
        constraints: [...new Set(uses.get(wire) ?? [])].map((i) => r1cs.constraints[i]!),
      };
      if (violatedConstraints(f, sub).length === 0) free.push(wire);
    }
    // ForceEqualIfEnabled's IsZero inv in the EdDSA equation check: free when both sides are
    // equal, as in test/circuit-forged.test.ts. Every other wire, including the subgroup
    // hint B and the public inputs, is pinned.
    const names = signalIndex(paths);
    expect(free).toEqual(
      [names.get("main.verifier.eqCheckX.isz.inv")!, names.get("main.verifier.eqCheckY.isz.inv")!].sort(
        (a, b) => a - b,
      ),
    );
    for (const name of [
      "main.workerKeyHash",
      "main.binding",
      "main.keyInSubgroup.Bx",
      "main.keyInSubgroup.By",
    ])
      expect(names.get(name), name).toBeDefined();
  });
});

describe("KeyPossession proofs", () => {
  let proved: KeyPossessionProof;
  beforeAll(async () => {
    proved = await proveKeyPossession({ key: await keyA, ...TARGET });
  });

  it("prove a key; the public signals are [workerKeyHash, binding] and the proof verifies", async () => {
    const key = await keyA;
    expect(proved.publicSignals).toEqual([key.keyHash, registrationBinding(TARGET)]);
    expect(proved.proof).toHaveLength(8);
    for (const w of proved.proof) expect(w >= 0n && w < 2n ** 256n).toBe(true);
    expect(await verifyKeyPossession({ ...proved, target: TARGET })).toBe(true);
    // The same proof through snarkjs with the exported verification key.
    const vkey = JSON.parse(readFileSync(paths.vkey, "utf8")) as unknown;
    const w = proved.proof.map(String);
    const proof: snarkjs.Groth16Proof = {
      pi_a: [w[0]!, w[1]!, "1"],
      pi_b: [
        [w[3]!, w[2]!],
        [w[5]!, w[4]!],
        ["1", "0"],
      ],
      pi_c: [w[6]!, w[7]!, "1"],
      protocol: "groth16",
      curve: "bn128",
    };
    expect(await snarkjs.groth16.verify(vkey, proved.publicSignals.map(String), proof)).toBe(true);
  });

  it("the proof does not verify for another key hash, binding or target", async () => {
    const other = (await keyB).keyHash;
    const binding = proved.publicSignals[1];
    expect(await verifyKeyPossession({ ...proved, publicSignals: [other, binding] })).toBe(false);
    expect(
      await verifyKeyPossession({ ...proved, publicSignals: [proved.publicSignals[0], binding + 1n] }),
    ).toBe(false);
    for (const target of [
      { ...TARGET, chainId: 1n },
      { ...TARGET, registry: "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0" },
      { ...TARGET, provider: "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC" },
    ]) {
      expect(await verifyKeyPossession({ ...proved, target })).toBe(false);
    }
  });

  it("without the setup, says which command builds it", async () => {
    await expect(proveKeyPossession({ key: await keyA, ...TARGET, root: dir })).rejects.toThrow(
      /key_possession\/manifest\.json is missing: run `meterproof setup`/,
    );
  });
});

describe("KeyPossession rejects", () => {
  it("accepts the witness these tests start from", async () => {
    expect(await witnessError(await inputFor(), paths)).toBeUndefined();
  });

  it.each([
    ["another provider", { ...TARGET, provider: "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC" }],
    ["another chain id", { ...TARGET, chainId: 1n }],
    ["another registry", { ...TARGET, registry: "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0" }],
  ] as const)("a binding for %s than the one signed", async (_name, claimed) => {
    await expectFailure(await inputFor({ claimed }), "EdDSAPoseidonVerifier");
  });

  it("the key hash of another key", async () => {
    const input = await inputFor();
    await expectFailure(
      { ...input, workerKeyHash: (await keyB).keyHash.toString() },
      "KeyPossession",
      lineOf(FILE, "workerKeyHash === computedKeyHash.out"),
    );
  });

  it.each(["t2", "t8"] as const)(
    "the key plus a point of small order (%s), with the signature its secret can make for it",
    async (name) => {
      const key = await keyA;
      const shifted = keyPlusTorsion([key.publicKey.ax, key.publicKey.ay], TORSION[name]);
      const binding = registrationBinding(TARGET);
      const signature = signForKey(key.privateKey, shifted, registrationMessage(binding));
      const input = keyPossessionWitnessInput({
        key: {
          ...key,
          publicKey: { ax: shifted[0], ay: shifted[1] },
          keyHash: workerKeyHash({ ax: shifted[0], ay: shifted[1] }),
        },
        binding,
        signature,
      });
      // Every check before the subgroup's (key hash, on-curve, circomlib's verifier) passes:
      // the failure is the last template, InPrimeOrderSubgroup.
      await expectFailure(input, "InPrimeOrderSubgroup", lineOf("lib/subgroup.circom", "x === dbl3.xout"));
    },
  );

  it("a signature by another key", async () => {
    const key = await keyA;
    const binding = registrationBinding(TARGET);
    const byB = await signRegistration(await keyB, binding);
    await expectFailure(keyPossessionWitnessInput({ key, binding, signature: byB }), "EdDSAPoseidonVerifier");
  });

  it("S at or above the subgroup order (S + l satisfies the same equation)", async () => {
    const input = await inputFor();
    await expectFailure(
      { ...input, S: (BigInt(input.S) + SUBGROUP_ORDER).toString() },
      "EdDSAPoseidonVerifier",
      lineOf(EDDSA, "compConstant.out*enabled === 0"),
    );
  });

  it("a signature point R8 off the curve", async () => {
    const input = await inputFor();
    await expectFailure({ ...input, R8x: (BigInt(input.R8x) + 1n).toString() }, "BabyCheck");
  });
});
