/**
 * A small reader of circom's binary .r1cs format (iden3 "r1cs" v1): the header, for
 * constraint counts and the powers-of-tau size, and the constraints, so tests can check a
 * (forged) witness against them directly.
 */
import { readFileSync } from "node:fs";
import { CircuitError } from "./index.ts";

export interface R1csHeader {
  prime: bigint;
  nWires: number;
  nPubOut: number;
  nPubIn: number;
  nPrvIn: number;
  nLabels: bigint;
  nConstraints: number;
}

/** One linear combination: wire index → coefficient. */
export type LinearCombination = Map<number, bigint>;
/** A constraint A · B = C over the witness. */
export interface Constraint {
  a: LinearCombination;
  b: LinearCombination;
  c: LinearCombination;
}

export interface R1cs extends R1csHeader {
  constraints: Constraint[];
}

const HEADER_SECTION = 1;
const CONSTRAINTS_SECTION = 2;

function sections(path: string, buf: Buffer): Map<number, { start: number; size: number }> {
  if (buf.length < 12 || buf.toString("ascii", 0, 4) !== "r1cs")
    throw new CircuitError(path, "is not an r1cs file");
  const version = buf.readUInt32LE(4);
  if (version !== 1) throw new CircuitError(path, `has r1cs version ${version}; only 1 is supported`);
  const count = buf.readUInt32LE(8);
  const out = new Map<number, { start: number; size: number }>();
  let pos = 12;
  for (let i = 0; i < count; i++) {
    const type = buf.readUInt32LE(pos);
    const size = Number(buf.readBigUInt64LE(pos + 4));
    out.set(type, { start: pos + 12, size });
    pos += 12 + size;
  }
  return out;
}

function readLe(buf: Buffer, start: number, n8: number): bigint {
  let v = 0n;
  for (let i = n8 - 1; i >= 0; i--) v = (v << 8n) | BigInt(buf[start + i]!);
  return v;
}

function parseHeader(
  path: string,
  buf: Buffer,
  secs: ReturnType<typeof sections>,
): R1csHeader & { n8: number } {
  const h = secs.get(HEADER_SECTION);
  if (!h) throw new CircuitError(path, "has no header section");
  let pos = h.start;
  const n8 = buf.readUInt32LE(pos);
  const prime = readLe(buf, pos + 4, n8);
  pos += 4 + n8;
  return {
    n8,
    prime,
    nWires: buf.readUInt32LE(pos),
    nPubOut: buf.readUInt32LE(pos + 4),
    nPubIn: buf.readUInt32LE(pos + 8),
    nPrvIn: buf.readUInt32LE(pos + 12),
    nLabels: buf.readBigUInt64LE(pos + 16),
    nConstraints: buf.readUInt32LE(pos + 24),
  };
}

/** Reads the header of an .r1cs file: wire, input and constraint counts. */
export function readR1csHeader(path: string): R1csHeader {
  const buf = readFileSync(path);
  const { n8: _n8, ...header } = parseHeader(path, buf, sections(path, buf));
  return header;
}

/** Reads an .r1cs file with its constraints. */
export function readR1cs(path: string): R1cs {
  const buf = readFileSync(path);
  const secs = sections(path, buf);
  const { n8, ...header } = parseHeader(path, buf, secs);
  const cs = secs.get(CONSTRAINTS_SECTION);
  if (!cs) throw new CircuitError(path, "has no constraints section");
  let pos = cs.start;
  const readLc = (): LinearCombination => {
    const lc: LinearCombination = new Map();
    const terms = buf.readUInt32LE(pos);
    pos += 4;
    for (let i = 0; i < terms; i++) {
      lc.set(buf.readUInt32LE(pos), readLe(buf, pos + 4, n8));
      pos += 4 + n8;
    }
    return lc;
  };
  const constraints: Constraint[] = [];
  for (let i = 0; i < header.nConstraints; i++) constraints.push({ a: readLc(), b: readLc(), c: readLc() });
  return { ...header, constraints };
}

/** Smallest powers-of-tau exponent that fits the circuit (snarkjs: bit length of constraints + public signals). */
export function requiredPtauPower(h: R1csHeader): number {
  return (h.nConstraints + h.nPubIn + h.nPubOut).toString(2).length;
}
