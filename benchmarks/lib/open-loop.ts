// Open-loop (fixed arrival rate) load generation, as wrk2 does it: request i
// is *due* at t0 + i/rate (or at Poisson arrival times) whatever the server
// does, and its latency is counted from that intended send time, not from
// when a connection happened to be free. A server stall therefore shows up in
// every request that was due during it (coordinated omission corrected).
//
//   due:     |  |  |  |  |  |  |  |     (rate)
//   server:  ok ok [--- stall ---] ok
//   latency: measured from each "|", so requests due in the stall wait it out
//
// autocannon's own correction is not used: it assumes an expected interval of
// Math.ceil(1 / rate) ms per connection, which is 1 ms for any rate above
// 1 req/s. Requests go out on an undici Pool (keep-alive, `connections`
// sockets); when all sockets are busy, later requests queue in the pool and
// that queueing is part of their latency, as it would be for real clients.
// The rate may change during the run (load.schedule, see rate-schedule.ts).

import type { IncomingHttpHeaders } from 'node:http';
import { Pool } from 'undici';
import { mulberry32, type Body } from './bodies.ts';
import { ArrivalSchedule } from './rate-schedule.ts';
import { classifyError, Recorder, type ErrorKind } from './recorder.ts';
import type { OpenLoad } from './results.ts';

/** One request's outcome, for observers that need more than the Recorder keeps (e.g. a per-second chaos timeline). */
export type Answer = {
  /** Intended send time and completion, ms from the run's start. */
  dueMs: number;
  doneMs: number;
  /** An answer's status (absent when there was none)… */
  status?: number;
  /** …its error code (`code` of a non-2xx JSON body), and whether it carried Retry-After. */
  code?: string;
  retryAfter?: boolean;
  /** A 2xx answer's `model_version` (only when OpenLoopOptions.answerVersions asks for it). */
  version?: string;
  /** No answer: why. */
  error?: ErrorKind;
};

/** One complete answer, for callers that check more than the status (chaos tests). */
export type OpenLoopAnswer = {
  statusCode: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** From the intended send time (what the recorder gets). */
  latencyMs: number;
  /** From the moment the request was handed to the pool: the latency without the generator's own lag. */
  sentLatencyMs: number;
};

export type OpenLoopOptions = {
  origin: string;
  path: string;
  headers: Record<string, string>;
  body: () => Body;
  load: OpenLoad;
  recorder: Recorder;
  /** Per-request header/body timeout, and how long to wait for stragglers once the schedule ends. */
  timeoutMs: number;
  seed?: number;
  /** Aborting stops sending at once (e.g. on SIGINT); stragglers are then counted as timeouts. */
  signal?: AbortSignal;
  /** Called with performance.now() of the run's start (time 0 of Answer times), before the first send. */
  onStart?: (startMs: number) => void;
  /** Sees every request's outcome, stragglers included. */
  observe?: (answer: Answer) => void;
  /** Observers also get each 2xx answer's `model_version` (its body is then buffered and parsed: off unless a scenario needs it). */
  answerVersions?: boolean;
  /** Sees every complete answer with its headers and buffered body (bodies are only kept when this is set). */
  onAnswer?: (answer: OpenLoopAnswer) => void;
  /**
   * Seconds of load at the first rate, on the same connections, before the
   * measured run; its answers are awaited and counted nowhere. A fresh load
   * generator opens its sockets and compiles its code in its first hundreds
   * of milliseconds, which would otherwise be the measured run's tail.
   */
  warmupS?: number;
};

export async function runOpenLoop(options: OpenLoopOptions): Promise<void> {
  const { load } = options;
  if (!(load.ratePerS > 0)) throw new Error(`open loop: rate must be > 0, not ${load.ratePerS}`);
  const pool = new Pool(options.origin, {
    connections: load.connections,
    pipelining: 1,
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs,
    connectTimeout: options.timeoutMs,
    keepAliveTimeout: 60_000,
  });
  try {
    if (options.warmupS) {
      const warmup = { ...load, durationS: options.warmupS, schedule: undefined };
      await drive(pool, { ...options, load: warmup, recorder: new Recorder(), onStart: undefined, observe: undefined, onAnswer: undefined });
    }
    await drive(pool, options);
  } finally {
    await pool.destroy().catch(() => {});
  }
}

/** One run of the schedule over `pool`: sends, waits for the stragglers, closes the recorder. */
async function drive(pool: Pool, options: OpenLoopOptions): Promise<void> {
  const { load, recorder } = options;
  const schedule = new ArrivalSchedule(load, mulberry32(options.seed ?? 1));
  const observe = options.observe;
  let startMs = 0;

  let pending = 0;
  let onIdle: (() => void) | null = null;
  // Due times of the requests in flight, for observers of the stragglers.
  // Each entry keeps its due time as the schedule gave it (ms from the start), so observers see exact times:
  // (startMs + t) - startMs is not always t in floating point.
  const inFlight = new Set<{ offsetMs: number }>();
  const settle = (entry: { offsetMs: number }, answer: Omit<Answer, 'dueMs' | 'doneMs'>): void => {
    inFlight.delete(entry);
    if (--pending === 0) onIdle?.();
    if (observe && !recorder.closed) observe({ dueMs: entry.offsetMs, doneMs: performance.now() - startMs, ...answer });
  };
  const send = (offsetMs: number, nowMs: number): void => {
    const dueMs = startMs + offsetMs;
    recorder.sendLag(nowMs - dueMs);
    pending++;
    const entry = { offsetMs };
    inFlight.add(entry);
    pool.request({ path: options.path, method: 'POST', headers: options.headers, body: options.body() }).then(
      async (res) => {
        let bytes = 0;
        // Non-2xx bodies are small error documents: keep them when an observer wants their code; onAnswer wants every body.
        const ok = res.statusCode >= 200 && res.statusCode < 300;
        const keep: Buffer[] | null = options.onAnswer || (observe && (!ok || options.answerVersions)) ? [] : null;
        try {
          for await (const chunk of res.body) {
            bytes += (chunk as Buffer).byteLength;
            keep?.push(chunk as Buffer);
          }
        } catch (err) {
          const kind = classifyError(err);
          settle(entry, { error: kind });
          recorder.error(kind);
          return;
        }
        const endMs = performance.now();
        if (!keep) settle(entry, { status: res.statusCode });
        else if (ok && options.answerVersions) settle(entry, { status: res.statusCode, version: textField(keep, 'model_version') });
        else settle(entry, { status: res.statusCode, code: textField(keep, 'code'), retryAfter: res.headers['retry-after'] !== undefined });
        recorder.response(res.statusCode, endMs - dueMs, bytes);
        if (options.onAnswer) options.onAnswer({ statusCode: res.statusCode, headers: res.headers, body: Buffer.concat(keep!), latencyMs: endMs - dueMs, sentLatencyMs: endMs - nowMs });
      },
      (err: unknown) => {
        const kind = classifyError(err);
        settle(entry, { error: kind });
        recorder.error(kind);
      },
    );
  };

  recorder.start();
  startMs = performance.now();
  options.onStart?.(startMs);
  let offsetMs = schedule.next();
  let dueMs = startMs + offsetMs;
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      if (options.signal?.aborted) return resolve();
      const nowMs = performance.now();
      while (dueMs <= nowMs) {
        send(offsetMs, nowMs);
        offsetMs = schedule.next();
        dueMs = startMs + offsetMs;
      }
      if (dueMs === Infinity) return resolve();
      // Timers fire at ≥ 1 ms granularity; whatever fell due meanwhile goes out in the next tick.
      setTimeout(tick, Math.max(0, dueMs - performance.now()));
    };
    tick();
  });

  // Wait for stragglers, but not forever: the unanswered count as timeouts.
  if (pending > 0) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, options.signal?.aborted ? 0 : options.timeoutMs);
      onIdle = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
  for (let i = 0; i < pending; i++) recorder.error('timeout');
  const doneMs = performance.now() - startMs;
  for (const { offsetMs } of inFlight) observe?.({ dueMs: offsetMs, doneMs, error: 'timeout' });
  recorder.close();
}

/** A string field of a JSON answer body: `code` of an error body ({error, code}), `model_version` of an infer answer. */
function textField(chunks: Buffer[], field: 'code' | 'model_version'): string | undefined {
  try {
    const value = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>)[field];
    return typeof value === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}
