// Chaos timelines: outcomes bucketed by intended send second (ok / shed /
// failed by code or kind, exact per-second percentiles), the drain counts
// around a SIGTERM, and the time to recover after each event.

import t from 'tap';
import { bucketSeconds, drainCounts, outcomeOf, percentile } from '../../benchmarks/lib/event-timeline.ts';
import type { Answer } from '../../benchmarks/lib/open-loop.ts';
import { baselineP99, isHealthy, p99Threshold, recoveries } from '../../benchmarks/lib/recovery.ts';
import type { TimelineEvent, TimelineSecond } from '../../benchmarks/lib/results.ts';

const ok = (dueMs: number, latencyMs: number): Answer => ({ dueMs, doneMs: dueMs + latencyMs, status: 200 });

t.test('outcomes: 2xx ok; 429 and 503 with Retry-After shed; the rest failed by code, status or error kind', async (t) => {
  const cases: [Answer, ReturnType<typeof outcomeOf>][] = [
    [ok(0, 1), { kind: 'ok' }],
    [{ dueMs: 0, doneMs: 1, status: 429 }, { kind: 'shed' }],
    [{ dueMs: 0, doneMs: 1, status: 503, code: 'GW_ERR_OVERLOADED', retryAfter: true }, { kind: 'shed' }],
    [{ dueMs: 0, doneMs: 1, status: 503, code: 'GW_ERR_UPSTREAM_UNAVAILABLE', retryAfter: false }, { kind: 'failed', key: '503 GW_ERR_UPSTREAM_UNAVAILABLE' }],
    [{ dueMs: 0, doneMs: 1, status: 500 }, { kind: 'failed', key: '500' }],
    [{ dueMs: 0, doneMs: 1, error: 'timeout' }, { kind: 'failed', key: 'timeout' }],
    [{ dueMs: 0, doneMs: 1 }, { kind: 'failed', key: 'other' }],
  ];
  for (const [answer, expected] of cases) t.same(outcomeOf(answer), expected, JSON.stringify(answer));
});

t.test('nearest-rank percentiles', async (t) => {
  const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
  t.equal(percentile(hundred, 50), 50);
  t.equal(percentile(hundred, 99), 99);
  t.equal(percentile([7], 99), 7);
  t.equal(percentile([], 99), null);
});

t.test('answers are bucketed by the second they were due, not the one they ended in', async (t) => {
  const answers: Answer[] = [
    ok(100, 5),
    ok(900, 2_000), // due in second 0, answered in second 2: charged to second 0
    { dueMs: 1_200, doneMs: 1_210, status: 500, code: 'GW_ERR_INJECTED_FAULT' },
    { dueMs: 1_300, doneMs: 1_301, status: 503, retryAfter: true },
    { dueMs: 1_400, doneMs: 11_400, error: 'timeout' },
    ok(1_500, 3),
    { dueMs: 2_400, doneMs: 2_401, error: 'refused' },
  ];
  const seconds = bucketSeconds(answers, 2.5);
  t.same(
    seconds.map((s) => [s.second, s.sent, s.ok, s.shed, s.failed]),
    [
      [0, 2, 2, 0, 0],
      [1, 4, 1, 1, 2],
      [2, 1, 0, 0, 1],
    ],
  );
  t.same(seconds[1]!.failures, { '500 GW_ERR_INJECTED_FAULT': 1, timeout: 1 });
  t.equal(seconds[0]!.p99Ms, 2_000, 'the slow request counts in the second it was due');
  t.equal(seconds[0]!.p50Ms, 5);
  t.equal(seconds[2]!.p99Ms, null, 'no 2xx, no percentile');
});

t.test('a drain: in-flight requests at the SIGTERM, and what happened to later ones', async (t) => {
  const answers: Answer[] = [
    ok(1_000, 10), // done before the SIGTERM: not in flight
    ok(4_900, 300), // in flight, answered
    { dueMs: 4_950, doneMs: 5_100, error: 'reset' }, // in flight, lost
    { dueMs: 5_100, doneMs: 5_101, status: 503, code: 'GW_ERR_SHUTTING_DOWN' },
    { dueMs: 5_200, doneMs: 5_201, error: 'refused' },
    { dueMs: 5_300, doneMs: 5_301, status: 503, retryAfter: true },
    { dueMs: 5_400, doneMs: 5_401, error: 'reset' },
    ok(5_050, 5),
  ];
  t.same(drainCounts(answers, 5), { atS: 5, inFlight: { answered: 1, failed: 1 }, after: { answered: 1, refused: 2, shed: 1, failed: 1 } });
});

function second(n: number, fields: Partial<TimelineSecond> = {}): TimelineSecond {
  return { second: n, sent: 100, ok: 100, shed: 0, failed: 0, failures: {}, p50Ms: 1, p99Ms: 5, ...fields };
}

t.test('baseline p99 and the healthy threshold', async (t) => {
  const seconds = [second(0, { p99Ms: 4 }), second(1, { p99Ms: 6 }), second(2, { p99Ms: 5 }), second(3, { p99Ms: 500 }), second(4, { p99Ms: 600 })];
  t.equal(baselineP99(seconds, [{ atS: 3.2, kind: 'kill', label: 'k' }]), 5, 'median of the seconds wholly before the first event');
  t.equal(baselineP99(seconds, [{ atS: 0.5, kind: 'kill', label: 'k' }]), 6, 'all seconds when none is before it');
  t.equal(baselineP99([], []), null);
  t.equal(p99Threshold(5), 15, 'at least baseline + 10 ms');
  t.equal(p99Threshold(40), 80, 'twice the baseline');
  t.equal(p99Threshold(null), Infinity);
  t.ok(isHealthy(second(0), 15));
  t.notOk(isHealthy(second(0, { failed: 1 }), 15), 'a failure');
  t.notOk(isHealthy(second(0, { shed: 1 }), 15), 'shedding');
  t.notOk(isHealthy(second(0, { p99Ms: 16 }), 15), 'slow');
  t.notOk(isHealthy(second(0, { ok: 0, p99Ms: null }), 15), 'nothing answered');
});

t.test('time to recover after each event, within the window up to the next event', async (t) => {
  // ✓ ✓ ✓ | ✗ ✗ ✓ ✓ | ✓ ✓ | ✗ ✓ ✗ ✓ ✓ | ✗ ✗
  const bad = { failed: 3, p99Ms: 400 };
  const seconds = [
    second(0), second(1), second(2),
    second(3, bad), second(4, { shed: 2, p99Ms: 90 }), second(5), second(6),
    second(7), second(8),
    second(9, bad), second(10), second(11, bad), second(12), second(13),
    second(14, bad), second(15, bad),
  ];
  const events: TimelineEvent[] = [
    { atS: 3.4, kind: 'kill', label: 'kill' },
    { atS: 7.1, kind: 'burst', label: 'burst' },
    { atS: 9.5, kind: 'stop', label: 'stop' },
    { atS: 14.2, kind: 'cont', label: 'cont' },
  ];
  const r = recoveries(seconds, events, p99Threshold(5));
  t.same(
    r.map((x) => [x.event.label, x.secondsToRecover === null ? null : Number(x.secondsToRecover.toFixed(2)), x.failed, x.shed, x.worstP99Ms]),
    [
      ['kill', 1.6, 3, 2, 400],
      ['burst', 0, 0, 0, null],
      ['stop', 2.5, 6, 0, 400], // second 10 is healthy but second 11 is not: recovery needs two in a row
      ['cont', null, 6, 0, 400],
    ],
  );
});
