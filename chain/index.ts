/**
 * Helpers around the meterproof contracts: deployment (and its stake terms), submissions,
 * events, errors, lane order, pending payouts and plausibility challenges.
 */
export * from "./deploy.ts";
export * from "./submission.ts";
export * from "./events.ts";
export * from "./errors.ts";
export * from "./lane-order.ts";
export * from "./stake-terms.ts";
export * from "./pending.ts";
export * from "./challenge.ts";
