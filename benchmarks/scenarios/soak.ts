// Scenario `soak`: does the gateway stay flat under a long steady load? The
// gateway runs its default configuration (result cache on at its default
// bound, batching on, N local workers) and takes unique bodies in an open
// loop at 70% of the capacity found in the same run (lib/capacity-search.ts;
// --rate skips the search), 10 minutes by default. Every 5 s the gateway
// process is sampled: VmRSS from /proc, V8 heap used and event-loop lag from
// its own GET /metrics (prom-client's default metrics). The verdict on growth
// is lib/soak-verdict.ts.
//
//   npm run bench -- soak                    # capacity search, then 600 s at 70%
//   npm run bench -- soak --rate 1500 --duration 120
//
// BENCH_SOAK_SAMPLE_INTERVAL_S overrides the 5 s between samples (the smoke
// test samples a 6 s run every 0.5 s).

import { setTimeout as sleep } from 'node:timers/promises';
import { configSchema } from '../../config/schema.ts';
import type { Harness, Target } from '../lib/harness.ts';
import { processMemoryBytes } from '../lib/proc.ts';
import { parsePrometheusText } from '../lib/prometheus-text.ts';
import { formatRate } from '../lib/report-markdown.ts';
import type { LineChartSpec, OpenLoad, RunMemory, RunRecord } from '../lib/results.ts';
import type { Scenario } from '../lib/scenario.ts';
import {
  BASE_ALLOWANCE_BYTES,
  judgeSoak,
  MAX_QUARTER_GROWTH,
  MAX_SLOPE_MIB_PER_MIN,
  median,
  MIB,
  mib,
  soakLimitBytes,
  type SoakData,
  type SoakSample,
} from '../lib/soak-verdict.ts';

const CAPACITY_SHARE = 0.7;
const DEFAULT_SAMPLE_INTERVAL_S = 5;
const METRICS_TIMEOUT_MS = 2_000;
/** The harness turns the cache off unless asked; on, everything else at the gateway's defaults. */
const GATEWAY_CONFIG = { cache: { enabled: true } };

/** The soak's run, with its samples and verdict (extra data in results.json). */
export type SoakRun = RunRecord & { soak?: SoakData };

const RULE =
  `pass when the highest RSS sampled ≤ ${BASE_ALLOWANCE_BYTES / MIB} MiB + cache.memoryMaxBytes, the least-squares slope of RSS over the ` +
  `second half of the load ≤ ${MAX_SLOPE_MIB_PER_MIN} MiB/min, and the last quarter's median RSS ≤ the second quarter's + ${MAX_QUARTER_GROWTH * 100}%`;

const scenario: Scenario = {
  name: 'soak',
  title: 'Soak: the gateway on its default config under a long open-loop load at 70% of capacity',
  summary: 'gateway RSS, V8 heap and event-loop lag sampled every 5 s through 10 min of open loop at 70% of capacity (default config, unique bodies); pass/fail on growth',
  description:
    'The gateway with its default configuration (result cache on at its default `cache.memoryMaxBytes`, batching on) over N workers, ' +
    'sent unique bodies in an open loop at 70% of the capacity (p99 ≤ --slo-ms) that a search finds first in the same run ' +
    '(`--rate` gives the rate instead and skips the search); the soak then runs on a fresh gateway process, so that it starts from none of what the ' +
    'search’s overloaded probes leave behind (full queues, a grown heap). Through the load the gateway process is sampled every 5 s: VmRSS from ' +
    '`/proc/<pid>/status`; V8 heap used (`infergate_nodejs_heap_size_used_bytes`) and event-loop lag (`infergate_nodejs_eventloop_lag_p99_seconds`, ' +
    '`…_max_seconds`, over the interval since the previous scrape) from its `GET /metrics`. ' +
    `Verdict: ${RULE}; a run with fewer than 4 samples in its second half is inconclusive.`,
  defaults: { systems: ['gateway'], durationS: 600, openConnections: 64 },

  async run(h) {
    const intervalS = sampleIntervalS(process.env);
    const o = h.options;
    let capacityPerS: number | null = null;
    let ratePerS = o.ratePerS;
    if (ratePerS === undefined) {
      // Searched on a gateway of its own: the search's overloaded probes fill queues and heap, which a soak of a
      // steady load must not start from.
      await h.withSystem('gateway', { gatewayConfig: GATEWAY_CONFIG }, async (target) => {
        const capacity = await h.searchCapacity(target);
        if (!capacity.failure) capacityPerS = capacity.capacityPerS;
      });
      if (capacityPerS === null || h.aborted) return;
      ratePerS = capacityPerS * CAPACITY_SHARE;
    }
    const rate = ratePerS;
    await h.withSystem('gateway', { gatewayConfig: GATEWAY_CONFIG }, async (target) => {
      const gateway = target.system.roots.find((root) => root.role === 'gateway');
      if (!gateway) return h.fail('soak: no gateway process to sample');
      // The bound as the gateway read its config: the harness's overlay over the schema's defaults.
      const cacheMaxBytes = configSchema.parse(h.gatewayConfig ?? GATEWAY_CONFIG).cache.memoryMaxBytes;
      const load: OpenLoad = { mode: 'open', ratePerS: rate, arrivals: o.arrivals, connections: o.openConnections, durationS: o.durationS };
      const samples: SoakSample[] = [];
      const record: SoakRun = await h.measure(target, load, { alongside: (startMs) => sampleThrough(h, target, gateway.pid, startMs, intervalS, samples) });
      if (samples.length === 0) return h.fail('soak: no sample of the gateway process');
      const verdict = judgeSoak(samples, { durationS: o.durationS, limitBytes: soakLimitBytes(cacheMaxBytes) });
      const memory: RunMemory = { rssStartBytes: samples[0]!.rssBytes, rssPeakBytes: verdict.peakRssBytes, rssEndBytes: samples.at(-1)!.rssBytes, ...(await cacheTier(target.system.origin)) };
      record.memory = memory;
      record.soak = { sampleIntervalS: intervalS, cacheMaxBytes, capacityShare: capacityPerS === null ? null : CAPACITY_SHARE, capacityPerS, samples, verdict };
    });
  },

  present(report) {
    const runs = (report.runs as SoakRun[]).filter((r) => r.soak);
    const highlights = runs.flatMap((r) => soakHighlights(r, r.soak!));
    const sections = runs.map((r) => samplesTable(r.soak!));
    const subtitle = `${report.config.model}, unique bodies, ${report.config.replicas} workers, default config`;
    return { highlights, charts: [memoryChart(runs, subtitle), lagChart(runs, subtitle)], ...(sections.length > 0 && { sections }) };
  },
};

function sampleIntervalS(env: NodeJS.ProcessEnv): number {
  const text = env.BENCH_SOAK_SAMPLE_INTERVAL_S;
  if (text === undefined || text === '') return DEFAULT_SAMPLE_INTERVAL_S;
  const seconds = Number(text);
  if (!Number.isFinite(seconds) || seconds < 0.1) throw new Error(`BENCH_SOAK_SAMPLE_INTERVAL_S must be a number of seconds ≥ 0.1, not "${text}"`);
  return seconds;
}

/** Samples at 0, I, 2I, … ≤ the load's duration (from its start), into `samples`; stops early when the gateway is gone or on Ctrl-C. */
async function sampleThrough(h: Harness, target: Target, pid: number, startMs: number, intervalS: number, samples: SoakSample[]): Promise<void> {
  const durationMs = h.options.durationS * 1000;
  for (let k = 0; k * intervalS * 1000 <= durationMs + 1; k++) {
    const waitMs = startMs + k * intervalS * 1000 - performance.now();
    if (waitMs > 0) await sleep(waitMs, undefined, { signal: h.signal }).catch(() => {});
    if (h.aborted) return;
    const atS = (performance.now() - startMs) / 1000;
    let rssBytes: number;
    try {
      rssBytes = processMemoryBytes(pid, 'VmRSS');
    } catch {
      return h.note(`soak: the gateway process (${pid}) is gone after ${atS.toFixed(0)} s; sampling stopped`);
    }
    samples.push({ atS: Number(atS.toFixed(3)), rssBytes, ...(await gatewayMetrics(target)) });
  }
}

/** Heap used and event-loop lag from the gateway's own metrics (its process, not the workers', whose names carry `worker_`). */
async function gatewayMetrics(target: Target): Promise<Omit<SoakSample, 'atS' | 'rssBytes'>> {
  const none = { heapUsedBytes: null, heapTotalBytes: null, externalBytes: null, lagP99Ms: null, lagMaxMs: null };
  try {
    const res = await fetch(`${target.system.origin}/metrics`, { signal: AbortSignal.timeout(METRICS_TIMEOUT_MS) });
    if (!res.ok) return none;
    const samples = parsePrometheusText(await res.text());
    const value = (name: string): number | null => samples.find((s) => s.name === name)?.value ?? null;
    const ms = (seconds: number | null): number | null => (seconds === null ? null : Number((seconds * 1000).toFixed(3)));
    return {
      heapUsedBytes: value('infergate_nodejs_heap_size_used_bytes'),
      heapTotalBytes: value('infergate_nodejs_heap_size_total_bytes'),
      externalBytes: value('infergate_nodejs_external_memory_bytes'),
      lagP99Ms: ms(value('infergate_nodejs_eventloop_lag_p99_seconds')),
      lagMaxMs: ms(value('infergate_nodejs_eventloop_lag_max_seconds')),
    };
  } catch {
    return none;
  }
}

async function cacheTier(origin: string): Promise<Partial<RunMemory>> {
  const res = await fetch(`${origin}/admin/cache`).catch(() => null);
  if (!res?.ok) return {};
  const body = (await res.json()) as { tiers?: { memory?: { entries: number; bytes: number; maxBytes: number } } };
  const memory = body.tiers?.memory;
  return memory ? { cacheEntries: memory.entries, cacheBytes: memory.bytes, cacheMaxBytes: memory.maxBytes } : {};
}

function soakHighlights(run: RunRecord, soak: SoakData): string[] {
  const v = soak.verdict;
  const samples = soak.samples;
  const load = run.load as OpenLoad;
  const known = <T>(values: (T | null)[]): T[] => values.filter((x): x is T => x !== null);
  const heap = known(samples.map((s) => s.heapUsedBytes));
  const lagP99 = known(samples.map((s) => s.lagP99Ms));
  const lagMax = known(samples.map((s) => s.lagMaxMs));
  const rate =
    soak.capacityPerS === null
      ? `${formatRate(load.ratePerS)} req/s (given by --rate)`
      : `${formatRate(load.ratePerS)} req/s, ${Math.round((soak.capacityShare ?? 0) * 100)}% of the ${formatRate(soak.capacityPerS)} req/s capacity found in this run`;
  const growth =
    v.secondQuarterMedianBytes !== null && v.lastQuarterMedianBytes !== null
      ? `; median ${mib(v.secondQuarterMedianBytes)} in the second quarter, ${mib(v.lastQuarterMedianBytes)} in the last (${signedPercent(v.lastQuarterMedianBytes / v.secondQuarterMedianBytes - 1)})`
      : '';
  const lines = [
    `**Verdict: ${v.outcome.toUpperCase()}**${v.reasons.length > 0 ? ` — ${v.reasons.join('; ')}` : ''} (rule: ${RULE}; limit here ${mib(BASE_ALLOWANCE_BYTES)} + ${mib(soak.cacheMaxBytes)} = ${mib(v.limitBytes)})`,
    `**Load**: open loop at ${rate}, ${load.connections} connections, ${load.durationS} s; ${samples.length} samples every ${soak.sampleIntervalS} s; ${formatRate(run.summary.responsesPerS)} answers/s, p99 ${run.summary.latency.p99Ms.toFixed(2)} ms`,
    `**Gateway RSS**: ${mib(samples[0]!.rssBytes)} at the start, ${mib(v.peakRssBytes)} at most, ${mib(samples.at(-1)!.rssBytes)} at the end; second-half slope ${v.secondHalfSlopeMiBPerMin === null ? '—' : `${v.secondHalfSlopeMiBPerMin.toFixed(2)} MiB/min`}${growth}`,
    heap.length > 0
      ? `**V8 heap used** (gateway /metrics): ${mib(heap[0]!)} at the start, ${mib(Math.max(...heap))} at most, ${mib(heap.at(-1)!)} at the end`
      : '**V8 heap used**: not available (no `infergate_nodejs_heap_size_used_bytes` in the gateway’s /metrics)',
    lagP99.length > 0
      ? `**Event-loop lag** (gateway /metrics, per interval): p99 median ${median(lagP99)!.toFixed(1)} ms, highest ${Math.max(...lagP99).toFixed(1)} ms; max ${Math.max(...lagMax).toFixed(1)} ms`
      : '**Event-loop lag**: not available (no `infergate_nodejs_eventloop_lag_p99_seconds` in the gateway’s /metrics)',
  ];
  const m = run.memory;
  if (m?.cacheEntries !== undefined) lines.push(`**Cache tier at the end** (GET /admin/cache): ${m.cacheEntries} entries, ${mib(m.cacheBytes!)} counted of ${mib(m.cacheMaxBytes!)}`);
  return lines;
}

/** Every sample, or about a dozen evenly spaced ones (with the last) for a long run. */
function samplesTable(soak: SoakData): string {
  const all = soak.samples;
  const every = Math.max(1, Math.ceil(all.length / 12));
  const shown = all.filter((_, i) => i % every === 0 || i === all.length - 1);
  const cell = (n: number | null, f: (x: number) => string): string => (n === null ? '—' : f(n));
  const inMiB = (x: number): string => (x / MIB).toFixed(1);
  const rows = shown.map((s) => `| ${s.atS.toFixed(0)} | ${inMiB(s.rssBytes)} | ${cell(s.heapUsedBytes, inMiB)} | ${cell(s.heapTotalBytes ?? null, inMiB)} | ${cell(s.externalBytes ?? null, inMiB)} | ${cell(s.lagP99Ms, (x) => x.toFixed(1))} | ${cell(s.lagMaxMs, (x) => x.toFixed(1))} |`);
  return [
    `**Samples of the gateway process**${shown.length < all.length ? ` (${shown.length} of ${all.length})` : ''}`,
    '',
    '| s | RSS MiB | V8 heap used MiB | V8 heap committed MiB | external MiB | lag p99 ms | lag max ms |',
    '|--:|--:|--:|--:|--:|--:|--:|',
    ...rows,
  ].join('\n');
}

function memoryChart(runs: readonly SoakRun[], subtitle: string): LineChartSpec {
  const series = runs.flatMap((r) => [
    { name: 'RSS', points: r.soak!.samples.map((s) => ({ x: s.atS, y: Number((s.rssBytes / MIB).toFixed(1)) })) },
    { name: 'V8 heap used', points: r.soak!.samples.filter((s) => s.heapUsedBytes !== null).map((s) => ({ x: s.atS, y: Number((s.heapUsedBytes! / MIB).toFixed(1)) })) },
  ]);
  const rules = runs.slice(0, 1).map((r) => ({ y: Number((r.soak!.verdict.limitBytes / MIB).toFixed(1)), label: `limit: ${BASE_ALLOWANCE_BYTES / MIB} MiB + cache bound` }));
  return { kind: 'line', file: 'soak-memory.svg', title: 'Gateway memory through the soak', subtitle, xLabel: 'seconds into the load', yLabel: 'MiB', series, rules };
}

function lagChart(runs: readonly SoakRun[], subtitle: string): LineChartSpec {
  const series = runs.flatMap((r) => [
    { name: 'lag p99', points: r.soak!.samples.filter((s) => s.lagP99Ms !== null).map((s) => ({ x: s.atS, y: s.lagP99Ms! })) },
    { name: 'lag max', style: 'dashed' as const, points: r.soak!.samples.filter((s) => s.lagMaxMs !== null).map((s) => ({ x: s.atS, y: s.lagMaxMs! })) },
  ]);
  return { kind: 'line', file: 'soak-event-loop-lag.svg', title: 'Gateway event-loop lag through the soak', subtitle: `${subtitle}; per sampling interval`, xLabel: 'seconds into the load', yLabel: 'ms', series };
}

function signedPercent(ratio: number): string {
  return `${ratio >= 0 ? '+' : ''}${(ratio * 100).toFixed(1)}%`;
}

export default scenario;
