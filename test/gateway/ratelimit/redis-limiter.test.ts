// The shared limiter against a redis-server of the test's own: the Lua script
// takes as token-bucket.ts does, two gateways hammering one key share its
// rate, Redis killed or stalled never holds a request past the timeout
// (fail-open decides locally, fail-closed refuses with a catalogued error),
// sharing resumes once Redis is back, and idle buckets expire.

import { monitorEventLoopDelay } from 'node:perf_hooks';
import t, { type Test } from 'tap';
import { InfergateError } from '../../../common/errors.ts';
import { createRedisClient } from '../../../gateway/cache/redis-client.ts';
import { configSchema } from '../../../config/schema.ts';
import { RedisLimiter, type FailMode } from '../../../gateway/ratelimit/redis-limiter.ts';
import { take, type Bucket, type Decision, type Limit } from '../../../gateway/ratelimit/token-bucket.ts';
import { captureLogger, type CaptureLogger } from '../../helpers/capture-logger.ts';
import { startRedis, type TestRedis } from '../../helpers/redis.ts';
import { until } from '../../helpers/until.ts';

const TIMEOUT_MS = 75;
/** Tests of sharing, not of timeouts: a loaded machine's pauses must not turn takes into store failures. */
const PATIENT_MS = 2000;

function limiter(t: Test, redis: TestRedis, failMode: FailMode, log?: CaptureLogger, timeoutMs = TIMEOUT_MS): RedisLimiter {
  const built = new RedisLimiter({
    // The gateway's own client for the shared store (access-wiring.ts): fail-fast, auto-pipelined; its command
    // timeout far out, so that the limiter's own timeout is the one under test.
    client: createRedisClient(configSchema.parse({ cache: { redisUrl: redis.url, redisTimeoutMs: 60_000 } }).cache),
    keyPrefix: 'test',
    failMode,
    timeoutMs,
    probeIntervalMs: 100,
    ...(log ? { logger: log.logger } : {}),
  });
  t.teardown(() => built.close());
  return built;
}

async function connected(t: Test, ...limiters: RedisLimiter[]): Promise<void> {
  t.ok(await until(() => limiters.every((l) => l.stats().state === 'up'), 10_000, 10), 'connected to Redis');
}

/**
 * How long "at once" may be: the timeout, plus the longest pause of this process's event loop while measuring
 * (a loaded 2-core machine stalls timers; that is not waiting on Redis), plus 50 ms of slack.
 */
function loopLag(): { boundMs(): number; stop(): void } {
  const lag = monitorEventLoopDelay({ resolution: 5 });
  lag.enable();
  return { boundMs: () => TIMEOUT_MS + lag.max / 1e6 + 50, stop: () => lag.disable() };
}

/** A take's outcome and how long it took: a Decision, or the code it was refused with. */
async function timed(l: RedisLimiter, key: string, limit: Limit, cost = 1): Promise<{ ms: number; decision?: Decision; code?: string }> {
  const started = performance.now();
  try {
    const decision = await l.take(key, limit, cost);
    return { ms: performance.now() - started, decision };
  } catch (err) {
    return { ms: performance.now() - started, code: (err as InfergateError).code };
  }
}

t.test('the script takes as the token bucket does (refusals consume nothing, cost above burst never passes)', async (t) => {
  const redis = await startRedis(t);
  const shared = limiter(t, redis, 'closed');
  await connected(t, shared);
  const limit = { ratePerSecond: 0.001, burst: 10 }; // slow enough that no token comes back during the test
  let bucket: Bucket | undefined;
  for (const cost of [3, 3, 3, 3, 1, 0, 11, 1, 1]) {
    const expected = take(bucket, 0, limit, cost);
    bucket = expected.bucket;
    const got = await shared.take('same', limit, cost);
    t.same({ ...got, resetSeconds: 0 }, { ...expected.decision, resetSeconds: 0 }, `take ${cost}`);
    t.ok(Math.abs(got.resetSeconds - expected.decision.resetSeconds) <= 1, `reset ${got.resetSeconds} s ≈ ${expected.decision.resetSeconds} s`);
  }
  t.equal(await redis.client.exists('test:rl:same'), 1, 'the bucket lives at <keyPrefix>:rl:<key>');
});

t.test('two gateways hammering one key share its rate (±10 % of rate × time + burst)', async (t) => {
  const redis = await startRedis(t);
  const gateways = [limiter(t, redis, 'closed', undefined, PATIENT_MS), limiter(t, redis, 'closed', undefined, PATIENT_MS)];
  await connected(t, ...gateways);
  const limit = { ratePerSecond: 200, burst: 20 };
  const durationMs = 3000;
  const callersPerGateway = 8;
  const allowed = [0, 0];
  let takes = 0;
  const answeredAt: number[] = [];
  const started = performance.now();
  const deadline = started + durationMs;
  await Promise.all(
    gateways.flatMap((gateway, g) =>
      Array.from({ length: callersPerGateway }, async () => {
        while (performance.now() < deadline) {
          const decision = await gateway.take('client-1', limit, 1);
          takes++;
          answeredAt.push(performance.now());
          if (decision.allowed) allowed[g]!++;
        }
      }),
    ),
  );
  const elapsedMs = performance.now() - started;
  const total = allowed[0]! + allowed[1]!;
  const expected = limit.burst + (limit.ratePerSecond * elapsedMs) / 1000;
  const errorPercent = ((total - expected) / expected) * 100;
  // A bucket full for lack of takes loses what it would refill: when this process (or Redis) is starved of CPU
  // for longer than burst / rate, no demand reaches Redis and the tokens of that pause are lost, as they should
  // be. The floor discounts such pauses, so a loaded machine does not fail the limiter for its own gaps.
  const fullAfterMs = (limit.burst * 1000) / limit.ratePerSecond;
  let pausedMs = 0;
  for (let i = 1; i < answeredAt.length; i++) pausedMs += Math.max(0, answeredAt[i]! - answeredAt[i - 1]! - fullAfterMs);
  const floor = expected - (limit.ratePerSecond * pausedMs) / 1000;
  t.comment(`${takes} takes in ${elapsedMs.toFixed(0)} ms; allowed ${allowed.join(' + ')} = ${total}, expected ${expected.toFixed(0)} (${errorPercent.toFixed(2)} %); pauses past a full bucket: ${pausedMs.toFixed(0)} ms`);
  t.ok(takes > 3 * expected, `hammered: ${takes} takes, far more than the limit lets through`);
  t.ok(total <= expected * 1.1, `allowed ${total} at most 10 % over ${expected.toFixed(0)}`);
  t.ok(total >= floor * 0.9, `allowed ${total} at most 10 % under ${floor.toFixed(0)} (${expected.toFixed(0)} less the pauses)`);
  t.ok(allowed[0]! > 0 && allowed[1]! > 0, 'both gateways were let through');
  t.same(gateways.map((g) => g.storeFailures), [0, 0], 'every take was decided by Redis');
});

t.test('Redis killed: fail-open decides locally at once, fail-closed refuses at once; back, they share again', async (t) => {
  const redis = await startRedis(t);
  const openLog = captureLogger();
  const closedLog = captureLogger();
  const open = limiter(t, redis, 'open', openLog);
  const closed = limiter(t, redis, 'closed', closedLog);
  await connected(t, open, closed);
  const limit = { ratePerSecond: 0.001, burst: 3 };

  await redis.kill();
  const lag = loopLag();
  const outcomes = [];
  for (let i = 0; i < 20; i++) outcomes.push(await timed(open, `down-${i % 2}`, limit), await timed(closed, 'down', limit));
  outcomes.push(...(await Promise.all(Array.from({ length: 50 }, (_, i) => timed(i % 2 ? open : closed, `burst-${i}`, limit)))));
  lag.stop();
  const slowest = Math.max(...outcomes.map((o) => o.ms));
  t.comment(`slowest take with Redis dead: ${slowest.toFixed(1)} ms`);
  t.ok(slowest < lag.boundMs(), `no take waited (slowest ${slowest.toFixed(1)} ms, bound ${lag.boundMs().toFixed(0)} ms)`);
  const openDecisions = outcomes.filter((o) => o.decision).map((o) => o.decision!);
  t.equal(openDecisions.length, 20 + 25, 'fail-open always decides');
  t.ok(openDecisions.slice(0, 6).every((d) => d.allowed), 'fail-open lets the first takes through');
  t.match(openDecisions[6], { allowed: false }, "fail-open still holds the limit with the gateway's own bucket (burst 3 per key)");
  const refusals = outcomes.filter((o) => o.code);
  t.equal(refusals.length, 20 + 25, 'fail-closed refuses every take');
  t.ok(refusals.every((o) => o.code === 'GW_ERR_RATE_LIMIT_UNAVAILABLE'), 'with GW_ERR_RATE_LIMIT_UNAVAILABLE');
  const error = await Promise.resolve(closed.take('x', limit, 1)).catch((err: InfergateError) => err);
  t.ok(error instanceof InfergateError && error.retryAfterSeconds! >= 1, 'with a Retry-After');
  t.equal(closed.storeFailures, 46, 'every take without Redis is counted');
  for (const log of [openLog, closedLog]) {
    t.equal(log.messages().filter((m) => /unavailable/.test(m)).length, 1, 'the outage is logged once, not per take');
  }

  await redis.restart();
  t.ok(await until(async () => (await timed(open, 'probe', limit)) && open.stats().state === 'up' && closed.stats().state === 'up', 15_000, 50), 'both reconnect');
  for (let i = 0; i < 3; i++) t.match(await open.take('again', limit, 1), { allowed: true, remaining: 2 - i });
  t.match(await closed.take('again', limit, 1), { allowed: false, remaining: 0 }, 'the other gateway sees the same bucket');
  t.ok(openLog.messages().some((m) => /answers again/.test(m)), 'the end of the outage is logged');
});

t.test('Redis stalled: the timeout bounds every take, only probes reach Redis, and it is used again once awake', async (t) => {
  const redis = await startRedis(t);
  const closed = limiter(t, redis, 'closed');
  const open = limiter(t, redis, 'open');
  await connected(t, closed, open);
  const limit = { ratePerSecond: 1000, burst: 1000 };

  const { awake } = await redis.stall(1.5);
  const lag = loopLag();
  const outcomes = [];
  const stallEnds = performance.now() + 1000; // well inside the 1.5 s sleep
  while (performance.now() < stallEnds) {
    outcomes.push(...(await Promise.all([timed(closed, 'k', limit), timed(open, 'k', limit)])));
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  lag.stop();
  const slowest = Math.max(...outcomes.map((o) => o.ms));
  t.comment(`${outcomes.length} takes during the stall, slowest ${slowest.toFixed(1)} ms`);
  t.ok(slowest < lag.boundMs(), `no take waited past the timeout (slowest ${slowest.toFixed(1)} ms, bound ${lag.boundMs().toFixed(0)} ms)`);
  t.ok(outcomes.filter((o) => o.code).every((o) => o.code === 'GW_ERR_RATE_LIMIT_UNAVAILABLE'), 'fail-closed refuses');
  t.ok(outcomes.filter((o) => o.decision).every((o) => o.decision!.allowed), 'fail-open allows');
  for (const l of [closed, open]) {
    const stats = l.stats();
    t.ok(stats.timeouts >= 1, `timeouts counted (${stats.timeouts})`);
    // One take timed out to find the stall; then one probe per 100 ms at most: no pile-up behind a dead Redis.
    t.ok(stats.timeouts <= 1 + 12, `only probes waited on Redis (${stats.timeouts} timeouts of ${outcomes.length / 2} takes)`);
    t.equal(stats.storeFailures, outcomes.length / 2, 'every take during the stall counted');
  }

  await awake;
  t.ok(await until(async () => (await timed(closed, 'k', limit)).decision !== undefined, 5000, 20), 'fail-closed is served by Redis again');
  t.equal(closed.stats().state, 'up');
});

t.test('close does not wait on a stalled Redis, and is idempotent', async (t) => {
  const redis = await startRedis(t);
  const shared = limiter(t, redis, 'open');
  await connected(t, shared);
  const { awake } = await redis.stall(2);
  const lag = loopLag();
  const inFlight = shared.take('k', { ratePerSecond: 1, burst: 1 }, 1);
  const started = performance.now();
  await Promise.all([shared.close(), shared.close()]);
  const closeMs = performance.now() - started;
  lag.stop();
  t.ok(closeMs < lag.boundMs(), `closed in ${closeMs.toFixed(1)} ms`);
  t.match(await inFlight, { allowed: true }, 'the take in flight is decided without Redis');
  t.equal(shared.stats().state, 'closed');
  await awake;
});

t.test('an idle bucket expires in Redis when it would be full again', async (t) => {
  const redis = await startRedis(t);
  const shared = limiter(t, redis, 'closed');
  await connected(t, shared);

  await shared.take('slow', { ratePerSecond: 10, burst: 10 }, 10);
  const pttl = await redis.client.pttl('test:rl:slow');
  t.ok(pttl > 800 && pttl <= 1000, `PTTL ${pttl} ms: the time to refill 10 tokens at 10/s`);

  await shared.take('fast', { ratePerSecond: 100, burst: 10 }, 5);
  t.ok(await until(async () => (await redis.client.exists('test:rl:fast')) === 0, 2000, 10), 'gone once full again (50 ms)');
  t.match(await shared.take('fast', { ratePerSecond: 100, burst: 10 }, 1), { allowed: true, remaining: 9 }, 'and a new take finds it full');

  await shared.take('whole', { ratePerSecond: 1, burst: 5 }, 0);
  t.equal(await redis.client.exists('test:rl:whole'), 0, 'a full bucket is never written');
  await shared.take('whole', { ratePerSecond: 1, burst: 5 }, 6);
  t.equal(await redis.client.exists('test:rl:whole'), 0, 'nor is a refusal');
});

t.test('round trip of a take against a local Redis', async (t) => {
  const redis = await startRedis(t);
  const shared = limiter(t, redis, 'closed', undefined, PATIENT_MS);
  await connected(t, shared);
  const limit = { ratePerSecond: 1e6, burst: 1e6 };
  for (let i = 0; i < 200; i++) await shared.take('warm', limit, 1);
  const n = 5000;
  let started = performance.now();
  for (let i = 0; i < n; i++) await shared.take(`k${i % 100}`, limit, 1);
  const sequentialUs = ((performance.now() - started) * 1000) / n;
  started = performance.now();
  await Promise.all(Array.from({ length: 50 }, async (_, c) => {
    for (let i = 0; i < n / 50; i++) await shared.take(`k${c}`, limit, 1);
  }));
  const concurrentUs = ((performance.now() - started) * 1000) / n;
  t.comment(`sequential: ${sequentialUs.toFixed(1)} µs per take; 50 concurrent callers: ${concurrentUs.toFixed(1)} µs per take (auto-pipelined)`);
  t.equal(shared.storeFailures, 0);
});
