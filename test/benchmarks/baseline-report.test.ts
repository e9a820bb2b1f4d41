// Gateway vs baseline from interleaved rounds: medians per side, the
// gateway-process CPU per request (its workers apart), ratios paired within
// each round, the ±3 % verdict, and the Markdown that carries them.

import t from 'tap';
import { compareWithBaseline, comparisonHighlight, comparisonSection, comparisonTable, verdict } from '../../benchmarks/lib/baseline-report.ts';
import type { RunRecord } from '../../benchmarks/lib/results.ts';

type RunSpec = { system: string; round: number; perS: number; gatewayUs?: number; connections?: number; model?: string; failure?: string };

function run(s: RunSpec): RunRecord {
  const usPerRequest: Record<string, number> = { 'load generator': 40, workers: 500 };
  if (s.gatewayUs !== undefined) usPerRequest.gateway = s.gatewayUs;
  return {
    system: s.system,
    model: s.model ?? 'classifier',
    replicas: 2,
    round: s.round,
    load: { mode: 'closed', connections: s.connections ?? 16, pipelining: 1, durationS: 3 },
    body: { format: 'json', rows: 1, inputs: 'unique', bytesPerRequest: 900 },
    summary: { responsesPerS: s.perS } as RunRecord['summary'],
    cpu: { seconds: 3, percentOfCore: {}, usPerRequest },
    ...(s.failure && { failure: s.failure }),
  };
}

const ROUNDS: RunSpec[] = [
  { system: 'gateway', round: 1, perS: 1000, gatewayUs: 62 },
  { system: 'baseline', round: 1, perS: 1000, gatewayUs: 60 },
  { system: 'gateway', round: 2, perS: 500, gatewayUs: 120 },
  { system: 'baseline', round: 2, perS: 520, gatewayUs: 125 },
  { system: 'gateway', round: 3, perS: 900, gatewayUs: 70 },
  { system: 'baseline', round: 3, perS: 880, gatewayUs: 70 },
  { system: 'direct', round: 1, perS: 3000 },
];

t.test('medians per side and ratios paired by round', async (t) => {
  const [c, ...rest] = compareWithBaseline(ROUNDS.map(run), 'gateway', 'baseline');
  t.same(rest, [], 'one model and load');
  t.equal(c!.candidate.medianPerS, 900);
  t.equal(c!.baseline.medianPerS, 880);
  t.equal(c!.candidate.medianGatewayUs, 70, 'the gateway role, not the workers');
  t.equal(c!.baseline.medianGatewayUs, 70);
  t.same(c!.cpuRatios.map((x) => Number(x.toFixed(3))), [1.033, 0.96, 1]);
  t.equal(c!.cpuRatio, 1, 'the median of the paired ratios, not the ratio of the medians');
  t.same(c!.rateRatios.map((x) => Number(x.toFixed(3))), [1, 0.962, 1.023]);
});

t.test('each model and load is compared on its own; failed runs and rounds without CPU figures are left out', async (t) => {
  const runs = [
    ...ROUNDS,
    { system: 'gateway', round: 1, perS: 2000, gatewayUs: 50, connections: 64 },
    { system: 'baseline', round: 1, perS: 2000, connections: 64 },
    { system: 'gateway', round: 2, perS: 2000, gatewayUs: 50, connections: 64 },
    { system: 'baseline', round: 2, perS: 2100, gatewayUs: 40, connections: 64 },
    { system: 'gateway', round: 3, perS: 0, connections: 64, failure: 'no request completed' },
    { system: 'baseline', round: 3, perS: 1900, gatewayUs: 45, connections: 64 },
    { system: 'gateway', round: 1, perS: 100, gatewayUs: 300, model: 'heavy' },
  ].map(run);
  const comparisons = compareWithBaseline(runs, 'gateway', 'baseline');
  t.same(comparisons.map((c) => `${c.model} ${c.load.connections}`), ['classifier 16', 'classifier 64'], 'heavy has no baseline run: no comparison');
  const at64 = comparisons[1]!;
  t.same(at64.candidate.runs.map((r) => r.round), [1, 2], 'the failed round is left out');
  t.same(at64.cpuRatios, [1.25], 'only round 2 has CPU figures on both sides');
  t.same(at64.rateRatios.map((x) => Number(x.toFixed(3))), [1, 0.952]);
  t.equal(at64.baseline.medianGatewayUs, 42.5);
});

t.test('the verdict: within +3 % of the baseline is no loss', async (t) => {
  const table: [number | null, RegExp][] = [
    [0.9, /^no loss \(≤ \+3 %\)$/],
    [1.03, /^no loss/],
    [1.0301, /^loss: \+3.01 % \(> \+3 %\)$/],
    [1.041, /^loss: \+4\.1 %/],
    [null, /no CPU figures/],
  ];
  for (const [ratio, expected] of table) t.match(verdict(ratio), expected, String(ratio));
});

t.test('the highlight and the table carry both CPU figures, the paired ratio and the verdict', async (t) => {
  const [c] = compareWithBaseline(ROUNDS.map(run), 'gateway', 'baseline');
  const line = comparisonHighlight(c!, 'batching off');
  t.match(line, /^\*\*classifier, batching off, closed, 16 conn\*\*: /);
  t.match(line, 'gateway-process CPU per request 70.0 µs (gateway) vs 70.0 µs (baseline)');
  t.match(line, 'paired ratio 1.000× (+0 %; median of 3 rounds: 1.033×, 0.960×, 1.000×): no loss (≤ +3 %)');
  t.match(line, 'req/s 900 vs 880 (paired 1.000×)');

  const table = comparisonTable([c!]).split('\n');
  t.equal(table.length, 5, 'header, rule, a row per side and the ratio row');
  t.equal(table[2], '| classifier | closed, 16 conn | gateway | 900 | 70.0 | 1000, 500, 900 | 62.0, 120, 70.0 |');
  t.equal(table[3], '| classifier | closed, 16 conn | baseline | 880 | 70.0 | 1000, 520, 880 | 60.0, 125, 70.0 |');
  t.match(table[4], /^\| classifier \| closed, 16 conn \| gateway \/ baseline, paired by round \| 1\.000× \| 1\.000× \| 1\.000×, 0\.962×, 1\.023× \| 1\.033×, 0\.960×, 1\.000× \|$/);
  t.match(comparisonSection([c!]), /^\*\*Gateway vs baseline\*\* \(medians of 3 interleaved rounds; gateway CPU is the gateway process alone/);
});

t.test('without CPU figures (no /proc) the report says so instead of a ratio', async (t) => {
  const runs = ROUNDS.filter((s) => s.system !== 'direct').map((s) => run({ ...s, gatewayUs: undefined }));
  const [c] = compareWithBaseline(runs, 'gateway', 'baseline');
  t.equal(c!.cpuRatio, null);
  t.match(comparisonHighlight(c!), 'CPU per request — µs (gateway) vs — µs (baseline); no CPU figures');
});
