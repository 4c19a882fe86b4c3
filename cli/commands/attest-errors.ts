import { CliError, EXIT_BAD_INPUT, EXIT_FAILED } from "../output.ts";

/**
 * Turns attestation errors into one-line CLI errors: a refusal (the evidence does not prove what
 * it must) exits 1, malformed input exits 2.
 */
export async function asCliError(err: unknown): Promise<unknown> {
  const { AttestError } = await import("../../attest/errors.ts");
  const { CollectError } = await import("../../attest/collect.ts");
  if (err instanceof AttestError)
    return new CliError(err.message, err.kind === "refused" ? EXIT_FAILED : EXIT_BAD_INPUT);
  if (err instanceof CollectError) return new CliError(err.message, EXIT_FAILED);
  return err;
}
