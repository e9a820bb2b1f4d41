// The JSON bodies of a worker's control routes (common/wire.ts lists the
// routes): what the gateway sends to load a model, and what a worker answers
// about its readiness, its runs and its metrics.

import type { MetricObjectWithValues, MetricValue } from 'prom-client';

/**
 * Body of POST /models/{name}/load: the versions the worker is to serve of the model, replacing those it serves
 * now. Absent (or no body): the versions the model's versionPolicy serves.
 */
export type WorkerModelLoadBody = { versions?: string[] };

/** GET /health/ready answer (200 when ready, 503 while loading or draining). */
export type WorkerReadyBody = { ready: boolean; state: 'loading' | 'ready' | 'draining' };

/** What one worker ran for one model version (GET /stats). */
export type WorkerModelStats = {
  /** Inference runs (one per request the worker received, batched or not). */
  runs: number;
  /** Rows run: the first input's first dim, summed. */
  rows: number;
  /** Runs by rows per run, e.g. {"1": 10, "32": 4}. */
  runsByRows: Record<string, number>;
  failures: number;
  /** Requests dropped unrun: their deadline (timeoutMs after receipt) had passed when their turn came. */
  expired: number;
};

/** GET /stats answer: per "<model>/<version>". */
export type WorkerStatsBody = { models: Record<string, WorkerModelStats> };

/** GET /metrics answer: prom-client's Registry.getMetricsAsJSON() of the worker's own registry. */
export type WorkerMetricsBody = MetricObjectWithValues<MetricValue<string>>[];
