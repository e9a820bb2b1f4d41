// Scenario `batching`: what dynamic batching buys, next to the same gateway
// with batching off and to NGINX `least_conn` over the same workers, on the
// small classifier and the heavy model, from a lone client to 64 connections.
// The result cache is off and bodies are unique, so every answer is computed.
// With --baseline, each gateway variant runs next to the same variant of the
// baseline (an earlier checkout's gateway) in interleaved rounds
// (lib/interleaved.ts), compared by lib/baseline-report.ts.

import { comparesWithBaseline } from '../lib/baseline.ts';
import { compareWithBaseline, comparisonHighlight, comparisonSection } from '../lib/baseline-report.ts';
import { latencyVsThroughput, throughputBars } from '../lib/charts.ts';
import { measureInterleaved } from '../lib/interleaved.ts';
import type { ChartSpec, LoadSpec, RunRecord } from '../lib/results.ts';
import { formatRate } from '../lib/report-markdown.ts';
import { representativeRuns } from '../lib/rounds.ts';
import type { Scenario } from '../lib/scenario.ts';

/** The models compared (the heavy one gains most per row from a batch). */
const MODELS = ['classifier', 'heavy'] as const;
/** Batching as the gateway runs it by default; 0 ms: a batch forms only while every replica is busy. */
const MAX_QUEUE_DELAY_MS = 0;

const VARIANTS = [
  { system: 'gateway', label: 'gateway batching off', gatewayConfig: { batching: { enabled: false } } },
  { system: 'gateway', label: 'gateway batching on', gatewayConfig: { batching: { enabled: true, maxQueueDelayMs: MAX_QUEUE_DELAY_MS } } },
  { system: 'nginx', label: 'nginx', gatewayConfig: {} },
] as const;

/** The baseline's run of a gateway variant: "gateway batching on" → "baseline batching on". */
const baselineLabel = (label: string): string => label.replace(/^gateway/, 'baseline');

const scenario: Scenario = {
  name: 'batching',
  title: 'Dynamic batching: gateway with batching on vs off vs NGINX',
  summary: 'gateway batching on vs off vs nginx, classifier and heavy, 1/16/64 connections (cache off)',
  description:
    'Closed loop against the gateway with dynamic batching off, the gateway with batching on ' +
    `(maxQueueDelayMs ${MAX_QUEUE_DELAY_MS}, maxBatchSize 64, one batch in flight per replica), and NGINX \`least_conn\` over the same ` +
    'number of workers (KServe v2 JSON to each worker). Each model is measured on its own gateway/worker processes; the result ' +
    'cache is off and every body is unique, so nothing is answered twice. `--systems` picks among the three variants by system name.',
  defaults: { connections: [1, 16, 64], systems: ['gateway', 'nginx'] },

  async run(h) {
    const o = h.options;
    const loads = o.connections.map((connections): LoadSpec => ({ mode: 'closed', connections, pipelining: o.pipelining, durationS: o.durationS, amount: o.amount }));
    const againstBaseline = comparesWithBaseline(o.systems);
    for (const model of MODELS) {
      for (const variant of VARIANTS) {
        if (!o.systems.includes(variant.system)) continue;
        const settings = { model, label: variant.label, gatewayConfig: variant.gatewayConfig };
        if (againstBaseline && variant.system === 'gateway') {
          // This variant of both gateways at once, in interleaved rounds: a drift of the machine's speed weighs on both alike.
          await measureInterleaved(h, [['gateway', settings], ['baseline', { ...settings, label: baselineLabel(variant.label) }]], loads, o.rounds);
          continue;
        }
        await h.withSystem(variant.system, settings, async (target) => {
          for (const load of loads) {
            await h.measure(target, load);
            if (h.aborted) return;
          }
        });
      }
    }
  },

  present(report) {
    // One run per variant, model and load: the median round's where runs were repeated in rounds.
    const runs = representativeRuns(report.runs);
    const find = (label: string, model: string, connections: number): RunRecord | undefined =>
      runs.find((r) => r.system === label && r.model === model && r.load.connections === connections && !r.failure);
    const ratio = (a: RunRecord | undefined, b: RunRecord | undefined): string =>
      a && b && b.summary.responsesPerS > 0 ? `${(a.summary.responsesPerS / b.summary.responsesPerS).toFixed(2)}×` : '—';
    const highlights: string[] = [];
    for (const model of MODELS) {
      for (const connections of [...new Set(runs.map((r) => r.load.connections))]) {
        const on = find('gateway batching on', model, connections);
        const off = find('gateway batching off', model, connections);
        const nginx = find('nginx', model, connections);
        if (!on && !off) continue;
        const parts = [
          `on/off ${ratio(on, off)}`,
          `on/nginx ${ratio(on, nginx)}`,
          `off/nginx ${ratio(off, nginx)}`,
          `req/s on ${on ? formatRate(on.summary.responsesPerS) : '—'}, off ${off ? formatRate(off.summary.responsesPerS) : '—'}, nginx ${nginx ? formatRate(nginx.summary.responsesPerS) : '—'}`,
        ];
        if (on && off) parts.push(`p50 on ${on.summary.latency.p50Ms.toFixed(2)} vs off ${off.summary.latency.p50Ms.toFixed(2)} ms`);
        highlights.push(`**${model}, ${connections} conn**: ${parts.join('; ')}`);
      }
    }
    const comparisons = VARIANTS.filter((v) => v.system === 'gateway').map((v) => ({ what: v.label.replace(/^gateway /, ''), list: compareWithBaseline(report.runs, v.label, baselineLabel(v.label)) }));
    for (const { what, list } of comparisons) highlights.push(...list.map((c) => comparisonHighlight(c, what)));
    const againstBaseline = comparisons.flatMap((c) => c.list);
    const category = (r: RunRecord): string => `${r.model ?? '?'} ${r.load.connections} conn`;
    const charts: ChartSpec[] = MODELS.map((model) =>
      throughputBars(
        runs.filter((r) => r.model === model),
        { file: `throughput-${model}.svg`, title: `Throughput, ${model}`, subtitle: 'gateway batching on / off vs nginx', xLabel: 'load', category },
      ),
    );
    for (const model of MODELS) {
      charts.push(latencyVsThroughput(runs.filter((r) => r.model === model), `latency-vs-throughput-${model}.svg`, model));
    }
    return { highlights, charts, ...(againstBaseline.length > 0 && { sections: [comparisonSection(againstBaseline)] }) };
  },
};

export default scenario;
