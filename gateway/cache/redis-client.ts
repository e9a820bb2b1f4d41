// Builds the ioredis client of the shared cache tier from the config: one
// standalone server (redisUrl), a Redis Cluster (redisNodes are seed nodes)
// or a Sentinel-managed primary (redisNodes are the sentinels). Called only
// by the composition root; nothing here is a module-level client.
//
// Options chosen for fail-open (see docs/cache.md):
//   enableOfflineQueue false  a command while disconnected fails at once
//                             instead of waiting for the connection;
//   commandTimeout            a command Redis does not answer in time fails;
//   maxRetriesPerRequest 0    no command is re-sent after a reconnect;
//   retryStrategy             reconnects for ever, backing off up to 2 s;
//   no lazyConnect, no await  the first connection is made in the background,
//                             so the gateway never waits for Redis at start.

import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { CacheConfig } from '../../config/schema.ts';

export type RedisClient = Redis | Cluster;

/** Whether the config names a Redis tier at all. */
export function redisConfigured(config: CacheConfig): boolean {
  return config.redisMode === 'standalone' ? config.redisUrl !== '' : config.redisNodes.length > 0;
}

/** How the client waits after its n-th failed reconnection attempt (exponential, capped). */
export function reconnectDelayMs(attempt: number): number {
  return Math.min(50 * 2 ** Math.min(attempt, 10), 2000);
}

export type RedisClientRole = 'commands' | 'subscriber' | 'admin';

/** Per-command timeout of admin work (a purge's SCAN and UNLINK steps): no request waits on it, and a loaded gateway must not fail a purge half-way. */
export function adminTimeoutMs(config: CacheConfig): number {
  return Math.max(2000, 20 * config.redisTimeoutMs);
}

/**
 * A client for the cache tier. 'commands' serves requests (fail-fast, short
 * timeout). 'subscriber' (purge notices) keeps an offline queue, so its
 * SUBSCRIBE waits for the connection instead of failing. 'admin' (a purge,
 * made per purge and quit after) has a longer timeout.
 */
export function createRedisClient(config: CacheConfig, role: RedisClientRole = 'commands'): RedisClient {
  const byRole: Record<RedisClientRole, RedisOptions> = {
    // Auto-pipelining sends every command issued in one event-loop turn in one write, instead of one write
    // syscall per GET and per SET (docs/performance.md, "Redis writes"). (ioredis's commandTimeout does not
    // cover auto-pipelined commands; the breaker's call timeout, also redisTimeoutMs, bounds every call.)
    commands: { enableOfflineQueue: false, commandTimeout: config.redisTimeoutMs, maxRetriesPerRequest: 0, enableAutoPipelining: true },
    // ioredis's own re-subscribe after a reconnect leaves its promise unhandled (a rejection there would end the
    // process); the tier subscribes on every 'ready' itself, with a handler.
    subscriber: { enableOfflineQueue: true, maxRetriesPerRequest: null, autoResubscribe: false },
    admin: { enableOfflineQueue: true, commandTimeout: adminTimeoutMs(config), maxRetriesPerRequest: 1 },
  };
  const failFast = byRole[role];
  const common: RedisOptions = {
    ...failFast,
    connectTimeout: Math.max(1000, config.redisTimeoutMs),
    retryStrategy: reconnectDelayMs,
    connectionName: `infergate-${role}`,
  };
  const nodes = config.redisNodes.map(parseHostPort);
  switch (config.redisMode) {
    case 'standalone':
      return new Redis(config.redisUrl, common);
    case 'sentinel':
      return new Redis({ ...credentials(config.redisUrl), ...common, sentinels: nodes, name: config.redisSentinelName });
    case 'cluster': {
      const options: ClusterOptions = {
        redisOptions: { ...credentials(config.redisUrl), ...common },
        enableOfflineQueue: failFast.enableOfflineQueue ?? true,
        enableAutoPipelining: failFast.enableAutoPipelining ?? false,
        clusterRetryStrategy: reconnectDelayMs,
      };
      return new Cluster(nodes, options);
    }
  }
}

/** Username, password, db and TLS from a redis:// or rediss:// URL (cluster and sentinel take their addresses elsewhere). */
function credentials(url: string): RedisOptions {
  if (!url) return {};
  const parsed = new URL(url);
  const db = Number(parsed.pathname.slice(1) || 0);
  return {
    ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
    ...(db ? { db } : {}),
    ...(parsed.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}

function parseHostPort(entry: string): { host: string; port: number } {
  const colon = entry.lastIndexOf(':');
  return { host: entry.slice(0, colon), port: Number(entry.slice(colon + 1)) };
}
