// One worker's metrics, in a prom-client registry of its own (never
// prom-client's global one): what its runs cost, per model version and phase,
// and Node's process metrics. The worker has no metrics port: the gateway
// asks for the registry over the control channel (GET /metrics, as JSON) at
// each scrape and merges it into its own exposition (docs/observability.md).
// Every sample carries the worker's replica id as a default label, so the
// same family from several workers merges without clashing.
//
// prom-client's label children validate and hash their labels on every call;
// here each model version's label sets are resolved once, to cells of plain
// numbers, so a run costs two map lookups, a few bucket searches and
// additions. The registry reads the cells only when asked, through
// prom-client's metric interface (an object with a name and a get()
// answering the family), as the gateway's metric-cells.ts does.

import { collectDefaultMetrics, Registry } from 'prom-client';
import type { WorkerMetricsBody } from '../common/wire.ts';
import type { RunRecord } from './run-record.ts';

/** Seconds, 100 µs to 30 s (docs/observability.md). */
export const LATENCY_BUCKETS_SECONDS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** Rows per run: powers of two up to the largest batch a model may be configured for. */
export const ROWS_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];

type Labels = Readonly<Record<string, string>>;
type Sample = { labels: Record<string, string | number>; value: number; metricName?: string };
type Family = { name: string; help: string; type: 'counter' | 'histogram'; aggregator: 'sum'; values: Sample[] };

class CounterCell {
  readonly labels: Labels;
  value = 0;

  constructor(labels: Labels) {
    this.labels = labels;
  }
}

class HistogramCell {
  readonly labels: Labels;
  readonly bounds: readonly number[];
  /** Per bucket, not cumulative (get() sums them); the last slot is +Inf's own. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(labels: Labels, bounds: readonly number[]) {
    this.labels = labels;
    this.bounds = bounds;
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    this.counts[i]!++;
    this.sum += value;
    this.count++;
  }
}

/** A family of cells, one per label set, created on first use and kept; registered as prom-client reads a metric. */
class CellFamily<C extends CounterCell | HistogramCell> {
  readonly name: string;
  readonly #help: string;
  readonly #type: Family['type'];
  readonly #cells: C[] = [];
  readonly #make: (labels: Labels) => C;

  constructor(registry: Registry, name: string, help: string, type: Family['type'], make: (labels: Labels) => C) {
    this.name = name;
    this.#help = help;
    this.#type = type;
    this.#make = make;
    registry.registerMetric(this as never);
  }

  cell(labels: Labels): C {
    const cell = this.#make(labels);
    this.#cells.push(cell);
    return cell;
  }

  /** prom-client's metric interface: the family as the registry formats it. */
  async get(): Promise<Family> {
    const values: Sample[] = [];
    for (const cell of this.#cells) {
      if (cell instanceof CounterCell) {
        values.push({ labels: { ...cell.labels }, value: cell.value });
        continue;
      }
      let cumulative = 0;
      for (let i = 0; i <= cell.bounds.length; i++) {
        cumulative += cell.counts[i]!;
        values.push({ labels: { ...cell.labels, le: i < cell.bounds.length ? cell.bounds[i]! : '+Inf' }, value: cumulative, metricName: `${this.name}_bucket` });
      }
      values.push({ labels: { ...cell.labels }, value: cell.sum, metricName: `${this.name}_sum` });
      values.push({ labels: { ...cell.labels }, value: cell.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.#help, type: this.#type, aggregator: 'sum', values };
  }
}

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
  readonly #compute: CellFamily<HistogramCell>;
  readonly #runs: CellFamily<CounterCell>;
  readonly #rows: CellFamily<HistogramCell>;
  readonly #cells = new Map<string, Map<string, VersionCells>>();

  constructor(options: WorkerMetricsOptions) {
    this.registry.setDefaultLabels({ replica: options.replicaId });
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'infergate_worker_' });
    this.#compute = new CellFamily(
      this.registry,
      'infergate_worker_compute_seconds',
      'One run in the worker, by phase: input (frame → onnxruntime tensors), infer (session run), output (outputs → frame).',
      'histogram',
      (labels) => new HistogramCell(labels, LATENCY_BUCKETS_SECONDS),
    );
    this.#runs = new CellFamily(this.registry, 'infergate_worker_runs_total', 'Frames the worker ran, by outcome (ok or error).', 'counter', (labels) => new CounterCell(labels));
    this.#rows = new CellFamily(this.registry, 'infergate_worker_batch_rows', 'Rows per run.', 'histogram', (labels) => new HistogramCell(labels, ROWS_BUCKETS));
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
