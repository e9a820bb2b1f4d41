// Aggregation for presentation: recorded runs → chart specs (data only; the
// SVG is drawn by common/charts/render-chart.ts). Scenarios pick the charts they want from
// these builders. Failed runs are left out of every chart.

import type { BarChartSpec, CapacityProbe, CapacityRecord, LineChartSpec, RunRecord, Series } from './results.ts';
import { formatNumber } from '../../common/charts/svg.ts';

/** "gateway", or "gateway ×4" when a report mixes replica counts. */
export function systemLabel(run: { system: string; replicas: number }, withReplicas: boolean): string {
  return withReplicas ? `${run.system} ×${run.replicas}` : run.system;
}

function measured(runs: readonly RunRecord[]): RunRecord[] {
  return runs.filter((r) => !r.failure && r.summary.responses > 0);
}

export type SeriesKey = (r: RunRecord) => string;

function bySystem(runs: readonly RunRecord[], seriesOf: SeriesKey = (r) => r.system): Map<string, RunRecord[]> {
  const groups = new Map<string, RunRecord[]>();
  for (const r of measured(runs)) {
    const key = seriesOf(r);
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  return groups;
}

/** How hard a run pushed: connections (closed loop) or the arrival rate (open loop). */
function loadLevel(r: RunRecord): number {
  return r.load.mode === 'closed' ? r.load.connections * r.load.pipelining : r.load.ratePerS;
}

/** "16 conn" (closed loop) or "500/s" (open loop), written next to p99 points. */
export function loadPointLabel(r: RunRecord): string {
  return r.load.mode === 'closed' ? `${r.load.connections} conn` : `${Math.round(r.load.ratePerS)}/s`;
}

const PERCENTILES = [
  { key: 'p50Ms', label: 'p50', style: 'dashed' },
  { key: 'p99Ms', label: 'p99', style: 'solid' },
  { key: 'p999Ms', label: 'p99.9', style: 'dotted' },
] as const;

/** Latency percentiles (p50 dashed, p99 solid, p99.9 dotted) against achieved throughput, one colour per system. */
export function latencyVsThroughput(runs: readonly RunRecord[], file: string, subtitle?: string, seriesOf?: SeriesKey, pointLabel: (r: RunRecord) => string = loadPointLabel): LineChartSpec {
  const series: Series[] = [];
  for (const [system, unordered] of bySystem(runs, seriesOf)) {
    const group = [...unordered].sort((a, b) => a.replicas - b.replicas || loadLevel(a) - loadLevel(b));
    for (const p of PERCENTILES) {
      const points = group.map((r) => ({ x: r.summary.responsesPerS, y: r.summary.latency[p.key], label: p.key === 'p99Ms' ? pointLabel(r) : undefined }));
      series.push({ name: `${system} ${p.label}`, group: system, style: p.style, points });
    }
  }
  return { kind: 'line', file, title: 'Latency percentiles vs throughput', subtitle, xLabel: 'throughput (answers/s)', yLabel: 'latency (ms, log scale)', yScale: 'log10', series };
}

/** Throughput against a numeric load parameter (connections, replicas), one line per system. */
export function throughputVs(
  runs: readonly RunRecord[],
  options: { file: string; title: string; subtitle?: string; xLabel: string; x: (r: RunRecord) => number; xScale?: 'linear' | 'log2'; seriesOf?: SeriesKey },
): LineChartSpec {
  const series: Series[] = [...bySystem(runs, options.seriesOf)].map(([name, group]) => ({
    name,
    points: group.map((r) => ({ x: options.x(r), y: r.summary.responsesPerS })).sort((a, b) => a.x - b.x),
  }));
  return { kind: 'line', file: options.file, title: options.title, subtitle: options.subtitle, xLabel: options.xLabel, yLabel: 'throughput (answers/s)', xScale: options.xScale, series };
}

/** Grouped bars: one group per category (e.g. "16 connections"), one bar per system. */
export function throughputBars(
  runs: readonly RunRecord[],
  options: { file: string; title: string; subtitle?: string; xLabel: string; category: (r: RunRecord) => string },
): BarChartSpec {
  const ok = measured(runs);
  const categories = [...new Set(ok.map(options.category))];
  const series = [...bySystem(runs)].map(([name, group]) => ({
    name,
    values: categories.map((c) => group.find((r) => options.category(r) === c)?.summary.responsesPerS ?? null),
  }));
  return { kind: 'bars', file: options.file, title: options.title, subtitle: options.subtitle, xLabel: options.xLabel, yLabel: 'throughput (answers/s)', categories, series };
}

/**
 * Capacity search probes: p50/p99 against the offered rate (wrk2's "latency by
 * request rate"), one point per rate (a confirmed rate shows its better probe,
 * as the search judged it), the capacity labelled, and the SLO as a rule.
 */
export function capacityProbes(capacities: readonly CapacityRecord[], file: string): LineChartSpec {
  const withReplicas = new Set(capacities.map((c) => c.replicas)).size > 1;
  const series: Series[] = capacities
    .filter((c) => c.probes.length > 0)
    .flatMap((c) => {
      const group = systemLabel(c, withReplicas);
      const best = new Map<number, CapacityProbe>();
      for (const p of c.probes) {
        const seen = best.get(p.ratePerS);
        if (!seen || (p.passed && !seen.passed) || (p.passed === seen.passed && p.p99Ms < seen.p99Ms)) best.set(p.ratePerS, p);
      }
      const probes = [...best.values()].sort((a, b) => a.ratePerS - b.ratePerS);
      const label = (p: CapacityProbe): string | undefined => (p.ratePerS === c.capacityPerS && !c.failure ? `capacity ${formatNumber(p.ratePerS)}/s` : undefined);
      return [
        { name: `${group} p50`, group, style: 'dashed' as const, points: probes.map((p) => ({ x: p.ratePerS, y: p.p50Ms })) },
        { name: `${group} p99`, group, style: 'solid' as const, points: probes.map((p) => ({ x: p.ratePerS, y: p.p99Ms, label: label(p) })) },
      ];
    });
  const slo = capacities[0]?.sloP99Ms;
  return {
    kind: 'line',
    file,
    title: 'Open-loop latency by offered rate (capacity search probes)',
    subtitle: 'latency from each request’s intended send time (coordinated omission corrected)',
    xLabel: 'offered rate (req/s)',
    yLabel: 'latency (ms, log scale)',
    yScale: 'log10',
    series,
    rules: slo === undefined ? [] : [{ y: slo, label: `SLO p99 ≤ ${slo} ms` }],
  };
}

export function capacityBars(capacities: readonly CapacityRecord[], file: string): BarChartSpec {
  const withReplicas = new Set(capacities.map((c) => c.replicas)).size > 1;
  const found = capacities.filter((c) => !c.failure);
  return {
    kind: 'bars',
    file,
    title: 'Capacity at the latency SLO',
    subtitle: found[0] ? `highest open-loop rate with p99 ≤ ${found[0].sloP99Ms} ms and errors ≤ ${found[0].maxErrorRate * 100}%` : undefined,
    xLabel: 'latency SLO',
    yLabel: 'capacity (req/s)',
    categories: [found[0] ? `p99 ≤ ${found[0].sloP99Ms} ms` : 'capacity'],
    series: found.map((c) => ({ name: systemLabel(c, withReplicas), values: [c.capacityPerS] })),
  };
}
