import { execFileSync } from "node:child_process";

/** The fields of /proc/<pid>/stat the proc sampler uses (proc(5)). Times are in clock ticks. */
export interface ProcStat {
  pid: number;
  state: string;
  ppid: number;
  pgrp: number;
  utime: number;
  stime: number;
  /** CPU time of children this process has waited for (and theirs, recursively). */
  cutime: number;
  cstime: number;
  /** Start time after boot, in clock ticks: tells a process from a later one that reuses its pid. */
  starttime: number;
  /** Resident set size in pages. */
  rss: number;
}

/**
 * Parses /proc/<pid>/stat. The command name (field 2) is in parentheses and may itself
 * hold spaces and parentheses, so fields are counted from the last ")".
 */
export function parseProcStat(text: string): ProcStat | undefined {
  const open = text.indexOf("(");
  const close = text.lastIndexOf(")");
  if (open < 0 || close < open) return undefined;
  const pid = Number(text.slice(0, open).trim());
  // rest[0] is field 3 (state); field n is rest[n - 3].
  const rest = text
    .slice(close + 2)
    .trim()
    .split(" ");
  if (rest.length < 22 || !Number.isInteger(pid)) return undefined;
  const f = (n: number) => Number(rest[n - 3]);
  return {
    pid,
    state: rest[0]!,
    ppid: f(4),
    pgrp: f(5),
    utime: f(14),
    stime: f(15),
    cutime: f(16),
    cstime: f(17),
    starttime: f(22),
    rss: f(24),
  };
}

/** A `getconf` value (CLK_TCK, PAGESIZE), or `fallback` when getconf is missing. */
export function getconf(name: string, fallback: number): number {
  try {
    const v = Number(
      execFileSync("getconf", [name], {
        encoding: "utf8",
        timeout: 5000,
        stdio: ["ignore", "pipe", "ignore"],
      }).trim(),
    );
    return Number.isInteger(v) && v > 0 ? v : fallback;
  } catch {
    return fallback;
  }
}
