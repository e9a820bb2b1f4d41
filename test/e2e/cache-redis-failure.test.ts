// Redis is never a way to fail: with the test's own redis-server killed by
// SIGKILL under load no client request fails, hits resume once it is back
// (same gateway, no restart), and a Redis that stalls (DEBUG SLEEP) adds at
// most the configured timeout to a request. The in-process tier is off
// (memoryMaxBytes 0) so every hit has to come from Redis.

import t from 'tap';
import { getJson, postJson, randomFloats, seededRandom, startGateway } from '../helpers/gateway.ts';
import { startRedis } from '../helpers/redis.ts';

const TIMEOUT_MS = 100;
/** Headroom for a loaded 2-core machine on top of a request's own time and the timeout. */
const SLACK_MS = 300;

const redis = await startRedis(t);
const { url } = await startGateway(t, {
  cache: { redisUrl: redis.url, keyPrefix: `test-failure-${process.pid}`, memoryMaxBytes: 0, redisTimeoutMs: TIMEOUT_MS, redisBreaker: { resetTimeoutMs: 300, volumeThreshold: 3, errorThresholdPercentage: 50, rollingWindowMs: 2000, rollingBuckets: 10 } },
  models: { include: ['classifier'] },
});
const random = seededRandom(9);
const body = () => ({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 64], data: randomFloats(random, 64) }] });
const pool = Array.from({ length: 32 }, body);
const infer = (b: unknown) => postJson(`${url}/v2/models/classifier/infer`, b);
const stats = async () => (await getJson(`${url}/admin/cache`)).body;

async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await fn();
  return { value, ms: performance.now() - started };
}

t.test('Redis killed with SIGKILL under load: zero failed requests; hits resume after it restarts', async (t) => {
  const statuses = new Map<number, number>();
  let answered = 0;
  let stop = false;
  const loops = Array.from({ length: 16 }, async (_, i) => {
    for (let n = i; !stop; n += 16) {
      const answer = await infer(pool[n % pool.length]);
      statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
      answered++;
    }
  });
  const waitFor = async (count: number) => {
    while (answered < count) await new Promise((resolve) => setTimeout(resolve, 5));
  };
  await waitFor(300);
  const hitsBefore = (await stats()).hitsByTier.redis;
  t.ok(hitsBefore > 0, `${hitsBefore} Redis hits before the kill`);
  await redis.kill();
  const killedAt = answered;
  await waitFor(killedAt + 600);
  const during = await stats();
  stop = true;
  await Promise.all(loops);
  t.same(Object.fromEntries(statuses), { 200: answered }, `all ${answered} requests answered 200 (${answered - killedAt} after the kill)`);
  // Sampled mid-outage the breaker is open, or half-open when its reset timeout just ran out and it probes again;
  // the calls it kept from Redis show that it opened.
  const { breaker, skipped } = during.tiers.redis;
  t.ok(['open', 'half-open'].includes(breaker.state) && skipped > 0, `the breaker opened while Redis was down (${breaker.state}, ${skipped} calls kept from Redis)`);

  await redis.restart();
  const restartedAt = performance.now();
  let outcome: string | null = null;
  // The restarted Redis is empty: a request stores its answer, its repeat must be a Redis hit.
  while (outcome !== 'hit' && performance.now() - restartedAt < 20_000) {
    const b = pool[0];
    await infer(b);
    await new Promise((resolve) => setTimeout(resolve, 50));
    outcome = (await infer(b)).headers.get('x-infergate-cache');
  }
  t.equal(outcome, 'hit', `Redis hits resumed ${Math.round(performance.now() - restartedAt)} ms after the restart, same gateway`);
  t.ok((await stats()).hitsByTier.redis > during.hitsByTier.redis);
});

t.test('a Redis that stalls (DEBUG SLEEP) adds at most the timeout to a request', async (t) => {
  // Wait until the breaker is closed and Redis answers (the previous test restarted it).
  while ((await stats()).tiers.redis.breaker.state !== 'closed') await new Promise((resolve) => setTimeout(resolve, 50));
  const baseline = Math.max(...(await Promise.all(Array.from({ length: 8 }, () => timed(() => infer(body()))))).map((r) => r.ms));
  const { awake } = await redis.stall(2);
  const stalled = await Promise.all(Array.from({ length: 8 }, () => timed(() => infer(body()))));
  const after = await Promise.all(Array.from({ length: 8 }, () => timed(() => infer(body()))));
  await awake;
  t.same(stalled.concat(after).map((r) => r.value.status), Array(16).fill(200), 'every request answered');
  const worst = Math.max(...stalled.map((r) => r.ms));
  t.ok(worst <= baseline + TIMEOUT_MS + SLACK_MS, `slowest request while Redis slept: ${worst.toFixed(1)} ms (without Redis trouble: ${baseline.toFixed(1)} ms; timeout ${TIMEOUT_MS} ms)`);
  t.ok(worst >= TIMEOUT_MS * 0.9, 'the stalled lookup did wait for its timeout');
  const s = await stats();
  t.ok(s.tiers.redis.timeouts >= 1, `${s.tiers.redis.timeouts} Redis timeouts counted`);
  const later = Math.max(...after.map((r) => r.ms));
  t.ok(later <= baseline + TIMEOUT_MS + SLACK_MS, `next requests: slowest ${later.toFixed(1)} ms (breaker ${s.tiers.redis.breaker.state})`);
});
