// What a batcher did, as snapshots computed on read: batch sizes (rows),
// time requests spent queued, queue depth, why batches left the queue, and
// rejects by reason. Histograms use fixed bucket bounds (upper bounds,
// inclusive) so snapshots from several gateways can be added up.

export type BatchReason = 'full' | 'preferred' | 'delay' | 'deadline' | 'oversize';
export type RejectReason = 'queueFull' | 'deadline' | 'expectedWait' | 'cancelled';

const BATCH_ROWS_BOUNDS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024] as const;
const QUEUE_MS_BOUNDS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500] as const;

type Histogram = { bounds: readonly number[]; counts: number[]; sum: number; count: number };

function histogram(bounds: readonly number[]): Histogram {
  return { bounds, counts: new Array(bounds.length + 1).fill(0), sum: 0, count: 0 };
}

function observe(h: Histogram, value: number): void {
  let i = 0;
  while (i < h.bounds.length && value > h.bounds[i]!) i++;
  h.counts[i]!++;
  h.sum += value;
  h.count++;
}

export type HistogramSnapshot = { buckets: Array<{ le: number | '+Inf'; count: number }>; count: number; mean: number };

function snapshotOf(h: Histogram): HistogramSnapshot {
  return {
    buckets: h.counts.map((count, i) => ({ le: i < h.bounds.length ? h.bounds[i]! : '+Inf', count })),
    count: h.count,
    mean: h.count ? Number((h.sum / h.count).toFixed(3)) : 0,
  };
}

export type BatchStatsSnapshot = {
  batches: number;
  requests: number;
  batchRows: HistogramSnapshot;
  queueMs: HistogramSnapshot;
  maxQueueDepth: number;
  batchesByReason: Record<BatchReason, number>;
  rejects: Record<RejectReason, number>;
  deduplicated: number;
  bisections: number;
};

export class BatchStats {
  #batches = 0;
  #requests = 0;
  #maxQueueDepth = 0;
  #deduplicated = 0;
  #bisections = 0;
  readonly #rows = histogram(BATCH_ROWS_BOUNDS);
  readonly #queueMs = histogram(QUEUE_MS_BOUNDS);
  readonly #reasons: Record<BatchReason, number> = { full: 0, preferred: 0, delay: 0, deadline: 0, oversize: 0 };
  readonly #rejects: Record<RejectReason, number> = { queueFull: 0, deadline: 0, expectedWait: 0, cancelled: 0 };

  batchFormed(reason: BatchReason, rows: number, queuedMs: readonly number[]): void {
    this.#batches++;
    this.#requests += queuedMs.length;
    this.#reasons[reason]++;
    observe(this.#rows, rows);
    for (const ms of queuedMs) observe(this.#queueMs, ms);
  }

  queueDepth(depth: number): void {
    if (depth > this.#maxQueueDepth) this.#maxQueueDepth = depth;
  }

  reject(reason: RejectReason): void {
    this.#rejects[reason]++;
  }

  deduplicated(count: number): void {
    this.#deduplicated += count;
  }

  bisected(): void {
    this.#bisections++;
  }

  snapshot(): BatchStatsSnapshot {
    return {
      batches: this.#batches,
      requests: this.#requests,
      batchRows: snapshotOf(this.#rows),
      queueMs: snapshotOf(this.#queueMs),
      maxQueueDepth: this.#maxQueueDepth,
      batchesByReason: { ...this.#reasons },
      rejects: { ...this.#rejects },
      deduplicated: this.#deduplicated,
      bisections: this.#bisections,
    };
  }
}
