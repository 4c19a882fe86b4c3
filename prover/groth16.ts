import { WitnessCalculatorBuilder, type WitnessCalculator } from "circom_runtime";
import * as snarkjs from "snarkjs";

const g = globalThis as { curve_bn128?: unknown };

/**
 * Witness calculation and Groth16 proving for one circuit, with the wasm and zkey held in
 * memory. snarkjs caches its BN254 curve in `globalThis.curve_bn128`; in a worker thread,
 * where ffjavascript cannot start threads of its own, a single-threaded curve is built once
 * and put there so every proof reuses it.
 */
export class Groth16Engine {
  private readonly zkey: Uint8Array;
  private readonly calculator: Promise<WitnessCalculator>;
  private readonly curve: Promise<unknown>;
  /** The witness calculator is not reentrant: proofs in one engine run one after another. */
  private last: Promise<unknown> = Promise.resolve();

  constructor(args: { wasm: Uint8Array; zkey: Uint8Array; singleThread: boolean }) {
    this.zkey = args.zkey;
    this.calculator = WitnessCalculatorBuilder(args.wasm);
    this.curve = args.singleThread
      ? snarkjs.curves.getCurveFromName("bn128", { singleThread: true }).then((curve) => {
          g.curve_bn128 = curve;
        })
      : Promise.resolve();
  }

  prove(input: Record<string, unknown>): Promise<{ proof: snarkjs.Groth16Proof; publicSignals: string[] }> {
    const run = this.last.then(() => this.proveNow(input));
    this.last = run.catch(() => undefined);
    return run;
  }

  private async proveNow(
    input: Record<string, unknown>,
  ): Promise<{ proof: snarkjs.Groth16Proof; publicSignals: string[] }> {
    await this.curve;
    const witness = await (await this.calculator).calculateWTNSBin(input, true);
    return snarkjs.groth16.prove({ type: "mem", data: this.zkey }, { type: "mem", data: witness });
  }
}
