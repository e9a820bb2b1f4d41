// What the status page draws (GET /admin/status), built on each request from
// the components' own state: model versions and their states from the model
// registry, replicas from the replica set, the result cache's statistics,
// the totals from the very counters GET /metrics exports, and the recent
// samples (status-history.ts). Nothing is kept here between requests.

import type { ResultCacheStats } from '../cache/result-cache.ts';
import type { VersionStatus } from '../models/registry.ts';
import type { ReplicaSnapshot } from '../replicas/replica.ts';
import type { CumulativeRequests, StatusSample } from './status-history.ts';

/** The registry as read here (ModelRegistry). */
export type ModelsView = { readonly models: readonly { name: string }[]; status(name: string): VersionStatus[] };

/** The replica set as read here (ReplicaSet). */
export type ReplicasView = {
  readonly replicas: readonly { id: string; state: string; runs(model: string, version: string): boolean }[];
  snapshots(): ReplicaSnapshot[];
};

/** The result cache as read here (ResultCache.stats()); the in-process tier's stats are under `tiers.memory`. */
export type CacheView = { stats(): ResultCacheStats & { tiers: Record<string, object> } };

export type HistoryView = { readonly intervalMs: number; readonly windowMs: number; samples(): readonly StatusSample[] };

export type StatusDataDeps = {
  models: ModelsView;
  replicas: ReplicasView;
  cache: CacheView;
  history: HistoryView;
  /** The cumulative counts now: the same reading the history samples (RequestMetrics.totals()). */
  totals: () => CumulativeRequests;
  /** The gateway's version (package.json). */
  version: string;
  /** When the gateway started (epoch ms). */
  startedAtMs: number;
  /** Default Date.now. */
  nowMs?: () => number;
};

export type StatusBody = {
  version: string;
  startedAtMs: number;
  generatedAtMs: number;
  /** Since start: exactly the sums of infergate_requests_total, all and status_class!="2xx". */
  totals: { requests: number; errors: number };
  models: Array<{ name: string; versions: Array<VersionStatus & { replicas: string[] }> }>;
  replicas: Array<{
    id: string;
    state: string;
    address: string;
    models: string[];
    breaker: string;
    usable: boolean;
    inFlight: number;
    completed: number;
    failed: number;
    restarts: number;
    pid: number | null;
  }>;
  cache: { hits: number; misses: number; hitRatio: number | null; joins: number; hitsByTier: Record<string, number>; entries: number; bytes: number; maxBytes: number };
  history: { intervalMs: number; windowMs: number; samples: readonly StatusSample[] };
};

export class StatusData {
  readonly #deps: StatusDataDeps;
  readonly #nowMs: () => number;

  constructor(deps: StatusDataDeps) {
    this.#deps = deps;
    this.#nowMs = deps.nowMs ?? Date.now;
  }

  body(): StatusBody {
    const { history, totals, version, startedAtMs } = this.#deps;
    const { requests, errors } = totals();
    return {
      version,
      startedAtMs,
      generatedAtMs: this.#nowMs(),
      totals: { requests, errors },
      models: this.#models(),
      replicas: this.#replicas(),
      cache: this.#cache(),
      history: { intervalMs: history.intervalMs, windowMs: history.windowMs, samples: history.samples() },
    };
  }

  /** The answer to GET /admin/status (a Reply: sent as JSON, never cached). */
  reply(): { status: number; headers: Record<string, string>; body: StatusBody } {
    return { status: 200, headers: { 'cache-control': 'no-store' }, body: this.body() };
  }

  #models(): StatusBody['models'] {
    const { models, replicas } = this.#deps;
    const ready = replicas.replicas.filter((r) => r.state === 'ready');
    return models.models.map(({ name }) => ({
      name,
      versions: models.status(name).map((v) => ({ ...v, replicas: ready.filter((r) => r.runs(name, v.version)).map((r) => r.id) })),
    }));
  }

  #replicas(): StatusBody['replicas'] {
    return this.#deps.replicas.snapshots().map((r) => ({
      id: r.id,
      state: r.state,
      address: r.address,
      models: r.models,
      breaker: r.health.breaker.state,
      usable: r.health.usable,
      inFlight: r.outstanding,
      completed: r.completed,
      failed: r.failed,
      restarts: r.restarts,
      pid: r.pid,
    }));
  }

  #cache(): StatusBody['cache'] {
    const stats = this.#deps.cache.stats();
    const memory = stats.tiers.memory as Partial<{ entries: number; bytes: number; maxBytes: number }> | undefined;
    const lookups = stats.hits + stats.misses;
    return {
      hits: stats.hits,
      misses: stats.misses,
      hitRatio: lookups === 0 ? null : Math.round((stats.hits / lookups) * 10_000) / 10_000,
      joins: stats.joins,
      hitsByTier: stats.hitsByTier,
      entries: memory?.entries ?? 0,
      bytes: memory?.bytes ?? 0,
      maxBytes: memory?.maxBytes ?? 0,
    };
  }
}
