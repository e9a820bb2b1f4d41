// gRPC load generation (grpc-js): the closed and the open loop of the HTTP
// generators (closed-loop.ts, open-loop.ts), with unary ModelInfer calls on
// a few channels (grpc-channels.ts) instead of keep-alive sockets, recorded
// by the same Recorder, so every summary field means the same:
//
//   closed  `connections × pipelining` calls in flight, each followed by the
//           next as soon as it ends; latency from the actual send; the run
//           stops at its duration (or amount), the calls still in flight
//           then are dropped, as autocannon drops its own.
//   open    calls due at a fixed (or Poisson) rate whatever the answers do
//           (rate-schedule.ts), at most `connections` in flight: the others
//           wait their turn in a FIFO, as requests do in the HTTP open loop's
//           undici Pool; latency from the *intended* send time (wrk2), so a
//           stall shows in every call due during it. Calls unanswered when
//           the drain deadline passes count as timeouts.
//
// "Connections" is therefore the concurrency in both loops, as for HTTP;
// the channels (HTTP/2 connections) they share are ceil(N / callsPerChannel).

import { mulberry32 } from './bodies.ts';
import type { BodySource } from './bodies.ts';
import { channelsFor, DEFAULT_CALLS_PER_CHANNEL, openChannels, type CallOutcome } from './grpc-channels.ts';
import { ArrivalSchedule } from './rate-schedule.ts';
import type { Recorder } from './recorder.ts';
import type { ClosedLoad, OpenLoad } from './results.ts';

type Common = {
  /** host:port of the gRPC listener. */
  address: string;
  recorder: Recorder;
  /** Each call's deadline; in the open loop also how long to wait for stragglers. */
  timeoutMs: number;
  /** Concurrent calls per channel (default DEFAULT_CALLS_PER_CHANNEL). */
  callsPerChannel?: number;
  signal?: AbortSignal;
};

export type GrpcClosedLoopOptions = Common & { bodies: Pick<BodySource, 'next'>; load: ClosedLoad };
export type GrpcOpenLoopOptions = Common & {
  body: () => Buffer;
  load: OpenLoad;
  seed?: number;
  /** Called with performance.now() of the run's start, before the first send. */
  onStart?: (startMs: number) => void;
};

/** Records one call's outcome; `latencyMs` counts from the send (closed loop) or the due time (open loop). */
export function record(recorder: Recorder, outcome: CallOutcome, latencyMs: number): void {
  if (outcome.kind === 'answer') recorder.response(outcome.status, latencyMs, outcome.bytes);
  else recorder.error(outcome.error);
}

export async function runGrpcClosedLoop(options: GrpcClosedLoopOptions): Promise<void> {
  const { load, recorder, bodies, timeoutMs } = options;
  const lanes = load.connections * load.pipelining;
  const channels = await openChannels(options.address, channelsFor(lanes, options.callsPerChannel ?? DEFAULT_CALLS_PER_CHANNEL), timeoutMs);
  const inFlight = new Set<{ cancel(): void }>();
  let sent = 0;
  let answered = 0;
  let stopped = false;
  try {
    await new Promise<void>((resolve) => {
      const stop = (): void => {
        if (stopped) return;
        stopped = true;
        clearTimeout(timer);
        recorder.close();
        resolve();
      };
      // With an amount the run ends at its last answer, as autocannon's does; else at its duration.
      const timer = setTimeout(stop, load.amount === undefined ? load.durationS * 1000 : 2 ** 31 - 1);
      if (options.signal?.aborted) return stop();
      options.signal?.addEventListener('abort', stop, { once: true });
      const next = (lane: number): void => {
        if (stopped || (load.amount !== undefined && sent >= load.amount)) return;
        sent++;
        const startedMs = performance.now();
        const call = channels.call(lane, bodies.next() as Buffer, timeoutMs, (outcome) => {
          inFlight.delete(call);
          record(recorder, outcome, performance.now() - startedMs);
          if (load.amount !== undefined && ++answered >= load.amount) return stop();
          next(lane);
        });
        inFlight.add(call);
      };
      recorder.start();
      for (let lane = 0; lane < lanes; lane++) next(lane);
    });
  } finally {
    // The recorder is closed: these calls' outcomes are ignored, as autocannon ignores the requests it drops.
    for (const call of inFlight) call.cancel();
    channels.close();
  }
}

export async function runGrpcOpenLoop(options: GrpcOpenLoopOptions): Promise<void> {
  const { load, recorder, timeoutMs } = options;
  if (!(load.ratePerS > 0)) throw new Error(`gRPC open loop: rate must be > 0, not ${load.ratePerS}`);
  const channels = await openChannels(options.address, channelsFor(load.connections, options.callsPerChannel ?? DEFAULT_CALLS_PER_CHANNEL), timeoutMs);
  const schedule = new ArrivalSchedule(load, mulberry32(options.seed ?? 1));
  const inFlight = new Set<{ cancel(): void }>();
  // Due times (performance.now() ms) of calls waiting for one of the `connections` slots; `head` is the next to go.
  const waiting: number[] = [];
  let head = 0;
  let turn = 0;
  let stopped = false;
  let onIdle: (() => void) | null = null;

  const dispatch = (dueMs: number): void => {
    const call = channels.call(turn++, options.body(), timeoutMs, (outcome) => {
      inFlight.delete(call);
      if (stopped) return;
      record(recorder, outcome, performance.now() - dueMs);
      if (head < waiting.length) dispatch(waiting[head++]!);
      else if (inFlight.size === 0) onIdle?.();
    });
    inFlight.add(call);
  };
  const send = (dueMs: number, nowMs: number): void => {
    recorder.sendLag(nowMs - dueMs);
    if (inFlight.size < load.connections) dispatch(dueMs);
    else waiting.push(dueMs);
  };

  try {
    recorder.start();
    const startMs = performance.now();
    options.onStart?.(startMs);
    let dueMs = startMs + schedule.next();
    await new Promise<void>((resolve) => {
      const tick = (): void => {
        if (options.signal?.aborted) return resolve();
        const nowMs = performance.now();
        while (dueMs <= nowMs) {
          send(dueMs, nowMs);
          dueMs = startMs + schedule.next();
        }
        if (dueMs === Infinity) return resolve();
        // Timers fire at ≥ 1 ms granularity; whatever fell due meanwhile goes out in the next tick.
        setTimeout(tick, Math.max(0, dueMs - performance.now()));
      };
      tick();
    });
    // Wait for stragglers, but not forever: the unanswered (sent or still waiting) count as timeouts.
    if (inFlight.size > 0 || head < waiting.length) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, options.signal?.aborted ? 0 : timeoutMs);
        onIdle = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    stopped = true;
    for (let i = 0; i < inFlight.size + waiting.length - head; i++) recorder.error('timeout');
    recorder.close();
  } finally {
    stopped = true;
    for (const call of inFlight) call.cancel();
    channels.close();
  }
}
