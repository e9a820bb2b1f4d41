// Scenario `cache`: what the result cache buys at hit ratios of 0, 50, 90 and
// 100 %, on the heavy model (a miss costs a real inference), 2 workers, with
// the Redis tier on. Each ratio has a gateway of its own with its own key
// prefix, so no run is served by another's entries; the repeated ("hot")
// bodies are sent once before measuring, so the ratio holds from the start.
// All gateways and `hello` run at once and are measured in interleaved
// rounds; the report gives each one's median and the 100 %/0 % ratio paired
// within each round (see lib/rounds.ts).

import { latencyVsThroughput, throughputBars } from '../lib/charts.ts';
import type { SystemSettings } from '../lib/harness.ts';
import { benchRedisUrl, redisAnswers } from '../lib/redis.ts';
import type { ChartSpec, LoadSpec, RunRecord } from '../lib/results.ts';
import type { SystemName } from '../lib/systems.ts';
import { formatRate } from '../lib/report-markdown.ts';
import { median, medianRun, pairedRatios, roundsOf } from '../lib/rounds.ts';
import type { Scenario } from '../lib/scenario.ts';

const MODEL = 'heavy';
const HIT_RATIOS = [0, 0.5, 0.9, 1] as const;
/** The issue's targets: at 100 % hits, ≥ 5× the 0 % throughput and p99 ≤ 2 ms at 16 connections. */
const SPEEDUP_TARGET = 5;
const P99_TARGET_MS = 2;

const label = (ratio: number): string => `cache ${Math.round(ratio * 100)}% hits`;

const scenario: Scenario = {
  name: 'cache',
  title: 'Result cache: throughput and latency at 0, 50, 90 and 100 % hits (Redis tier on)',
  summary: 'result cache at 0/50/90/100% hits, heavy model, 2 workers, 16 and 64 connections, Redis tier on (REDIS_URL), interleaved rounds',
  description:
    `Closed loop against the gateway on the \`${MODEL}\` model with the result cache on and its Redis tier at REDIS_URL ` +
    '(default redis://127.0.0.1:6379). A run at hit ratio p sends, per request, with probability p one of 64 repeated bodies ' +
    '(each sent once before measuring, so cached) and otherwise a unique body that no cache can answer. Every ratio has a ' +
    'gateway of its own with its own key prefix. Hits at 100 % come from the in-process tier; Redis serves what the in-process tier lacks ' +
    '(another gateway\'s answers, or after eviction). `hello` (a trivial HTTP server, sent the same repeated bodies) is the load ' +
    'generator’s own ceiling in the same run: no hit path can beat it. All systems run at once and are measured in interleaved ' +
    'rounds (every system at 16 connections, then at 64, then the next round), so a drift of the machine\'s speed weighs on all alike; ' +
    'each figure is the median of the rounds, and the 100 %/0 % ratio is taken within each round before its median. ' +
    'Targets: 100 % hits ≥ 5× the 0 % throughput, p99 ≤ 2 ms at 16 connections.',
  defaults: { connections: [16, 64], systems: ['gateway'], model: MODEL, replicas: 2, rounds: 5, durationS: 5 },

  async run(h) {
    const o = h.options;
    const redisUrl = benchRedisUrl();
    const withRedis = await redisAnswers(redisUrl);
    if (!withRedis) h.note(`no Redis answers at ${redisUrl}: the runs use the in-process tier alone`);
    const systems: Array<readonly [SystemName, SystemSettings]> = HIT_RATIOS.map((ratio) => {
      const cache = { enabled: true, ttlSeconds: 3600, keyPrefix: `bench-cache-${process.pid}-${Date.now()}-${ratio}`, ...(withRedis ? { redisUrl } : {}) };
      return ['gateway', { model: MODEL, label: label(ratio), hitRatio: ratio, gatewayConfig: { cache } }] as const;
    });
    // The same bodies against a trivial HTTP server: the most any hit path could reach with this load generator on
    // this machine, in the same run.
    systems.push(['hello', { model: MODEL, hitRatio: 1 }]);
    await h.withSystems(systems, async (targets) => {
      for (let round = 1; round <= o.rounds; round++) {
        for (const connections of o.connections) {
          const load: LoadSpec = { mode: 'closed', connections, pipelining: o.pipelining, durationS: o.durationS, amount: o.amount };
          for (const target of targets) {
            await h.measure(target, load, { round });
            if (h.aborted) return;
          }
        }
      }
    });
  },

  present(report) {
    const highlights: string[] = [];
    const table = ['| system | connections | median req/s | median p99 ms | req/s by round | p99 ms by round |', '|---|--:|--:|--:|---|---|'];
    const systems = [...HIT_RATIOS.map(label), 'hello'];
    const medianRuns: RunRecord[] = [];
    for (const connections of [...new Set(report.runs.map((r) => r.load.connections))]) {
      const rounds = (system: string): RunRecord[] => roundsOf(report.runs, system, connections);
      const rate = (system: string): number => median(rounds(system).map((r) => r.summary.responsesPerS));
      const p99 = (system: string): number => median(rounds(system).map((r) => r.summary.latency.p99Ms));
      for (const system of systems) {
        const runs = rounds(system);
        if (runs.length === 0) continue;
        medianRuns.push(medianRun(runs)!);
        table.push(`| ${system} | ${connections} | ${formatRate(rate(system))} | ${p99(system).toFixed(2)} | ${runs.map((r) => formatRate(r.summary.responsesPerS)).join(', ')} | ${runs.map((r) => r.summary.latency.p99Ms.toFixed(2)).join(', ')} |`);
      }
      const parts = [`median req/s ${HIT_RATIOS.map((ratio) => `${Math.round(ratio * 100)}%: ${rounds(label(ratio)).length ? formatRate(rate(label(ratio))) : '—'}`).join(', ')}`];
      const ratios = pairedRatios(rounds(label(1)), rounds(label(0)));
      if (ratios.length > 0) {
        const speedup = median(ratios);
        parts.push(`100%/0% ${speedup.toFixed(1)}× (median of ${ratios.length} rounds: ${ratios.map((x) => x.toFixed(1)).join(', ')}; target ≥ ${SPEEDUP_TARGET}×: ${speedup >= SPEEDUP_TARGET ? 'met' : 'missed'})`);
      }
      if (rounds(label(1)).length > 0) {
        const hitP99 = p99(label(1));
        parts.push(`median p99 at 100% hits ${hitP99.toFixed(2)} ms${connections === 16 ? ` (target ≤ ${P99_TARGET_MS} ms: ${hitP99 <= P99_TARGET_MS ? 'met' : 'missed'})` : ''}`);
      }
      if (rounds('hello').length > 0) parts.push(`hello ceiling ${formatRate(rate('hello'))} req/s, p99 ${p99('hello').toFixed(2)} ms`);
      highlights.push(`**${MODEL}, ${connections} conn**: ${parts.join('; ')}`);
    }
    const charts: ChartSpec[] = [
      throughputBars(medianRuns, { file: 'throughput.svg', title: `Throughput by hit ratio, ${MODEL} (median round)`, subtitle: 'result cache with the Redis tier', xLabel: 'load', category: (r) => `${r.load.connections} conn` }),
      latencyVsThroughput(medianRuns, 'latency-vs-throughput.svg', MODEL),
    ];
    return { highlights, charts, sections: [`**Medians of the rounds**\n\n${table.join('\n')}`] };
  },
};

export default scenario;
