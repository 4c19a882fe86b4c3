/**
 * Crash points for the restart tests: when METERPROOF_FAILPOINT names one of these stages, the
 * agent kills itself with SIGKILL right there, as a power cut would. Unset, they do nothing.
 */
export type Failpoint = "after-seal" | "after-proof" | "after-send" | "after-accept";

export function failpoint(stage: Failpoint): void {
  if (process.env.METERPROOF_FAILPOINT === stage) process.kill(process.pid, "SIGKILL");
}
