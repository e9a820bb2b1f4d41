// Scenario `cache`: what the result cache buys at hit ratios of 0, 50, 90 and
// 100 %, on the heavy model (a miss costs a real inference), 2 workers, with
// the Redis tier on. Each ratio runs on a fresh gateway with its own key
// prefix, so no run is served by another's entries; the repeated ("hot")
// bodies are sent once before measuring, so the ratio holds from the start.

import { Redis } from 'ioredis';
import { latencyVsThroughput, throughputBars } from '../lib/charts.ts';
import type { Target } from '../lib/harness.ts';
import type { ChartSpec, LoadSpec, RunRecord } from '../lib/results.ts';
import { formatRate } from '../lib/report-markdown.ts';
import type { Scenario } from '../lib/scenario.ts';

const MODEL = 'heavy';
const HIT_RATIOS = [0, 0.5, 0.9, 1] as const;
/** The issue's targets: at 100 % hits, ≥ 5× the 0 % throughput and p99 ≤ 2 ms at 16 connections. */
const SPEEDUP_TARGET = 5;
const P99_TARGET_MS = 2;

const label = (ratio: number): string => `cache ${Math.round(ratio * 100)}% hits`;

/** Whether a Redis answers at `url` within a second (the scenario notes it when none does). */
async function redisAnswers(url: string): Promise<boolean> {
  const client = new Redis(url, { lazyConnect: true, connectTimeout: 1000, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
  client.on('error', () => {});
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

const scenario: Scenario = {
  name: 'cache',
  title: 'Result cache: throughput and latency at 0, 50, 90 and 100 % hits (Redis tier on)',
  summary: 'result cache at 0/50/90/100% hits, heavy model, 2 workers, 16 and 64 connections, Redis tier on (REDIS_URL)',
  description:
    `Closed loop against the gateway on the \`${MODEL}\` model with the result cache on and its Redis tier at REDIS_URL ` +
    '(default redis://127.0.0.1:6379). A run at hit ratio p sends, per request, with probability p one of 64 repeated bodies ' +
    '(each sent once before measuring, so cached) and otherwise a unique body that no cache can answer. Every ratio runs on a ' +
    'fresh gateway with its own key prefix. Hits at 100 % come from the in-process tier; Redis serves what the in-process tier lacks ' +
    '(another gateway\'s answers, or after eviction). `hello` (a trivial HTTP server, sent the same repeated bodies) is the load ' +
    'generator’s own ceiling in the same run: no hit path can beat it. Targets: 100 % hits ≥ 5× the 0 % throughput, p99 ≤ 2 ms at 16 connections.',
  defaults: { connections: [16, 64], systems: ['gateway'], model: MODEL, replicas: 2 },

  async run(h) {
    const o = h.options;
    const redisUrl = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
    const withRedis = await redisAnswers(redisUrl);
    if (!withRedis) h.note(`no Redis answers at ${redisUrl}: the runs use the in-process tier alone`);
    const measureEach = async (target: Target): Promise<void> => {
      for (const connections of o.connections) {
        const load: LoadSpec = { mode: 'closed', connections, pipelining: o.pipelining, durationS: o.durationS, amount: o.amount };
        await h.measure(target, load);
        if (h.aborted) return;
      }
    };
    for (const ratio of HIT_RATIOS) {
      const cache = { enabled: true, ttlSeconds: 600, keyPrefix: `bench-cache-${process.pid}-${Date.now()}-${ratio}`, ...(withRedis ? { redisUrl } : {}) };
      await h.withSystem('gateway', { model: MODEL, label: label(ratio), hitRatio: ratio, gatewayConfig: { cache } }, measureEach);
    }
    // The same bodies against a trivial HTTP server: the most any hit path could reach with this load generator on
    // this machine, in the same run.
    await h.withSystem('hello', { model: MODEL, hitRatio: 1 }, measureEach);
  },

  present(report) {
    const find = (ratio: number, connections: number): RunRecord | undefined =>
      report.runs.find((r) => r.system === label(ratio) && r.load.connections === connections && !r.failure);
    const highlights: string[] = [];
    for (const connections of [...new Set(report.runs.map((r) => r.load.connections))]) {
      const none = find(0, connections);
      const all = find(1, connections);
      const rates = HIT_RATIOS.map((ratio) => `${Math.round(ratio * 100)}%: ${find(ratio, connections) ? formatRate(find(ratio, connections)!.summary.responsesPerS) : '—'}`);
      const parts = [`req/s ${rates.join(', ')}`];
      if (none && all && none.summary.responsesPerS > 0) {
        const speedup = all.summary.responsesPerS / none.summary.responsesPerS;
        parts.push(`100%/0% ${speedup.toFixed(1)}× (target ≥ ${SPEEDUP_TARGET}×: ${speedup >= SPEEDUP_TARGET ? 'met' : 'missed'})`);
      }
      if (all) {
        const p99 = all.summary.latency.p99Ms;
        parts.push(`p99 at 100% hits ${p99.toFixed(2)} ms${connections === 16 ? ` (target ≤ ${P99_TARGET_MS} ms: ${p99 <= P99_TARGET_MS ? 'met' : 'missed'})` : ''}`);
      }
      const hello = report.runs.find((r) => r.system === 'hello' && r.load.connections === connections && !r.failure);
      if (hello) parts.push(`hello ceiling ${formatRate(hello.summary.responsesPerS)} req/s, p99 ${hello.summary.latency.p99Ms.toFixed(2)} ms`);
      highlights.push(`**${MODEL}, ${connections} conn**: ${parts.join('; ')}`);
    }
    const charts: ChartSpec[] = [
      throughputBars(report.runs, { file: 'throughput.svg', title: `Throughput by hit ratio, ${MODEL}`, subtitle: 'result cache with the Redis tier', xLabel: 'load', category: (r) => `${r.load.connections} conn` }),
      latencyVsThroughput(report.runs, 'latency-vs-throughput.svg', MODEL),
    ];
    return { highlights, charts };
  },
};

export default scenario;
