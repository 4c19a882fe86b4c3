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

/** File-system errors a user can fix, in words. */
const FS_ERRORS: Readonly<Record<string, string>> = {
  ENOENT: "no such file or folder",
  EISDIR: "is a folder where a file is expected",
  ENOTDIR: "a part of the path is not a folder",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EEXIST: "exists already",
  ENOSPC: "no space left on the device",
  EROFS: "read-only file system",
};

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
  // A file-system error that escaped a command's own checks: still one line naming the path.
  const fsError = err as NodeJS.ErrnoException;
  if (err instanceof Error && typeof fsError.code === "string" && FS_ERRORS[fsError.code] !== undefined) {
    const where = fsError.path !== undefined ? `${fsError.path}: ` : "";
    console.error(`meterproof: ${where}${FS_ERRORS[fsError.code]} (${fsError.code})`);
    return EXIT_BAD_INPUT;
  }
  // Anything else is a bug: one line, and the stack only on request.
  if (process.env.METERPROOF_DEBUG === "1")
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  else
    console.error(
      `meterproof: unexpected error: ${err instanceof Error ? err.message.split("\n")[0] : String(err)} ` +
        "(METERPROOF_DEBUG=1 prints the stack; please report it)",
    );
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
