/** The meterproof worker: runs a job, meters its device and writes a signed trace. */
export * from "./errors.ts";
export * from "./device.ts";
export * from "./nvidia-smi-parse.ts";
export * from "./procfs.ts";
export * from "./aggregate.ts";
export * from "./output-hasher.ts";
export * from "./resume.ts";
export * from "./run-job.ts";
export * from "./samplers/types.ts";
export * from "./samplers/proc.ts";
export * from "./samplers/nvml.ts";
export * from "./samplers/auto.ts";
