// GET /metrics: the gateway's registry and every worker's, in one Prometheus
// text exposition. A worker has no metrics port: at each scrape the gateway
// asks each running worker for its registry over the control channel it
// already holds (GET /metrics on the worker's socket, as prom-client JSON).
// Each worker labels its own samples with its replica id, so families of the
// same name from several workers merge into one family without clashing.
//
// A worker that does not answer within the scrape timeout is left out of this
// scrape (and counted): one stuck worker must not fail the whole scrape.
//
// With server.processes > 1 the leader answers every scrape: its own families
// and each front's, every sample labelled with its process ("leader",
// "front-1", …), as NGINX Plus's API reports its workers' shared zones summed
// while each worker keeps its own connections.

import { AggregatorRegistry, Counter, Registry, type MetricObjectWithValues, type MetricValue } from 'prom-client';
import type { Replica } from '../replicas/replica.ts';

/** One process's metrics registry as prom-client JSON, named by its process label ("leader", "front-1", …). */
export type ProcessMetrics = { process: string; metrics: Array<MetricObjectWithValues<MetricValue<string>>> };

export type MetricsExpositionDeps = {
  registry: Registry;
  /** The replicas to ask; only those with a running process (or a reachable address) are asked. */
  replicas: () => readonly Replica[];
  /** How long one worker may take to answer (workers are asked in parallel). */
  workerTimeoutMs: number;
  /** In a leader of several processes: its fronts' registries. */
  otherProcesses?: () => Promise<ProcessMetrics[]>;
};

export class MetricsExposition {
  readonly #deps: MetricsExpositionDeps;
  readonly #scrapeFailures: Counter<string>;

  constructor(deps: MetricsExpositionDeps) {
    this.#deps = deps;
    this.#scrapeFailures = new Counter({
      name: 'infergate_worker_scrape_failures_total',
      help: "Scrapes that left a worker's metrics out because it did not answer in time.",
      labelNames: ['replica'],
      registers: [deps.registry],
    });
  }

  get contentType(): string {
    return this.#deps.registry.contentType;
  }

  /** The exposition text: the gateway's families, then the workers' (merged by name). */
  async text(): Promise<string> {
    const { registry, workerTimeoutMs } = this.#deps;
    const asked = this.#deps.replicas().filter((r) => r.state === 'ready' || r.state === 'draining');
    const answers = await Promise.all(
      asked.map((replica) =>
        replica.client.metrics(workerTimeoutMs).then(
          (metrics) => metrics,
          () => {
            this.#scrapeFailures.inc({ replica: replica.id });
            return null;
          },
        ),
      ),
    );
    const workers = answers.filter((m) => m !== null);
    const others = this.#deps.otherProcesses;
    if (others) {
      const processes = [{ process: 'leader', metrics: await registry.getMetricsAsJSON() }, ...(await others())];
      workers.push(...processes.map(({ process, metrics }) => metrics.map((m) => ({ ...m, values: m.values.map((v) => ({ ...v, labels: { ...v.labels, process } })) }))));
      return (AggregatorRegistry.aggregate(workers.map((metrics) => metrics.map((m) => ({ ...m, aggregator: 'sum' as const })))) as Registry).metrics();
    }
    if (workers.length === 0) return registry.metrics();
    // Every family is summed by labels: the replica label keeps each worker's samples apart, so the sum is each
    // worker's own value (prom-client's default "omit" or "average" for some process families would drop or blend them).
    const merged = AggregatorRegistry.aggregate(workers.map((metrics) => metrics.map((m) => ({ ...m, aggregator: 'sum' as const }))));
    return Registry.merge([registry, merged as Registry]).metrics();
  }
}
