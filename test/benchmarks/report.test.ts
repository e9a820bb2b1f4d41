// Presentation: nice ticks and scales, well-formed SVG for each chart kind
// (axes, ticks, labels, legend), and the Markdown tables.

import t from 'tap';
import { capacityBars, capacityProbes, latencyVsThroughput, throughputBars, throughputVs } from '../../benchmarks/lib/charts.ts';
import { capacityLine, cpuTable, renderMarkdown, runsTable } from '../../benchmarks/lib/report-markdown.ts';
import { renderChart } from '../../common/charts/render-chart.ts';
import type { CapacityRecord, RunRecord, ScenarioReport } from '../../benchmarks/lib/results.ts';
import { formatNumber, linearScale, log10Scale, log2Scale, niceStep } from '../../common/charts/svg.ts';
import { svgProblems } from './helpers.ts';

function run(system: string, connections: number, rps: number, p99: number, extra: Partial<RunRecord> = {}): RunRecord {
  return {
    system,
    replicas: 2,
    load: { mode: 'closed', connections, pipelining: 1, durationS: 10 },
    body: { format: 'json', rows: 1, inputs: 'unique', bytesPerRequest: 900 },
    summary: {
      elapsedS: 10, responses: rps * 10, ok: rps * 10, non2xx: 0, errors: 0, responsesPerS: rps, bytesRead: rps * 2000, bytesPerS: rps * 200,
      latency: { minMs: 0.2, meanMs: p99 / 4, p50Ms: p99 / 5, p90Ms: p99 / 2, p99Ms: p99, p999Ms: p99 * 2, maxMs: p99 * 3 },
      statusCodes: { '200': rps * 10 }, errorKinds: {}, errorRate: 0, timeline: [], histogram: '',
    },
    ...extra,
  };
}

const runs = [run('direct', 16, 9000, 3.1), run('direct', 64, 11000, 9.5), run('gateway', 16, 3000, 12), run('gateway', 64, 3600, 40), run('hello', 16, 20000, 2)];
const capacity: CapacityRecord = {
  system: 'gateway', replicas: 2, sloP99Ms: 50, maxErrorRate: 0.001, capacityPerS: 2900, bracket: [2900, 3000], reason: 'converged',
  probes: [
    { ratePerS: 1000, passed: true, achievedPerS: 1000, p50Ms: 2, p99Ms: 6, errorRate: 0 },
    { ratePerS: 4000, passed: false, achievedPerS: 3100, p50Ms: 900, p99Ms: 2500, errorRate: 0.01 },
    { ratePerS: 2900, passed: true, achievedPerS: 2900, p50Ms: 4, p99Ms: 30, errorRate: 0 },
  ],
};

t.test('nice ticks and scales', async (t) => {
  t.equal(niceStep(10, 5), 2);
  t.equal(niceStep(37000, 5), 10000);
  t.equal(niceStep(0.9, 5), 0.2);
  const lin = linearScale([0, 3620], 400, 0);
  t.same(lin.ticks, [0, 1000, 2000, 3000, 4000]);
  t.equal(lin.at(0), 400);
  t.equal(lin.at(4000), 0);
  t.same(log10Scale([0.3, 40], 0, 100).ticks, [0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100]);
  t.same(log2Scale([1, 256], 0, 100).ticks, [1, 2, 4, 8, 16, 32, 64, 128, 256]);
  t.same([12, 1234, 1500, 5000, 25000, 1_250_000, 0.25, 12.5].map(formatNumber), ['12', '1234', '1.5k', '5k', '25k', '1.3M', '0.25', '12.5']);
});

t.test('every chart kind renders to well-formed SVG with axes, labels and a legend', async (t) => {
  const charts = [
    latencyVsThroughput(runs, 'latency.svg', 'sub <&> title'),
    throughputVs(runs, { file: 'c.svg', title: 'Throughput vs connections', xLabel: 'connections', x: (r) => r.load.connections, xScale: 'log2' }),
    throughputBars(runs, { file: 'bars.svg', title: 'Throughput by system', xLabel: 'load', category: (r) => `${r.load.connections} connections` }),
    capacityProbes([capacity], 'probes.svg'),
    capacityBars([capacity], 'capacity.svg'),
  ];
  for (const chart of charts) {
    const svg = renderChart(chart);
    t.same(svgProblems(svg), [], `${chart.file} is well-formed`);
    t.match(svg, chart.title.replace(/&/g, '&amp;'), `${chart.file} has its title`);
    t.match(svg, chart.xLabel, `${chart.file} has its x label`);
    t.match(svg, '<line', `${chart.file} has axis and grid lines`);
  }
  const latency = renderChart(charts[0]!);
  t.match(latency, 'sub &lt;&amp;&gt; title', 'text is escaped');
  for (const legend of ['direct', 'gateway', 'hello', 'p50', 'p99', 'p99.9']) t.match(latency, `>${legend}</text>`, `legend ${legend}`);
  t.match(latency, '>16 conn</text>', 'points are labelled with their load');
  t.match(renderChart(charts[3]!), 'SLO p99 ≤ 50 ms', 'the SLO rule');
  t.match(renderChart(charts[2]!), '>64 connections</text>', 'bar categories');
});

t.test('a chart without data says so instead of drawing empty axes', async (t) => {
  const failed = [run('nginx', 16, 0, 0, { failure: 'answered 404' })];
  const svg = renderChart(latencyVsThroughput(failed, 'x.svg'));
  t.same(svgProblems(svg), []);
  t.match(svg, 'no data');
  t.match(renderChart(throughputBars(failed, { file: 'b.svg', title: 'T', xLabel: 'x', category: () => 'c' })), 'no data');
});

t.test('Markdown tables: runs, CPU, capacity', async (t) => {
  const failed = run('nginx', 16, 0, 0, { failure: 'POST answered 404: {"code"|"x"}' });
  failed.summary.responses = 0;
  const withErrors = run('gateway', 256, 100, 900);
  withErrors.summary.errors = 3;
  withErrors.summary.errorKinds = { timeout: 3 };
  withErrors.summary.non2xx = 2;
  withErrors.summary.statusCodes = { '200': 995, '503': 2 };
  withErrors.cpu = { seconds: 10, percentOfCore: { 'load generator': 40, gateway: 95.5 }, usPerRequest: { 'load generator': 40, gateway: 95.5 }, otherPercentOfCore: 3 };
  const table = runsTable([...runs, failed, withErrors]);
  t.match(table, /^\| system \| workers \| load \| req\/s \| p50 ms \| p90 ms \| p99 ms \| p99\.9 ms \| max ms \| errors \| non-2xx \| MB\/s read \|$/m);
  t.match(table, '| direct | 2 | closed, 16 conn | 9000 | 0.62 | 1.55 | 3.10 | 6.20 | 9.30 | 0 | 0 | 1.80 |');
  t.match(table, 'failed: POST answered 404: {"code"\\|"x"}', 'pipes are escaped');
  t.match(table, '3 (timeout 3)');
  t.match(table, '2 (503×2)');
  t.match(cpuTable([withErrors]), '| gateway | closed, 256 conn | 40.0 (40%) | 95.5 (96%) | (3%) |');
  t.equal(capacityLine(capacity), 'gateway ×2: capacity 2900 req/s at p99 ≤ 50 ms');

  const report: ScenarioReport = {
    scenario: 'overhead', title: 'Overhead', description: 'What it costs.', startedAt: '2026-01-02T03:04:05.000Z', finishedAt: '2026-01-02T03:05:05.000Z',
    machine: { hostname: 'h', platform: 'linux', cpuModel: 'CPU', cores: 2, memoryGiB: 4, loadAverage: [0.1, 0.2, 0.3], node: 'v24.0.0', gitCommit: '0123456789abcdef', gitDirty: false },
    config: { model: 'classifier', rows: 1, durationS: 10 }, runs, capacities: [capacity], highlights: ['ratio 0.3'], notes: ['nginx skipped: not installed'],
    charts: [latencyVsThroughput(runs, 'latency.svg')], failed: false,
  };
  const md = renderMarkdown(report, { headingLevel: 2, chartPrefix: '../x/' });
  t.match(md, /^## Overhead$/m);
  t.match(md, '2 × CPU');
  t.match(md, 'commit 0123456789');
  t.match(md, 'Settings: model classifier · rows 1 · durationS 10');
  t.match(md, '| system | workers | capacity req/s |');
  t.match(md, '- ratio 0.3');
  t.match(md, '> nginx skipped: not installed');
  t.match(md, '![Latency percentiles vs throughput](../x/latency.svg)');
  t.notMatch(renderMarkdown(report, { charts: false }), '![');
});
