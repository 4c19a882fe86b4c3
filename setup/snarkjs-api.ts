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

/**
 * Group operations of one of ffjavascript's elliptic-curve groups. Points are byte buffers:
 * affine (2 coordinates) or Jacobian (3); results are Jacobian.
 */
export interface CurveGroup {
  fromObject(point: readonly (bigint | readonly bigint[])[]): Uint8Array;
  toObject(point: Uint8Array): bigint[] | bigint[][];
  toAffine(point: Uint8Array): Uint8Array;
  add(a: Uint8Array, b: Uint8Array): Uint8Array;
  neg(a: Uint8Array): Uint8Array;
  timesScalar(a: Uint8Array, s: bigint): Uint8Array;
  isZero(a: Uint8Array): boolean;
  /** On the curve (or zero); says nothing about the subgroup. */
  isValid(a: Uint8Array): boolean;
  eq(a: Uint8Array, b: Uint8Array): boolean;
  zero: Uint8Array;
  g: Uint8Array;
}

/** snarkjs' BN254 curve (ffjavascript): G1, G2 and a multi-pairing check. */
export interface Bn128Ops extends Bn128Curve {
  G1: CurveGroup;
  G2: CurveGroup;
  /** Order of the scalar field (the groups' order). */
  r: bigint;
  /** Prod_i e(g1_i, g2_i) == 1 for arguments g1_0, g2_0, g1_1, g2_1, …; the Miller loops run on the curve's threads. */
  pairingEq(...points: Uint8Array[]): Promise<boolean>;
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

/** snarkjs' shared BN254 curve (built once per process; releaseCurve ends its threads). */
export function bn128(): Promise<Bn128Ops> {
  return curves.getCurveFromName("bn128") as Promise<Bn128Ops>;
}

/** A logger that keeps snarkjs' error lines (to report why a check failed) and drops the rest. */
export function collectingLogger(
  progress?: (msg: string) => void,
  everyMs = 10_000,
): SnarkjsLogger & { errors: string[] } {
  const errors: string[] = [];
  // snarkjs reports each step at debug/info; a long step passes one on at most every `everyMs`.
  let last = Date.now();
  const step = (msg: string): void => {
    if (!progress || Date.now() - last < everyMs) return;
    last = Date.now();
    progress(msg);
  };
  return { errors, debug: step, info: step, warn: step, error: (msg: string) => void errors.push(msg) };
}

/**
 * Ends the worker threads of snarkjs' shared BN254 curve so the process can exit; the next
 * snarkjs call builds a new one.
 */
export async function releaseCurve(): Promise<void> {
  await (globalThis as { curve_bn128?: Bn128Curve | null }).curve_bn128?.terminate();
}
