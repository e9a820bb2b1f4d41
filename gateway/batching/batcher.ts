// The dynamic batcher of one model version: the mechanism around the pure
// batch policy. It owns the bounded queue, the one timer and the I/O:
//
//   submit ─▶ queue (bounded, priority) ─▶ decideBatch(queue, now, free slots)
//                 ▲                           │ dispatch ids        │ wait T
//                 │ batch done / replica ready ▼                     ▼
//                 └──────────── concat ─▶ dispatcher ─▶ split ─▶ resolve each
//
// Batches form while every replica that serves the model is busy: a batch is
// dispatched only when a replica has a free slot (maxInFlightBatchesPerReplica),
// so under load the queue fills and the next batch takes all of it, while a
// lone request finds a free replica and goes at once (plus maxQueueDelayMs).
// Running a formed batch (dedupe, concat, dispatch, split, bisection on a
// model error) is batch-runner.ts.
//
// Per request the queue work is O(log n) (the deadline heap) and the rest
// O(1) or O(priority levels): BatchQueue (batch-queue.ts) indexes what the
// policy, expiry, cancellation and load shedding ask for, so no path here
// walks the queue.

import { InfergateError } from '../../common/errors.ts';
import type { InferAnswer } from '../../common/wire.ts';
import type { BatchingConfig } from '../../config/batching-schema.ts';
import type { Dispatcher } from '../upstream/dispatcher.ts';
import type { BatchAxes } from './batch-axes.ts';
import { decideBatch, expectedWaitMs, expiredItems, type QueuedItem } from './batch-policy.ts';
import { BatchQueue } from './batch-queue.ts';
import { cancelled, queueFull, waitTooLong } from './batch-refusals.ts';
import { DrainRate } from './drain-rate.ts';
import { BatchStats, type BatchStatsSnapshot } from './batch-stats.ts';
import { runBatch, type BatchMember, type BatchRequest, type BatchRunnerOptions } from './batch-runner.ts';
import type { RunObserver } from '../telemetry/request-record.ts';

export type { BatchRequest } from './batch-runner.ts';

type Pending = QueuedItem & BatchMember;

/** What the batcher asks of the fleet: the replicas a batch may go to now, and word when one turns ready. */
export type BatchCapacity = {
  /** The routable replicas of a model version (busy or not), each with the requests it holds. */
  routable(model: string, version: string): readonly { readonly outstanding: number }[];
  /** Calls `listener` whenever capacity may have grown; returns the unsubscribe. */
  onCapacityChange(listener: () => void): () => void;
};

export type BatcherOptions = {
  model: string;
  version: string;
  config: BatchingConfig;
  /** Most output bytes one request's answer may hold (limits.maxResponseBytes). */
  maxResponseBytes: number;
  axes: BatchAxes;
  dispatcher: Dispatcher;
  capacity: BatchCapacity;
  now: () => number;
  /** Told of every batch frame a worker ran. */
  onRun?: RunObserver;
};

export class Batcher {
  readonly stats = new BatchStats();
  readonly #settings: BatcherOptions;
  readonly #queue = new BatchQueue<Pending>();
  #nextId = 0;
  #timer: NodeJS.Timeout | null = null;
  #scheduled = false;
  /** Recent run time of a batch, for the policy's "would waiting miss a deadline" rule (EWMA). */
  #expectedRunMs = 1;
  /** Rows per ms the queue drains at while it has a backlog (load shedding's wait estimate). */
  readonly #drainRate = new DrainRate(DRAIN_RATE_WINDOW_MS);
  /** Start of the backlog time not yet attributed to a dispatched batch. */
  #busyFromMs = 0;
  readonly #unsubscribe: () => void;
  /** Replaced (its model was reloaded): it takes no new request, and stops listening once its queue is empty. */
  #retired = false;

  readonly #runner: BatchRunnerOptions;

  constructor(options: BatcherOptions) {
    this.#settings = options;
    const { model, version, axes, dispatcher, now, maxResponseBytes, onRun } = options;
    this.#runner = { model, version, axes, dispatcher, maxResponseBytes, now, stats: this.stats, onRunMs: (ms) => (this.#expectedRunMs = 0.8 * this.#expectedRunMs + 0.2 * ms), onRun };
    // Only a batcher holding requests has anything to do with more capacity.
    this.#unsubscribe = options.capacity.onCapacityChange(() => {
      if (this.#queue.size > 0) this.#schedule();
    });
  }

  get queueDepth(): number {
    return this.#queue.size;
  }

  get model(): string {
    return this.#settings.model;
  }

  get version(): string {
    return this.#settings.version;
  }

  /**
   * Load shedding, callable before the request's body is read (with the
   * priority and deadline its headers give): throws GW_ERR_QUEUE_FULL when the
   * queue is full and holds nothing of lower priority, or GW_ERR_OVERLOADED
   * when the queue ahead would make it wait past its deadline or the
   * queue-delay target. Both carry Retry-After.
   */
  admit(priority: number, deadlineMs: number): void {
    const { config } = this.#settings;
    if (this.#queue.size >= config.maxQueueSize && !this.#queue.holdsLowerThan(priority)) {
      this.stats.reject('queueFull');
      throw queueFull(this.#settings.model, config.maxQueueSize);
    }
    const now = this.#settings.now();
    const waitMs = expectedWaitMs(this.#rowsAhead(priority), config.maxBatchSize, this.#replicaSlots(), this.#expectedRunMs, this.#drainRate.rowsPerMs());
    if (waitMs !== null && (now + waitMs + this.#expectedRunMs > deadlineMs || (config.maxQueueWaitMs > 0 && waitMs > config.maxQueueWaitMs))) {
      // It would expire in the queue, or wait past the queue-delay target: say so now, while the client can still go elsewhere.
      this.stats.reject('expectedWait');
      throw waitTooLong(this.#settings.model, waitMs, deadlineMs - now, config.maxQueueWaitMs);
    }
  }

  /** Queues a request; resolves with its own answer. Rejects with a catalogued error (admission as in `admit`). */
  submit(request: BatchRequest): Promise<InferAnswer> {
    const { config } = this.#settings;
    if (this.#queue.size >= config.maxQueueSize && !this.#evictForPriority(request.priority)) {
      this.stats.reject('queueFull');
      return Promise.reject(queueFull(this.#settings.model, config.maxQueueSize));
    }
    try {
      this.admit(request.priority, request.deadlineMs);
    } catch (err) {
      return Promise.reject(err);
    }
    const { signal } = request;
    if (signal?.aborted) return Promise.reject(cancelled(this.#settings.model));
    const now = this.#settings.now();
    if (this.#queue.size === 0) this.#busyFromMs = now;
    if (request.record) request.record.queuedMs = now;
    return new Promise((resolve, reject) => {
      const id = this.#nextId++;
      const item = { id, rows: Math.max(1, request.rows), groupKey: request.groupKey, priority: request.priority, enqueuedAtMs: now, deadlineMs: request.deadlineMs, request, resolve, reject };
      if (signal) {
        // Only a request that can be cancelled pays for the listener.
        const leave = () => this.#cancel(id);
        signal.addEventListener('abort', leave, { once: true });
        item.resolve = (answer) => {
          signal.removeEventListener('abort', leave);
          resolve(answer);
        };
        item.reject = (err) => {
          signal.removeEventListener('abort', leave);
          reject(err);
        };
      }
      this.#queue.push(item);
      this.stats.queueDepth(this.#queue.size);
      this.#schedule();
    });
  }

  /** A queued request whose client went away leaves the queue; one already in a batch runs on. */
  #cancel(id: number): void {
    const item = this.#queue.remove(id);
    if (!item) return;
    this.stats.reject('cancelled');
    this.stats.queueDepth(this.#queue.size);
    item.reject(cancelled(this.#settings.model));
  }

  snapshot(): BatchStatsSnapshot & { queueDepth: number; expectedRunMs: number; drainRowsPerMs: number | null } {
    const drain = this.#drainRate.rowsPerMs();
    return {
      ...this.stats.snapshot(),
      queueDepth: this.#queue.size,
      expectedRunMs: Number(this.#expectedRunMs.toFixed(3)),
      drainRowsPerMs: drain === null ? null : Number(drain.toFixed(3)),
    };
  }

  /** Its model was reloaded: new requests go to a new batcher; this one runs what it holds, then lets go. */
  retire(): void {
    this.#retired = true;
    this.#schedule();
  }

  /** Fails the requests queued now and goes on batching (their version lost its replicas, and another version answers them). */
  failQueued(err: InfergateError): void {
    for (const item of this.#queue.clear()) item.reject(err);
  }

  /** Fails every queued request (shutdown after the grace period). Idempotent. */
  destroy(err: InfergateError): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#unsubscribe();
    for (const item of this.#queue.clear()) item.reject(err);
  }

  /** A full queue admits a request of strictly higher priority by shedding its lowest-priority, newest item. */
  #evictForPriority(priority: number): boolean {
    const victim = this.#queue.sheddingVictim(priority);
    if (!victim) return false;
    this.#queue.remove(victim.id);
    this.stats.reject('queueFull');
    victim.reject(queueFull(this.#settings.model, this.#settings.config.maxQueueSize));
    return true;
  }

  /** Coalesces every trigger of one tick into one policy pass. */
  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(() => {
      this.#scheduled = false;
      this.#pump();
    });
  }

  #pump(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#retired && this.#queue.size === 0) {
      this.#unsubscribe();
      return;
    }
    for (;;) {
      const now = this.#settings.now();
      this.#expire(now);
      const decision = decideBatch(this.#queue, now, this.#freeSlots(), this.#settings.config, this.#expectedRunMs);
      if (decision.kind === 'wait') {
        if (decision.wakeInMs !== null) {
          this.#timer = setTimeout(() => this.#pump(), Math.max(0, decision.wakeInMs));
          this.#timer.unref();
        }
        return;
      }
      // In queue order, as before: ids grow with arrival.
      const batch = decision.ids.map((id) => this.#queue.remove(id)!).sort((a, b) => a.id - b.id);
      const rows = batch.reduce((n, p) => n + p.rows, 0);
      this.#drainRate.observe(rows, now - this.#busyFromMs);
      this.#busyFromMs = now;
      this.stats.batchFormed(decision.reason, rows, batch.map((p) => now - p.enqueuedAtMs));
      this.stats.queueDepth(this.#queue.size);
      void this.#run(batch);
    }
  }

  #expire(now: number): void {
    for (const id of expiredItems(this.#queue, now)) {
      const item = this.#queue.remove(id)!;
      this.stats.reject('deadline');
      item.reject(new InfergateError('GW_ERR_DEADLINE_EXCEEDED', `queued ${Math.round(now - item.enqueuedAtMs)} ms for a batch of model "${this.#settings.model}"`));
    }
  }

  /** Rows queued that would be batched before a request of this priority (same or higher priority). */
  #rowsAhead(priority: number): number {
    return this.#queue.rowsAtOrAbove(priority);
  }

  /** Batch slots of the model's routable replicas, busy or not. */
  #replicaSlots(): number {
    return this.#settings.capacity.routable(this.#settings.model, this.#settings.version).length * this.#settings.config.maxInFlightBatchesPerReplica;
  }

  /** Batch slots free now: per ready replica of the model, its allowance minus what it holds. */
  #freeSlots(): number {
    let free = 0;
    for (const replica of this.#settings.capacity.routable(this.#settings.model, this.#settings.version)) {
      free += Math.max(0, this.#settings.config.maxInFlightBatchesPerReplica - replica.outstanding);
    }
    return free;
  }

  async #run(batch: Pending[]): Promise<void> {
    try {
      await runBatch(batch, this.#runner);
    } finally {
      this.#schedule();
    }
  }
}

/** The drain rate follows the load over about this long. */
const DRAIN_RATE_WINDOW_MS = 1_000;
