// Closed-loop load generation with autocannon as a library: `connections`
// keep-alive sockets, each sending its next request (or `pipelining` of
// them) as soon as the previous answer arrives, for a duration or an amount.
// Its answers and errors are fed to our Recorder so both modes are recorded
// and reported the same way; autocannon's own histograms are ignored.
//
// Latency here is from the actual send, so a server stall is seen by at most
// `connections` requests: that is what closed loop measures (the open loop is
// the corrected view).

import autocannon from 'autocannon';
import type { BodySource } from './bodies.ts';
import { classifyError, type Recorder } from './recorder.ts';
import type { ClosedLoad } from './results.ts';

export type ClosedLoopOptions = {
  origin: string;
  path: string;
  headers: Record<string, string>;
  bodies: BodySource;
  load: ClosedLoad;
  recorder: Recorder;
  timeoutMs: number;
  signal?: AbortSignal;
};

export async function runClosedLoop(options: ClosedLoopOptions): Promise<void> {
  const { load, recorder, bodies } = options;
  const base = { method: 'POST' as const, path: options.path, headers: options.headers };
  // A repeating pool is prebuilt once by autocannon; unique bodies are built per request.
  const requests = bodies.pool
    ? bodies.pool.map((body) => ({ ...base, body }))
    : [{ ...base, setupRequest: (req: autocannon.Request) => ({ ...req, body: bodies.next() }) }];

  recorder.start();
  await new Promise<void>((resolve, reject) => {
    const instance = autocannon(
      {
        url: options.origin,
        connections: load.connections,
        pipelining: load.pipelining,
        duration: load.durationS,
        amount: load.amount,
        timeout: Math.max(1, Math.ceil(options.timeoutMs / 1000)),
        requests,
        // Checks the stop flag every 100 ms instead of every second, so short runs end on time.
        sampleInt: 100,
      } as autocannon.Options,
      (err) => (err ? reject(err) : resolve()),
    );
    instance.on('response', (_client: unknown, statusCode: number, resBytes: number, responseTimeMs: number) => {
      recorder.response(statusCode, responseTimeMs, resBytes);
    });
    // Socket errors carry a code; the only code-less error autocannon emits is its request timeout.
    instance.on('reqError', (err: unknown) => {
      recorder.error((err as { code?: unknown })?.code === undefined ? 'timeout' : classifyError(err));
    });
    options.signal?.addEventListener('abort', () => instance.stop(), { once: true });
  });
  recorder.close();
}
