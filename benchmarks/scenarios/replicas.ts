// Scenario `replicas`: throughput as workers are added behind the gateway
// (and NGINX for comparison). On a machine with few cores the curve flattens
// once workers, balancer and load generator compete for the same cores.
// With several --gateway-processes (1,2), each worker count starts the
// gateway once per process count (gateway, gateway-2p), all at once, and
// measures them in interleaved rounds (lib/interleaved.ts); charts and
// highlights take the median round's run.

import { latencyVsThroughput, throughputVs } from '../lib/charts.ts';
import { processHighlights, withGatewayProcesses } from '../lib/gateway-processes.ts';
import { measureInterleaved } from '../lib/interleaved.ts';
import { formatRate } from '../lib/report-markdown.ts';
import type { LoadSpec, RunRecord } from '../lib/results.ts';
import { representativeRuns } from '../lib/rounds.ts';
import type { Scenario } from '../lib/scenario.ts';

const scenario: Scenario = {
  name: 'replicas',
  title: 'Replicas: throughput with 1…N workers',
  summary: 'gateway and nginx with 1, 2, 4 workers at 64 connections (scaling efficiency)',
  description:
    'The gateway (and NGINX, when installed) restarted with each worker count, under closed-loop load. ' +
    'Scaling efficiency is throughput(N) / (N × throughput(1)); it cannot stay near 1 beyond the machine’s free cores. ' +
    'The gateway runs its default configuration (dynamic batching on) with the result cache off: bodies are unique.',
  defaults: { systems: ['gateway', 'nginx'], replicaCounts: [1, 2, 4], connections: [64], durationS: 10 },

  async run(h) {
    const o = h.options;
    const loads = o.connections.map((connections): LoadSpec => ({ mode: 'closed', connections, pipelining: o.pipelining, durationS: o.durationS, amount: o.amount }));
    for (const name of o.systems) {
      // Systems without workers behind them are measured once.
      const counts = name === 'gateway' || name === 'nginx' ? o.replicaCounts : [1];
      for (const replicas of counts) {
        const variants = withGatewayProcesses([name], o.gatewayProcesses, { replicas });
        if (variants.length > 1) {
          // The gateway at several process counts: compared at this worker count, moments apart, round after round.
          await measureInterleaved(h, variants, loads, o.rounds);
          continue;
        }
        const [system, settings] = variants[0]!;
        await h.withSystem(system, settings, async (target) => {
          for (const load of loads) {
            await h.measure(target, load);
            if (h.aborted) return;
          }
        });
      }
    }
  },

  present(report) {
    // One run per system, worker count and load: the median round's where runs were repeated in rounds.
    const all = representativeRuns(report.runs);
    const multi = new Set(all.map((r) => r.load.connections)).size > 1;
    const seriesOf = (r: RunRecord): string => (multi ? `${r.system} ${r.load.connections} conn` : r.system);
    const highlights: string[] = [];
    for (const key of [...new Set(all.filter((r) => !r.failure).map(seriesOf))]) {
      const runs = all.filter((r) => !r.failure && seriesOf(r) === key).sort((a, b) => a.replicas - b.replicas);
      const one = runs.find((r) => r.replicas === 1);
      const cells = runs.map((r) => {
        const efficiency = one && r.replicas > 1 ? ` (efficiency ${(r.summary.responsesPerS / (r.replicas * one.summary.responsesPerS)).toFixed(2)})` : '';
        return `×${r.replicas} ${formatRate(r.summary.responsesPerS)} req/s${efficiency}`;
      });
      highlights.push(`${key}: ${cells.join(', ')}`);
    }
    highlights.push(...processHighlights(report.runs, (r) => `×${r.replicas}, ${r.load.connections} conn`));
    const subtitle = `${report.config.model}, ${report.config.rows} row(s)/request, closed loop`;
    return {
      highlights,
      charts: [
        throughputVs(all, { file: 'throughput-vs-replicas.svg', title: 'Throughput vs workers', subtitle, xLabel: 'workers (log scale)', x: (r) => r.replicas, xScale: 'log2', seriesOf }),
        latencyVsThroughput(all, 'latency-vs-throughput.svg', `${subtitle}; one point per worker count`, seriesOf, (r) => `×${r.replicas}`),
      ],
    };
  },
};

export default scenario;
