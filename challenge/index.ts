/** Plausibility challenges: the energy rule, the proof of a broken record, and its submission. */
export * from "./energy-rule.ts";
export * from "./prove.ts";
export * from "./find.ts";
