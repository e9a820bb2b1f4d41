// Scenario `memory`: does the gateway's memory stay bounded on its default
// config? The gateway runs with the result cache on (a 64 MiB in-process
// tier) and takes unique bodies, so every answer is a new cache entry, for a
// long closed loop; its resident memory is sampled every second and the
// in-process tier's own count is read at the end. A hostile-client probe of
// the same load (16 connections, two minutes) once took the gateway from
// 136 MB to 1.0 GB while the tier counted 64 MiB:
//
//   npm run bench -- memory --connections 16 --duration 120

import { throughputBars } from '../lib/charts.ts';
import { processMemoryBytes } from '../lib/proc.ts';
import type { BarChartSpec, LoadSpec, RunMemory, RunRecord } from '../lib/results.ts';
import type { Scenario } from '../lib/scenario.ts';

const SAMPLE_INTERVAL_MS = 1_000;
const MIB = 2 ** 20;

const scenario: Scenario = {
  name: 'memory',
  title: 'Memory: the gateway on its default config under unique bodies',
  summary: 'gateway RSS through a long closed loop of unique bodies, result cache on (default config); the cache tier against its bound',
  description:
    'The gateway with its default configuration (result cache on, `cache.memoryMaxBytes` 64 MiB, batching on) over N workers, ' +
    'sent unique bodies in a closed loop (every answer is a new cache entry). The gateway process’s VmRSS is sampled every second; ' +
    'the in-process tier’s entries and counted bytes are read from `GET /admin/cache` at the end of each run.',
  defaults: { systems: ['gateway'], connections: [16], durationS: 60 },

  async run(h) {
    const o = h.options;
    await h.withSystem('gateway', { gatewayConfig: { cache: { enabled: true } } }, async (target) => {
      const gateway = target.system.roots.find((root) => root.role === 'gateway');
      if (!gateway) return h.fail('memory: no gateway process to sample');
      for (const connections of o.connections) {
        const load: LoadSpec = { mode: 'closed', connections, pipelining: o.pipelining, durationS: o.durationS, amount: o.amount };
        const rssStartBytes = processMemoryBytes(gateway.pid, 'VmRSS');
        let rssPeakBytes = rssStartBytes;
        const sampler = setInterval(() => (rssPeakBytes = Math.max(rssPeakBytes, processMemoryBytes(gateway.pid, 'VmRSS'))), SAMPLE_INTERVAL_MS);
        let record: RunRecord;
        try {
          record = await h.measure(target, load);
        } finally {
          clearInterval(sampler);
        }
        const rssEndBytes = processMemoryBytes(gateway.pid, 'VmRSS');
        const memory: RunMemory = { rssStartBytes, rssPeakBytes: Math.max(rssPeakBytes, rssEndBytes), rssEndBytes, ...(await cacheTier(target.system.origin)) };
        record.memory = memory;
        if (h.aborted) return;
      }
    });
  },

  present(report) {
    const highlights = report.runs
      .filter((r) => r.memory)
      .map((r) => {
        const m = r.memory!;
        const tier = m.cacheEntries === undefined ? '' : `; in-process tier ${m.cacheEntries} entries, ${mib(m.cacheBytes!)} counted of ${mib(m.cacheMaxBytes!)}`;
        return `**${r.load.connections} connections, ${r.load.durationS ?? '?'} s**: gateway RSS ${mib(m.rssStartBytes)} at the start, ${mib(m.rssPeakBytes)} at most, ${mib(m.rssEndBytes)} at the end${tier}`;
      });
    const category = (r: RunRecord): string => `${r.load.connections} connections`;
    const subtitle = `${report.config.model}, unique bodies, ${report.config.replicas} workers, default config`;
    return { highlights, charts: [memoryBars(report.runs, category, subtitle), throughputBars(report.runs, { file: 'throughput.svg', title: 'Throughput', subtitle, xLabel: 'load', category })] };
  },
};

/** Per run: the gateway's RSS at the start, at most and at the end, next to what the cache tier counted and its bound. */
function memoryBars(runs: readonly RunRecord[], category: (r: RunRecord) => string, subtitle: string): BarChartSpec {
  const sampled = runs.filter((r) => r.memory);
  const series = (name: string, value: (m: RunMemory) => number | undefined) => ({
    name,
    values: sampled.map((r) => {
      const bytes = value(r.memory!);
      return bytes === undefined ? null : Number((bytes / MIB).toFixed(1));
    }),
  });
  return {
    kind: 'bars',
    file: 'memory.svg',
    title: 'Gateway memory through the run',
    subtitle,
    xLabel: 'load',
    yLabel: 'MiB',
    categories: sampled.map(category),
    series: [
      series('RSS at the start', (m) => m.rssStartBytes),
      series('RSS at most', (m) => m.rssPeakBytes),
      series('RSS at the end', (m) => m.rssEndBytes),
      series('cache tier, counted', (m) => m.cacheBytes),
      series('cache tier, bound', (m) => m.cacheMaxBytes),
    ],
  };
}

async function cacheTier(origin: string): Promise<Partial<RunMemory>> {
  const res = await fetch(`${origin}/admin/cache`);
  if (!res.ok) return {};
  const body = (await res.json()) as { tiers?: { memory?: { entries: number; bytes: number; maxBytes: number } } };
  const memory = body.tiers?.memory;
  return memory ? { cacheEntries: memory.entries, cacheBytes: memory.bytes, cacheMaxBytes: memory.maxBytes } : {};
}

function mib(bytes: number): string {
  return `${(bytes / MIB).toFixed(1)} MiB`;
}

export default scenario;
