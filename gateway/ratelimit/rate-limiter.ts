// What the HTTP and gRPC fronts call: one take per request, before any work.
// Two stores implement it: local-limiter.ts (a bucket per key in this
// process) and redis-limiter.ts (buckets shared by every gateway).
//
//   const d = limiter.take(`addr:${ip}`, limit, 1);
//   const decision = d instanceof Promise ? await d : d;   // local: no promise on the hot path
//   headers ← rateLimitHeaders(decision)
//   decision.allowed ? serve : throw new RateLimitedError(decision)
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

/** GW_ERR_RATE_LIMITED (429, Retry-After), with the bucket's state for the RateLimit-* headers. */
export class RateLimitedError extends InfergateError {
  readonly decision: Decision;

  constructor(decision: Decision, detail?: string) {
    super('GW_ERR_RATE_LIMITED', detail);
    this.retryAfterSeconds = Math.max(1, decision.retryAfterSeconds);
    this.decision = decision;
  }
}
