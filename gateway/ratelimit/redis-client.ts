// Builds the ioredis client of the shared rate limiter from a Redis URL
// (redis:// or rediss://, with user, password and db). Called only by the
// composition root, which hands it to a RedisLimiter; nothing here is a
// module-level client. The options are the cache tier's fail-fast ones
// (gateway/cache/redis-client.ts, 'commands'), because a take sits on every
// request's path:
//   enableOfflineQueue false  a take while disconnected fails at once instead
//                             of waiting for the connection;
//   maxRetriesPerRequest 0    no take is re-sent after a reconnect (it would
//                             count twice);
//   enableAutoPipelining      the takes of one event-loop turn go in one write;
//   retryStrategy             reconnects for ever, backing off up to 2 s;
//   no lazyConnect, no await  the gateway never waits for Redis at start.
// ioredis's commandTimeout does not cover auto-pipelined commands: the
// limiter bounds every take with its own timer (redis-limiter.ts).

import { Redis } from 'ioredis';

export type RateLimitRedisClientOptions = {
  /** How long the first connection may take before a retry (at least 1 s, as the cache tier's). */
  connectTimeoutMs?: number;
  connectionName?: string;
};

/** The wait after the n-th failed reconnection attempt (exponential, capped): the cache tier's. */
export function reconnectDelayMs(attempt: number): number {
  return Math.min(50 * 2 ** Math.min(attempt, 10), 2000);
}

export function createRateLimitRedisClient(url: string, options: RateLimitRedisClientOptions = {}): Redis {
  return new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    enableAutoPipelining: true,
    connectTimeout: Math.max(1000, options.connectTimeoutMs ?? 1000),
    retryStrategy: reconnectDelayMs,
    connectionName: options.connectionName ?? 'infergate-ratelimit',
  });
}
