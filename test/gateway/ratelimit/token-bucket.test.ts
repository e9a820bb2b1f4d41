// The token bucket as tables: sequences of (time, cost) → decisions, with no
// timers (the time is an argument).

import t, { type Test } from 'tap';
import { fullAtMs, take, type Bucket, type Decision, type Limit } from '../../../gateway/ratelimit/token-bucket.ts';

type Step = { atMs: number; cost?: number; expect: Partial<Decision> };

/** Runs `steps` against one bucket and checks each decision's listed fields. */
function run(t: Test, limit: Limit, steps: Step[]): Bucket | undefined {
  let bucket: Bucket | undefined;
  steps.forEach((step, i) => {
    const result = take(bucket, step.atMs, limit, step.cost ?? 1);
    bucket = result.bucket;
    t.match(result.decision, step.expect, `step ${i}: take ${step.cost ?? 1} at ${step.atMs} ms`);
  });
  return bucket;
}

const cases: { name: string; limit: Limit; steps: Step[] }[] = [
  {
    name: 'a new key starts full and takes down to zero, then refuses',
    limit: { ratePerSecond: 1, burst: 3 },
    steps: [
      { atMs: 0, expect: { allowed: true, limit: 3, remaining: 2, resetSeconds: 1, retryAfterSeconds: 0 } },
      { atMs: 0, expect: { allowed: true, remaining: 1, resetSeconds: 2 } },
      { atMs: 0, expect: { allowed: true, remaining: 0, resetSeconds: 3 } },
      { atMs: 0, expect: { allowed: false, remaining: 0, resetSeconds: 3, retryAfterSeconds: 1 } },
    ],
  },
  {
    name: 'refills at the rate, whole tokens only',
    limit: { ratePerSecond: 10, burst: 10 },
    steps: [
      { atMs: 0, cost: 10, expect: { allowed: true, remaining: 0, resetSeconds: 1 } },
      { atMs: 50, expect: { allowed: false, remaining: 0, retryAfterSeconds: 1 } }, // 0.5 token
      { atMs: 100, expect: { allowed: true, remaining: 0 } }, // 1 token, taken
      { atMs: 450, expect: { allowed: true, remaining: 2 } }, // 3.5 tokens − 1
    ],
  },
  {
    name: 'the burst caps the refill however long the key idles',
    limit: { ratePerSecond: 100, burst: 5 },
    steps: [
      { atMs: 0, cost: 5, expect: { allowed: true, remaining: 0 } },
      { atMs: 3_600_000, expect: { allowed: true, remaining: 4, resetSeconds: 1 } },
      { atMs: 3_600_000, cost: 5, expect: { allowed: false, remaining: 4 } },
    ],
  },
  {
    name: 'a cost above one takes that many tokens; retry-after counts the missing ones',
    limit: { ratePerSecond: 2, burst: 10 },
    steps: [
      { atMs: 0, cost: 7, expect: { allowed: true, remaining: 3, resetSeconds: 4 } },
      { atMs: 0, cost: 7, expect: { allowed: false, remaining: 3, retryAfterSeconds: 2 } }, // 4 missing at 2/s
      { atMs: 1000, cost: 5, expect: { allowed: true, remaining: 0, resetSeconds: 5 } },
      { atMs: 1000, cost: 9, expect: { allowed: false, retryAfterSeconds: 5 } }, // ceil(9 / 2)
    ],
  },
  {
    name: 'a refused take consumes nothing',
    limit: { ratePerSecond: 1, burst: 4 },
    steps: [
      { atMs: 0, cost: 3, expect: { allowed: true, remaining: 1 } },
      { atMs: 0, cost: 2, expect: { allowed: false, remaining: 1 } },
      { atMs: 0, cost: 2, expect: { allowed: false, remaining: 1 } },
      { atMs: 0, cost: 1, expect: { allowed: true, remaining: 0 } },
    ],
  },
  {
    name: 'a cost above the burst never passes, even full, and says when the bucket is full',
    limit: { ratePerSecond: 1, burst: 5 },
    steps: [
      { atMs: 0, cost: 6, expect: { allowed: false, remaining: 5, resetSeconds: 0, retryAfterSeconds: 1 } },
      { atMs: 0, cost: 3, expect: { allowed: true, remaining: 2 } },
      { atMs: 0, cost: 100, expect: { allowed: false, remaining: 2, retryAfterSeconds: 3 } },
      { atMs: 60_000, cost: 6, expect: { allowed: false, remaining: 5, retryAfterSeconds: 1 } },
    ],
  },
  {
    name: 'a clock going backwards refills nothing and credits no interval twice',
    limit: { ratePerSecond: 1, burst: 2 },
    steps: [
      { atMs: 10_000, cost: 2, expect: { allowed: true, remaining: 0 } },
      { atMs: 5_000, expect: { allowed: false, remaining: 0, retryAfterSeconds: 1 } }, // earlier: nothing refilled, no negative
      { atMs: 10_999, expect: { allowed: false } }, // 0.999 s after the real last update
      { atMs: 11_000, expect: { allowed: true, remaining: 0 } },
    ],
  },
  {
    name: 'fractional rates: retry-after rounds up, never 0 when refused',
    limit: { ratePerSecond: 0.5, burst: 1 },
    steps: [
      { atMs: 0, expect: { allowed: true, remaining: 0, resetSeconds: 2 } },
      { atMs: 1999, expect: { allowed: false, retryAfterSeconds: 1 } },
      { atMs: 2000, expect: { allowed: true } },
    ],
  },
  {
    name: 'refills summed in small steps do not fall a hair short of a whole token',
    limit: { ratePerSecond: 10, burst: 1 },
    steps: [
      { atMs: 0, expect: { allowed: true } },
      ...[10, 20, 30, 40, 50, 60, 70, 80, 90].map((atMs) => ({ atMs, cost: 0, expect: { allowed: true, remaining: 0 } })),
      { atMs: 100, expect: { allowed: true } },
    ],
  },
];

for (const c of cases) t.test(c.name, async (t) => void run(t, c.limit, c.steps));

t.test('cost 0 is a peek: it never consumes and always passes', async (t) => {
  const limit = { ratePerSecond: 1, burst: 3 };
  const bucket = run(t, limit, [
    { atMs: 0, cost: 3, expect: { allowed: true, remaining: 0 } },
    { atMs: 0, cost: 0, expect: { allowed: true, remaining: 0, retryAfterSeconds: 0 } },
  ]);
  t.same(bucket, { tokens: 0, updatedMs: 0 });
});

t.test('fullAtMs is when the refill reaches the burst', async (t) => {
  const limit = { ratePerSecond: 4, burst: 8 };
  const { bucket } = take(undefined, 1000, limit, 6);
  t.equal(fullAtMs(bucket, limit), 1000 + 1500);
  t.equal(take(bucket, fullAtMs(bucket, limit), limit, 0).decision.remaining, 8);
});
