import { execFileSync } from "node:child_process";
import { Worker } from "node:worker_threads";
import { randomBytes } from "node:crypto";
import { buildBabyjub, buildEddsa, buildPoseidon, type Point } from "circomlibjs";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { BASE8, doubleMulEquals } from "../trace/babyjub.ts";
import { publicKeyOf, signPoseidonWith } from "../trace/eddsa.ts";
import { FIELD_MODULUS, SUBGROUP_ORDER } from "../trace/constants.ts";
import { loadNativeAddon, NATIVE_ADDON_PATH, type NativeAddon } from "../trace/native.ts";

// The native addon must compute exactly what circomlibjs and the BigInt code compute: it
// replaces them on the auditor's hot path. METERPROOF_NATIVE=0 runs the suite without it.
const enabled = process.env.METERPROOF_NATIVE !== "0";
const fieldElement = fc.bigInt({ min: 0n, max: FIELD_MODULUS - 1n });

let addon: NativeAddon;
let wasm: Awaited<ReturnType<typeof buildPoseidon>>;
beforeAll(async () => {
  wasm = await buildPoseidon();
  const loaded = enabled ? loadNativeAddon() : undefined;
  if (enabled && !loaded) {
    throw new Error(
      `${NATIVE_ADDON_PATH} is missing: \`npm run build:native\` shows why (or set METERPROOF_NATIVE=0)`,
    );
  }
  if (loaded) addon = loaded;
});

const circomlib = (inputs: bigint[]) => wasm.F.toObject(wasm(inputs));

describe.skipIf(!enabled)("native Poseidon", () => {
  it("equals circomlibjs for 1 to 16 inputs at the field's edges", () => {
    for (let n = 1; n <= 16; n++) {
      for (const fill of [0n, 1n, FIELD_MODULUS - 1n]) {
        const inputs = Array.from({ length: n }, (_, i) => (fill + BigInt(i)) % FIELD_MODULUS);
        expect(addon.poseidon(inputs), `${n} inputs from ${fill}`).toBe(circomlib(inputs));
      }
    }
  });

  it("equals circomlibjs on random inputs", () => {
    fc.assert(
      fc.property(fc.array(fieldElement, { minLength: 1, maxLength: 16 }), (inputs) => {
        expect(addon.poseidon(inputs)).toBe(circomlib(inputs));
      }),
      { numRuns: 300 },
    );
  });

  it("hashes a batch off the main thread, on any number of threads, as one by one", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 9 }),
        fc.array(fc.array(fieldElement, { minLength: 9, maxLength: 9 }), { minLength: 0, maxLength: 40 }),
        fc.integer({ min: 1, max: 5 }),
        async (arity, rows, threads) => {
          const inputs = rows.flatMap((r) => r.slice(0, arity));
          const expected = rows.map((r) => addon.poseidon(r.slice(0, arity)));
          expect(await addon.poseidonManyAsync(arity, inputs, threads)).toEqual(expected);
        },
      ),
      { numRuns: 60 },
    );
  });

  it("loads and hashes in several worker threads at once", async () => {
    // Each thread registers the widths itself; the addon's constant tables are shared.
    const url = new URL("../trace/native.ts", import.meta.url).href;
    const code = `
      const { parentPort } = require("node:worker_threads");
      import(${JSON.stringify(url)}).then(async ({ loadNativeAddon }) => {
        const addon = loadNativeAddon();
        const many = await addon.poseidonManyAsync(2, [1n, 2n, 3n, 4n], 2);
        parentPort.postMessage([addon.poseidon([1n, 2n]), ...many].map(String));
      });
    `;
    const run = () =>
      new Promise<string[]>((resolve, reject) => {
        const w = new Worker(code, { eval: true });
        w.once("message", (m: string[]) => void w.terminate().then(() => resolve(m)));
        w.once("error", reject);
      });
    const expected = [
      [1n, 2n],
      [1n, 2n],
      [3n, 4n],
    ].map((i) => String(circomlib(i)));
    for (const result of await Promise.all([run(), run(), run()])) expect(result).toEqual(expected);
  });

  it("refuses bad input with the rule", () => {
    expect(() => addon.poseidon([FIELD_MODULUS])).toThrow(/field element \(0 <= x < r\)/);
    expect(() => addon.poseidon([-1n])).toThrow(/field element/);
    expect(() => addon.poseidon([1n << 300n])).toThrow(/field element/);
    expect(() => addon.poseidon([1 as unknown as bigint])).toThrow(TypeError);
    expect(() => addon.poseidon([])).toThrow(/1 to 16 inputs, got 0/);
    expect(() => addon.poseidon(Array<bigint>(17).fill(0n))).toThrow(/1 to 16 inputs, got 17/);
    expect(() => addon.poseidonManyAsync(2, [1n, 2n, 3n], 2)).toThrow(/multiple of arity/);
    expect(() => addon.poseidonManyAsync(2, [1n, FIELD_MODULUS], 2)).toThrow(/field element/);
  });
});

describe.skipIf(!enabled)("native Baby Jubjub", () => {
  it("agrees with the BigInt arithmetic on k1·P1 + k2·P2 = Q, true and false", async () => {
    const bj = await buildBabyjub();
    const affine = (p: Point) => [bj.F.toObject(p[0]), bj.F.toObject(p[1])] as const;
    const scalar = fc.bigInt({ min: 1n, max: SUBGROUP_ORDER - 1n });
    fc.assert(
      fc.property(scalar, scalar, scalar, scalar, fc.boolean(), (a, b, k1, k2, tamper) => {
        const p1 = bj.mulPointEscalar(bj.Base8, a);
        const p2 = bj.mulPointEscalar(bj.Base8, b);
        const q = bj.addPoint(bj.mulPointEscalar(p1, k1), bj.mulPointEscalar(p2, k2));
        const k = tamper ? k1 + 1n : k1;
        const args = [k, affine(p1), k2, affine(p2), affine(q)] as const;
        expect(addon.doubleMulEquals(...args)).toBe(!tamper);
        expect(doubleMulEquals(...args)).toBe(!tamper);
      }),
      { numRuns: 25 },
    );
  });

  it("multiplies points as circomlibjs does", async () => {
    const bj = await buildBabyjub();
    const affine = (p: Point) => [bj.F.toObject(p[0]), bj.F.toObject(p[1])] as const;
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: (1n << 300n) - 1n }),
        fc.bigInt({ min: 1n, max: SUBGROUP_ORDER - 1n }),
        (k, a) => {
          const p = bj.mulPointEscalar(bj.Base8, a);
          expect(addon.mul(k, affine(p))).toEqual(affine(bj.mulPointEscalar(p, k)));
        },
      ),
      { numRuns: 25 },
    );
  });

  it("derives keys and signs byte for byte as circomlibjs", async () => {
    const ed = await buildEddsa();
    await fc.assert(
      fc.asyncProperty(fieldElement, async (message) => {
        const secret = new Uint8Array(randomBytes(32));
        const pub = ed.prv2pub(secret);
        const derived = await publicKeyOf(secret);
        expect(derived).toEqual([ed.F.toObject(pub[0]), ed.F.toObject(pub[1])]);
        const sig = ed.signPoseidon(secret, ed.F.e(message));
        expect(await signPoseidonWith(secret, derived, message)).toEqual({
          r8: [ed.F.toObject(sig.R8[0]), ed.F.toObject(sig.R8[1])],
          s: sig.S,
        });
      }),
      { numRuns: 30 },
    );
  });

  it("takes scalars up to 2^512 and refuses larger or negative ones", () => {
    const base8 = BASE8;
    // (l + 1)·B8 = B8, with l + 1 shifted past 256 bits by multiples of l.
    const big = SUBGROUP_ORDER * (1n << 250n) + 1n;
    expect(addon.doubleMulEquals(big, base8, 0n, base8, base8)).toBe(true);
    expect(() => addon.doubleMulEquals(1n << 512n, base8, 0n, base8, base8)).toThrow(/0 <= k < 2\^512/);
    expect(() => addon.doubleMulEquals(-1n, base8, 0n, base8, base8)).toThrow(/0 <= k < 2\^512/);
  });
});

describe("without the native addon", () => {
  it("checks a trace on circomlibjs' WebAssembly Poseidon and the BigInt curve code", () => {
    const script = `
      import { checkTrace } from "./trace/index.ts";
      import { poseidonBackend } from "./trace/poseidon.ts";
      import { syntheticTrace } from "./test/fixtures/traces.ts";
      const { lines } = await syntheticTrace({ records: 10, segmentSize: 4 });
      const checked = await checkTrace(lines);
      const bad = structuredClone(lines);
      bad[3].energyMj += 1;
      const err = await checkTrace(bad).catch((e) => e.message);
      console.log(JSON.stringify({ backend: poseidonBackend, seals: checked.seals.length, err }));
    `;
    const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], {
      cwd: new URL("..", import.meta.url),
      env: { ...process.env, METERPROOF_NATIVE: "0" },
      encoding: "utf8",
    });
    const result = JSON.parse(out.trim().split("\n").at(-1)!) as {
      backend: string;
      seals: number;
      err: string;
    };
    expect(result.backend).toBe("wasm");
    expect(result.seals).toBe(3);
    expect(result.err).toMatch(/line 4 .*hash must equal Poseidon/);
  });
});
