// Presentation of a chaos run: the per-second table with events, the
// highlights (totals, worst second, recovery per event, the drain), and the
// timeline chart as well-formed SVG with its event markers.

import t from 'tap';
import { renderMarkdown } from '../../benchmarks/lib/report-markdown.ts';
import { renderChart } from '../../common/charts/render-chart.ts';
import { timelineChart, timelineHighlights, timelineTable } from '../../benchmarks/lib/report-timeline.ts';
import type { EventTimeline, RunRecord, ScenarioReport, TimelineSecond } from '../../benchmarks/lib/results.ts';
import { svgProblems } from './helpers.ts';

function second(n: number, fields: Partial<TimelineSecond> = {}): TimelineSecond {
  return { second: n, sent: 100, ok: 100, shed: 0, failed: 0, failures: {}, p50Ms: 1, p99Ms: 4, ...fields };
}

const timeline: EventTimeline = {
  seconds: [second(0), second(1), second(2, { ok: 95, failed: 5, failures: { '503 GW_ERR_UPSTREAM_UNAVAILABLE': 3, reset: 2 }, p99Ms: 250 }), second(3), second(4), second(5, { ok: 10, failed: 90, failures: { refused: 90 }, p99Ms: 3 })],
  events: [
    { atS: 2.1, kind: 'kill', label: 'kill -9 worker-0' },
    { atS: 4.5, kind: 'stop', label: 'SIGSTOP worker-1', skipped: 'process gone' },
    { atS: 5.05, kind: 'sigterm', label: 'SIGTERM gateway' },
  ],
  drain: { atS: 5.05, inFlight: { answered: 4, failed: 0 }, after: { answered: 6, refused: 90, shed: 0, failed: 0 } },
};

const record: RunRecord = {
  system: 'gateway chaos',
  replicas: 3,
  load: { mode: 'open', ratePerS: 100, arrivals: 'constant', connections: 8, durationS: 6 },
  body: { format: 'json', rows: 1, inputs: 'unique', bytesPerRequest: 900 },
  summary: {
    elapsedS: 6, responses: 510, ok: 510, non2xx: 0, errors: 90, responsesPerS: 85, bytesRead: 0, bytesPerS: 0,
    latency: { minMs: 1, meanMs: 2, p50Ms: 1, p90Ms: 3, p99Ms: 250, p999Ms: 250, maxMs: 250 },
    statusCodes: { '200': 510 }, errorKinds: { refused: 90 }, errorRate: 0.15, timeline: [], histogram: '',
  },
  eventTimeline: timeline,
};

t.test('the per-second table names failures by code or kind and lists each second’s events', async (t) => {
  const table = timelineTable(timeline);
  const rows = table.split('\n');
  t.equal(rows.length, 2 + 6, 'header, rule, one row per second');
  t.match(rows[4], '| 2 | 100 | 95 | 5 (503 GW_ERR_UPSTREAM_UNAVAILABLE ×3, reset ×2) | 0 | 1 | 250 | kill -9 worker-0 (2.1 s) |');
  t.match(rows[6], 'SIGSTOP worker-1 (skipped: process gone) (4.5 s)');
  t.match(rows[7], 'SIGTERM gateway (5.0 s)');
});

t.test('highlights: totals, the worst second, time to recover, and the drain', async (t) => {
  const lines = timelineHighlights(record).join('\n');
  t.match(lines, '600 requests due, 505 answered 2xx, 95 failed without being shed (90 of them due after the SIGTERM), 0 shed');
  t.match(lines, 'worst second: p99 250 ms at 2 s (baseline p99 4 ms');
  t.match(lines, 'p99 ≤ 14 ms');
  t.match(lines, 'kill -9 worker-0 at 2.1 s: 0.9 s (5 failed, 0 shed, worst p99 250 ms)');
  t.match(lines, 'SIGSTOP worker-1 (skipped: process gone) at 4.5 s: no visible effect');
  t.notMatch(lines, 'SIGTERM gateway at 5.0 s:', 'no recovery is expected after the SIGTERM');
  t.match(lines, 'of 4 requests due before it and still unanswered, 4 answered and 0 failed; of 96 due later, 90 refused');
  t.same(timelineHighlights({ ...record, eventTimeline: undefined }), [], 'nothing for a run without a timeline');
});

t.test('the timeline chart is well-formed SVG with the events marked', async (t) => {
  const svg = renderChart(timelineChart(record, 'timeline.svg', 'classifier <1000/s>'));
  t.same(svgProblems(svg), []);
  t.match(svg, 'Chaos timeline: gateway chaos');
  t.match(svg, 'classifier &lt;1000/s&gt;');
  for (const label of ['kill -9 worker-0', 'SIGSTOP worker-1', 'SIGTERM gateway']) t.match(svg, `>${label}</text>`, `marker ${label}`);
  t.match(svg, '<title>2 s: 5 failed</title>', 'failures as bars');
  t.match(svg, '<title>2 s: p99 250 ms</title>', 'p99 points');
  t.match(renderChart(timelineChart({ ...record, eventTimeline: undefined }, 'x.svg', '')), 'no data');
});

t.test('a report’s sections follow its highlights in the Markdown', async (t) => {
  const report: ScenarioReport = {
    scenario: 'chaos', title: 'Chaos', description: 'd', startedAt: '2026-01-01T00:00:00Z', finishedAt: '2026-01-01T00:01:00Z',
    machine: { hostname: 'h', platform: 'linux', cpuModel: 'cpu', cores: 2, memoryGiB: 4, loadAverage: [0, 0, 0], node: 'v24', gitCommit: null, gitDirty: null },
    config: {}, runs: [record], capacities: [], highlights: ['a highlight'], sections: ['**Per second**\n\n| s |\n|--:|\n| 0 |'], notes: [], charts: [], failed: false,
  };
  const markdown = renderMarkdown(report);
  t.ok(markdown.indexOf('- a highlight') < markdown.indexOf('**Per second**'), 'after the highlights');
  t.match(markdown, '| s |\n|--:|\n| 0 |');
});
