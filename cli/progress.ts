import cliProgress from "cli-progress";

export interface ProgressUpdate {
  done: number;
  total: number;
  etaMs?: number;
}

/** How often a log (stderr not a terminal) gets a plain progress line. */
export const LOG_PROGRESS_EVERY_MS = 10_000;

/**
 * Progress of a long step on stderr: a bar with items done and time left on a terminal; on a
 * log (not a terminal), a plain line at most every LOG_PROGRESS_EVERY_MS and one at the end,
 * so a run under systemd or CI still says what it does. Silent for fewer than two items.
 */
export function progressReporter(
  label: string,
  unit = "segments",
  opts: { tty?: boolean; everyMs?: number; write?: (line: string) => void } = {},
): { update: (p: ProgressUpdate) => void; stop: () => void; done: () => number } {
  let last: ProgressUpdate | undefined;
  const tty = opts.tty ?? process.stderr.isTTY;
  if (!tty) {
    const write = opts.write ?? ((line: string) => process.stderr.write(`${line}\n`));
    const every = opts.everyMs ?? LOG_PROGRESS_EVERY_MS;
    let printedAt = 0;
    let printed: ProgressUpdate | undefined;
    const line = (p: ProgressUpdate) => {
      const eta =
        p.etaMs !== undefined && p.done < p.total ? `, about ${Math.ceil(p.etaMs / 1000)} s left` : "";
      write(`meterproof: ${label}: ${p.done}/${p.total} ${unit}${eta}`);
      printed = p;
      printedAt = Date.now();
    };
    return {
      update: (p) => {
        last = p;
        if (p.total < 2) return;
        if (printed === undefined || Date.now() - printedAt >= every) line(p);
      },
      stop: () => {
        if (last && last.total >= 2 && printed?.done !== last.done) line(last);
      },
      done: () => last?.done ?? 0,
    };
  }
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} [{bar}] {value}/{total} ${unit} | {eta_formatted} left`,
      stream: process.stderr,
      etaBuffer: 8,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update: (p) => {
      last = p;
      if (p.total < 2) return;
      if (!started) {
        bar.start(p.total, p.done);
        started = true;
      } else bar.update(p.done);
    },
    stop: () => {
      if (started) bar.stop();
    },
    done: () => last?.done ?? 0,
  };
}
