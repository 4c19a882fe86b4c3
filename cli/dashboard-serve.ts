/**
 * Serves the dashboard until Ctrl-C: shared by `meterproof dashboard` and `meterproof demo
 * --dashboard` (which serves the demo's in-process chain).
 */
import type { DashboardOptions } from "../dashboard/server.ts";
import { CliError } from "./output.ts";

/** Checks a --port option: a whole number from 0 (any free port) to 65535. */
export function parsePort(text: string): number {
  const port = Number(text);
  if (!/^[0-9]+$/.test(text) || port > 65535)
    throw new CliError(`--port must be a whole number from 0 to 65535, got ${JSON.stringify(text)}`);
  return port;
}

export async function serveDashboardUntilSignal(
  opts: DashboardOptions & { port: number; host: string; log: (line: string) => void },
): Promise<void> {
  const { startDashboard } = await import("../dashboard/server.ts");
  let running;
  try {
    running = await startDashboard(opts);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EADDRINUSE")
      throw new CliError(`--port ${opts.port} is in use on ${opts.host}: choose another`);
    if (code === "EADDRNOTAVAIL") throw new CliError(`--host ${opts.host} is not an address of this machine`);
    throw err;
  }
  opts.log(`meterproof dashboard: ${running.url}  (reads ${opts.chainLabel}; Ctrl-C stops it)`);
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  opts.log("meterproof dashboard: stopping");
  await running.close();
}
