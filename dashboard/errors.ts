/**
 * An error the dashboard shows on the page: `status` is the HTTP status of the API answer
 * (400 bad input, 404 unknown job or provider, 503 chain not readable), `message` is for people.
 */
export class DashboardError extends Error {
  override readonly name = "DashboardError";
  readonly status: 400 | 404 | 503;
  constructor(status: 400 | 404 | 503, message: string) {
    super(message);
    this.status = status;
  }
}

/** The first line of an error's message, without ethers' appended request dump. */
export function firstLine(err: unknown): string {
  const e = err as { shortMessage?: unknown; message?: unknown; cause?: { code?: unknown } };
  const code = typeof e.cause?.code === "string" ? ` (${e.cause.code})` : "";
  const text = typeof e.shortMessage === "string" ? e.shortMessage : String(e.message ?? err);
  return `${text.split("\n")[0]!}${code}`;
}
