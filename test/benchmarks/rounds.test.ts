import t from 'tap';
import { median, medianRun, pairedDifferencesOf, pairedRatios, pairedRatiosOf, representativeRuns, roundPlan, roundsOf, times } from '../../benchmarks/lib/rounds.ts';
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

t.test('paired ratios of any value leave out rounds where either side lacks it', async (t) => {
  const cpu = (r: RunRecord): number | undefined => (r.summary.responsesPerS === 0 ? undefined : r.summary.responsesPerS * 2);
  const a = [run('a', 16, 1, 30), run('a', 16, 2, 0), run('a', 16, 3, 40)];
  const b = [run('b', 16, 1, 10), run('b', 16, 2, 10), run('b', 16, 3, 0)];
  t.same(pairedRatiosOf(a, b, cpu), [3], 'round 2 lacks a numerator, round 3 a denominator');
});

t.test('paired differences of a value by round (a zero is a value, not a lack); ratios for a table', async (t) => {
  const cpu = (r: RunRecord): number | undefined => (r.summary.responsesPerS < 0 ? undefined : r.summary.responsesPerS);
  const a = [run('a', 16, 1, 30), run('a', 16, 2, -1), run('a', 16, 3, 40), run('a', 16, 4, 5)];
  const b = [run('b', 16, 1, 10), run('b', 16, 2, 10), run('b', 16, 3, 0), run('b', 16, 5, 1)];
  t.same(pairedDifferencesOf(a, b, cpu), [20, 40], 'round 2 lacks a value, round 4 its pair');
  t.equal(times([1.2, 1.0, 1.1]), '1.10×');
  t.equal(times([]), '—');
});

t.test('the round plan runs every system at every load each round, rotating which goes first', async (t) => {
  const order = (rounds: number, loads: number, systems: number): string[] => roundPlan(rounds, loads, systems).map((s) => `${s.round}:${s.load}:${'ABC'[s.system]}`);
  const table: [number, number, number, string[]][] = [
    [1, 1, 2, ['1:0:A', '1:0:B']],
    [2, 2, 2, ['1:0:A', '1:0:B', '1:1:A', '1:1:B', '2:0:B', '2:0:A', '2:1:B', '2:1:A']],
    [3, 1, 3, ['1:0:A', '1:0:B', '1:0:C', '2:0:B', '2:0:C', '2:0:A', '3:0:C', '3:0:A', '3:0:B']],
    [0, 2, 2, []],
  ];
  for (const [rounds, loads, systems, expected] of table) t.same(order(rounds, loads, systems), expected, `${rounds} rounds × ${loads} loads × ${systems} systems`);
});

t.test('representative runs: the median round per system and load, or the runs as recorded without rounds', async (t) => {
  const plain = [run('a', 16, 1, 10), run('b', 16, 1, 20)].map(({ round: _, ...r }) => r as RunRecord);
  t.equal(representativeRuns(plain), plain, 'the same array when no run has a round');
  const rounds = [run('a', 16, 1, 30), run('b', 16, 1, 5), run('a', 16, 2, 10), run('b', 16, 2, 7), run('a', 16, 3, 20), run('b', 16, 3, 6, 'no request completed'), run('a', 64, 1, 50)];
  t.same(representativeRuns(rounds).map((r) => `${r.system} ${r.load.connections} round ${r.round}`), ['a 16 round 3', 'b 16 round 1', 'a 64 round 1']);
});
