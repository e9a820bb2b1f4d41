// The rollout gates on fixed window readings: for each gate, where waiting
// ends and where pass turns to fail, with the plan's default thresholds and
// custom ones, and the sentence each reading carries.

import t, { type Test } from 'tap';
import type { ArmReadings, WindowReadings } from '../../../gateway/rollout/gate-window.ts';
import { judgeGates, type GateReading } from '../../../gateway/rollout/rollout-gates.ts';
import { DEFAULT_ROLLOUT_PLAN, type GateName, type RolloutGates } from '../../../gateway/rollout/rollout-plan.ts';

const DEFAULTS = DEFAULT_ROLLOUT_PLAN.gates;

const arm = (requests: number, errors = 0, p99Ms: number | undefined = requests > errors ? 10 : undefined): ArmReadings => ({ requests, errors, p99Ms });

function readings(over: { stable?: ArmReadings; candidate?: ArmReadings; agreement?: Partial<WindowReadings['agreement']> } = {}): WindowReadings {
  return {
    stable: over.stable ?? arm(0),
    candidate: over.candidate ?? arm(0),
    agreement: { comparisons: 0, maxAbsDiff: 0, argmaxRows: 0, argmaxAgreeingRows: 0, ...over.agreement },
  };
}

type Row = { name: string; gates?: RolloutGates; r: WindowReadings; status: GateReading['status']; detail?: string };

function check(t: Test, gate: GateName, rows: Row[]): void {
  for (const row of rows) {
    const [reading] = judgeGates(row.gates ?? DEFAULTS, [gate], row.r);
    t.equal(reading?.status, row.status, row.name);
    if (row.detail !== undefined) t.equal(reading?.detail, row.detail, `${row.name}: detail`);
  }
}

t.test('errors: waits for minRequests of the candidate, fails past maxIncrease points over the stable', async (t) => {
  const strict = { ...DEFAULTS, errors: { maxIncrease: 0, minRequests: 10 } };
  check(t, 'errors', [
    { name: '49 candidate requests, all failed: waiting', r: readings({ candidate: arm(49, 49) }), status: 'waiting', detail: 'candidate 49 of the 50 requests needed' },
    { name: '50 requests without error, no stable request: pass', r: readings({ candidate: arm(50) }), status: 'pass', detail: 'candidate 0.0 % errors vs stable 0.0 % (max increase 1 point), 50 requests' },
    { name: 'exactly one point over: pass', r: readings({ candidate: arm(100, 1), stable: arm(100) }), status: 'pass' },
    { name: 'one point over, in floats 0.07 − 0.06: pass', r: readings({ candidate: arm(100, 7), stable: arm(100, 6) }), status: 'pass' },
    { name: '1.1 points over: fail', r: readings({ candidate: arm(1000, 11), stable: arm(1000) }), status: 'fail', detail: 'candidate 1.1 % errors vs stable 0.0 % (max increase 1 point), 1000 requests' },
    { name: 'two points over: fail', r: readings({ candidate: arm(100, 2), stable: arm(300) }), status: 'fail', detail: 'candidate 2.0 % errors vs stable 0.0 % (max increase 1 point), 100 requests' },
    { name: 'many errors on both sides, the candidate no worse: pass', r: readings({ candidate: arm(100, 30), stable: arm(100, 40) }), status: 'pass' },
    { name: 'custom: 9 of 10 requests: waiting', gates: strict, r: readings({ candidate: arm(9, 5) }), status: 'waiting' },
    { name: 'custom: the same ratio as stable: pass', gates: strict, r: readings({ candidate: arm(10, 1), stable: arm(10, 1) }), status: 'pass' },
    { name: 'custom: any increase fails', gates: strict, r: readings({ candidate: arm(10, 1), stable: arm(20, 1) }), status: 'fail', detail: 'candidate 10.0 % errors vs stable 5.0 % (max increase 0 points), 10 requests' },
    { name: 'custom: half a point', gates: { ...DEFAULTS, errors: { maxIncrease: 0.005, minRequests: 10 } }, r: readings({ candidate: arm(1000, 6) }), status: 'fail', detail: 'candidate 0.6 % errors vs stable 0.0 % (max increase 0.5 points), 1000 requests' },
  ]);
});

t.test('latency: waits for minRequests and a p99 on both sides, fails only past both the ratio and the tolerance', async (t) => {
  const tight = { ...DEFAULTS, latency: { maxP99Ratio: 1.1, toleranceMs: 0, minRequests: 10 } };
  check(t, 'latency', [
    { name: 'candidate 99 requests: waiting', r: readings({ candidate: arm(99, 0, 50), stable: arm(500, 0, 5) }), status: 'waiting', detail: '100 requests with a p99 needed on each side: candidate 99, stable 500' },
    { name: 'stable 99 requests: waiting', r: readings({ candidate: arm(500, 0, 50), stable: arm(99, 0, 5) }), status: 'waiting' },
    { name: 'every candidate request failed, no p99: waiting', r: readings({ candidate: arm(100, 100), stable: arm(100, 0, 5) }), status: 'waiting', detail: '100 requests with a p99 needed on each side: candidate 100 (no latency sample), stable 100' },
    { name: 'exactly 2× and 10 ms slower: pass', r: readings({ candidate: arm(100, 0, 20), stable: arm(100, 0, 10) }), status: 'pass', detail: 'candidate p99 20.0 ms vs stable 10.0 ms (max ×2 and +5 ms), 100 requests' },
    { name: 'over 2× and 10.5 ms slower: fail', r: readings({ candidate: arm(100, 0, 20.5), stable: arm(100, 0, 10) }), status: 'fail', detail: 'candidate p99 20.5 ms vs stable 10.0 ms (max ×2 and +5 ms), 100 requests' },
    { name: 'over 2× but exactly 5 ms slower: pass', r: readings({ candidate: arm(100, 0, 9), stable: arm(100, 0, 4) }), status: 'pass' },
    { name: 'over 2× and 5.5 ms slower: fail', r: readings({ candidate: arm(100, 0, 9.5), stable: arm(100, 0, 4) }), status: 'fail' },
    { name: '4.5× but sub-millisecond: pass', r: readings({ candidate: arm(100, 0, 0.9), stable: arm(100, 0, 0.2) }), status: 'pass' },
    { name: '60 ms slower but under 2×: pass', r: readings({ candidate: arm(100, 0, 160), stable: arm(100, 0, 100) }), status: 'pass' },
    { name: 'custom: 1.1× exactly (11.000000000000002 in floats): pass', gates: tight, r: readings({ candidate: arm(10, 0, 11), stable: arm(10, 0, 10) }), status: 'pass' },
    { name: 'custom: just past 1.1×: fail', gates: tight, r: readings({ candidate: arm(10, 0, 11.01), stable: arm(10, 0, 10) }), status: 'fail', detail: 'candidate p99 11.0 ms vs stable 10.0 ms (max ×1.1 and +0 ms), 10 requests' },
  ]);
});

t.test('agreement: waits for minComparisons, fails past maxAbsDiff or under minArgmaxAgreement', async (t) => {
  const exact = { ...DEFAULTS, agreement: { maxAbsDiff: 0, minArgmaxAgreement: 1, minComparisons: 1 } };
  const n = { comparisons: 20 };
  check(t, 'agreement', [
    { name: '19 comparisons, all different: waiting', r: readings({ agreement: { comparisons: 19, maxAbsDiff: Infinity } }), status: 'waiting', detail: '19 of the 20 compared answers needed' },
    { name: 'diff exactly at the limit, no classifier: pass', r: readings({ agreement: { ...n, maxAbsDiff: 1e-3 } }), status: 'pass', detail: 'max abs diff 0.001 (max 0.001), 20 comparisons' },
    { name: 'diff just past the limit: fail', r: readings({ agreement: { ...n, maxAbsDiff: 1.0001e-3 } }), status: 'fail', detail: 'max abs diff 0.001 (max 0.001), 20 comparisons' },
    { name: 'an output missing: fail', r: readings({ agreement: { ...n, maxAbsDiff: Infinity, argmaxRows: 20, argmaxAgreeingRows: 20 } }), status: 'fail', detail: 'max abs diff Infinity (an output missing or of another datatype, shape or value) (max 0.001), top-1 agrees on 100.0 % of 20 rows (min 99 %), 20 comparisons' },
    { name: '99 of 100 rows agree: pass', r: readings({ agreement: { ...n, maxAbsDiff: 2e-4, argmaxRows: 100, argmaxAgreeingRows: 99 } }), status: 'pass', detail: 'max abs diff 0.0002 (max 0.001), top-1 agrees on 99.0 % of 100 rows (min 99 %), 20 comparisons' },
    { name: '98 of 100 rows agree, small diff: fail', r: readings({ agreement: { ...n, maxAbsDiff: 2e-4, argmaxRows: 100, argmaxAgreeingRows: 98 } }), status: 'fail' },
    { name: '0 of 0 rows: pass on the diff alone', r: readings({ agreement: { ...n, maxAbsDiff: 0 } }), status: 'pass' },
    { name: 'custom: identical answers pass', gates: exact, r: readings({ agreement: { comparisons: 1, argmaxRows: 3, argmaxAgreeingRows: 3 } }), status: 'pass' },
    { name: 'custom: any difference fails', gates: exact, r: readings({ agreement: { comparisons: 1, maxAbsDiff: 1e-9 } }), status: 'fail' },
    { name: 'custom: one row of 1000 disagreeing fails', gates: exact, r: readings({ agreement: { comparisons: 5, argmaxRows: 1000, argmaxAgreeingRows: 999 } }), status: 'fail', detail: 'max abs diff 0 (max 0), top-1 agrees on 99.9 % of 1000 rows (min 100 %), 5 comparisons' },
  ]);
});

t.test('one reading per name, in the order given', async (t) => {
  const r = readings({ candidate: arm(200, 10), stable: arm(200, 0, 10), agreement: { comparisons: 3 } });
  t.same(judgeGates(DEFAULTS, ['agreement', 'errors', 'latency'], r).map((g) => [g.gate, g.status]), [['agreement', 'waiting'], ['errors', 'fail'], ['latency', 'pass']]);
  t.same(judgeGates(DEFAULTS, ['latency'], r).map((g) => g.gate), ['latency']);
  t.same(judgeGates(DEFAULTS, [], r), []);
});
