/** Exit codes shared by every command: 0 all good, 1 a check failed, 2 bad input or usage. */
export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_BAD_INPUT = 2;

/** A failure the CLI reports as one line and an exit code, without a stack trace. */
export class CliError extends Error {
  override readonly name = "CliError";
  readonly exitCode: number;
  constructor(message: string, exitCode = EXIT_BAD_INPUT) {
    super(message);
    this.exitCode = exitCode;
  }
}

/**
 * Prints an error the way every command does and returns its exit code. Errors that name a
 * field and a rule (TraceError, CircuitError, …) are bad input: one line, exit 2.
 */
export function reportError(err: unknown): number {
  if (err instanceof CliError) {
    console.error(`meterproof: ${err.message}`);
    return err.exitCode;
  }
  if (err instanceof Error && "field" in err && "rule" in err) {
    console.error(`meterproof: ${err.message}`);
    return EXIT_BAD_INPUT;
  }
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  return EXIT_FAILED;
}

/** Formats a number of GPU-hours for people. */
export function formatGpuHours(hours: number): string {
  return hours >= 0.01 ? hours.toFixed(4) : hours.toExponential(3);
}

/** Formats a unix-ms time as ISO 8601. */
export function formatTime(ms: number): string {
  return new Date(ms).toISOString();
}
