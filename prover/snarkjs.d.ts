// Minimal types for the parts of snarkjs and circom_runtime that meterproof uses.
declare module "snarkjs" {
  export interface Groth16Proof {
    pi_a: string[];
    pi_b: string[][];
    pi_c: string[];
    protocol: string;
    curve: string;
  }
  export type MemFile = { type: "mem"; data?: Uint8Array };
  export const groth16: {
    prove(
      zkey: string | MemFile,
      witness: string | MemFile,
      logger?: unknown,
      options?: Record<string, unknown>,
    ): Promise<{ proof: Groth16Proof; publicSignals: string[] }>;
    fullProve(
      input: Record<string, unknown>,
      wasm: string | MemFile,
      zkey: string | MemFile,
    ): Promise<{ proof: Groth16Proof; publicSignals: string[] }>;
    verify(
      vkey: unknown,
      publicSignals: readonly string[],
      proof: Groth16Proof,
      logger?: unknown,
    ): Promise<boolean>;
    exportSolidityCallData(proof: Groth16Proof, publicSignals: readonly string[]): Promise<string>;
  };
  export const wtns: {
    calculate(input: Record<string, unknown>, wasm: string | MemFile, wtns: string | MemFile): Promise<void>;
  };
  export const curves: {
    getCurveFromName(name: string, options?: { singleThread?: boolean }): Promise<unknown>;
  };
  export const zKey: Record<string, (...args: never[]) => Promise<unknown>>;
  export const powersOfTau: Record<string, (...args: never[]) => Promise<unknown>>;
}

declare module "circom_runtime" {
  export interface WitnessCalculator {
    calculateWTNSBin(input: Record<string, unknown>, sanityCheck?: boolean): Promise<Uint8Array>;
  }
  export function WitnessCalculatorBuilder(
    wasm: Uint8Array,
    options?: Record<string, unknown>,
  ): Promise<WitnessCalculator>;
}
