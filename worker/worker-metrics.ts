// One worker's metrics, in a prom-client registry of its own (never
// prom-client's global one): what its runs cost, per model version and phase,
// and Node's process metrics. The worker has no metrics port: the gateway
// asks for the registry over the control channel (GET /metrics, as JSON) at
// each scrape and merges it into its own exposition (docs/observability.md).
// Every sample carries the worker's replica id as a default label, so the
// same family from several workers merges without clashing.
//
// Each model version's label sets are resolved once, to cells of plain
// numbers (common/metric-cells.ts), so a run costs two map lookups, a few
// bucket searches and additions.

import { collectDefaultMetrics, Registry } from 'prom-client';
import type { WorkerMetricsBody } from '../common/worker-control.ts';
import { BATCH_ROWS_BUCKETS, CounterFamily, HistogramFamily, LATENCY_BUCKETS_SECONDS, type CounterCell, type HistogramCell } from '../common/metric-cells.ts';
import type { RunRecord } from './run-record.ts';

/** The cells of one model version; its histograms only once a run of it answered (model="" never does). */
type VersionCells = { ok: CounterCell; error: CounterCell; timed: TimedCells | null };
type TimedCells = { input: HistogramCell; infer: HistogramCell; output: HistogramCell; rows: HistogramCell };

export type WorkerMetricsOptions = {
  /** The worker's replica id: the `replica` label of every sample. */
  replicaId: string;
  /** Node's process metrics (CPU, memory, heap, event loop, GC); default true. */
  processMetrics?: boolean;
};

export class WorkerMetrics {
  readonly registry = new Registry();
  readonly #compute: HistogramFamily;
  readonly #runs: CounterFamily;
  readonly #rows: HistogramFamily;
  readonly #cells = new Map<string, Map<string, VersionCells>>();

  constructor(options: WorkerMetricsOptions) {
    this.registry.setDefaultLabels({ replica: options.replicaId });
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'infergate_worker_' });
    this.#compute = new HistogramFamily(
      this.registry,
      'infergate_worker_compute_seconds',
      'One run in the worker, by phase: input (frame → onnxruntime tensors), infer (session run), output (outputs → frame).',
      LATENCY_BUCKETS_SECONDS,
    );
    this.#runs = new CounterFamily(this.registry, 'infergate_worker_runs_total', 'Frames the worker ran, by outcome (ok or error).');
    this.#rows = new HistogramFamily(this.registry, 'infergate_worker_batch_rows', 'Rows per run.', BATCH_ROWS_BUCKETS);
  }

  /** A frame ran or failed (RunObserver). Labels are the version's when the worker serves it, else model="" version="". */
  readonly onRun = (run: RunRecord): void => {
    const cells = run.served ? this.#of(run.model, run.version) : this.#of('', '');
    const { timing } = run;
    if (run.error || !timing) {
      cells.error.value++;
      return;
    }
    cells.ok.value++;
    const timed = (cells.timed ??= this.#timed(run.model, run.version));
    timed.rows.observe(run.rows);
    timed.input.observe(timing.inputMs / 1000);
    timed.infer.observe(timing.inferMs / 1000);
    timed.output.observe(timing.outputMs / 1000);
  };

  /** The registry as JSON, for GET /metrics; every sample labelled with the replica id. */
  json(): Promise<WorkerMetricsBody> {
    return this.registry.getMetricsAsJSON() as Promise<WorkerMetricsBody>;
  }

  #of(model: string, version: string): VersionCells {
    let versions = this.#cells.get(model);
    if (!versions) this.#cells.set(model, (versions = new Map()));
    let cells = versions.get(version);
    if (!cells) {
      cells = { ok: this.#runs.cell({ model, version, outcome: 'ok' }), error: this.#runs.cell({ model, version, outcome: 'error' }), timed: null };
      versions.set(version, cells);
    }
    return cells;
  }

  #timed(model: string, version: string): TimedCells {
    return {
      input: this.#compute.cell({ model, version, phase: 'input' }),
      infer: this.#compute.cell({ model, version, phase: 'infer' }),
      output: this.#compute.cell({ model, version, phase: 'output' }),
      rows: this.#rows.cell({ model, version }),
    };
  }
}
