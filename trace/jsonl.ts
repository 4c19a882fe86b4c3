import { closeSync, createReadStream, fsyncSync, openSync, writeSync } from "node:fs";

/** One line of a JSON Lines file. */
export interface Line {
  /** 1-based line number. */
  line: number;
  text: string;
  /** The file ended without a newline after this line: it may have been cut mid-write. */
  torn: boolean;
}

/**
 * Streams the lines of a file without loading it whole. A last line with no trailing
 * newline is yielded with `torn: true` (the append-only writer always ends a line with
 * "\n", so such a line was being written when the writer stopped).
 */
export async function* readLines(path: string): AsyncGenerator<Line> {
  let rest = "";
  let line = 0;
  for await (const chunk of createReadStream(path, { encoding: "utf8", highWaterMark: 1 << 20 })) {
    const parts = (rest + (chunk as string)).split("\n");
    rest = parts.pop() ?? "";
    for (const text of parts) yield { line: ++line, text, torn: false };
  }
  if (rest.length > 0) yield { line: ++line, text: rest, torn: true };
}

/**
 * Appends JSON lines to a file, each written whole and fsync'ed before `append` returns, so
 * a crash loses at most the line being written.
 */
export class JsonlAppender {
  readonly path: string;
  private fd: number | undefined;

  constructor(path: string) {
    this.path = path;
    this.fd = openSync(path, "a", 0o644);
  }

  append(value: unknown): void {
    if (this.fd === undefined) throw new Error(`appender for ${this.path} is closed`);
    const buf = Buffer.from(JSON.stringify(value) + "\n", "utf8");
    let off = 0;
    while (off < buf.length) off += writeSync(this.fd, buf, off);
    fsyncSync(this.fd);
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
