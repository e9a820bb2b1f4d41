// The gateway's state as metrics, read at scrape time from the components'
// own counters and snapshots (replicas, breakers, health, retry budget, the
// HTTP front, the batchers, the result cache): nothing is counted twice and
// nothing runs between scrapes. Failed upstream attempts are the exception:
// the dispatcher reports each as an event, and a counter follows it.

import { Counter, Gauge, type Registry } from 'prom-client';
import type { InferAnswer } from '../../common/wire.ts';
import type { ModelBatching } from '../batching/model-batching.ts';
import type { RedisTier } from '../cache/redis-tier.ts';
import type { ResultCache } from '../cache/result-cache.ts';
import type { ReplicaSet } from '../replicas/replica-set.ts';
import type { RetryBudget } from '../resilience/retry-budget.ts';
import type { Dispatcher } from '../upstream/dispatcher.ts';

/** What the access gate refused, by reason, and how often the shared rate limit store (Redis) failed. */
export type AccessCounts = { refusals: ReadonlyMap<string, number>; storeFailures: number };

/** What the HTTP front counted (its stats(), as this module needs them). */
export type FrontCounts = { inFlight: number; shedInFlight: number; shedBodyBudget: number; refusedWhileDraining: number; refusedConnections: { per_address: number; total: number } };

export type FleetSources = {
  replicas: ReplicaSet;
  dispatcher: Dispatcher;
  retryBudget: RetryBudget;
  batching: ModelBatching;
  cache: ResultCache<InferAnswer>;
  redisTier: RedisTier | null;
  front: () => FrontCounts;
  access: () => AccessCounts;
  /** Each autoscaled model's mode and the replica count its autoscaler last decided on. */
  autoscaling: () => Array<{ model: string; mode: string; desiredReplicas: number }>;
  /** Each model's last rollout: the candidate's share of traffic now, and how its rollouts ended so far. */
  rollouts: () => Array<{ model: string; candidate: string; candidatePercent: number; promoted: number; rolledBack: number }>;
};

const BREAKER_STATES = ['closed', 'open', 'half-open'] as const;
const REPLICA_STATES = ['starting', 'ready', 'draining', 'stopped'] as const;

export function registerFleetMetrics(registry: Registry, sources: FleetSources): void {
  const registers = [registry];
  const { replicas, retryBudget, batching, cache, redisTier, front, access, autoscaling, rollouts } = sources;

  /** A gauge whose values are all read at scrape time. */
  const gauge = (name: string, help: string, labelNames: string[], read: (set: (labels: Record<string, string>, value: number) => void) => void) =>
    new Gauge({
      name,
      help,
      labelNames,
      registers,
      collect() {
        this.reset();
        read((labels, value) => this.set(labels, value));
      },
    });
  /** A counter whose totals are kept by a component and read at scrape time. */
  const total = (name: string, help: string, labelNames: string[], read: (set: (labels: Record<string, string>, value: number) => void) => void) =>
    new Counter({
      name,
      help,
      labelNames,
      registers,
      collect() {
        this.reset();
        read((labels, value) => this.inc(labels, value));
      },
    });

  gauge('infergate_requests_in_flight', 'Requests being handled by the HTTP front.', [], (set) => set({}, front().inFlight));
  gauge('infergate_queue_depth', "Requests waiting in a batcher's queue.", ['model', 'version'], (set) => {
    for (const { model, version, depth } of batching.queueDepths()) set({ model, version }, depth);
  });
  total('infergate_shed_total', 'Requests refused before any work, by reason.', ['reason'], (set) => {
    const counts = front();
    set({ reason: 'in_flight' }, counts.shedInFlight);
    set({ reason: 'body_budget' }, counts.shedBodyBudget);
    set({ reason: 'draining' }, counts.refusedWhileDraining);
    const rejects = batching.rejects();
    set({ reason: 'queue_full' }, rejects.queueFull);
    set({ reason: 'queue_delay' }, rejects.expectedWait);
    set({ reason: 'queue_deadline' }, rejects.deadline);
  });

  total('infergate_connections_refused_total', 'TCP connections closed at once by the HTTP front, by limit: per_address (server.maxConnectionsPerAddress), total (server.maxConnections).', ['reason'], (set) => {
    const { refusedConnections } = front();
    set({ reason: 'per_address' }, refusedConnections.per_address);
    set({ reason: 'total' }, refusedConnections.total);
  });
  total('infergate_access_refused_total', 'Requests the access gate refused, by reason: missing_credentials, unknown_key, forbidden (401/403), rate_limited, rows_rate_limited (429).', ['reason'], (set) => {
    for (const [reason, count] of access().refusals) set({ reason }, count);
  });
  total('infergate_rate_limit_store_failures_total', 'Rate limit takes the shared store (Redis) did not answer in time; rateLimits.onStoreDown decided them.', [], (set) => set({}, access().storeFailures));
  gauge('infergate_autoscaler_desired_replicas', "The replica count each model's autoscaler last decided on (in dry-run: what it would do).", ['model', 'mode'], (set) => {
    for (const { model, mode, desiredReplicas } of autoscaling()) set({ model, mode }, desiredReplicas);
  });
  gauge('infergate_rollout_candidate_percent', "The share (%) of a model's requests naming no version that its rollout's candidate answers now (100 once promoted, 0 after a rollback).", ['model', 'candidate'], (set) => {
    for (const { model, candidate, candidatePercent } of rollouts()) set({ model, candidate }, candidatePercent);
  });
  total('infergate_rollouts_total', 'Rollouts that ended, by outcome: promoted, or rolled back (a failed gate, an abort, a candidate that would not start).', ['model', 'outcome'], (set) => {
    for (const { model, promoted, rolledBack } of rollouts()) {
      set({ model, outcome: 'promoted' }, promoted);
      set({ model, outcome: 'rolled_back' }, rolledBack);
    }
  });
  gauge('infergate_replicas', 'Replicas by lifecycle state.', ['state'], (set) => {
    for (const state of REPLICA_STATES) set({ state }, replicas.replicas.filter((r) => r.state === state).length);
  });
  gauge('infergate_replica_in_flight', 'Calls outstanding on each replica.', ['replica'], (set) => {
    for (const r of replicas.replicas) set({ replica: r.id }, r.outstanding);
  });
  gauge('infergate_replica_breaker_state', "1 for the state each replica's circuit breaker is in, 0 for the others.", ['replica', 'state'], (set) => {
    for (const r of replicas.replicas) {
      const now = r.health.breaker.state;
      for (const state of BREAKER_STATES) set({ replica: r.id, state: state.replace('-', '_') }, state === now ? 1 : 0);
    }
  });
  total('infergate_replica_ejections_total', 'Outlier ejections of each replica.', ['replica'], (set) => {
    for (const r of replicas.replicas) set({ replica: r.id }, r.health.snapshot().ejections);
  });
  total('infergate_health_check_failures_total', 'Failed active health checks of each replica.', ['replica'], (set) => {
    for (const r of replicas.replicas) set({ replica: r.id }, r.health.checkFailures);
  });
  total('infergate_worker_restarts_total', "Restarts of each replica's worker process.", ['replica'], (set) => {
    for (const r of replicas.replicas) set({ replica: r.id }, r.generation);
  });

  const failures = new Counter({ name: 'infergate_upstream_failures_total', help: 'Failed attempts on each replica, retryable or not.', labelNames: ['replica', 'retryable'], registers });
  sources.dispatcher.on('failure', (replica, failure) => failures.inc({ replica: replica.id, retryable: String(failure.retryable) }));
  total('infergate_retries_total', 'Attempts re-sent to another replica.', [], (set) => set({}, retryBudget.snapshot().retriedTotal));
  total('infergate_retry_budget_exhausted_total', 'Retries refused because the retry budget was spent.', [], (set) => set({}, retryBudget.snapshot().exhausted));
  gauge('infergate_retry_budget_available', 'Retries the budget allows now.', [], (set) => {
    const budget = retryBudget.snapshot();
    set({}, Math.max(0, budget.allowedRetries - budget.retries));
  });

  total('infergate_cache_hits_total', 'Answers served from a cache tier.', ['tier'], (set) => {
    for (const [tier, hits] of Object.entries(cache.stats().hitsByTier)) set({ tier }, hits);
  });
  total('infergate_cache_misses_total', 'Cache lookups that computed the answer.', [], (set) => set({}, cache.stats().misses));
  total('infergate_cache_singleflight_joins_total', 'Requests that waited for an identical one already computing.', [], (set) => set({}, cache.stats().joins));
  total('infergate_cache_stores_total', 'Answers stored, by tier.', ['tier'], (set) => {
    set({ tier: 'memory' }, cache.stats().stores);
    if (redisTier) set({ tier: 'redis' }, redisTier.stats().sets);
  });
  const memoryTier = () => cache.stats().tiers.memory as { evictions: number; bytes: number; entries: number } | undefined;
  total('infergate_cache_evictions_total', 'Entries evicted for room, by tier.', ['tier'], (set) => set({ tier: 'memory' }, memoryTier()?.evictions ?? 0));
  gauge('infergate_cache_bytes', 'Bytes held by the in-process tier.', ['tier'], (set) => set({ tier: 'memory' }, memoryTier()?.bytes ?? 0));
  gauge('infergate_cache_entries', 'Entries held by the in-process tier.', ['tier'], (set) => set({ tier: 'memory' }, memoryTier()?.entries ?? 0));
  total('infergate_cache_redis_errors_total', 'Redis commands that failed or timed out.', [], (set) => set({}, redisTier?.stats().errors ?? 0));
  gauge('infergate_cache_redis_breaker_state', "1 for the state the Redis tier's breaker is in (none without Redis).", ['state'], (set) => {
    if (!redisTier) return;
    const now = redisTier.stats().breaker.state;
    for (const state of BREAKER_STATES) set({ state: state.replace('-', '_') }, state === now ? 1 : 0);
  });
}
