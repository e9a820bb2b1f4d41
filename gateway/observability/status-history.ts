// The status page's recent past: one sample per interval over a rolling
// window (10 minutes by default) of throughput, errors and latency
// percentiles, each computed from the difference between two readings of
// cumulative counters (the same cells GET /metrics exports), so the page and
// a Prometheus query over the same interval agree.
//
//   reading(t0) ─────── reading(t1)
//        └── counts(t1) − counts(t0), over t1 − t0 seconds ──→ sample at t1
//
// "Errors" are every answer that is not 2xx (client errors, refusals and
// failures alike): what `infergate_requests_total{status_class!="2xx"}` counts.
//
// The arithmetic is pure (sampleBetween, histogramQuantile); the class only
// keeps the last reading, the samples, and an unref'd timer.

/** Cumulative counts since start, as the metrics keep them. */
export type CumulativeRequests = {
  /** Requests answered. */
  requests: number;
  /** Of those, the ones not answered 2xx. */
  errors: number;
  /**
   * The end-to-end latency histogram over every model: per upper bound (seconds, ascending, finite), the count of
   * requests at most that long. Requests above the last bound are those of `requests` not in the last count.
   */
  latency: { boundsSeconds: readonly number[]; cumulativeCounts: readonly number[] };
};

export type StatusSample = {
  /** End of the interval (the source clock's ms, wall clock by default). */
  atMs: number;
  requestsPerS: number;
  errorsPerS: number;
  /** Latency percentiles of the requests answered in the interval; null when none was. */
  p50Ms: number | null;
  p99Ms: number | null;
};

export type StatusHistoryOptions = {
  /** Reads the cumulative counts now. */
  read: () => CumulativeRequests;
  /** Between two samples; default 1 s. */
  intervalMs?: number;
  /** How far back samples are kept; default 10 minutes. */
  windowMs?: number;
  /** Default Date.now: the page shows the samples' times. */
  nowMs?: () => number;
  /** Calls `tick` every `intervalMs` until the returned function is called; default an unref'd setInterval. */
  every?: (intervalMs: number, tick: () => void) => () => void;
};

export const DEFAULT_SAMPLE_INTERVAL_MS = 1_000;
export const DEFAULT_HISTORY_WINDOW_MS = 10 * 60_000;

export class StatusHistory {
  readonly intervalMs: number;
  readonly windowMs: number;
  readonly #read: () => CumulativeRequests;
  readonly #nowMs: () => number;
  #last: { atMs: number; reading: CumulativeRequests };
  readonly #samples: StatusSample[] = [];
  readonly #every: (intervalMs: number, tick: () => void) => () => void;
  #stop: (() => void) | undefined;

  constructor(options: StatusHistoryOptions) {
    this.#read = options.read;
    this.#nowMs = options.nowMs ?? Date.now;
    this.intervalMs = options.intervalMs ?? DEFAULT_SAMPLE_INTERVAL_MS;
    this.windowMs = options.windowMs ?? DEFAULT_HISTORY_WINDOW_MS;
    this.#every = options.every ?? unrefInterval;
    this.#last = { atMs: this.#nowMs(), reading: copy(this.#read()) };
  }

  /** Samples every intervalMs until close(); the timer does not keep the process alive. */
  start(): this {
    this.#stop ??= this.#every(this.intervalMs, () => this.sample());
    return this;
  }

  /** Takes one sample now (the timer calls this; tests drive it with their own clock). Undefined when no time passed. */
  sample(atMs: number = this.#nowMs()): StatusSample | undefined {
    const reading = copy(this.#read());
    const sample = sampleBetween(this.#last.reading, reading, (atMs - this.#last.atMs) / 1000, atMs);
    if (sample === undefined) return undefined;
    this.#last = { atMs, reading };
    this.#samples.push(sample);
    const oldestMs = atMs - this.windowMs;
    let expired = 0;
    while (expired < this.#samples.length && this.#samples[expired]!.atMs <= oldestMs) expired++;
    if (expired > 0) this.#samples.splice(0, expired);
    return sample;
  }

  /** The samples in the window, oldest first. */
  samples(): readonly StatusSample[] {
    return this.#samples;
  }

  close(): void {
    this.#stop?.();
    this.#stop = undefined;
  }
}

/** The sample for the interval between two readings `elapsedSeconds` apart; undefined when no time passed. */
export function sampleBetween(before: CumulativeRequests, after: CumulativeRequests, elapsedSeconds: number, atMs: number): StatusSample | undefined {
  if (!(elapsedSeconds > 0)) return undefined;
  // A counter that went down was reset (not expected of the gateway's own): the interval counts from zero.
  const delta = (a: number, b: number) => (b >= a ? b - a : b);
  const requests = delta(before.requests, after.requests);
  const { boundsSeconds } = after.latency;
  const sameBounds = before.latency.boundsSeconds.length === boundsSeconds.length;
  const cumulative = after.latency.cumulativeCounts.map((count, i) => (sameBounds ? delta(before.latency.cumulativeCounts[i] ?? 0, count) : count));
  const quantileMs = (q: number) => {
    const seconds = histogramQuantile(q, boundsSeconds, cumulative, requests);
    return seconds === null ? null : round(seconds * 1000, 3);
  };
  return {
    atMs,
    requestsPerS: round(requests / elapsedSeconds, 3),
    errorsPerS: round(delta(before.errors, after.errors) / elapsedSeconds, 3),
    p50Ms: quantileMs(0.5),
    p99Ms: quantileMs(0.99),
  };
}

/**
 * The q-quantile of a histogram, as Prometheus's histogram_quantile computes it: find the bucket the q·total-th
 * observation falls in and interpolate linearly between its lower and upper bound (the first bucket's lower bound is
 * 0). An observation beyond the last finite bound answers that bound. Null for an empty histogram.
 *
 * `cumulativeCounts[i]` counts observations ≤ `boundsSeconds[i]`; `total` counts them all (+Inf's bucket).
 */
export function histogramQuantile(q: number, boundsSeconds: readonly number[], cumulativeCounts: readonly number[], total: number): number | null {
  if (!(total > 0) || boundsSeconds.length === 0) return null;
  if (q <= 0) return 0;
  if (q >= 1) q = 1;
  const rank = q * total;
  let i = 0;
  while (i < boundsSeconds.length && cumulativeCounts[i]! < rank) i++;
  if (i === boundsSeconds.length) return boundsSeconds[boundsSeconds.length - 1]!;
  const lower = i === 0 ? 0 : boundsSeconds[i - 1]!;
  const below = i === 0 ? 0 : cumulativeCounts[i - 1]!;
  const inBucket = cumulativeCounts[i]! - below;
  if (inBucket <= 0) return boundsSeconds[i]!;
  return lower + (boundsSeconds[i]! - lower) * ((rank - below) / inBucket);
}

function unrefInterval(intervalMs: number, tick: () => void): () => void {
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

function copy(reading: CumulativeRequests): CumulativeRequests {
  return {
    requests: reading.requests,
    errors: reading.errors,
    latency: { boundsSeconds: reading.latency.boundsSeconds, cumulativeCounts: [...reading.latency.cumulativeCounts] },
  };
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
