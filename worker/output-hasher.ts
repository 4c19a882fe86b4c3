import { createReadStream } from "node:fs";
import { sha256 } from "@noble/hashes/sha2.js";

const hex = (bytes: Uint8Array) => "0x" + Buffer.from(bytes).toString("hex");

/**
 * Hashes the job's output interval by interval while it streams through, giving the same
 * value as `intervalOutputSha256` in trace/hashing.ts for the bytes received in the interval.
 */
export class IntervalOutputHasher {
  private stdout = sha256.create();
  private stderr = sha256.create();
  private bytes = 0;

  update(stream: "stdout" | "stderr", chunk: Uint8Array): void {
    (stream === "stdout" ? this.stdout : this.stderr).update(chunk);
    this.bytes += chunk.length;
  }

  /** Bytes seen in the current interval. */
  get byteCount(): number {
    return this.bytes;
  }

  /** Ends the interval: returns its output hash and starts the next interval empty. */
  take(): string {
    const combined = sha256.create().update(this.stdout.digest()).update(this.stderr.digest()).digest();
    this.stdout = sha256.create();
    this.stderr = sha256.create();
    this.bytes = 0;
    return hex(combined);
  }
}

/** The output hash of an interval given its two streams whole (what `IntervalOutputHasher.take` returns). */
export { intervalOutputSha256 } from "../trace/index.ts";

/** SHA-256 of a file, streamed (output files can be large). */
export async function fileSha256(path: string): Promise<string> {
  const h = sha256.create();
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
  return hex(h.digest());
}
