// Minimal types for the parts of circomlibjs that meterproof uses (the package ships none).
declare module "circomlibjs" {
  /** An element of a field in circomlibjs' internal (Montgomery) representation. */
  export type FieldElement = Uint8Array;
  export interface Field {
    e(value: bigint | number | string): FieldElement;
    toObject(value: FieldElement): bigint;
    eq(a: FieldElement, b: FieldElement): boolean;
  }
  export interface Poseidon {
    (inputs: (bigint | FieldElement)[]): FieldElement;
    F: Field;
  }
  export interface Signature {
    R8: [FieldElement, FieldElement];
    S: bigint;
  }
  export interface Eddsa {
    F: Field;
    babyJub: { F: Field; subOrder: bigint; inCurve(p: [FieldElement, FieldElement]): boolean };
    prv2pub(privateKey: Uint8Array): [FieldElement, FieldElement];
    signPoseidon(privateKey: Uint8Array, msg: FieldElement): Signature;
    verifyPoseidon(msg: FieldElement, sig: Signature, pub: [FieldElement, FieldElement]): boolean;
  }
  export type Point = [FieldElement, FieldElement];
  export interface Babyjub {
    F: Field;
    Base8: Point;
    addPoint(a: Point, b: Point): Point;
    mulPointEscalar(p: Point, k: bigint): Point;
  }
  export function buildPoseidon(): Promise<Poseidon>;
  export function buildBabyjub(): Promise<Babyjub>;
  export function buildEddsa(): Promise<Eddsa>;
}
