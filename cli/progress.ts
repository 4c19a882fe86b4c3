import cliProgress from "cli-progress";

export interface ProgressUpdate {
  done: number;
  total: number;
  etaMs?: number;
}

/**
 * A progress bar with items done and time left, drawn on stderr only when it is a terminal
 * and the run is long enough to need one; otherwise silent.
 */
export function progressReporter(label: string): { update: (p: ProgressUpdate) => void; stop: () => void } {
  if (!process.stderr.isTTY) return { update: () => {}, stop: () => {} };
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} [{bar}] {value}/{total} segments | {eta_formatted} left`,
      stream: process.stderr,
      etaBuffer: 8,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update: ({ done, total }) => {
      if (total < 2) return;
      if (!started) {
        bar.start(total, done);
        started = true;
      } else bar.update(done);
    },
    stop: () => {
      if (started) bar.stop();
    },
  };
}
