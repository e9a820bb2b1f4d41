// Scenario `overhead`: what the gateway costs on top of a worker, next to
// NGINX doing the same balancing job and to the load generator's ceiling.
// The gateway's batching and result cache are off, so every request is one
// inference on one worker, as behind NGINX; bodies are unique by default.

import { latencyVsThroughput, throughputBars } from '../lib/charts.ts';
import type { LoadSpec, RunRecord } from '../lib/results.ts';
import { formatRate } from '../lib/report-markdown.ts';
import type { Scenario } from '../lib/scenario.ts';

const scenario: Scenario = {
  name: 'overhead',
  title: 'Overhead: direct worker vs gateway vs NGINX vs hello',
  summary: 'direct vs gateway vs nginx vs hello, closed loop at 16 and 64 connections (batching and cache off)',
  description:
    'The same infer request against one worker (`direct`, binary frames), the gateway over N workers (KServe v2 JSON), ' +
    'NGINX `least_conn` over N workers (KServe v2 JSON), and a trivial HTTP server (`hello`, the load generator’s own ceiling). ' +
    'Closed loop (autocannon) unless `--rate` asks for an open loop. The gateway’s result cache and dynamic batching are off, ' +
    'so every request is one inference on one worker, as behind NGINX. Load generator and systems share the machine’s cores.',
  defaults: { systems: ['direct', 'gateway', 'nginx', 'hello'], connections: [16, 64] },

  async run(h) {
    const o = h.options;
    for (const name of o.systems) {
      await h.withSystem(name, { gatewayConfig: { cache: { enabled: false }, batching: { enabled: false } } }, async (target) => {
        for (const connections of o.connections) {
          const load: LoadSpec =
            o.ratePerS === undefined
              ? { mode: 'closed', connections, pipelining: o.pipelining, durationS: o.durationS, amount: o.amount }
              : { mode: 'open', ratePerS: o.ratePerS, arrivals: o.arrivals, connections, durationS: o.durationS };
          await h.measure(target, load);
          if (h.aborted) return;
        }
      });
    }
  },

  present(report) {
    const category = (r: RunRecord): string => `${r.load.connections} connections`;
    const find = (system: string, c: string): RunRecord | undefined => report.runs.find((r) => r.system === system && !r.failure && category(r) === c);
    const highlights: string[] = [];
    for (const c of [...new Set(report.runs.map(category))]) {
      const gateway = find('gateway', c);
      const parts: string[] = [];
      for (const base of ['direct', 'nginx']) {
        const other = find(base, c);
        if (gateway && other) {
          parts.push(
            `gateway/${base} req/s ${ratio(gateway.summary.responsesPerS, other.summary.responsesPerS)} ` +
              `(${formatRate(gateway.summary.responsesPerS)} vs ${formatRate(other.summary.responsesPerS)}), ` +
              `p99 ${gateway.summary.latency.p99Ms.toFixed(2)} vs ${other.summary.latency.p99Ms.toFixed(2)} ms`,
          );
        }
      }
      const hello = find('hello', c);
      if (hello) parts.push(`hello ceiling ${formatRate(hello.summary.responsesPerS)} req/s`);
      if (parts.length > 0) highlights.push(`**${c}**: ${parts.join('; ')}`);
    }
    const subtitle = `${report.config.model}, ${report.config.rows} row(s)/request, ${report.config.replicas} workers behind gateway and nginx`;
    return {
      highlights,
      charts: [
        throughputBars(report.runs, { file: 'throughput.svg', title: 'Throughput by system', subtitle, xLabel: 'load', category }),
        latencyVsThroughput(report.runs, 'latency-vs-throughput.svg', subtitle),
      ],
    };
  },
};

function ratio(a: number, b: number): string {
  return b > 0 ? (a / b).toFixed(2) : '—';
}

export default scenario;
