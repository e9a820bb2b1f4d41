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

import type { IncomingHttpHeaders } from 'node:http';
import { Pool } from 'undici';
import { mulberry32, type Body } from './bodies.ts';
import { classifyError, type Recorder } from './recorder.ts';
import type { OpenLoad } from './results.ts';

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
  /** Sees every complete answer with its headers and buffered body (bodies are only kept when this is set). */
  onAnswer?: (answer: OpenLoopAnswer) => void;
};

export async function runOpenLoop(options: OpenLoopOptions): Promise<void> {
  const { load, recorder } = options;
  if (!(load.ratePerS > 0)) throw new Error(`open loop: rate must be > 0, not ${load.ratePerS}`);
  const pool = new Pool(options.origin, {
    connections: load.connections,
    pipelining: 1,
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs,
    connectTimeout: options.timeoutMs,
    keepAliveTimeout: 60_000,
  });
  const random = mulberry32(options.seed ?? 1);
  const meanGapMs = 1000 / load.ratePerS;
  // Constant spacing, or exponential gaps (a Poisson process) with the same mean.
  const gapMs = load.arrivals === 'poisson' ? () => -Math.log(1 - random()) * meanGapMs : () => meanGapMs;

  let pending = 0;
  let onIdle: (() => void) | null = null;
  const settle = (): void => {
    if (--pending === 0) onIdle?.();
  };
  const send = (dueMs: number, nowMs: number): void => {
    recorder.sendLag(nowMs - dueMs);
    pending++;
    pool.request({ path: options.path, method: 'POST', headers: options.headers, body: options.body() }).then(
      async (res) => {
        let bytes = 0;
        const chunks: Buffer[] | null = options.onAnswer ? [] : null;
        try {
          for await (const chunk of res.body) {
            bytes += (chunk as Buffer).byteLength;
            chunks?.push(chunk as Buffer);
          }
        } catch (err) {
          settle();
          recorder.error(classifyError(err));
          return;
        }
        settle();
        const endMs = performance.now();
        recorder.response(res.statusCode, endMs - dueMs, bytes);
        if (chunks) options.onAnswer!({ statusCode: res.statusCode, headers: res.headers, body: Buffer.concat(chunks), latencyMs: endMs - dueMs, sentLatencyMs: endMs - nowMs });
      },
      (err: unknown) => {
        settle();
        recorder.error(classifyError(err));
      },
    );
  };

  recorder.start();
  const startMs = performance.now();
  const endMs = startMs + load.durationS * 1000;
  let dueMs = startMs;
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      if (options.signal?.aborted) return resolve();
      const nowMs = performance.now();
      while (dueMs <= nowMs && dueMs < endMs) {
        send(dueMs, nowMs);
        dueMs += gapMs();
      }
      if (dueMs >= endMs) return resolve();
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
  recorder.close();
  await pool.destroy().catch(() => {});
}
