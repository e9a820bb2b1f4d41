// Scenario `access`: what API keys and rate limits cost per request. Four
// gateway processes, alike but for their access settings, on the classifier
// with 2 workers (batching and cache off, so every request is one inference):
//
//   open        auth.mode off, no limits (the default)
//   keys        auth.mode keys, a keys file of KEYS keys (the load presents one of them), no limits
//   keys+local  as keys, with a per-key limit that never refuses, buckets in the process (store local)
//   keys+redis  as keys+local, buckets in Redis (store redis; REDIS_URL, else 127.0.0.1:6379;
//               skipped with a note when no Redis answers)
//
// All four run at once and are measured in interleaved rounds
// (interleaved.ts); every request carries `Authorization: Bearer <key>`
// (open ignores it). Figures are medians of the rounds, and each variant's
// ratio to open is taken within a round before its median. Every answer must
// be a 200: a refusal would measure the refusal path, not the cost of passing.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { ApiKeyEntry } from '../../config/auth-schema.ts';
import { keyDigest } from '../../gateway/access/api-keys.ts';
import { newApiKey } from '../../gateway/access/new-key.ts';
import { latencyVsThroughput, throughputBars } from '../lib/charts.ts';
import type { SystemSettings } from '../lib/harness.ts';
import { measureInterleaved, type RoundsHarness } from '../lib/interleaved.ts';
import { benchRedisUrl, redisAnswers } from '../lib/redis.ts';
import { formatRate } from '../lib/report-markdown.ts';
import type { ChartSpec, LoadSpec, RunRecord } from '../lib/results.ts';
import { median, medianOf, medianRun, pairedDifferencesOf, pairedRatiosOf, roundsOf, times, us } from '../lib/rounds.ts';
import type { Scenario } from '../lib/scenario.ts';
import type { SystemName } from '../lib/systems.ts';

/** Keys in the keys file: a table of a realistic size, looked up by digest on every request. */
const KEYS = 1000;
/** requests/s of the per-key limit: a bucket is taken on every request, and never runs dry. */
const NEVER_REFUSING = 1e9;
/**
 * keys+redis: a take waits this long for Redis before it counts as the store being down (default 50 ms). With
 * onStoreDown closed, every answered request was decided by Redis: a take that Redis left unanswered is a 503,
 * which fails the run, never a silent local decision; the longer wait keeps a moment of contention on a shared
 * machine (Redis descheduled for tens of ms) from refusing requests the store would have allowed.
 */
const STORE_TIMEOUT_MS = 1000;
const BASE = 'open';
const VARIANTS = ['open', 'keys', 'keys+local', 'keys+redis'] as const;

const scenario: Scenario = {
  name: 'access',
  title: 'Access: what API keys and rate limits cost per request (open vs keys vs keys + local / Redis limit)',
  summary: 'gateway with auth off, API keys (1000), keys + a per-key limit in the process, keys + the limit in Redis; classifier, 64 connections, interleaved rounds',
  description:
    'Four gateway processes, each with 2 workers on the classifier (dynamic batching and the result cache off, unique bodies, so every request is one inference), ' +
    'alike but for their access settings: `open` (auth.mode off, no limits: the default); `keys` (auth.mode keys with a keys file of ' +
    `${KEYS} keys, every request presenting one of them as \`Authorization: Bearer <key>\`, no limits); \`keys+local\` (as keys, with ` +
    `\`rateLimits.perKey\` at ${NEVER_REFUSING.toExponential(0)} requests/s, which never refuses, buckets in each process: store local); ` +
    '`keys+redis` (as keys+local with the buckets in Redis: store redis at REDIS_URL, else redis://127.0.0.1:6379, one key prefix per run, ' +
    `\`onStoreDown: closed\` with \`storeTimeoutMs: ${STORE_TIMEOUT_MS}\`, so every answered request was decided by Redis: a take Redis did not answer in time is a 503 and fails the run rather than passing on a local decision; ` +
    'skipped with a note when no Redis answers). Closed loop; every answer must be a 200 (any other status or error fails the run). ' +
    'All four run at once and are measured in interleaved rounds; figures are medians of the rounds, and ratios to `open` are paired within each round ' +
    '(as is the difference in gateway CPU per request, the cost of the access check itself). Gateway CPU per request is the gateway process’s ' +
    '(cpu.ts), workers apart; Redis’s own CPU is not counted. Load generator, systems and Redis share the machine’s cores.',
  defaults: { systems: ['gateway'], model: 'classifier', replicas: 2, connections: [64], rounds: 3, durationS: 8 },

  async run(h) {
    const o = h.options;
    if (!o.systems.includes('gateway')) return h.note('access runs against the gateway only: add gateway to --systems');
    const dir = mkdtempSync(join(tmpdir(), 'infergate-bench-access-'));
    try {
      const key = newApiKey();
      const keysFile = join(dir, 'keys.yaml');
      writeFileSync(keysFile, stringify({ keys: keysTable(key) }));
      const redisUrl = benchRedisUrl();
      const withRedis = await redisAnswers(redisUrl);
      if (!withRedis) h.note(`keys+redis skipped: no Redis answers at ${redisUrl} (set REDIS_URL, or start one on 127.0.0.1:6379)`);

      const batching = { enabled: false };
      const auth = { mode: 'keys', keysFile };
      const perKey = { requestsPerSecond: NEVER_REFUSING };
      const configs: Array<readonly [string, Record<string, unknown>]> = [
        ['open', { batching }],
        // store local: a REDIS_URL in the environment would otherwise make the (unused) limiter shared.
        ['keys', { batching, auth, rateLimits: { store: 'local' } }],
        ['keys+local', { batching, auth, rateLimits: { perKey, store: 'local' } }],
      ];
      if (withRedis) {
        const cache = { enabled: false, redisUrl, keyPrefix: `bench-access-${process.pid}-${Date.now()}` };
        configs.push(['keys+redis', { batching, auth, cache, rateLimits: { perKey, store: 'redis', onStoreDown: 'closed', storeTimeoutMs: STORE_TIMEOUT_MS } }]);
      }
      const headers = { authorization: `Bearer ${key}` };
      const systems = configs.map(([label, gatewayConfig]) => ['gateway' as SystemName, { label, model: o.model, headers, gatewayConfig } satisfies SystemSettings] as const);
      const loads = o.connections.map((connections): LoadSpec => ({ mode: 'closed', connections, pipelining: o.pipelining, durationS: o.durationS, amount: o.amount }));
      // The harness's measure, and then every answer must have been a 200.
      const onlyOk: RoundsHarness = {
        withSystems: (s, fn) => h.withSystems(s, fn),
        measure: async (target, load, extras) => {
          const run = await h.measure(target, load, extras);
          const problem = notAllOk(run);
          if (problem !== null && !run.failure) {
            run.failure = problem;
            if (!h.aborted) h.fail(`${run.system} ${load.connections} conn: ${problem}`);
          }
          return run;
        },
        get aborted() {
          return h.aborted;
        },
      };
      await measureInterleaved(onlyOk, systems, loads, o.rounds);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },

  present(report) {
    const runs = report.runs.filter((r) => !r.failure);
    const highlights: string[] = [];
    const medians = [
      '| variant | conn | rounds | req/s | p99 ms | gateway µs/req | req/s × open | p99 × open | gateway µs/req × open | gateway µs/req − open | req/s by round |',
      '|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|',
    ];
    const medianRuns: RunRecord[] = [];
    for (const connections of [...new Set(runs.map((r) => r.load.connections))]) {
      const base = roundsOf(runs, BASE, connections);
      const parts: string[] = [];
      for (const variant of VARIANTS) {
        const rounds = roundsOf(runs, variant, connections);
        if (rounds.length === 0) continue;
        medianRuns.push(medianRun(rounds)!);
        const rate = pairedRatiosOf(rounds, base, (r) => r.summary.responsesPerS);
        const p99 = pairedRatiosOf(rounds, base, (r) => r.summary.latency.p99Ms);
        const cpu = pairedRatiosOf(rounds, base, gatewayUs);
        const extra = pairedDifferencesOf(rounds, base, gatewayUs);
        const isBase = variant === BASE;
        const cells = [
          String(rounds.length),
          formatRate(median(rounds.map((r) => r.summary.responsesPerS))),
          median(rounds.map((r) => r.summary.latency.p99Ms)).toFixed(2),
          us(medianOf(rounds, gatewayUs)),
          isBase ? '1' : times(rate),
          isBase ? '1' : times(p99),
          isBase ? '1' : times(cpu),
          isBase ? '0' : signedUs(extra),
          rounds.map((r) => formatRate(r.summary.responsesPerS)).join(', '),
        ];
        medians.push(`| ${variant} | ${connections} | ${cells.join(' | ')} |`);
        if (!isBase && rate.length > 0) {
          parts.push(`${variant}/${BASE} req/s ${times(rate)} (rounds ${rate.map((x) => x.toFixed(2)).join(', ')}), p99 ${times(p99)}, gateway CPU ${signedUs(extra)} µs/req (${times(cpu)})`);
        }
      }
      if (parts.length > 0) highlights.push(`**${report.config.model}, ${connections} conn**: ${parts.join('; ')}`);
    }
    const category = (r: RunRecord): string => `${r.load.connections} conn`;
    const subtitle = `${report.config.model}, ${report.config.replicas} workers, batching and cache off, median round`;
    const charts: ChartSpec[] = [
      throughputBars(medianRuns, { file: 'throughput.svg', title: 'Throughput by access setting', subtitle, xLabel: 'load', category }),
      latencyVsThroughput(medianRuns, 'latency-vs-throughput.svg', subtitle),
    ];
    const sections = [`**Medians of the rounds** (× open: ratios paired within each round, then their median; − open: the paired difference in gateway CPU per request)\n\n${medians.join('\n')}`];
    return { highlights, charts, sections };
  },
};

/** KEYS entries, the last one `key`'s; the others are keys nobody holds. */
function keysTable(key: string): ApiKeyEntry[] {
  return Array.from({ length: KEYS }, (_, i) => ({
    name: `bench-${String(i).padStart(4, '0')}`,
    sha256: keyDigest(i === KEYS - 1 ? key : newApiKey()),
    models: ['*'],
    operations: ['infer', 'metadata'],
  }));
}

/** Why the run was not all 200s, or null. */
function notAllOk(run: RunRecord): string | null {
  const s = run.summary;
  const other = Object.entries(s.statusCodes).filter(([code]) => code !== '200');
  if (s.errors === 0 && other.length === 0) return null;
  return `not every answer was a 200 (status ${JSON.stringify(s.statusCodes)}, errors ${JSON.stringify(s.errorKinds)})`;
}

function gatewayUs(r: RunRecord): number | undefined {
  return r.cpu?.usPerRequest.gateway;
}

function signedUs(differences: readonly number[]): string {
  if (differences.length === 0) return '—';
  const m = median(differences);
  return `${m >= 0 ? '+' : '−'}${us(Math.abs(m))}`;
}

export default scenario;
