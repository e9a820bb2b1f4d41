// What GET /admin/status answers: model versions with their states and the ready replicas running them, replicas
// with breaker, in-flight and restarts, the cache's hit ratio and size, totals read live from the counters, and the
// history's samples.

import t from 'tap';
import type { ResultCacheStats } from '../../../gateway/cache/result-cache.ts';
import type { VersionStatus } from '../../../gateway/models/registry.ts';
import type { ReplicaSnapshot } from '../../../gateway/replicas/replica.ts';
import { StatusData, type StatusDataDeps } from '../../../gateway/observability/status-data.ts';
import type { CumulativeRequests, StatusSample } from '../../../gateway/observability/status-history.ts';

function snapshot(id: string, fields: Partial<ReplicaSnapshot> & { breaker?: 'closed' | 'open' | 'half-open'; usable?: boolean }): ReplicaSnapshot {
  const { breaker = 'closed', usable = true, ...rest } = fields;
  return {
    id,
    state: 'ready',
    address: `unix:/tmp/${id}.sock`,
    models: ['classifier'],
    outstanding: 0,
    completed: 0,
    failed: 0,
    restarts: 0,
    pid: 100,
    health: {
      usable,
      breaker: { state: breaker, calls: 0, failures: 0, rejected: 0, opened: 0 },
      activeCheck: { healthy: true, passedInARow: 0, failedInARow: 0 },
      consecutiveFailures: 0,
      ejections: 0,
      ejectionsRefused: 0,
      ejectedForMs: 0,
      weight: 1,
    },
    ...rest,
  };
}

function fixture(overrides: Partial<StatusDataDeps> = {}) {
  const versions: Record<string, VersionStatus[]> = {
    classifier: [{ version: '1', state: 'READY' }, { version: '2', state: 'UNAVAILABLE', reason: '/models/classifier/2/model.onnx is missing' }],
    ranker: [{ version: '3', state: 'LOADING' }],
  };
  const runs: Record<string, string[]> = { 'worker-0': ['classifier/1'], 'worker-1': ['classifier/1', 'ranker/3'], 'worker-2': ['ranker/3'] };
  const states: Record<string, string> = { 'worker-0': 'ready', 'worker-1': 'ready', 'worker-2': 'starting' };
  const cacheStats: ResultCacheStats & { tiers: Record<string, object> } = {
    hits: 30,
    hitsByTier: { memory: 30 },
    misses: 10,
    joins: 2,
    bypasses: 0,
    stores: 10,
    tooLarge: 0,
    undecodable: 0,
    tiers: { memory: { entries: 10, bytes: 40_960, maxBytes: 1_048_576, evictions: 0 } },
  };
  let totals: CumulativeRequests = { requests: 42, errors: 3, latency: { boundsSeconds: [0.1], cumulativeCounts: [42] } };
  const samples: StatusSample[] = [{ atMs: 1_000, requestsPerS: 5, errorsPerS: 0, p50Ms: 1.5, p99Ms: 9 }];
  const deps: StatusDataDeps = {
    models: { models: [{ name: 'classifier' }, { name: 'ranker' }], status: (name) => versions[name]! },
    replicas: {
      replicas: Object.keys(runs).map((id) => ({ id, state: states[id]!, runs: (model: string, version: string) => runs[id]!.includes(`${model}/${version}`) })),
      snapshots: () => [
        snapshot('worker-0', { outstanding: 3, completed: 40, restarts: 1, pid: 4242 }),
        snapshot('worker-1', { breaker: 'open', usable: false, failed: 7, models: ['classifier', 'ranker'] }),
        snapshot('worker-2', { state: 'starting', pid: null, models: ['ranker'] }),
      ],
    },
    cache: { stats: () => cacheStats },
    history: { intervalMs: 1_000, windowMs: 600_000, samples: () => samples },
    totals: () => totals,
    version: '0.1.0',
    startedAtMs: 500,
    nowMs: () => 2_000,
    ...overrides,
  };
  return { deps, cacheStats, setTotals: (next: CumulativeRequests) => (totals = next) };
}

t.test('models, replicas, cache, totals and history', async (t) => {
  const { deps } = fixture();
  const body = new StatusData(deps).body();
  t.same(body.models, [
    {
      name: 'classifier',
      versions: [
        { version: '1', state: 'READY', replicas: ['worker-0', 'worker-1'] },
        { version: '2', state: 'UNAVAILABLE', reason: '/models/classifier/2/model.onnx is missing', replicas: [] },
      ],
    },
    { name: 'ranker', versions: [{ version: '3', state: 'LOADING', replicas: ['worker-1'] }] },
  ], 'only ready replicas count as running a version');
  t.same(
    body.replicas.map((r) => [r.id, r.state, r.breaker, r.usable, r.inFlight, r.completed, r.failed, r.restarts, r.pid, r.models]),
    [
      ['worker-0', 'ready', 'closed', true, 3, 40, 0, 1, 4242, ['classifier']],
      ['worker-1', 'ready', 'open', false, 0, 0, 7, 0, 100, ['classifier', 'ranker']],
      ['worker-2', 'starting', 'closed', true, 0, 0, 0, 0, null, ['ranker']],
    ],
  );
  t.same(body.cache, { hits: 30, misses: 10, hitRatio: 0.75, joins: 2, hitsByTier: { memory: 30 }, entries: 10, bytes: 40_960, maxBytes: 1_048_576 });
  t.same(body.totals, { requests: 42, errors: 3 });
  t.same(body.history, { intervalMs: 1_000, windowMs: 600_000, samples: [{ atMs: 1_000, requestsPerS: 5, errorsPerS: 0, p50Ms: 1.5, p99Ms: 9 }] });
  t.same([body.version, body.startedAtMs, body.generatedAtMs], ['0.1.0', 500, 2_000]);
  t.same(JSON.parse(JSON.stringify(body)), body, 'plain JSON');
});

t.test('totals are read at each request, not at the last sample', async (t) => {
  const { deps, setTotals } = fixture();
  const status = new StatusData(deps);
  t.same(status.body().totals, { requests: 42, errors: 3 });
  setTotals({ requests: 50, errors: 4, latency: { boundsSeconds: [0.1], cumulativeCounts: [50] } });
  t.same(status.body().totals, { requests: 50, errors: 4 });
});

t.test('a cache with no lookups yet, and no memory tier', async (t) => {
  const { deps, cacheStats } = fixture();
  Object.assign(cacheStats, { hits: 0, misses: 0, hitsByTier: {}, tiers: {} });
  const body = new StatusData(deps).body();
  t.same(body.cache, { hits: 0, misses: 0, hitRatio: null, joins: 2, hitsByTier: {}, entries: 0, bytes: 0, maxBytes: 0 });
});

t.test('reply: 200, JSON never cached', async (t) => {
  const { deps } = fixture();
  const reply = new StatusData(deps).reply();
  t.equal(reply.status, 200);
  t.same(reply.headers, { 'cache-control': 'no-store' });
  t.equal(reply.body.totals.requests, 42);
});
