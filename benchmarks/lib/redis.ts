// The Redis that scenarios with a Redis side (cache's tier, access's shared
// rate limit store) point their gateways at: REDIS_URL, else the local
// default, and whether it answers at all (a scenario without one skips or
// narrows what it measures, and says so in a note).

import { Redis } from 'ioredis';

/** REDIS_URL, or redis://127.0.0.1:6379. */
export function benchRedisUrl(env: NodeJS.ProcessEnv = process.env): string {
  return env.REDIS_URL || 'redis://127.0.0.1:6379';
}

/** Whether a Redis answers PING at `url` within a second. */
export async function redisAnswers(url: string): Promise<boolean> {
  const client = new Redis(url, { lazyConnect: true, connectTimeout: 1000, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
  client.on('error', () => {});
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}
