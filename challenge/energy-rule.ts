/**
 * The energy rule a plausibility challenge proves broken: a record's energy must be its mean
 * power over its interval, within a band and a rounding allowance. This is the one place that
 * states it in TypeScript, with the same integer arithmetic as ImplausibleRecord(N)
 * (circuits/implausible_record.circom): a record this module flags has a proof, and a record it
 * passes has none. The audit's energy failures use it too.
 */
import { TraceError, type TraceRecord } from "../trace/index.ts";
import { ENERGY_MJ_BITS, POWER_MW_BITS } from "../trace/constants.ts";

/** The band of energy / (power × time) in bps and the allowance in µJ on both sides. */
export interface EnergyRule {
  loBps: number;
  hiBps: number;
  slackMicroJ: number;
}

/**
 * The default: energy between 50 % and 150 % of power × time, give or take 40 mJ. The
 * allowance covers rounding: energy is whole mJ (±0.5) and mean power whole mW, which over the
 * longest interval (65,535 ms) moves power × time by up to 33 mJ. A GPU drawing 20 W for one
 * second uses 20,000 mJ, so the allowance matters only for nearly idle devices.
 */
export const DEFAULT_ENERGY_RULE: Readonly<EnergyRule> = { loBps: 5_000, hiBps: 15_000, slackMicroJ: 40_000 };

/** Checks a rule against the bounds the circuit and PlausibilityChallenge enforce. */
export function checkEnergyRule(rule: EnergyRule, field = "rule"): EnergyRule {
  const int = (name: keyof EnergyRule, max: number, min = 0) => {
    const v = rule[name];
    if (!Number.isSafeInteger(v) || v < min || v > max)
      throw new TraceError(`${field}.${name}`, `must be an integer from ${min} to ${max}, got ${v}`);
  };
  int("loBps", 10_000);
  int("hiBps", 2 ** 32 - 1, 10_000);
  int("slackMicroJ", 2 ** 48 - 1);
  return rule;
}

/** The rule in words: `energy within 50–150 % of power × time ± 40 mJ`. */
export function describeEnergyRule(rule: EnergyRule): string {
  return `energy within ${rule.loBps / 100}–${rule.hiBps / 100} % of power × time ± ${rule.slackMicroJ / 1000} mJ`;
}

/** Why a record breaks the rule, with the numbers the circuit compares. */
export interface EnergyViolation {
  seq: number;
  kind: "too-much" | "too-little" | "out-of-range";
  /** power × time in µJ. */
  expectedMicroJ: bigint;
  /** energy in µJ. */
  actualMicroJ: bigint;
  /** One sentence naming the record's values and the rule. */
  message: string;
}

type EnergyFields = Pick<TraceRecord, "seq" | "tStart" | "tEnd" | "powerMw" | "energyMj">;

/** The record's violation of `rule`, or undefined when it is plausible. */
export function energyViolation(
  r: EnergyFields,
  rule: EnergyRule = DEFAULT_ENERGY_RULE,
): EnergyViolation | undefined {
  const power = BigInt(r.powerMw);
  const energy = BigInt(r.energyMj);
  const dt = BigInt(r.tEnd - r.tStart);
  const expectedMicroJ = power * dt;
  const actualMicroJ = energy * 1000n;
  const base = { seq: r.seq, expectedMicroJ, actualMicroJ };
  const values = `energy ${r.energyMj} mJ for ${r.powerMw} mW over ${dt} ms`;
  if (power >= 2n ** BigInt(POWER_MW_BITS) || energy >= 2n ** BigInt(ENERGY_MJ_BITS)) {
    return { ...base, kind: "out-of-range", message: `${values} is outside the trace format's ranges` };
  }
  const slack = BigInt(rule.slackMicroJ) * 10_000n;
  const expectedMj = Number(expectedMicroJ / 1000n);
  const of = (bps: number) => `${bps / 100} % of power × time (${expectedMj} mJ)`;
  const allowance = `${rule.slackMicroJ / 1000} mJ`;
  if (actualMicroJ * 10_000n > BigInt(rule.hiBps) * expectedMicroJ + slack) {
    return {
      ...base,
      kind: "too-much",
      message: `${values} is more than ${of(rule.hiBps)} plus ${allowance}`,
    };
  }
  if (actualMicroJ * 10_000n + slack < BigInt(rule.loBps) * expectedMicroJ) {
    return {
      ...base,
      kind: "too-little",
      message: `${values} is less than ${of(rule.loBps)} minus ${allowance}`,
    };
  }
  return undefined;
}

/** Every record of `records` that breaks the rule, in order. */
export function implausibleRecords(
  records: readonly EnergyFields[],
  rule: EnergyRule = DEFAULT_ENERGY_RULE,
): EnergyViolation[] {
  return records.flatMap((r) => energyViolation(r, rule) ?? []);
}
