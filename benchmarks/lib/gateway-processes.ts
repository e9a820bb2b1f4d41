// The gateway served by several processes (--gateway-processes; the
// gateway's server.processes): which variants of the system `gateway` a
// scenario starts, what their runs are called, and how each compares with
// the one-process gateway measured beside it.
//
//   --systems direct,gateway --gateway-processes 1,2
//     ──▶ direct, gateway (1 process), gateway-2p (2 processes)
//
// One process keeps the plain name `gateway`, so reports of runs without the
// option read as before. "×N" is left to worker counts (charts.ts).

import type { SystemSettings } from './harness.ts';
import { formatRate } from './report-markdown.ts';
import type { RunRecord } from './results.ts';
import { median, medianOf, pairedRatios, us } from './rounds.ts';
import type { SystemName } from './systems.ts';

export type SystemToStart = readonly [SystemName, SystemSettings];

/** `gateway` for one process, `gateway-2p` for two. */
export function gatewayLabel(processes: number): string {
  return processes === 1 ? 'gateway' : `gateway-${processes}p`;
}

/** Gateway processes from a run label (gatewayLabel's inverse); null for other systems. */
export function processesOfLabel(label: string): number | null {
  if (label === 'gateway') return 1;
  const match = /^gateway-(\d+)p$/.exec(label);
  return match ? Number(match[1]) : null;
}

/** The systems to start: `gateway` once per process count (labelled), every other system as it is. */
export function withGatewayProcesses(systems: readonly SystemName[], processCounts: readonly number[], settings: SystemSettings): SystemToStart[] {
  return systems.flatMap((name): SystemToStart[] =>
    name === 'gateway' ? processCounts.map((processes) => [name, { ...settings, processes, label: gatewayLabel(processes) }]) : [[name, settings]],
  );
}

/**
 * Per group (e.g. a load, or a worker count and a load), each gateway-Np
 * against `gateway` (one process) measured beside it: req/s median and
 * the ratio paired within each round (rounds.ts), and the gateway
 * processes' CPU per request (fronts included, cpu.ts). Empty when the runs
 * hold only one process count.
 */
export function processHighlights(runs: readonly RunRecord[], groupOf: (r: RunRecord) => string): string[] {
  const ok = runs.filter((r) => !r.failure && processesOfLabel(r.system) !== null);
  const several = ok.filter((r) => processesOfLabel(r.system)! > 1);
  if (several.length === 0 || !ok.some((r) => r.system === 'gateway')) return [];
  const highlights: string[] = [];
  for (const group of [...new Set(ok.map(groupOf))]) {
    const side = (system: string): RunRecord[] => ok.filter((r) => r.system === system && groupOf(r) === group).sort((a, b) => (a.round ?? 0) - (b.round ?? 0));
    const one = side('gateway');
    const parts: string[] = [];
    for (const label of [...new Set(several.map((r) => r.system))]) {
      const other = side(label);
      if (one.length === 0 || other.length === 0) continue;
      const ratios = pairedRatios(other, one);
      const paired = ratios.length > 0 ? ` (paired ${median(ratios).toFixed(2)}×${ratios.length > 1 ? `, median of ${ratios.length} rounds` : ''})` : '';
      parts.push(`${label}/gateway req/s ${formatRate(medianOf(other, (r) => r.summary.responsesPerS)!)} vs ${formatRate(medianOf(one, (r) => r.summary.responsesPerS)!)}${paired}, gateway-process CPU ${us(medianOf(other, gatewayUs))} vs ${us(medianOf(one, gatewayUs))} µs/req`);
    }
    if (parts.length > 0) highlights.push(`**${group}**: ${parts.join('; ')}`);
  }
  const labels = [...new Set(several.map((r) => r.system))].map((l) => `${l} is the gateway with ${processesOfLabel(l)} processes serving its port`);
  return highlights.length > 0 ? [...highlights, `${labels.join(', ')} (server.processes; the front processes' CPU counts as gateway, not workers)`] : [];
}

function gatewayUs(r: RunRecord): number | undefined {
  return r.cpu?.usPerRequest.gateway;
}

