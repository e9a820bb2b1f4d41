// Builds the access gate from the config: the API keys' source (auth.keysFile
// or Redis), the rate limiter's store (local, or Redis shared by every
// gateway), and the gate every front asks (gateway/access/).

import type { Logger } from '../common/logger.ts';
import type { GatewayConfig } from '../config/schema.ts';
import { AccessGate } from './access/access-gate.ts';
import { KeySource, type KeyOrigin } from './access/key-source.ts';
import { createRedisClient, redisConfigured, type RedisClient } from './cache/redis-client.ts';
import { LocalLimiter } from './ratelimit/local-limiter.ts';
import type { RateLimiter } from './ratelimit/rate-limiter.ts';
import { RedisLimiter } from './ratelimit/redis-limiter.ts';

export type Access = {
  gate: AccessGate;
  /** Set with auth.mode keys. */
  keys: KeySource | undefined;
  /** Set when a limit is configured. */
  limiter: RateLimiter | undefined;
  /** Takes decided without the shared store (Redis) so far: failed, timed out, or not sent while it was down. */
  storeFailures(): number;
  close(): Promise<void>;
};

export function buildAccess(config: GatewayConfig, logger: Logger): Access {
  const { auth, rateLimits, cache } = config;
  const redisClients: RedisClient[] = [];
  const redisClient = (role: 'commands' | 'admin', timeoutMs = cache.redisTimeoutMs): RedisClient => {
    const client = createRedisClient({ ...cache, redisTimeoutMs: timeoutMs }, role);
    // ioredis reports every failed reconnection as an error event: the limiter and the key source say it once.
    client.on('error', () => {});
    redisClients.push(client);
    return client;
  };
  let keys: KeySource | undefined;
  if (auth.mode === 'keys') {
    let origin: KeyOrigin;
    if (auth.keysFile !== undefined) origin = { kind: 'file', path: auth.keysFile };
    else {
      const client = redisClient('admin');
      origin = { kind: 'redis', hash: `${cache.keyPrefix}:keys`, read: (hash) => client.hgetall(hash) };
    }
    keys = new KeySource({
      origin,
      reloadCheckMs: auth.reloadCheckMs,
      logger,
    }).start();
  }
  // With keys, any key may bring its own limit (and the keys change while serving).
  let limiter: RateLimiter | undefined;
  if (auth.mode === 'keys' || rateLimits.perAddress !== undefined) {
    const shared = rateLimits.store === 'redis' || (rateLimits.store === 'auto' && redisConfigured(cache));
    limiter = shared
      ? new RedisLimiter({ client: redisClient('commands', rateLimits.storeTimeoutMs), keyPrefix: cache.keyPrefix, timeoutMs: rateLimits.storeTimeoutMs, failMode: rateLimits.onStoreDown, logger })
      : new LocalLimiter();
  }
  const gate = new AccessGate({ auth, keys: () => keys?.table, adminToken: config.server.adminToken, limiter, perKey: rateLimits.perKey, perAddress: rateLimits.perAddress });
  return {
    gate,
    keys,
    limiter,
    storeFailures: () => (limiter instanceof RedisLimiter ? limiter.storeFailures : 0),
    close: async () => {
      keys?.close();
      await limiter?.close();
      for (const client of redisClients) client.disconnect();
    },
  };
}
