/** Where in a trace a problem was found; all parts optional so the same error serves APIs and files. */
export interface TraceLocation {
  /** 1-based line number in the JSON Lines file. */
  line?: number;
  /** Sequence number of the record concerned. */
  seq?: number;
  /** Index of the segment concerned. */
  segment?: number;
}

/**
 * A rule of the trace format was broken. The message names the field and the rule, e.g.
 * `line 7 (record 5): utilBps must be at most 10000, got 10001`.
 */
export class TraceError extends Error {
  override readonly name = "TraceError";
  readonly field: string;
  readonly rule: string;
  readonly location: TraceLocation;

  constructor(field: string, rule: string, location: TraceLocation = {}) {
    super(`${describeLocation(location)}${field} ${rule}`);
    this.field = field;
    this.rule = rule;
    this.location = location;
  }

  /** The same error, placed at a line of a file. */
  at(location: TraceLocation): TraceError {
    return new TraceError(this.field, this.rule, { ...this.location, ...location });
  }
}

function describeLocation({ line, seq, segment }: TraceLocation): string {
  const parts: string[] = [];
  if (line !== undefined) parts.push(`line ${line}`);
  const what: string[] = [];
  if (seq !== undefined) what.push(`record ${seq}`);
  if (segment !== undefined) what.push(`segment ${segment}`);
  if (what.length > 0) parts.push(parts.length > 0 ? `(${what.join(", ")})` : what.join(", "));
  return parts.length > 0 ? `${parts.join(" ")}: ` : "";
}
