/** Helpers around the meterproof contracts: deployment, submissions, events and errors. */
export * from "./deploy.ts";
export * from "./submission.ts";
export * from "./events.ts";
export * from "./errors.ts";
