// The in-process limiter: independent keys, an injected clock, and a Map that
// stays within maxKeys under a flood of distinct client addresses.

import t from 'tap';
import { LocalLimiter } from '../../../gateway/ratelimit/local-limiter.ts';

const limit = { ratePerSecond: 1, burst: 2 };

t.test('keys are independent, and the injected clock refills them', async (t) => {
  let nowMs = 0;
  const limiter = new LocalLimiter({ now: () => nowMs });
  t.match(limiter.take('a', limit, 2), { allowed: true, remaining: 0 });
  t.match(limiter.take('a', limit, 1), { allowed: false, retryAfterSeconds: 1 });
  t.match(limiter.take('b', limit, 1), { allowed: true, remaining: 1 }, "b's bucket is its own");
  nowMs = 1000;
  t.match(limiter.take('a', limit, 1), { allowed: true, remaining: 0 }, 'a refilled one token in a second');
  t.match(limiter.take('b', limit, 1), { allowed: true, remaining: 1 }, 'b refilled to its burst');
  t.equal(limiter.size, 2);
  await limiter.close();
  t.equal(limiter.size, 0, 'close drops every bucket');
});

t.test('a flood of 1e6 distinct keys keeps at most maxKeys buckets', async (t) => {
  let nowMs = 0;
  const maxKeys = 1000;
  const limiter = new LocalLimiter({ maxKeys, now: () => nowMs });
  let largest = 0;
  for (let i = 0; i < 1_000_000; i++) {
    if (i % 1000 === 0) nowMs += 1; // 1e6 takes per second
    limiter.take(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:${i}`, limit, 1);
    if (limiter.size > largest) largest = limiter.size;
  }
  t.ok(largest <= maxKeys, `at most ${largest} buckets`);
  const stats = limiter.stats();
  t.equal(stats.keys, maxKeys);
  t.equal(stats.droppedActive + stats.droppedFull, 1_000_000 - maxKeys, 'every insert past the bound dropped one bucket');
});

t.test('full buckets are dropped first, so an active client keeps its debt', async (t) => {
  let nowMs = 0;
  const limiter = new LocalLimiter({ maxKeys: 3, now: () => nowMs });
  limiter.take('idle-1', limit, 1);
  limiter.take('idle-2', limit, 1);
  nowMs = 500;
  limiter.take('busy', limit, 2); // empty now, full again at 2500 ms
  nowMs = 1500; // idle-1 and idle-2 are full again (at 1000 ms), busy is not
  limiter.take('new-1', limit, 1);
  t.equal(limiter.stats().droppedFull, 2, 'both full buckets were dropped');
  t.equal(limiter.stats().droppedActive, 0);
  t.match(limiter.take('busy', limit, 2), { allowed: false }, 'busy still owes its tokens');
});

t.test('when no bucket is full, the least recently used one goes', async (t) => {
  let nowMs = 0;
  const limiter = new LocalLimiter({ maxKeys: 2, now: () => nowMs });
  limiter.take('a', limit, 2);
  limiter.take('b', limit, 2);
  limiter.take('a', limit, 0); // a is now the most recently used
  limiter.take('c', limit, 2);
  t.same(limiter.stats(), { keys: 2, droppedFull: 0, droppedActive: 1 });
  t.match(limiter.take('a', limit, 1), { allowed: false }, 'a was kept');
  t.match(limiter.take('b', limit, 1), { allowed: true, remaining: 1 }, 'b was dropped: a fresh bucket');
});

t.test('a take answers synchronously: no promise on the hot path', async (t) => {
  const limiter = new LocalLimiter();
  const keys = Array.from({ length: 1000 }, (_, i) => `k${i}`);
  const n = 200_000;
  const started = performance.now();
  for (let i = 0; i < n; i++) limiter.take(keys[i % 1000]!, { ratePerSecond: 1e9, burst: 1e9 }, 1);
  t.comment(`${(((performance.now() - started) * 1e6) / n).toFixed(0)} ns per take`); // reported, not judged: timing is the benchmarks' job
  t.notOk(limiter.take('k0', limit, 1) instanceof Promise);
});
