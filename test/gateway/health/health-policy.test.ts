import t from 'tap';
import {
  afterCheck,
  ejectionMs,
  FRESH_CHECK_STATE,
  mayEject,
  nextCheckDelayMs,
  type CheckState,
} from '../../../gateway/health/health-policy.ts';

const thresholds = { healthyThreshold: 2, unhealthyThreshold: 3 };

t.test('active checks: a run of failures takes a replica out, a run of passes brings it back', async (t) => {
  // Each row: check results in order → healthy after each.
  const cases: Array<{ results: boolean[]; healthy: boolean[] }> = [
    { results: [true, true, true], healthy: [true, true, true] },
    { results: [false, false], healthy: [true, true] },
    { results: [false, false, false], healthy: [true, true, false] },
    { results: [false, false, true, false, false], healthy: [true, true, true, true, true] }, // a pass resets the run
    { results: [false, false, false, true], healthy: [true, true, false, false] },
    { results: [false, false, false, true, true], healthy: [true, true, false, false, true] },
    { results: [false, false, false, true, false, true, true], healthy: [true, true, false, false, false, false, true] },
  ];
  for (const c of cases) {
    let state: CheckState = FRESH_CHECK_STATE;
    const seen = c.results.map((passed) => (state = afterCheck(state, passed, thresholds)).healthy);
    t.same(seen, c.healthy, JSON.stringify(c.results));
  }
});

t.test('active checks count the current run of each result', async (t) => {
  let state: CheckState = FRESH_CHECK_STATE;
  for (const passed of [true, false, false]) state = afterCheck(state, passed, thresholds);
  t.same(state, { healthy: true, passedInARow: 0, failedInARow: 2 });
});

t.test('check delays spread uniformly over interval ± jitter', async (t) => {
  const rows: Array<[number, number, number, number]> = [
    // intervalMs, jitterPercent, random, expected
    [1000, 20, 0, 800],
    [1000, 20, 0.5, 1000],
    [1000, 20, 0.999999, 1199.9996],
    [1000, 0, 0.1, 1000],
  ];
  for (const [interval, jitter, random, expected] of rows) {
    t.ok(Math.abs(nextCheckDelayMs(interval, jitter, () => random) - expected) < 1e-3, `${interval} ± ${jitter}% at ${random}`);
  }
});

t.test('ejection time grows with repeats up to the maximum', async (t) => {
  t.same([1, 2, 3, 5, 20].map((n) => ejectionMs(n, 5_000, 30_000)), [5_000, 10_000, 15_000, 25_000, 30_000]);
});

t.test('never more than the configured share of replicas is ejected (at least one may be)', async (t) => {
  const rows: Array<[number, number, number, boolean]> = [
    // ejected, total, maxEjectionPercent, may eject one more
    [0, 3, 50, true],
    [1, 3, 50, false],
    [0, 2, 50, true],
    [1, 2, 50, false],
    [0, 1, 50, true],
    [0, 10, 10, true],
    [1, 10, 10, false],
    [2, 10, 30, true],
    [3, 10, 30, false],
    [0, 5, 0, false],
    [4, 5, 100, true],
  ];
  for (const [ejected, total, percent, expected] of rows) t.equal(mayEject(ejected, total, percent), expected, `${ejected}/${total} at ${percent}%`);
});
