// The token bucket, as a pure function: no timers, no clock of its own, no I/O.
// The caller keeps the state (a Map here, a Redis hash in redis-limiter.ts,
// whose Lua script mirrors these lines) and passes the time in.
//
//   tokens ▲   burst ─────────────┬──────────        refill: +ratePerSecond per second,
//          │            ╱         │  ╱               capped at burst;
//          │          ╱           │╱                 take:   −cost when tokens ≥ cost,
//          │        ╱             ▼ take(cost)               else refuse and keep them.
//          └──────────────────────────────▶ time
//
// A bucket that is full is the same as no bucket at all, so a store may drop
// full buckets (local-limiter.ts) or let them expire (redis-limiter.ts).

/** Long-run rate and the most a client may take at once. Preconditions (the config checks them): ratePerSecond > 0, burst ≥ 1. */
export type Limit = { ratePerSecond: number; burst: number };

/** A bucket's state at `updatedMs`: `tokens` may be fractional. */
export type Bucket = { tokens: number; updatedMs: number };

/** What a take answers: the numbers of the RateLimit header fields (rate-limit-headers.ts). */
export type Decision = {
  allowed: boolean;
  /** The bucket's size (burst). */
  limit: number;
  /** Whole tokens left after this take, ≥ 0. */
  remaining: number;
  /** Seconds until the bucket is full again (rounded up). */
  resetSeconds: number;
  /** When refused: seconds until the take could pass (≥ 1); 0 when allowed. */
  retryAfterSeconds: number;
};

export type Take = { decision: Decision; bucket: Bucket };

/** Float sums of refills can land a hair below a whole token (0.1 × 3 ≠ 0.3): a take that is short by less than this passes. */
export const TOKEN_EPSILON = 1e-9;

/**
 * Refills `bucket` (undefined: a new key, full) up to `nowMs`, then takes `cost` tokens or refuses.
 *
 * - A refused take consumes nothing (the client is not punished for asking).
 * - A clock that goes backwards refills nothing, and the bucket keeps its
 *   later `updatedMs`, so the same interval is never credited twice.
 * - A cost larger than the burst can never pass. It is refused with
 *   retryAfterSeconds = the time until the bucket is full (≥ 1): a finite,
 *   honest answer (a client that retries then is refused again, but never in
 *   a tight loop); a front may prefer to answer such a request as too large.
 */
export function take(bucket: Bucket | undefined, nowMs: number, limit: Limit, cost: number): Take {
  const { ratePerSecond, burst } = limit;
  let tokens = bucket?.tokens ?? burst;
  let updatedMs = bucket?.updatedMs ?? nowMs;
  if (nowMs > updatedMs) {
    tokens = Math.min(burst, tokens + ((nowMs - updatedMs) * ratePerSecond) / 1000);
    updatedMs = nowMs;
  }
  const allowed = cost <= burst && cost <= tokens + TOKEN_EPSILON;
  let retryAfterSeconds = 0;
  if (allowed) tokens = Math.max(0, tokens - cost);
  else retryAfterSeconds = Math.max(1, Math.ceil((Math.min(cost, burst) - tokens) / ratePerSecond));
  return {
    decision: {
      allowed,
      limit: burst,
      remaining: Math.floor(tokens + TOKEN_EPSILON),
      resetSeconds: Math.ceil((burst - tokens) / ratePerSecond),
      retryAfterSeconds,
    },
    bucket: { tokens, updatedMs },
  };
}

/** When the bucket will be full (then it is the same as none): the local store's eviction test. */
export function fullAtMs(bucket: Bucket, limit: Limit): number {
  return bucket.updatedMs + ((limit.burst - bucket.tokens) * 1000) / limit.ratePerSecond;
}
