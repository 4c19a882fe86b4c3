import { keccak_256 } from "@noble/hashes/sha3.js";
import { describe, expect, it } from "vitest";
import {
  FIELD_MODULUS,
  SEAL_DOMAIN,
  computeJobTag,
  poseidon,
  signPoseidon,
  verifyPoseidon,
  workerKeyFromSecret,
  workerKeyHash,
  SUBGROUP_ORDER,
} from "../trace/index.ts";

// circomlibjs test/poseidon.js and test/eddsa.js publish these values.
describe("Poseidon known answers (circomlib parameters)", () => {
  it("hashes [1, 2] and [1, 2, 3, 4] to circomlib's published values", () => {
    expect(poseidon([1n, 2n])).toBe(0x115cc0f5e7d690413df64c6b9662e9cf2a3617f2743245519e19607a4417189an);
    expect(poseidon([1n, 2n, 3n, 4n])).toBe(
      0x299c867db6c1fdd79dcefa40e4510b9837e60ebb1ce0663dbaa525df65250465n,
    );
  });

  it("refuses inputs that are not field elements", () => {
    expect(() => poseidon([FIELD_MODULUS, 1n])).toThrow(/not a field element/);
    expect(() => poseidon([-1n, 1n])).toThrow(/not a field element/);
  });
});

describe("EdDSA-Poseidon known answers (circomlibjs test vector)", () => {
  const secret = Buffer.from("0001020304050607080900010203040506070809000102030405060708090001", "hex");
  // The message is the bytes 00 01 .. 09 00 00 read little-endian, as in the published test.
  const msg = BigInt("0x" + Buffer.from("000102030405060708090000", "hex").reverse().toString("hex"));

  it("derives the published public key and signature", async () => {
    const key = await workerKeyFromSecret(secret);
    expect(key.publicKey.ax).toBe(
      13277427435165878497778222415993513565335242147425444199013288855685581939618n,
    );
    expect(key.publicKey.ay).toBe(
      13622229784656158136036771217484571176836296686641868549125388198837476602820n,
    );
    const sig = await signPoseidon(key, msg);
    expect(sig.r8x).toBe(11384336176656855268977457483345535180380036354188103142384839473266348197733n);
    expect(sig.r8y).toBe(15383486972088797283337779941324724402501462225528836549661220478783371668959n);
    expect(sig.s).toBe(1672775540645840396591609181675628451599263765380031905495115170613215233181n);
    expect(await verifyPoseidon(key.publicKey, msg, sig)).toBe(true);
    expect(key.keyHash).toBe(workerKeyHash(key.publicKey));
  });

  it("rejects another message, another key, and the malleable S + l", async () => {
    const key = await workerKeyFromSecret(secret);
    const other = await workerKeyFromSecret(Buffer.alloc(32, 7));
    const sig = await signPoseidon(key, msg);
    expect(await verifyPoseidon(key.publicKey, msg + 1n, sig)).toBe(false);
    expect(await verifyPoseidon(other.publicKey, msg, sig)).toBe(false);
    expect(await verifyPoseidon(key.publicKey, msg, { ...sig, s: sig.s + SUBGROUP_ORDER })).toBe(false);
  });

  it("uses the ASCII seal domain", () => {
    expect(Buffer.from(SEAL_DOMAIN.toString(16), "hex").toString("ascii")).toBe("meterproof.seal.v1");
  });
});

describe("jobTag", () => {
  // Independent of ethers' ABI coder: abi.encode of static types is four 32-byte words.
  function solidityJobTag(chainId: bigint, escrow: string, jobId: bigint, provider: string): bigint {
    const word = (v: bigint) => v.toString(16).padStart(64, "0");
    const hex = word(chainId) + word(BigInt(escrow)) + word(jobId) + word(BigInt(provider));
    return BigInt("0x" + Buffer.from(keccak_256(Buffer.from(hex, "hex"))).toString("hex")) % FIELD_MODULUS;
  }

  it("equals uint256(keccak256(abi.encode(chainId, escrow, jobId, provider))) mod r", () => {
    const cases: [bigint, string, bigint, string][] = [
      [
        31337n,
        "0x5FbDB2315678afecb367f032d93F642f64180aa3",
        1n,
        "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
      ],
      [1n, "0x0000000000000000000000000000000000000001", 0n, "0x0000000000000000000000000000000000000000"],
      [
        (1n << 256n) - 1n,
        "0xffffffffffffffffffffffffffffffffffffffff",
        (1n << 256n) - 1n,
        "0xfffffffffffffffffffffffffffffffffffffffe",
      ],
    ];
    for (const [chainId, escrow, jobId, provider] of cases) {
      const tag = computeJobTag({ chainId, escrow, jobId, provider });
      expect(tag).toBe(solidityJobTag(chainId, escrow, jobId, provider));
      expect(tag < FIELD_MODULUS).toBe(true);
    }
  });

  it("changes with every input", () => {
    const base = {
      chainId: 31337n,
      escrow: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
      jobId: 1n,
      provider: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    };
    const tag = computeJobTag(base);
    expect(computeJobTag({ ...base, chainId: 1n })).not.toBe(tag);
    expect(computeJobTag({ ...base, jobId: 2n })).not.toBe(tag);
    expect(computeJobTag({ ...base, escrow: "0x5fbdb2315678afecb367f032d93f642f64180aa4" })).not.toBe(tag);
    expect(computeJobTag({ ...base, provider: "0x70997970c51812dc3a010c7d01b50e0d17dc79c9" })).not.toBe(tag);
  });
});
