// A steady open-loop client for chaos tests: requests go out at a fixed rate
// whatever the gateway does (a stalled gateway cannot slow the client down),
// on keep-alive connections, and every outcome is recorded: status, error
// code, latency from the intended send time, or the transport error.

import { Pool } from 'undici';

export type Outcome = { sentAtMs: number; latencyMs: number; status: number; code?: string; transportError?: string };

export type SteadyLoadOptions = {
  url: string;
  path: string;
  ratePerS: number;
  durationMs: number;
  body: (i: number) => string;
  headers?: Record<string, string>;
  connections?: number;
  /** Gives up on a request after this long (counted as a transport error). */
  timeoutMs?: number;
};

export type SteadyLoad = { done: Promise<Outcome[]>; sent: () => number };

export function steadyLoad(o: SteadyLoadOptions): SteadyLoad {
  const pool = new Pool(o.url, { connections: o.connections ?? 32, headersTimeout: o.timeoutMs ?? 30_000, bodyTimeout: o.timeoutMs ?? 30_000 });
  const outcomes: Outcome[] = [];
  const pending = new Set<Promise<void>>();
  const t0 = performance.now();
  const gapMs = 1000 / o.ratePerS;
  let sent = 0;

  const send = (i: number, dueMs: number): void => {
    const request = pool
      .request({ path: o.path, method: 'POST', headers: { 'content-type': 'application/json', ...o.headers }, body: o.body(i) })
      .then(async ({ statusCode, body }) => {
        const text = await body.text();
        const outcome: Outcome = { sentAtMs: dueMs, latencyMs: performance.now() - t0 - dueMs, status: statusCode };
        if (statusCode !== 200) outcome.code = (JSON.parse(text) as { code?: string }).code;
        outcomes.push(outcome);
      })
      .catch((err: unknown) => {
        outcomes.push({ sentAtMs: dueMs, latencyMs: performance.now() - t0 - dueMs, status: 0, transportError: String((err as Error)?.message ?? err) });
      })
      .finally(() => pending.delete(request));
    pending.add(request);
  };

  const done = (async () => {
    for (;;) {
      const elapsedMs = performance.now() - t0;
      if (elapsedMs >= o.durationMs) break;
      // Catch up on every request due by now (a busy event loop must not lower the rate).
      while (sent * gapMs <= elapsedMs && sent * gapMs < o.durationMs) send(sent, sent++ * gapMs);
      await new Promise((resolve) => setTimeout(resolve, Math.max(1, Math.min(10, sent * gapMs - (performance.now() - t0)))));
    }
    while (pending.size > 0) await Promise.all(pending);
    await pool.close();
    return outcomes;
  })();
  return { done, sent: () => sent };
}

/** Counts outcomes by status (and error code), e.g. {"200": 980, "503 GW_ERR_QUEUE_FULL": 20, "transport": 0}. */
export function tally(outcomes: readonly Outcome[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const o of outcomes) {
    const key = o.transportError ? 'transport' : o.code ? `${o.status} ${o.code}` : String(o.status);
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
