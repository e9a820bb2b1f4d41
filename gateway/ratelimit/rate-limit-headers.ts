// A Decision as HTTP header fields: RateLimit-Limit, RateLimit-Remaining and
// RateLimit-Reset (the IETF httpapi draft "RateLimit header fields for HTTP",
// the separate-fields form that clients and proxies read today; Reset is in
// delta-seconds, never a timestamp), plus Retry-After (RFC 9110 §10.2.3) when
// refused. Names are lower-case, as Node's HTTP parser and http2 give them.

import type { Decision } from './token-bucket.ts';

export type RateLimitHeaders = {
  'ratelimit-limit': string;
  'ratelimit-remaining': string;
  'ratelimit-reset': string;
  'retry-after'?: string;
};

export function rateLimitHeaders(decision: Decision): RateLimitHeaders {
  const headers: RateLimitHeaders = {
    'ratelimit-limit': String(decision.limit),
    'ratelimit-remaining': String(Math.max(0, decision.remaining)),
    'ratelimit-reset': String(Math.max(0, decision.resetSeconds)),
  };
  if (!decision.allowed) headers['retry-after'] = String(Math.max(1, decision.retryAfterSeconds));
  return headers;
}
