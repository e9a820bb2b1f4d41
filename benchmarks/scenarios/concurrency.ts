// Scenario `concurrency`: closed-loop throughput and latency from 1 to 256
// connections — where throughput stops growing and only latency does.

import { latencyVsThroughput, throughputVs } from '../lib/charts.ts';
import { formatRate } from '../lib/report-markdown.ts';
import type { Scenario } from '../lib/scenario.ts';

const scenario: Scenario = {
  name: 'concurrency',
  title: 'Concurrency: throughput and latency from 1 to 256 connections',
  summary: 'closed loop at 1…256 connections per system (knee of the throughput curve)',
  description:
    'Closed-loop load (autocannon) at each connection count. Throughput grows with concurrency until a resource saturates; ' +
    'past that knee, more connections only add queueing latency (Little’s law: latency ≈ connections / throughput). ' +
    'The gateway runs its default configuration (dynamic batching on) with the result cache off: bodies are unique.',
  defaults: { systems: ['gateway', 'direct'], connections: [1, 2, 4, 8, 16, 32, 64, 128, 256], durationS: 5 },

  async run(h) {
    const o = h.options;
    for (const name of o.systems) {
      await h.withSystem(name, {}, async (target) => {
        for (const connections of o.connections) {
          await h.measure(target, { mode: 'closed', connections, pipelining: o.pipelining, durationS: o.durationS, amount: o.amount });
          if (h.aborted) return;
        }
      });
    }
  },

  present(report) {
    const highlights: string[] = [];
    for (const system of [...new Set(report.runs.map((r) => r.system))]) {
      const runs = report.runs.filter((r) => r.system === system && !r.failure);
      const peak = runs.reduce<(typeof runs)[number] | undefined>((best, r) => (!best || r.summary.responsesPerS > best.summary.responsesPerS ? r : best), undefined);
      if (peak) {
        highlights.push(
          `${system}: peak ${formatRate(peak.summary.responsesPerS)} req/s at ${peak.load.connections} connections ` +
            `(p50 ${peak.summary.latency.p50Ms.toFixed(2)} ms, p99 ${peak.summary.latency.p99Ms.toFixed(2)} ms)`,
        );
      }
    }
    const subtitle = `${report.config.model}, ${report.config.rows} row(s)/request, closed loop`;
    return {
      highlights,
      charts: [
        throughputVs(report.runs, { file: 'throughput-vs-connections.svg', title: 'Throughput vs connections', subtitle, xLabel: 'connections (log scale)', x: (r) => r.load.connections, xScale: 'log2' }),
        latencyVsThroughput(report.runs, 'latency-vs-throughput.svg', subtitle),
      ],
    };
  },
};

export default scenario;
