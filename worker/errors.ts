/** The worker cannot do what was asked: a device it cannot read, a trace it cannot resume, a command it cannot start. */
export class WorkerError extends Error {
  override readonly name = "WorkerError";
}
