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
  type JobRef,
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
  // Independent of ethers' ABI coder: abi.encode of static types is one 32-byte word each,
  // an address left-padded with zeros.
  function solidityJobTag(job: JobRef): bigint {
    const word = (v: bigint) => v.toString(16).padStart(64, "0");
    const hex =
      word(job.chainId) +
      word(BigInt(job.escrow)) +
      word(job.jobId) +
      word(BigInt(job.provider)) +
      word(BigInt(job.terms.client)) +
      word(BigInt(job.terms.token)) +
      word(job.terms.price) +
      word(job.terms.expiry);
    expect(hex).toHaveLength(8 * 64);
    return BigInt("0x" + Buffer.from(keccak_256(Buffer.from(hex, "hex"))).toString("hex")) % FIELD_MODULUS;
  }

  const base: JobRef = {
    chainId: 31337n,
    escrow: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
    jobId: 1n,
    provider: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    terms: {
      client: "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
      token: "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512",
      price: 2n * 10n ** 18n,
      expiry: 1_767_225_600n,
    },
  };

  it("equals uint256(keccak256(abi.encode(chainId, escrow, jobId, provider, client, token, price, expiry))) mod r", () => {
    const max = (1n << 256n) - 1n;
    const cases: JobRef[] = [
      base,
      {
        chainId: 1n,
        escrow: "0x0000000000000000000000000000000000000001",
        jobId: 0n,
        provider: "0x0000000000000000000000000000000000000000",
        terms: {
          client: "0x0000000000000000000000000000000000000000",
          token: "0x0000000000000000000000000000000000000002",
          price: 0n,
          expiry: 0n,
        },
      },
      {
        chainId: max,
        escrow: "0xffffffffffffffffffffffffffffffffffffffff",
        jobId: max,
        provider: "0xfffffffffffffffffffffffffffffffffffffffe",
        terms: {
          client: "0xfffffffffffffffffffffffffffffffffffffffd",
          token: "0xfffffffffffffffffffffffffffffffffffffffc",
          price: max,
          expiry: max,
        },
      },
    ];
    for (const job of cases) {
      const tag = computeJobTag(job);
      expect(tag).toBe(solidityJobTag(job));
      expect(tag < FIELD_MODULUS).toBe(true);
    }
  });

  it("keeps its pinned value", () => {
    // The tag of `base`, computed once from the hand-built 8-word encoding: a change of the
    // encoding (order, padding, a field more or less) shows here even if both sides change.
    expect(computeJobTag(base)).toBe(
      18518188928697614782961399213137630739483408918512190705216242320965360772533n,
    );
  });

  it("changes with every input, the job's terms included", () => {
    const tag = computeJobTag(base);
    const terms = base.terms;
    expect(computeJobTag({ ...base, chainId: 1n })).not.toBe(tag);
    expect(computeJobTag({ ...base, jobId: 2n })).not.toBe(tag);
    expect(computeJobTag({ ...base, escrow: "0x5fbdb2315678afecb367f032d93f642f64180aa4" })).not.toBe(tag);
    expect(computeJobTag({ ...base, provider: "0x70997970c51812dc3a010c7d01b50e0d17dc79c9" })).not.toBe(tag);
    expect(
      computeJobTag({ ...base, terms: { ...terms, client: "0x3c44cdddb6a900fa2b585dd299e03d12fa4293bd" } }),
    ).not.toBe(tag);
    expect(
      computeJobTag({ ...base, terms: { ...terms, token: "0xe7f1725e7734ce288f8367e1bb143e90bb3f0513" } }),
    ).not.toBe(tag);
    expect(computeJobTag({ ...base, terms: { ...terms, price: terms.price + 1n } })).not.toBe(tag);
    expect(computeJobTag({ ...base, terms: { ...terms, expiry: terms.expiry + 1n } })).not.toBe(tag);
  });
});
