// The Redis tier against a real redis-server of the test's own: binary values
// with SET … PX, purge by SCAN + UNLINK in batches (glob characters escaped),
// purge notices to every subscriber, and fail-open: Redis killed, slow, or
// back again.

import t from 'tap';
import { configSchema } from '../../../config/schema.ts';
import { createRedisClient } from '../../../gateway/cache/redis-client.ts';
import { RedisTier } from '../../../gateway/cache/redis-tier.ts';
import { Breaker, BreakerClock } from '../../../gateway/resilience/circuit-breaker.ts';
import { startRedis, type TestRedis } from '../../helpers/redis.ts';

const TIMEOUT_MS = 100;

function tier(redis: TestRedis, t: { teardown(fn: () => unknown): void }, options: { onPurge?: (prefix: string) => void; resetTimeoutMs?: number } = {}) {
  const cache = configSchema.parse({ cache: { redisUrl: redis.url, redisTimeoutMs: TIMEOUT_MS } }).cache;
  const clock = new BreakerClock(100);
  const breaker = new Breaker('redis', { errorThresholdPercentage: 50, volumeThreshold: 3, resetTimeoutMs: options.resetTimeoutMs ?? 200, rollingWindowMs: 1000, rollingBuckets: 10, callTimeoutMs: TIMEOUT_MS }, clock, () => true);
  const redisTier = new RedisTier({
    client: createRedisClient(cache, 'commands'),
    subscriber: createRedisClient(cache, 'subscriber'),
    adminClient: () => createRedisClient(cache, 'admin'),
    breaker,
    clock,
    channel: 'test:purge',
    ...(options.onPurge ? { onPurge: options.onPurge } : {}),
  });
  t.teardown(() => redisTier.close());
  return redisTier;
}

async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const stored = (redisTier: RedisTier, n: number) => () => redisTier.stats().sets >= n;

t.test('stores binary values with a TTL in Redis and reads them back with the time left', async (t) => {
  const redis = await startRedis(t);
  const redisTier = tier(redis, t);
  await until(() => redisTier.stats().status === 'ready', 'the connection');
  const value = Uint8Array.from({ length: 300 }, (_, i) => i % 256);
  redisTier.set('p:m:1:aa', value, 60_000);
  await until(stored(redisTier, 1), 'the write');
  const entry = await redisTier.get('p:m:1:aa');
  t.ok(Buffer.from(value).equals(entry!.bytes), 'the same bytes come back');
  t.ok(entry!.ttlMs > 59_000 && entry!.ttlMs <= 60_000, `ttl left ${entry!.ttlMs} ms`);
  const pttl = await redis.client.pttl('p:m:1:aa');
  t.ok(pttl > 59_000, `Redis expires it itself (PTTL ${pttl})`);
  const raw = await redis.client.getBuffer('p:m:1:aa');
  t.equal(raw!.byteLength, 300 + 9, 'stored as bytes plus a 9-byte header, not JSON');
  t.equal(await redisTier.get('p:m:1:missing'), undefined);

  redisTier.set('p:m:1:short', value, 50);
  await until(stored(redisTier, 2), 'the second write');
  await until(async () => (await redis.client.exists('p:m:1:short')) === 0, 'Redis to expire the entry');
  t.equal(await redisTier.get('p:m:1:short'), undefined, 'gone after its TTL');
  t.match(redisTier.stats(), { hits: 1, misses: 2, errors: 0 });
});

t.test('purge removes one prefix in SCAN batches, escapes glob characters and tells every subscriber', async (t) => {
  const redis = await startRedis(t);
  const notices: string[] = [];
  const redisTier = tier(redis, t, { onPurge: (prefix) => notices.push(prefix) });
  await until(() => redisTier.stats().status === 'ready', 'the connection');
  const pipeline = redis.client.pipeline();
  for (let i = 0; i < 2500; i++) pipeline.set(`p:a*:1:${i}`, 'x');
  for (let i = 0; i < 10; i++) pipeline.set(`p:ab:1:${i}`, 'x');
  pipeline.set('p:a*:2:0', 'x');
  await pipeline.exec();
  t.equal(await redisTier.deletePrefix('p:a*:1:'), 2500, 'every key of the prefix (more than one SCAN batch)');
  t.equal(await redis.client.dbsize(), 11, 'other models and versions stay (a* is not a glob here)');
  await until(() => notices.length === 1, 'the purge notice');
  t.same(notices, ['p:a*:1:']);
});

t.test('fail-open: a killed Redis costs nothing once the breaker is open; hits resume after it restarts', async (t) => {
  const redis = await startRedis(t);
  const redisTier = tier(redis, t, { resetTimeoutMs: 300 });
  await until(() => redisTier.stats().status === 'ready', 'the connection');
  redisTier.set('p:m:1:k', Uint8Array.of(1, 2, 3), 60_000);
  await until(stored(redisTier, 1), 'the write');

  await redis.kill();
  let slowest = 0;
  let found = 0;
  for (let i = 0; i < 20; i++) {
    const started = performance.now();
    if (await redisTier.get('p:m:1:k')) found++;
    slowest = Math.max(slowest, performance.now() - started);
  }
  t.equal(found, 0, 'every lookup is a miss');
  t.ok(slowest <= TIMEOUT_MS + 200, `every lookup answered within the timeout (slowest ${slowest.toFixed(1)} ms)`);
  t.equal(redisTier.stats().breaker.state, 'open', 'the breaker opened');
  t.ok(redisTier.stats().skipped > 0, 'later lookups did not call Redis');

  await redis.restart();
  // The restarted Redis is empty: write (in the background, as the cache does) and read until both go through.
  await until(async () => {
    redisTier.set('p:m:1:k', Uint8Array.of(4), 60_000);
    return (await redisTier.get('p:m:1:k'))?.bytes[0] === 4;
  }, 'hits after the restart');
  t.equal(redisTier.stats().breaker.state, 'closed', 'the breaker closed again');
});

t.test('fail-open: a Redis that answers slowly adds at most the timeout', async (t) => {
  const redis = await startRedis(t);
  const redisTier = tier(redis, t);
  await until(() => redisTier.stats().status === 'ready', 'the connection');
  const { awake } = await redis.stall(1);
  const started = performance.now();
  t.equal(await redisTier.get('p:m:1:k'), undefined, 'a slow Redis is a miss');
  const ms = performance.now() - started;
  t.ok(ms >= TIMEOUT_MS - 5 && ms <= TIMEOUT_MS + 150, `answered after ${ms.toFixed(1)} ms (timeout ${TIMEOUT_MS} ms)`);
  t.ok(redisTier.stats().timeouts >= 1, 'counted as a timeout');
  await awake;
});
