// The per-request metrics: counted once, when a request ends, from its record
// (gateway/telemetry/request-record.ts), and once per worker run. Nothing
// here runs inside the infer path itself: the HTTP front hands the finished
// record over after the answer is sent.
//
// Cells are kept per model version and per outcome (common/metric-cells.ts), so a
// request costs two Map lookups and a few additions, never label hashing.

import type { Registry } from 'prom-client';
import type { RequestRecord, RunObserver } from '../telemetry/request-record.ts';
import { BATCH_ROWS_BUCKETS, CounterFamily, HistogramFamily, LATENCY_BUCKETS_SECONDS, type CounterCell, type HistogramCell } from '../../common/metric-cells.ts';

export type RequestTotals = { requests: number; errors: number; latency: { boundsSeconds: readonly number[]; cumulativeCounts: number[] } };

/** One model version's (and protocol's) cells. */
type VersionCells = {
  duration: HistogramCell;
  queue: HistogramCell;
  formation: HistogramCell;
  upstream: HistogramCell;
  encode: HistogramCell;
  /** By status, or "<status> <code>" for an error. */
  outcomes: Map<string | number, CounterCell>;
  labels: { model: string; version: string; protocol: string };
};

export class RequestMetrics {
  readonly #requests: CounterFamily;
  readonly #duration: HistogramFamily;
  readonly #queue: HistogramFamily;
  readonly #formation: HistogramFamily;
  readonly #upstream: HistogramFamily;
  readonly #encode: HistogramFamily;
  readonly #batchRows: HistogramFamily;
  /** protocol → model → version → cells: nested, so that a lookup never builds a key string. */
  readonly #byVersion = new Map<string, Map<string, Map<string, VersionCells>>>();
  readonly #rowsByVersion = new Map<string, Map<string, HistogramCell>>();

  constructor(registry: Registry) {
    this.#requests = new CounterFamily(
      registry,
      'infergate_requests_total',
      'Inference requests answered, by model, version, protocol and outcome (status class and catalogued error code).',
    );
    const latency = (name: string, help: string) => new HistogramFamily(registry, name, help, LATENCY_BUCKETS_SECONDS);
    this.#duration = latency('infergate_request_duration_seconds', 'Inference requests end to end: received to answer handed to the socket.');
    this.#queue = latency('infergate_request_queue_seconds', "Time requests waited in a batcher's queue.");
    this.#formation = latency('infergate_request_batch_formation_seconds', 'Batch left the queue to its frame handed to the dispatcher.');
    this.#upstream = latency('infergate_request_upstream_seconds', 'Frame handed to the dispatcher to answer back: waiting for a replica, retries, the round trip.');
    this.#encode = latency('infergate_request_encode_seconds', "Rendering the answer in the front's protocol and handing it to the socket.");
    this.#batchRows = new HistogramFamily(registry, 'infergate_batch_size_rows', 'Rows per frame sent to a worker.', BATCH_ROWS_BUCKETS);
  }

  /** A request ended (RequestObserver). */
  readonly onRequest = (record: RequestRecord): void => {
    const cells = this.#cells(record.model ?? '', record.version ?? '', record.protocol);
    const status = record.status ?? 500;
    const code = record.code ?? '';
    const outcome = code === '' ? status : `${status} ${code}`;
    let counter = cells.outcomes.get(outcome);
    if (!counter) {
      counter = this.#requests.cell({ ...cells.labels, status_class: `${Math.floor(status / 100)}xx`, code });
      cells.outcomes.set(outcome, counter);
    }
    counter.inc();
    const ended = record.endedMs ?? record.receivedMs;
    cells.duration.observe((ended - record.receivedMs) / 1000);
    if (record.queuedMs !== undefined && record.batchFormedMs !== undefined) cells.queue.observe((record.batchFormedMs - record.queuedMs) / 1000);
    if (record.batchFormedMs !== undefined && record.dispatchedMs !== undefined) cells.formation.observe((record.dispatchedMs - record.batchFormedMs) / 1000);
    if (record.dispatchedMs !== undefined && record.answeredMs !== undefined) cells.upstream.observe((record.answeredMs - record.dispatchedMs) / 1000);
    if (record.encodeStartMs !== undefined) cells.encode.observe((ended - record.encodeStartMs) / 1000);
  };

  /** A worker ran a frame (RunObserver). */
  readonly onRun: RunObserver = (model, version, rows) => {
    const versions = inner(this.#rowsByVersion, model);
    let cell = versions.get(version);
    if (!cell) versions.set(version, (cell = this.#batchRows.cell({ model, version })));
    cell.observe(rows);
  };

  /**
   * Every request counted so far, those that failed (any status but 2xx), and the end-to-end latency histogram over
   * all models (cumulative counts per bucket bound): read from the very cells GET /metrics exports, so that a page
   * drawn from it agrees with a scrape.
   */
  totals(): RequestTotals {
    let requests = 0;
    let errors = 0;
    for (const cell of this.#requests.cells) {
      requests += cell.value;
      if (cell.labels.status_class !== '2xx') errors += cell.value;
    }
    const bounds = this.#duration.bounds;
    const cumulativeCounts = bounds.map(() => 0);
    for (const cell of this.#duration.cells) {
      let cumulative = 0;
      for (let i = 0; i < bounds.length; i++) cumulativeCounts[i]! += cumulative += cell.counts[i]!;
    }
    return { requests, errors, latency: { boundsSeconds: bounds, cumulativeCounts } };
  }

  /** The summed end-to-end time (s) of the model's requests that ended so far: over an interval, its growth is their mean concurrency. */
  busySeconds(model: string): number {
    let seconds = 0;
    for (const models of this.#byVersion.values()) for (const cells of models.get(model)?.values() ?? []) seconds += cells.duration.sum;
    return seconds;
  }

  #cells(model: string, version: string, protocol: string): VersionCells {
    const versions = inner(inner(this.#byVersion, protocol), model);
    let cells = versions.get(version);
    if (!cells) {
      const labels = { model, version, protocol };
      cells = {
        duration: this.#duration.cell(labels),
        queue: this.#queue.cell({ model, version }),
        formation: this.#formation.cell({ model, version }),
        upstream: this.#upstream.cell({ model, version }),
        encode: this.#encode.cell(labels),
        outcomes: new Map(),
        labels,
      };
      versions.set(version, cells);
    }
    return cells;
  }
}

/** The map under `key`, made on first use. */
function inner<K, V>(outer: Map<string, Map<K, V>>, key: string): Map<K, V> {
  let map = outer.get(key);
  if (!map) outer.set(key, (map = new Map()));
  return map;
}
