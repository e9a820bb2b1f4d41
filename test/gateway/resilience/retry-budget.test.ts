import t from 'tap';
import { RetryBudget } from '../../../gateway/resilience/retry-budget.ts';

function budget(percent: number, minRetriesPerSecond: number, windowMs = 10_000) {
  const clock = { ms: 0 };
  return { clock, budget: new RetryBudget({ percent, minRetriesPerSecond, windowMs }, () => clock.ms) };
}

function retriesGranted(b: RetryBudget, tries: number): number {
  let granted = 0;
  for (let i = 0; i < tries; i++) if (b.tryRetry()) granted++;
  return granted;
}

t.test('retries are capped at a share of the requests in the window', async (t) => {
  const { budget: b } = budget(20, 0);
  for (let i = 0; i < 100; i++) b.recordRequest();
  t.equal(retriesGranted(b, 50), 20);
  t.same(b.snapshot(), { requests: 100, retries: 20, allowedRetries: 20, exhausted: 30, retriedTotal: 20 });
});

t.test('a floor of retries per second holds on a quiet gateway', async (t) => {
  const { budget: b } = budget(20, 1, 10_000); // floor: 1/s over a 10 s window = 10
  b.recordRequest();
  t.equal(retriesGranted(b, 15), 10);
});

t.test('the window rolls: old requests and retries stop counting', async (t) => {
  const { clock, budget: b } = budget(50, 0, 1_000);
  for (let i = 0; i < 10; i++) b.recordRequest();
  t.equal(retriesGranted(b, 10), 5);
  clock.ms = 500; // half the window later: all still inside
  t.equal(retriesGranted(b, 1), 0);
  clock.ms = 1_000; // the buckets of t=0 rolled out
  t.same(b.snapshot(), { requests: 0, retries: 0, allowedRetries: 0, exhausted: 6, retriedTotal: 5 }, 'the window forgets; the totals do not');
  for (let i = 0; i < 4; i++) b.recordRequest();
  t.equal(retriesGranted(b, 4), 2);
});

t.test('a long quiet spell clears the whole window at once', async (t) => {
  const { clock, budget: b } = budget(100, 0, 1_000);
  for (let i = 0; i < 5; i++) b.recordRequest();
  clock.ms = 1_000_000;
  t.equal(b.snapshot().requests, 0);
});
