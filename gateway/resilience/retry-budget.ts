// A retry budget (Finagle's RetryBudget, Envoy's retry_budget): retries may
// add at most `percent` of the requests seen in a rolling window, plus a small
// floor per second so that a quiet gateway can still retry. Without it, a
// failing replica set turns every request into maxAttempts requests exactly
// when the fleet can least afford it.
//
// Counts live in a ring of time buckets; time comes from the injected clock
// (no timers), so it is tested by advancing a number.

export type RetryBudgetConfig = {
  percent: number;
  minRetriesPerSecond: number;
  windowMs: number;
};

/** requests, retries and allowedRetries are over the window; retriedTotal and exhausted count since start. */
export type RetryBudgetSnapshot = { requests: number; retries: number; allowedRetries: number; exhausted: number; retriedTotal: number };

const BUCKETS = 10;

export class RetryBudget {
  readonly #config: RetryBudgetConfig;
  readonly #now: () => number;
  readonly #bucketMs: number;
  readonly #requests = new Array<number>(BUCKETS).fill(0);
  readonly #retries = new Array<number>(BUCKETS).fill(0);
  /** Index (time / bucketMs) of the newest bucket. */
  #current: number;
  #exhausted = 0;
  #retriedTotal = 0;

  constructor(config: RetryBudgetConfig, now: () => number) {
    this.#config = config;
    this.#now = now;
    this.#bucketMs = config.windowMs / BUCKETS;
    this.#current = Math.floor(now() / this.#bucketMs);
  }

  /** Counts a first attempt. */
  recordRequest(): void {
    this.#requests[this.#advance()]!++;
  }

  /** Takes one retry from the budget; false (and counted as exhausted) when none is left. */
  tryRetry(): boolean {
    const slot = this.#advance();
    if (sum(this.#retries) >= this.#allowed()) {
      this.#exhausted++;
      return false;
    }
    this.#retries[slot]!++;
    this.#retriedTotal++;
    return true;
  }

  snapshot(): RetryBudgetSnapshot {
    this.#advance();
    return { requests: sum(this.#requests), retries: sum(this.#retries), allowedRetries: Math.floor(this.#allowed()), exhausted: this.#exhausted, retriedTotal: this.#retriedTotal };
  }

  #allowed(): number {
    const floor = (this.#config.minRetriesPerSecond * this.#config.windowMs) / 1000;
    return Math.max(floor, (sum(this.#requests) * this.#config.percent) / 100);
  }

  /** Clears the buckets that time has moved past; returns the current bucket's slot. */
  #advance(): number {
    const index = Math.floor(this.#now() / this.#bucketMs);
    const passed = Math.min(BUCKETS, index - this.#current);
    for (let i = 1; i <= passed; i++) {
      const slot = (this.#current + i) % BUCKETS;
      this.#requests[slot] = 0;
      this.#retries[slot] = 0;
    }
    if (passed > 0) this.#current = index;
    return this.#current % BUCKETS;
  }
}

function sum(values: readonly number[]): number {
  let total = 0;
  for (const v of values) total += v;
  return total;
}
