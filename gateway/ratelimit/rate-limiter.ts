// What the HTTP and gRPC fronts call: one take per request, before any work.
// Two stores implement it: local-limiter.ts (a bucket per key in this
// process) and redis-limiter.ts (buckets shared by every gateway).
//
//   const d = limiter.take(`addr:${ip}`, limit, 1);
//   const decision = d instanceof Promise ? await d : d;   // local: no promise on the hot path
//   headers ← rateLimitHeaders(decision)
//   decision.allowed ? serve : answer rateLimitedError(decision)
//
// A store that cannot answer either decides by itself (fail-open) or rejects
// with GW_ERR_RATE_LIMIT_UNAVAILABLE (fail-closed): see redis-limiter.ts.

import { InfergateError } from '../../common/errors.ts';
import type { Decision, Limit } from './token-bucket.ts';

export type { Decision, Limit } from './token-bucket.ts';

export type RateLimiter = {
  /**
   * Takes `cost` tokens from `key`'s bucket, or refuses without taking any.
   * Synchronous for a local store, so the hot path makes no promise; a shared
   * store answers with a promise that never waits on a dead store longer than
   * its timeout, and rejects only with a catalogued error.
   */
  take(key: string, limit: Limit, cost: number): Decision | Promise<Decision>;
  /** Releases the store (idempotent). */
  close(): Promise<void>;
};

/** The catalogued answer to a refused take: 429, with Retry-After from the decision. */
export function rateLimitedError(decision: Decision, detail?: string): InfergateError {
  const error = new InfergateError('GW_ERR_RATE_LIMITED', detail);
  error.retryAfterSeconds = Math.max(1, decision.retryAfterSeconds);
  return error;
}
