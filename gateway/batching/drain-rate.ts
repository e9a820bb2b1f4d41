// How fast a batching queue drains while it has a backlog, in rows per ms:
// rows dispatched divided by the time the queue was non-empty before they
// left, with exponential decay (time constant `windowMs`) so that it follows
// the current load. Under overload this is the real service rate — replicas,
// retries, and the gateway's own time between batches included — which a
// batch's run time alone leaves out. Times come from the caller (no clock).

export class DrainRate {
  readonly #windowMs: number;
  #rows = 0;
  #busyMs = 0;

  constructor(windowMs: number) {
    this.#windowMs = windowMs;
  }

  /** `rows` left the queue after it had been non-empty for `busyMs`. */
  observe(rows: number, busyMs: number): void {
    const keep = Math.exp(-Math.max(0, busyMs) / this.#windowMs);
    this.#rows = this.#rows * keep + rows;
    this.#busyMs = this.#busyMs * keep + Math.max(0, busyMs);
  }

  /** Rows per ms, or null before the queue has been busy long enough to say (1 ms in all). */
  rowsPerMs(): number | null {
    return this.#busyMs >= 1 ? this.#rows / this.#busyMs : null;
  }
}
