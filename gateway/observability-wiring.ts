// Puts the gateway's observability together: one prom-client registry (the
// gateway's own, never prom-client's global one) with the per-request
// metrics, the fleet's state and Node's process metrics; the workers'
// registries merged in at scrape time; the trace spans when a tracer is
// given. What the HTTP front reports at the end of each request fans out to
// every reader of request records.

import { collectDefaultMetrics, Registry } from 'prom-client';
import type { Tracer } from '@opentelemetry/api';
import type { ModelRegistry } from './models/registry.ts';
import { registerFleetMetrics, type FleetSources } from './observability/fleet-metrics.ts';
import { MetricsExposition, type ProcessMetrics } from './observability/metrics-exposition.ts';
import { RequestMetrics } from './observability/request-metrics.ts';
import { RequestSpans } from './observability/request-spans.ts';
import type { ObservabilityRoutes } from './http/handlers.ts';
import type { RequestObserver, RequestRecord, RunObserver } from './telemetry/request-record.ts';
import type { Logger } from '../common/logger.ts';
import type { LoggingConfig } from '../config/schema.ts';
import { accessLog } from './observability/access-log.ts';
import { InferenceStats, type ModelStatsBody } from './observability/inference-stats.ts';
import { mergeModelStats } from './observability/stats-merge.ts';
import { StatusData } from './observability/status-data.ts';
import { StatusHistory } from './observability/status-history.ts';
import { StatusPage } from './observability/status-page.ts';

export type ObservabilityDeps = FleetSources & {
  models: ModelRegistry;
  /** A tracer from a configured provider; absent: no spans (the client's traceparent still reaches the workers). */
  tracer?: Tracer;
  /** How long one worker may take to hand over its metrics at a scrape. */
  workerScrapeTimeoutMs: number;
  /** In a leader of several processes: its fronts' metrics registries, merged into GET /metrics. */
  otherProcesses?: () => Promise<ProcessMetrics[]>;
  /** In a leader of several processes: its fronts' inference statistics (same arguments as the route's). */
  otherStats?: (model: string | undefined, version: string | undefined) => Promise<ModelStatsBody[]>;
  logger: Logger;
  logging: LoggingConfig;
  random: () => number;
  /** The gateway's version, shown on the status page. */
  version: string;
};

export type Observability = {
  registry: Registry;
  /** Triton's statistics of this process alone (what a front hands its leader). */
  statsBody: (model: string | undefined, version: string | undefined) => ModelStatsBody;
  /** Triton's statistics of every process of the gateway (the leader asks its fronts). */
  allStatsBody: (model: string | undefined, version: string | undefined) => ModelStatsBody | Promise<ModelStatsBody>;
  requestMetrics: RequestMetrics;
  routes: ObservabilityRoutes;
  /** For the HTTP front: every inference request's record when it ends, and as it begins. */
  observe: RequestObserver;
  begin: ((record: RequestRecord) => void) | undefined;
  /** For the infer path: every frame a worker ran. */
  onRun: RunObserver;
  close(): void;
};

export function buildObservability(deps: ObservabilityDeps): Observability {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'infergate_' });
  const requestMetrics = new RequestMetrics(registry);
  registerFleetMetrics(registry, deps);
  const exposition = new MetricsExposition({
    registry,
    replicas: () => deps.replicas.replicas,
    workerTimeoutMs: deps.workerScrapeTimeoutMs,
    ...(deps.otherProcesses ? { otherProcesses: deps.otherProcesses } : {}),
  });
  const spans = deps.tracer ? new RequestSpans({ tracer: deps.tracer }) : undefined;

  const stats = new InferenceStats({ models: deps.models });
  const history = new StatusHistory({ read: () => requestMetrics.totals() }).start();
  const statusData = new StatusData({
    models: deps.models,
    replicas: deps.replicas,
    cache: deps.cache,
    history,
    totals: () => requestMetrics.totals(),
    version: deps.version,
    startedAtMs: Date.now(),
  });
  const statusPage = new StatusPage();
  const allStats = (model: string | undefined, version: string | undefined): ModelStatsBody | Promise<ModelStatsBody> => {
    const own = stats.body(model, version);
    const others = deps.otherStats;
    return others ? others(model, version).then((bodies) => mergeModelStats([own, ...bodies])) : own;
  };

  const observers: RequestObserver[] = [requestMetrics.onRequest, stats.onRequest];
  if (spans) observers.push(spans.onRequest);
  const { accessLog: access } = deps.logging;
  if (access.enabled) observers.push(accessLog(deps.logger, { sampleRate: access.sampleRate, random: deps.random }));
  const runObservers: RunObserver[] = [requestMetrics.onRun, stats.onRun];

  return {
    registry,
    statsBody: (model, version) => stats.body(model, version),
    allStatsBody: allStats,
    requestMetrics,
    routes: {
      metrics: async () => ({ status: 200, headers: { 'content-type': exposition.contentType }, body: await exposition.text() }),
      modelStats: (model, version) => {
        const body = allStats(model, version);
        return body instanceof Promise ? body.then((merged) => ({ status: 200, body: merged })) : { status: 200, body };
      },
      statusPage: () => statusPage.reply(),
      statusData: () => statusData.reply(),
    },
    observe: (record) => {
      for (const observer of observers) observer(record);
    },
    begin: spans?.begin,
    onRun: (model, version, rows, timing) => {
      for (const observer of runObservers) observer(model, version, rows, timing);
    },
    close: () => history.close(),
  };
}
