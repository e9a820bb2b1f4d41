// Scenario `overhead`: what the gateway costs on top of a worker, next to
// NGINX doing the same balancing job and to the load generator's ceiling.
// The gateway's batching and result cache are off, so every request is one
// inference on one worker, as behind NGINX; bodies are unique by default.
// With --baseline, gateway and baseline (an earlier checkout's gateway) run
// at once in interleaved rounds (lib/interleaved.ts), compared by
// lib/baseline-report.ts. With several --gateway-processes (1,2) the gateway
// runs once per process count (gateway, gateway-2p; lib/gateway-processes.ts),
// all systems at once in interleaved rounds too.

import { comparesWithBaseline } from '../lib/baseline.ts';
import { compareWithBaseline, comparisonHighlight, comparisonSection } from '../lib/baseline-report.ts';
import { latencyVsThroughput, throughputBars } from '../lib/charts.ts';
import { processesOfLabel, processHighlights, withGatewayProcesses } from '../lib/gateway-processes.ts';
import { measureInterleaved } from '../lib/interleaved.ts';
import type { LoadSpec, RunRecord } from '../lib/results.ts';
import { formatRate } from '../lib/report-markdown.ts';
import { representativeRuns } from '../lib/rounds.ts';
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
    const settings = { gatewayConfig: { cache: { enabled: false }, batching: { enabled: false } } };
    const loads = o.connections.map((connections): LoadSpec =>
      o.ratePerS === undefined
        ? { mode: 'closed', connections, pipelining: o.pipelining, durationS: o.durationS, amount: o.amount }
        : { mode: 'open', ratePerS: o.ratePerS, arrivals: o.arrivals, connections, durationS: o.durationS },
    );
    const systems = withGatewayProcesses(o.systems, o.gatewayProcesses, settings);
    if (comparesWithBaseline(o.systems) || o.gatewayProcesses.length > 1) {
      // Every system at once, in interleaved rounds: a drift of the machine's speed weighs on the gateways compared alike.
      await measureInterleaved(h, systems, loads, o.rounds);
      return;
    }
    for (const [name, variant] of systems) {
      await h.withSystem(name, variant, async (target) => {
        for (const load of loads) {
          await h.measure(target, load);
          if (h.aborted) return;
        }
      });
    }
  },

  present(report) {
    // One run per system and load: the median round's where runs were repeated in rounds.
    const runs = representativeRuns(report.runs);
    const category = (r: RunRecord): string => `${r.load.connections} connections`;
    const find = (system: string, c: string): RunRecord | undefined => runs.find((r) => r.system === system && !r.failure && category(r) === c);
    const highlights: string[] = [];
    // gateway, and gateway-2p … when several --gateway-processes ran.
    const gateways = [...new Set(runs.map((r) => r.system).filter((s) => processesOfLabel(s) !== null))];
    for (const c of [...new Set(runs.map(category))]) {
      const parts: string[] = [];
      for (const base of ['direct', 'nginx']) {
        const other = find(base, c);
        for (const label of gateways) {
          const gateway = find(label, c);
          if (!gateway || !other) continue;
          parts.push(
            `${label}/${base} req/s ${ratio(gateway.summary.responsesPerS, other.summary.responsesPerS)} ` +
              `(${formatRate(gateway.summary.responsesPerS)} vs ${formatRate(other.summary.responsesPerS)}), ` +
              `p99 ${gateway.summary.latency.p99Ms.toFixed(2)} vs ${other.summary.latency.p99Ms.toFixed(2)} ms`,
          );
        }
      }
      const hello = find('hello', c);
      if (hello) parts.push(`hello ceiling ${formatRate(hello.summary.responsesPerS)} req/s`);
      if (parts.length > 0) highlights.push(`**${c}**: ${parts.join('; ')}`);
    }
    highlights.push(...processHighlights(report.runs, category));
    const againstBaseline = compareWithBaseline(report.runs, 'gateway', 'baseline');
    highlights.push(...againstBaseline.map((c) => comparisonHighlight(c)));
    const subtitle = `${report.config.model}, ${report.config.rows} row(s)/request, ${report.config.replicas} workers behind gateway and nginx`;
    return {
      highlights,
      charts: [
        throughputBars(runs, { file: 'throughput.svg', title: 'Throughput by system', subtitle, xLabel: 'load', category }),
        latencyVsThroughput(runs, 'latency-vs-throughput.svg', subtitle),
      ],
      ...(againstBaseline.length > 0 && { sections: [comparisonSection(againstBaseline)] }),
    };
  },
};

function ratio(a: number, b: number): string {
  return b > 0 ? (a / b).toFixed(2) : '—';
}

export default scenario;
