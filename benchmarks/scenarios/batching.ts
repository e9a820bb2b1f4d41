// Scenario `batching`: what dynamic batching buys, next to the same gateway
// with batching off and to NGINX `least_conn` over the same workers, on the
// small classifier and the heavy model, from a lone client to 64 connections.
// The result cache is off and bodies are unique, so every answer is computed.
// With --baseline, each gateway variant runs next to the same variant of the
// baseline (an earlier checkout's gateway) in interleaved rounds
// (lib/interleaved.ts), compared by lib/baseline-report.ts.
//
// Beside the gateway: one onnxruntime-node session in a child process
// (lib/in-process-reference.ts), the workers' model file and session options,
// at batch 1 and batch 32. It is sampled before each gateway variant's first
// run (each round's, against a baseline) while that variant's processes sit
// idle, and every gateway run carries the sample taken next to it.

import { comparesWithBaseline } from '../lib/baseline.ts';
import { compareWithBaseline, comparisonHighlight, comparisonSection } from '../lib/baseline-report.ts';
import { latencyVsThroughput, throughputBars } from '../lib/charts.ts';
import type { Harness } from '../lib/harness.ts';
import type { WorkerSessionOptions } from '../../common/worker-options.ts';
import { latestModelFile, measureInProcess, workerSessionOptions, type InProcessReference } from '../lib/in-process-reference.ts';
import { measureInterleaved, type RoundsHarness } from '../lib/interleaved.ts';
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

/** Batch sizes of the in-process reference: a lone request, and a batch as full as a busy gateway forms. */
const REFERENCE_BATCHES = [1, 32] as const;
/** Seconds per batch size per reference sample (at most; shorter runs take --duration). */
const REFERENCE_MAX_S = 3;

/** A gateway run with the in-process reference sampled next to it (extra data in results.json). */
export type ReferencedRun = RunRecord & { inProcess?: InProcessReference };

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
        const runner = variant.system === 'gateway' ? withReference(h, model, variant.gatewayConfig) : h;
        if (againstBaseline && variant.system === 'gateway') {
          // This variant of both gateways at once, in interleaved rounds: a drift of the machine's speed weighs on both alike.
          await measureInterleaved(runner, [['gateway', settings], ['baseline', { ...settings, label: baselineLabel(variant.label) }]], loads, o.rounds);
          continue;
        }
        await h.withSystem(variant.system, settings, async (target) => {
          for (const load of loads) {
            await runner.measure(target, load);
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
        const reference = referenceParts(on, off);
        if (reference) parts.push(reference);
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
    const sections = [referenceSection(runs), againstBaseline.length > 0 ? comparisonSection(againstBaseline) : null].filter((x) => x !== null);
    return { highlights, charts, ...(sections.length > 0 && { sections }) };
  },
};

/**
 * The harness with one change for a gateway variant: each run carries the
 * in-process reference sampled before the first run of its round (the
 * gateway and baseline runs of a round share one sample).
 */
function withReference(h: Harness, model: string, gatewayConfig: Record<string, unknown>): RoundsHarness {
  const samples = new Map<number, Promise<InProcessReference | undefined>>();
  return {
    withSystems: (all, fn) => h.withSystems(all, fn),
    get aborted() {
      return h.aborted;
    },
    async measure(target, load, extras = {}) {
      const round = extras.round ?? 1;
      if (!samples.has(round)) samples.set(round, referenceSample(h, model, gatewayConfig));
      const inProcess = await samples.get(round);
      const record: ReferencedRun = await h.measure(target, load, extras);
      if (inProcess) record.inProcess = inProcess;
      return record;
    },
  };
}

/**
 * The workers' session options as the gateway reads its config (the harness's overlay over the defaults), with as
 * many intra-op threads as the whole fleet has: one session then gets the inference threads the gateway's workers
 * share between them.
 */
function fleetSessionOptions(gatewayConfig: Record<string, unknown>, replicas: number): WorkerSessionOptions {
  const options = workerSessionOptions(gatewayConfig);
  return { ...options, intraOpThreads: replicas * (options.intraOpThreads ?? 1) };
}

async function referenceSample(h: Harness, model: string, gatewayConfig: Record<string, unknown>): Promise<InProcessReference | undefined> {
  const o = h.options;
  try {
    return await measureInProcess(
      {
        modelFile: latestModelFile(o.modelsDir, model),
        batchSizes: [...REFERENCE_BATCHES],
        durationS: Math.min(REFERENCE_MAX_S, o.durationS),
        warmupRuns: 20,
        session: fleetSessionOptions(gatewayConfig, o.replicas),
        seed: o.seed,
      },
      h.signal,
    );
  } catch (err) {
    if (!h.aborted) h.fail(`in-process reference, ${model}: ${(err as Error).message}`);
    return undefined;
  }
}

function batchRowsPerS(reference: InProcessReference | undefined, batch: number): number | undefined {
  return reference?.batches.find((b) => b.batch === batch)?.rowsPerS;
}

/** A run's rows/s: its req/s at --rows 1. */
const rowsPerS = (r: RunRecord): number => r.summary.responsesPerS * r.body.rows;

/** "in-process batch 1 N rows/s (on ÷ it x, off ÷ it y), batch 32 M rows/s", or null without a reference. */
function referenceParts(on: ReferencedRun | undefined, off: ReferencedRun | undefined): string | null {
  const reference = on?.inProcess ?? off?.inProcess;
  const b1 = batchRowsPerS(reference, 1);
  const b32 = batchRowsPerS(reference, 32);
  if (b1 === undefined) return null;
  const share = (r: ReferencedRun | undefined, name: string): string | null => {
    const own = batchRowsPerS(r?.inProcess, 1);
    return r && own ? `${name} ÷ it ${(rowsPerS(r) / own).toFixed(3)}` : null;
  };
  const shares = [share(on, 'on'), share(off, 'off')].filter((x) => x !== null);
  return `in-process batch 1 ${formatRate(b1)} rows/s${shares.length > 0 ? ` (${shares.join(', ')})` : ''}${b32 === undefined ? '' : `, batch 32 ${formatRate(b32)} rows/s`}`;
}

/** The gateway runs beside the in-process sample taken next to each; null when no run has one (results from before it existed). */
function referenceSection(runs: readonly RunRecord[]): string | null {
  const referenced = (runs as readonly ReferencedRun[]).filter((r) => r.inProcess && !r.failure);
  const first = referenced[0]?.inProcess;
  if (!first) return null;
  const threads = (n: number | null): string => (n === null ? "onnxruntime's default" : String(n));
  const files = [...new Set(referenced.map((r) => r.inProcess!.modelFile.split(/[\\/]/).slice(-3).join('/')))];
  const rows = referenced.map((r) => {
    const b1 = batchRowsPerS(r.inProcess, 1);
    const b32 = batchRowsPerS(r.inProcess, 32);
    const ratio = (n: number | undefined): string => (n ? `${(rowsPerS(r) / n).toFixed(3)}` : '—');
    const rate = (n: number | undefined): string => (n === undefined ? '—' : formatRate(n));
    return `| ${r.model ?? '?'} | ${r.system}${r.round === undefined ? '' : ` · round ${r.round}`} | ${r.load.connections} conn | ${formatRate(rowsPerS(r))} | ${rate(b1)} | ${ratio(b1)} | ${rate(b32)} | ${ratio(b32)} |`;
  });
  return [
    '**In-process reference**: one onnxruntime-node session in a child process, on the model file the workers load ' +
      `(${files.map((f) => `\`${f}\``).join(', ')}), with the workers' session options but as many intra-op threads as the workers have together (${threads(first.intraOpThreads)}; ` +
      `inter-op threads ${threads(first.interOpThreads)}), random FP32 inputs (seed ${first.seed}), \`session.run\` back to back for ` +
      `${first.durationS} s per batch size; sampled before each gateway variant's first run (of each round), its processes idle. ` +
      'Gateway rows/s are its req/s at --rows 1.',
    '',
    '| model | gateway run | load | gateway rows/s | in-process batch 1 rows/s | gateway ÷ batch 1 | in-process batch 32 rows/s | gateway ÷ batch 32 |',
    '|---|---|---|--:|--:|--:|--:|--:|',
    ...rows,
  ].join('\n');
}

export default scenario;
