// Counters and histograms for the per-request hot path, exported through a
// prom-client registry. prom-client's own label children validate and hash
// their labels on every observe (about a microsecond each, several per
// request); here a label set is resolved once, to a cell of plain numbers,
// and an observe is a bucket search and three additions. The registry reads
// the cells only when scraped, as prom-client's metric interface allows (an
// object with a name and a get() answering the family and its samples; it is
// how prom-client's AggregatorRegistry registers merged families).

import type { Registry } from 'prom-client';

/** Latency upper bounds in seconds, for both processes: 100 µs (a cache hit) to 30 s (a long run, or a long wait). */
export const LATENCY_BUCKETS_SECONDS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** Rows per frame: powers of two up to the largest batch a model may be configured for. */
export const BATCH_ROWS_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];

type Labels = Readonly<Record<string, string>>;
type Sample = { labels: Record<string, string | number>; value: number; metricName?: string };
type Family = { name: string; help: string; type: 'counter' | 'histogram'; aggregator: 'sum'; values: Sample[] };

export class CounterCell {
  value = 0;
  readonly labels: Labels;

  constructor(labels: Labels) {
    this.labels = labels;
  }

  inc(by = 1): void {
    this.value += by;
  }
}

export class HistogramCell {
  readonly labels: Labels;
  readonly #bounds: readonly number[];
  /** Per bucket, not cumulative (the exposition sums them); the last slot is +Inf's own. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(labels: Labels, bounds: readonly number[]) {
    this.labels = labels;
    this.#bounds = bounds;
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    const bounds = this.#bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    this.counts[i]!++;
    this.sum += value;
    this.count++;
  }
}

/** A family of counters: one cell per label set, created on first use and kept. */
export class CounterFamily {
  readonly name: string;
  readonly #help: string;
  readonly #cells: CounterCell[] = [];

  constructor(registry: Registry, name: string, help: string) {
    this.name = name;
    this.#help = help;
    registry.registerMetric(this as never);
  }

  cell(labels: Labels): CounterCell {
    const cell = new CounterCell(labels);
    this.#cells.push(cell);
    return cell;
  }

  get cells(): readonly CounterCell[] {
    return this.#cells;
  }

  /** prom-client's metric interface: the family as the registry formats it. */
  async get(): Promise<Family> {
    return { name: this.name, help: this.#help, type: 'counter', aggregator: 'sum', values: this.#cells.map((c) => ({ labels: { ...c.labels }, value: c.value })) };
  }
}

/** A family of histograms with fixed upper bounds. */
export class HistogramFamily {
  readonly name: string;
  readonly bounds: readonly number[];
  readonly #help: string;
  readonly #cells: HistogramCell[] = [];

  constructor(registry: Registry, name: string, help: string, bounds: readonly number[]) {
    this.name = name;
    this.#help = help;
    this.bounds = bounds;
    registry.registerMetric(this as never);
  }

  cell(labels: Labels): HistogramCell {
    const cell = new HistogramCell(labels, this.bounds);
    this.#cells.push(cell);
    return cell;
  }

  get cells(): readonly HistogramCell[] {
    return this.#cells;
  }

  async get(): Promise<Family> {
    const values: Sample[] = [];
    for (const cell of this.#cells) {
      let cumulative = 0;
      for (let i = 0; i <= this.bounds.length; i++) {
        cumulative += cell.counts[i]!;
        values.push({ labels: { ...cell.labels, le: i < this.bounds.length ? this.bounds[i]! : '+Inf' }, value: cumulative, metricName: `${this.name}_bucket` });
      }
      values.push({ labels: { ...cell.labels }, value: cell.sum, metricName: `${this.name}_sum` });
      values.push({ labels: { ...cell.labels }, value: cell.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.#help, type: 'histogram', aggregator: 'sum', values };
  }
}
