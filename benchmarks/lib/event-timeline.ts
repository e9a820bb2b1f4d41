// A chaos run's outcomes, second by second. Requests are bucketed by their
// *intended send* second (open loop), not by when they ended: a request due
// just after a worker hung is charged to that second even if it was answered
// seconds later, so each row says what happened to the traffic offered while
// the event was under way.
//
//   due:     0 s ─────── 1 s ─────── 2 s ───…
//   bucket:  [ second 0 )[ second 1 )[ …       ok / shed / failed, p50/p99 of the 2xx
//
// Per-second percentiles are exact (nearest rank over that second's sorted
// latencies): a second holds a few thousand values at most, and a run a few
// dozen seconds.

import type { Answer } from './open-loop.ts';
import type { DrainCounts, TimelineSecond } from './results.ts';

export type Outcome = { kind: 'ok' } | { kind: 'shed' } | { kind: 'failed'; key: string };

/** Shedding answers tell the client to come back (429, or 503 with Retry-After: GW_ERR_OVERLOADED, GW_ERR_QUEUE_FULL); other failures are kept by code, status or error kind. */
export function outcomeOf(a: Answer): Outcome {
  if (a.status === undefined) return { kind: 'failed', key: a.error ?? 'other' };
  if (a.status >= 200 && a.status < 300) return { kind: 'ok' };
  if (a.status === 429 || (a.status === 503 && a.retryAfter === true)) return { kind: 'shed' };
  return { kind: 'failed', key: a.code ? `${a.status} ${a.code}` : String(a.status) };
}

/** The seconds 0 … ⌈durationS⌉−1 of a run, from every answer's outcome. */
export function bucketSeconds(answers: readonly Answer[], durationS: number): TimelineSecond[] {
  const count = Math.max(1, Math.ceil(durationS - 1e-9));
  const seconds: TimelineSecond[] = Array.from({ length: count }, (_, second) => ({ second, sent: 0, ok: 0, shed: 0, failed: 0, failures: {}, p50Ms: null, p99Ms: null }));
  const latencies: number[][] = seconds.map(() => []);
  for (const a of answers) {
    const i = Math.min(count - 1, Math.max(0, Math.floor(a.dueMs / 1000)));
    const s = seconds[i]!;
    s.sent++;
    const outcome = outcomeOf(a);
    if (outcome.kind === 'ok') {
      s.ok++;
      latencies[i]!.push(a.doneMs - a.dueMs);
    } else if (outcome.kind === 'shed') s.shed++;
    else {
      s.failed++;
      s.failures[outcome.key] = (s.failures[outcome.key] ?? 0) + 1;
    }
  }
  for (const [i, s] of seconds.entries()) {
    const sorted = latencies[i]!.sort((a, b) => a - b);
    s.p50Ms = percentile(sorted, 50);
    s.p99Ms = percentile(sorted, 99);
  }
  return seconds;
}

/** Nearest-rank percentile of ascending values; null for none. */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/**
 * A graceful drain, seen from the client: the requests in flight at the
 * SIGTERM should all be answered; those due later are refused (503
 * GW_ERR_SHUTTING_DOWN on a kept-alive connection, or connection refused once
 * the listener closed), anything else is a failure of the drain.
 */
export function drainCounts(answers: readonly Answer[], atS: number): DrainCounts {
  const atMs = atS * 1000;
  const counts: DrainCounts = { atS, inFlight: { answered: 0, failed: 0 }, after: { answered: 0, refused: 0, shed: 0, failed: 0 } };
  for (const a of answers) {
    const kind = outcomeOf(a).kind;
    if (a.dueMs < atMs) {
      if (a.doneMs >= atMs) counts.inFlight[kind === 'ok' ? 'answered' : 'failed']++;
    } else if (kind === 'ok') counts.after.answered++;
    else if (kind === 'shed') counts.after.shed++;
    else if (a.code === 'GW_ERR_SHUTTING_DOWN' || a.error === 'refused') counts.after.refused++;
    else counts.after.failed++;
  }
  return counts;
}
