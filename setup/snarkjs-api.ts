/**
 * Typed views of the snarkjs functions the setup pipeline calls (the package ships no
 * types; prover/snarkjs.d.ts declares the proving side).
 */
import * as snarkjs from "snarkjs";

/** snarkjs loggers: only `error` is used, to say why a verification failed. */
export interface SnarkjsLogger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

export interface Bn128Curve {
  terminate(): Promise<void>;
}

export interface ZKeyApi {
  newZKey(r1cs: string, ptau: string, zkey: string, logger?: SnarkjsLogger): Promise<unknown>;
  contribute(
    oldZkey: string,
    newZkey: string,
    name: string,
    entropy: string,
    logger?: SnarkjsLogger,
  ): Promise<Uint8Array>;
  beacon(
    oldZkey: string,
    newZkey: string,
    name: string,
    beaconHashHex: string,
    iterationsExp: number,
    logger?: SnarkjsLogger,
  ): Promise<Uint8Array | false>;
  /** Files may be given as their bytes (fastfile reads a Uint8Array as an in-memory file). */
  verifyFromR1cs(
    r1cs: string | Uint8Array,
    ptau: string | Uint8Array,
    zkey: string | Uint8Array,
    logger?: SnarkjsLogger,
  ): Promise<boolean>;
  exportVerificationKey(zkey: string, logger?: SnarkjsLogger): Promise<Record<string, unknown>>;
  exportSolidityVerifier(
    zkey: string,
    templates: { groth16: string },
    logger?: SnarkjsLogger,
  ): Promise<string>;
}

export interface PowersOfTauApi {
  newAccumulator(curve: Bn128Curve, power: number, file: string, logger?: SnarkjsLogger): Promise<unknown>;
  beacon(
    oldPtau: string,
    newPtau: string,
    name: string | undefined,
    beaconHashHex: string,
    iterationsExp: number,
    logger?: SnarkjsLogger,
  ): Promise<unknown>;
  preparePhase2(oldPtau: string, newPtau: string, logger?: SnarkjsLogger): Promise<unknown>;
}

export const zKey = snarkjs.zKey as unknown as ZKeyApi;
export const powersOfTau = snarkjs.powersOfTau as unknown as PowersOfTauApi;
export const curves = (
  snarkjs as unknown as { curves: { getCurveFromName(name: string): Promise<Bn128Curve> } }
).curves;

/** A logger that keeps snarkjs' error lines (to report why a check failed) and drops the rest. */
export function collectingLogger(): SnarkjsLogger & { errors: string[] } {
  const errors: string[] = [];
  const ignore = (): void => {};
  return { errors, debug: ignore, info: ignore, warn: ignore, error: (msg: string) => void errors.push(msg) };
}

/**
 * Ends the worker threads of snarkjs' shared BN254 curve so the process can exit; the next
 * snarkjs call builds a new one.
 */
export async function releaseCurve(): Promise<void> {
  await (globalThis as { curve_bn128?: Bn128Curve | null }).curve_bn128?.terminate();
}
