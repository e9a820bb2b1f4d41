// The status page's history: percentiles from histogram bucket deltas (as Prometheus's histogram_quantile), rates
// over the time that really passed, a rolling window, and a timer that stops.

import t from 'tap';
import { histogramQuantile, sampleBetween, StatusHistory, type CumulativeRequests } from '../../../gateway/observability/status-history.ts';

const BOUNDS = [0.1, 0.2, 0.5, 1];

t.test('histogramQuantile interpolates inside the bucket the rank falls in', async (t) => {
  const cases: Array<[string, number, number[], number, number | null]> = [
    ['empty histogram', 0.5, [0, 0, 0, 0], 0, null],
    ['all in the first bucket: from 0 to its bound', 0.5, [10, 10, 10, 10], 10, 0.05],
    ['p99 in the first bucket', 0.99, [10, 10, 10, 10], 10, 0.099],
    ['the rank on a bucket edge answers that bucket’s bound', 0.5, [0, 10, 10, 20], 20, 0.2],
    ['p99 in the last finite bucket', 0.99, [0, 10, 10, 20], 20, 0.99],
    ['a quarter of the way into the third bucket', 0.5, [2, 4, 12, 12], 12, 0.2 + 0.3 * (2 / 8)],
    ['beyond the last bound: the last bound', 0.99, [0, 0, 0, 5], 10, 1],
    ['the median still inside', 0.5, [0, 0, 0, 5], 10, 1],
    ['q = 1: the top of the highest occupied bucket', 1, [0, 0, 4, 4], 4, 0.5],
    ['q = 0', 0, [1, 2, 3, 4], 4, 0],
  ];
  for (const [name, q, cumulative, total, expected] of cases) {
    const got = histogramQuantile(q, BOUNDS, cumulative, total);
    if (expected === null) t.equal(got, null, name);
    else t.ok(got !== null && Math.abs(got - expected) < 1e-12, `${name}: ${got} ≈ ${expected}`);
  }
  t.equal(histogramQuantile(0.5, [], [], 3), null, 'no bounds');
});

function reading(requests: number, errors: number, cumulativeCounts: number[]): CumulativeRequests {
  return { requests, errors, latency: { boundsSeconds: BOUNDS, cumulativeCounts } };
}

t.test('sampleBetween: rates over the seconds that passed, percentiles of the interval only', async (t) => {
  const before = reading(100, 5, [100, 100, 100, 100]);
  // 40 more requests in 2 s, 4 of them errors; all between 0.2 s and 0.5 s.
  const after = reading(140, 9, [100, 100, 140, 140]);
  const sample = sampleBetween(before, after, 2, 5_000)!;
  t.same(sample, { atMs: 5_000, requestsPerS: 20, errorsPerS: 2, p50Ms: 350, p99Ms: 497 });
  t.equal(sampleBetween(before, after, 0, 5_000), undefined, 'no time passed: no sample');
  t.same(sampleBetween(after, after, 1, 6_000), { atMs: 6_000, requestsPerS: 0, errorsPerS: 0, p50Ms: null, p99Ms: null }, 'an idle interval');
  const reset = sampleBetween(after, reading(3, 1, [3, 3, 3, 3]), 1, 7_000)!;
  t.same([reset.requestsPerS, reset.errorsPerS, reset.p50Ms], [3, 1, 50], 'counters that went down count from zero');
});

/** A source whose counts the test moves, and a clock it sets. */
function fixture(options: { windowMs?: number; intervalMs?: number } = {}) {
  const state = { nowMs: 1_000_000, current: reading(0, 0, [0, 0, 0, 0]) };
  const history = new StatusHistory({ read: () => state.current, nowMs: () => state.nowMs, ...options });
  return { state, history };
}

t.test('one sample per call, over the time since the previous one; a rolling window', async (t) => {
  const { state, history } = fixture({ windowMs: 5_000 });
  state.current = reading(10, 1, [10, 10, 10, 10]);
  t.same(history.sample(1_001_000), { atMs: 1_001_000, requestsPerS: 10, errorsPerS: 1, p50Ms: 50, p99Ms: 99 });
  // A late timer: 1.5 s since the last sample.
  state.current = reading(25, 1, [10, 25, 25, 25]);
  t.equal(history.sample(1_002_500)!.requestsPerS, 10, '15 requests over 1.5 s');
  t.equal(history.sample(1_002_500), undefined, 'no time passed: nothing taken');
  t.equal(history.samples().length, 2);
  for (let i = 1; i <= 6; i++) history.sample(1_002_500 + i * 1_000);
  const times = history.samples().map((s) => s.atMs);
  t.same(times, [1_004_500, 1_005_500, 1_006_500, 1_007_500, 1_008_500], 'only the last 5 s are kept');
  t.same(history.samples().map((s) => s.requestsPerS), [0, 0, 0, 0, 0]);
});

t.test('the source is copied at each reading: a source that reuses its arrays does not change the past', async (t) => {
  const counts = [0, 0, 0, 0];
  const totals = { requests: 0, errors: 0, latency: { boundsSeconds: BOUNDS, cumulativeCounts: counts } };
  let nowMs = 0;
  const history = new StatusHistory({ read: () => totals, nowMs: () => nowMs });
  totals.requests = 4;
  counts.fill(4);
  nowMs = 1_000;
  t.equal(history.sample()!.p50Ms, 50);
  nowMs = 2_000;
  t.same(history.sample(), { atMs: 2_000, requestsPerS: 0, errorsPerS: 0, p50Ms: null, p99Ms: null }, 'nothing new since the last reading');
});

t.test('start() ticks every intervalMs until close(); a second start() is a no-op', async (t) => {
  const ticks: Array<{ intervalMs: number; tick: () => void; stopped: boolean }> = [];
  const every = (intervalMs: number, tick: () => void) => {
    const timer = { intervalMs, tick, stopped: false };
    ticks.push(timer);
    return () => void (timer.stopped = true);
  };
  let nowMs = 0;
  let requests = 0;
  const history = new StatusHistory({ read: () => reading(requests, 0, [requests, requests, requests, requests]), nowMs: () => nowMs, intervalMs: 250, every });
  t.equal(history.start(), history, 'start() returns the history');
  history.start();
  t.equal(ticks.length, 1, 'one timer');
  t.equal(ticks[0]!.intervalMs, 250);
  for (let i = 1; i <= 3; i++) {
    nowMs += 250;
    requests += 5;
    ticks[0]!.tick();
  }
  t.same(history.samples().map((s) => [s.atMs, s.requestsPerS]), [[250, 20], [500, 20], [750, 20]]);
  history.close();
  t.ok(ticks[0]!.stopped, 'close() stops the timer');
  history.close();
  history.start();
  t.equal(ticks.length, 2, 'it can be started again');
});

t.test('the default timer samples on its own and does not keep the process alive', async (t) => {
  const history = new StatusHistory({ read: () => reading(0, 0, [0, 0, 0, 0]), intervalMs: 5 }).start();
  t.teardown(() => history.close());
  const deadline = Date.now() + 10_000;
  while (history.samples().length < 3 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
  t.ok(history.samples().length >= 3, 'samples arrive on their own');
});
