// Scenario `capacity`: for each system, the highest open-loop rate it
// carries with p99 ≤ the SLO and errors ≤ the allowance (bounded search:
// exponential growth, then bisection; see lib/capacity-search.ts).

import { capacityBars, capacityProbes } from '../lib/charts.ts';
import { capacityLine } from '../lib/report-markdown.ts';
import type { Scenario } from '../lib/scenario.ts';

const scenario: Scenario = {
  name: 'capacity',
  title: 'Capacity at a latency SLO (open-loop search)',
  summary: 'open-loop search per system for the highest rate with p99 ≤ --slo-ms and errors ≤ 0.1%',
  description:
    'Each probe is an open-loop run at a fixed arrival rate; latency counts from each request’s intended send time, ' +
    'so queueing behind a slow or stalled server is measured (coordinated omission corrected, as wrk2). ' +
    'Rates grow ×2 from --start-rate until a probe fails, then bisect until the bracket is within --precision; ' +
    'a failed probe is repeated once and counts only if it fails again (a noisy neighbour must not cap the result). ' +
    'The gateway runs its default configuration (dynamic batching on) with the result cache off: bodies are unique.',
  defaults: { systems: ['direct', 'gateway', 'nginx'] },

  async run(h) {
    for (const name of h.options.systems) {
      await h.withSystem(name, {}, async (target) => {
        await h.searchCapacity(target);
      });
    }
  },

  present(report) {
    const highlights = report.capacities.filter((c) => !c.failure).map(capacityLine);
    const gateway = report.capacities.find((c) => c.system === 'gateway' && !c.failure);
    const direct = report.capacities.find((c) => c.system === 'direct' && !c.failure);
    if (gateway && direct && direct.capacityPerS > 0) highlights.push(`gateway/direct capacity ${(gateway.capacityPerS / direct.capacityPerS).toFixed(2)}`);
    return { highlights, charts: [capacityProbes(report.capacities, 'latency-vs-throughput.svg'), capacityBars(report.capacities, 'capacity.svg')] };
  },
};

export default scenario;
