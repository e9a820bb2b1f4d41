import t from 'tap';
import { rateLimitHeaders } from '../../../gateway/ratelimit/rate-limit-headers.ts';
import { RateLimitedError } from '../../../gateway/ratelimit/rate-limiter.ts';
import { httpStatusOf } from '../../../common/http-status.ts';
import { grpcStatusOf } from '../../../gateway/grpc/grpc-status.ts';
import { status } from '@grpc/grpc-js';

t.test('an allowed take: limit, remaining and reset, no Retry-After', async (t) => {
  t.same(rateLimitHeaders({ allowed: true, limit: 20, remaining: 7, resetSeconds: 3, retryAfterSeconds: 0 }), {
    'ratelimit-limit': '20',
    'ratelimit-remaining': '7',
    'ratelimit-reset': '3',
  });
});

t.test('a refused take adds Retry-After in whole seconds', async (t) => {
  t.same(rateLimitHeaders({ allowed: false, limit: 20, remaining: 0, resetSeconds: 10, retryAfterSeconds: 2 }), {
    'ratelimit-limit': '20',
    'ratelimit-remaining': '0',
    'ratelimit-reset': '10',
    'retry-after': '2',
  });
});

t.test('a refusal is GW_ERR_RATE_LIMITED: 429, RESOURCE_EXHAUSTED over gRPC, with Retry-After', async (t) => {
  const error = new RateLimitedError({ allowed: false, limit: 5, remaining: 0, resetSeconds: 4, retryAfterSeconds: 3 });
  t.equal(error.code, 'GW_ERR_RATE_LIMITED');
  t.equal(httpStatusOf(error), 429);
  t.equal(grpcStatusOf(error.kind), status.RESOURCE_EXHAUSTED);
  t.equal(error.retryAfterSeconds, 3);
});
