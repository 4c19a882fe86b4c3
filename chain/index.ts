/** Helpers around the meterproof contracts: deployment, submissions, events, errors and lane order. */
export * from "./deploy.ts";
export * from "./submission.ts";
export * from "./events.ts";
export * from "./errors.ts";
export * from "./lane-order.ts";
