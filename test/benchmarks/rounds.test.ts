import t from 'tap';
import { median, medianRun, pairedRatios, roundsOf } from '../../benchmarks/lib/rounds.ts';
import type { RunRecord } from '../../benchmarks/lib/results.ts';

const run = (system: string, connections: number, round: number, responsesPerS: number, failure?: string): RunRecord =>
  ({ system, round, load: { mode: 'closed', connections, pipelining: 1, durationS: 1 }, summary: { responsesPerS }, ...(failure && { failure }) }) as unknown as RunRecord;

t.test('median of odd and even counts, and of none', async (t) => {
  t.equal(median([3, 1, 2]), 2);
  t.equal(median([4, 1, 3, 2]), 2.5);
  t.ok(Number.isNaN(median([])));
});

t.test('rounds of one system at one load, failed runs left out, in round order', async (t) => {
  const runs = [run('a', 16, 2, 20), run('a', 64, 1, 99), run('b', 16, 1, 5), run('a', 16, 1, 10), run('a', 16, 3, 0, 'no request completed')];
  t.same(roundsOf(runs, 'a', 16).map((r) => r.round), [1, 2]);
});

t.test('the median run is a real run (the lower middle for an even count)', async (t) => {
  t.equal(medianRun([run('a', 16, 1, 30), run('a', 16, 2, 10), run('a', 16, 3, 20)])?.round, 3);
  t.equal(medianRun([run('a', 16, 1, 40), run('a', 16, 2, 10), run('a', 16, 3, 20), run('a', 16, 4, 30)])?.round, 3);
  t.equal(medianRun([]), undefined);
});

t.test('ratios are paired by round; a round missing on either side is left out', async (t) => {
  const hits = [run('hit', 16, 1, 100), run('hit', 16, 2, 60), run('hit', 16, 3, 90)];
  const misses = [run('miss', 16, 1, 20), run('miss', 16, 2, 10), run('miss', 16, 4, 10)];
  t.same(pairedRatios(hits, misses), [5, 6]);
  t.same(pairedRatios(hits, [run('miss', 16, 1, 0)]), [], 'a zero denominator gives no ratio');
});
