// Recording, and only recording: load generators report each answer or
// error here; summary() aggregates on read (HDR histograms, counts by status
// and by error kind, a per-second timeline).
//
// Latencies are kept in microseconds in an HDR histogram (3 significant
// digits, 1 µs .. 1 h), so percentiles up to p99.9 are exact to 0.1% with a
// fixed memory cost however many samples arrive. A second, small histogram is
// reset every second for the timeline's per-second p50/p99.

import * as hdr from 'hdr-histogram-js';
import type { LatencySummary, RunSummary, SecondSample } from './results.ts';

const HISTOGRAM = { lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3, useWebAssembly: false } as const;

export type ErrorKind = 'timeout' | 'reset' | 'refused' | 'other';

/** Maps a client error to a kind (by code, never by message text). */
export function classifyError(err: unknown): ErrorKind {
  const code = (err as { code?: unknown } | null)?.code;
  switch (code) {
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'ETIMEDOUT':
    case 'TIMEOUT':
      return 'timeout';
    case 'ECONNRESET':
    case 'EPIPE':
    case 'UND_ERR_SOCKET':
    case 'UND_ERR_CLOSED':
      return 'reset';
    case 'ECONNREFUSED':
      return 'refused';
    default:
      return 'other';
  }
}

export class Recorder {
  readonly #latency = hdr.build(HISTOGRAM);
  readonly #second = hdr.build(HISTOGRAM);
  readonly #sendLag = hdr.build(HISTOGRAM);
  readonly #statusCodes = new Map<number, number>();
  readonly #errorKinds = new Map<ErrorKind, number>();
  readonly #timeline: SecondSample[] = [];
  readonly #now: () => number;
  #startMs = 0;
  #endMs = 0;
  #closed = false;
  #responses = 0;
  #ok = 0;
  #errors = 0;
  #bytes = 0;
  #current: SecondSample = emptySecond(0);

  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
  }

  /** Marks the start of the measured window (the timeline counts from here). */
  start(): void {
    this.#startMs = this.#now();
    this.#current = emptySecond(0);
  }

  /** Ends the window; later answers (e.g. aborted leftovers) are ignored. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#endMs = this.#now();
    this.#advance();
    if (this.#current.responses + this.#current.errors > 0) this.#flushSecond();
  }

  get closed(): boolean {
    return this.#closed;
  }

  response(status: number, latencyMs: number, bytes: number): void {
    if (this.#closed) return;
    this.#advance();
    const micros = Math.max(1, Math.round(latencyMs * 1000));
    this.#latency.recordValue(micros);
    this.#second.recordValue(micros);
    this.#statusCodes.set(status, (this.#statusCodes.get(status) ?? 0) + 1);
    this.#responses++;
    this.#bytes += bytes;
    this.#current.responses++;
    this.#current.bytes += bytes;
    if (status >= 200 && status < 300) this.#ok++;
    else this.#current.non2xx++;
  }

  error(kind: ErrorKind): void {
    if (this.#closed) return;
    this.#advance();
    this.#errors++;
    this.#current.errors++;
    this.#errorKinds.set(kind, (this.#errorKinds.get(kind) ?? 0) + 1);
  }

  /** Open loop: how far behind its schedule the generator sent a request. */
  sendLag(lagMs: number): void {
    if (!this.#closed) this.#sendLag.recordValue(Math.max(1, Math.round(lagMs * 1000)));
  }

  /** Live counters for a progress line. */
  live(): { elapsedS: number; responses: number; errors: number; non2xx: number } {
    const end = this.#closed ? this.#endMs : this.#now();
    return { elapsedS: (end - this.#startMs) / 1000, responses: this.#responses, errors: this.#errors, non2xx: this.#responses - this.#ok };
  }

  summary(): RunSummary {
    const elapsedS = Math.max(1e-3, ((this.#closed ? this.#endMs : this.#now()) - this.#startMs) / 1000);
    const attempts = this.#responses + this.#errors;
    const non2xx = this.#responses - this.#ok;
    const summary: RunSummary = {
      elapsedS,
      responses: this.#responses,
      ok: this.#ok,
      non2xx,
      errors: this.#errors,
      responsesPerS: this.#responses / elapsedS,
      bytesRead: this.#bytes,
      bytesPerS: this.#bytes / elapsedS,
      latency: latencySummary(this.#latency),
      statusCodes: Object.fromEntries([...this.#statusCodes].sort(([a], [b]) => a - b).map(([k, v]) => [String(k), v])),
      errorKinds: Object.fromEntries(this.#errorKinds),
      errorRate: attempts === 0 ? 0 : (non2xx + this.#errors) / attempts,
      timeline: [...this.#timeline],
      histogram: hdr.encodeIntoCompressedBase64(this.#latency),
    };
    if (this.#sendLag.totalCount > 0) summary.sendLagP99Ms = this.#sendLag.getValueAtPercentile(99) / 1000;
    return summary;
  }

  /** Closes the timeline's seconds that ended before now. */
  #advance(): void {
    const second = Math.floor((this.#now() - this.#startMs) / 1000);
    while (this.#current.second < second) {
      this.#flushSecond();
      this.#current = emptySecond(this.#current.second + 1);
    }
  }

  #flushSecond(): void {
    const s = this.#current;
    if (this.#second.totalCount > 0) {
      s.p50Ms = this.#second.getValueAtPercentile(50) / 1000;
      s.p99Ms = this.#second.getValueAtPercentile(99) / 1000;
    }
    this.#second.reset();
    this.#timeline.push(s);
  }
}

function emptySecond(second: number): SecondSample {
  return { second, responses: 0, errors: 0, non2xx: 0, bytes: 0, p50Ms: 0, p99Ms: 0 };
}

function latencySummary(h: hdr.Histogram): LatencySummary {
  if (h.totalCount === 0) return { minMs: 0, meanMs: 0, p50Ms: 0, p90Ms: 0, p99Ms: 0, p999Ms: 0, maxMs: 0 };
  const ms = (micros: number): number => micros / 1000;
  return {
    minMs: ms(h.minNonZeroValue),
    meanMs: ms(h.mean),
    p50Ms: ms(h.getValueAtPercentile(50)),
    p90Ms: ms(h.getValueAtPercentile(90)),
    p99Ms: ms(h.getValueAtPercentile(99)),
    p999Ms: ms(h.getValueAtPercentile(99.9)),
    maxMs: ms(h.maxValue),
  };
}
