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
//
// A batch that fails because the model rejected an input (not a replica
// failure) is bisected and re-run, so one poisoned request fails alone.

import { InfergateError } from '../../common/errors.ts';
import { answerFromFrame, encodeFrame, requestHeader, type InferAnswer, type InferRequestHeader, type Tensor } from '../../common/wire.ts';
import type { BatchingConfig } from '../../config/schema.ts';
import type { ReplicaSet } from '../replicas/replica-set.ts';
import type { Dispatcher } from '../upstream/dispatcher.ts';
import type { BatchAxes } from './batch-axes.ts';
import { decideBatch, expectedWaitMs, expiredItems, type QueuedItem } from './batch-policy.ts';
import { DrainRate } from './drain-rate.ts';
import { BatchStats, type BatchStatsSnapshot } from './batch-stats.ts';
import { concatAlongAxes, splitAlongAxes } from './tensor-batch.ts';

export type BatchRequest = {
  tensors: Tensor[];
  outputs: string[] | undefined;
  rows: number;
  groupKey: string;
  /** Identical requests in one batch run once: the result cache's key when the cache computed one. */
  dedupeKey: string | undefined;
  priority: number;
  deadlineMs: number;
};

type Pending = QueuedItem & {
  request: BatchRequest;
  resolve: (answer: InferAnswer) => void;
  reject: (err: InfergateError) => void;
};

export type BatcherOptions = {
  model: string;
  version: string;
  config: BatchingConfig;
  axes: BatchAxes;
  dispatcher: Dispatcher;
  replicas: ReplicaSet;
  now: () => number;
};

export class Batcher {
  readonly stats = new BatchStats();
  readonly #o: BatcherOptions;
  readonly #queue: Pending[] = [];
  #nextId = 0;
  #timer: NodeJS.Timeout | null = null;
  #scheduled = false;
  /** Recent run time of a batch, for the policy's "would waiting miss a deadline" rule (EWMA). */
  #expectedRunMs = 1;
  /** Rows per ms the queue drains at while it has a backlog (load shedding's wait estimate). */
  readonly #drainRate = new DrainRate(DRAIN_RATE_WINDOW_MS);
  /** Start of the backlog time not yet attributed to a dispatched batch. */
  #busyFromMs = 0;
  readonly #onReplicaState = (_r: unknown, _from: string, to: string) => {
    if (to === 'ready') this.#schedule();
  };

  constructor(options: BatcherOptions) {
    this.#o = options;
    options.replicas.on('state', this.#onReplicaState);
  }

  get queueDepth(): number {
    return this.#queue.length;
  }

  /**
   * Load shedding, callable before the request's body is read (with the
   * priority and deadline its headers give): throws GW_ERR_QUEUE_FULL when the
   * queue is full and holds nothing of lower priority, or GW_ERR_OVERLOADED
   * when the queue ahead would make it wait past its deadline or the
   * queue-delay target. Both carry Retry-After.
   */
  admit(priority: number, deadlineMs: number): void {
    const { config } = this.#o;
    if (this.#queue.length >= config.maxQueueSize && !this.#queue.some((item) => item.priority > priority)) {
      this.stats.reject('queueFull');
      throw queueFull(this.#o.model, config.maxQueueSize);
    }
    const now = this.#o.now();
    const waitMs = expectedWaitMs(this.#rowsAhead(priority), config.maxBatchSize, this.#replicaSlots(), this.#expectedRunMs, this.#drainRate.rowsPerMs());
    if (waitMs !== null && (now + waitMs + this.#expectedRunMs > deadlineMs || (config.maxQueueWaitMs > 0 && waitMs > config.maxQueueWaitMs))) {
      // It would expire in the queue, or wait past the queue-delay target: say so now, while the client can still go elsewhere.
      this.stats.reject('expectedWait');
      const error = new InfergateError(
        'GW_ERR_OVERLOADED',
        `model "${this.#o.model}": about ${Math.round(waitMs)} ms of queued work is ahead (deadline in ${Math.max(0, Math.round(deadlineMs - now))} ms, queue-delay target ${config.maxQueueWaitMs || 'none'})`,
      );
      error.retryAfterSeconds = 1;
      throw error;
    }
  }

  /** Queues a request; resolves with its own answer. Rejects with a catalogued error (admission as in `admit`). */
  submit(request: BatchRequest): Promise<InferAnswer> {
    const { config } = this.#o;
    if (this.#queue.length >= config.maxQueueSize && !this.#evictForPriority(request.priority)) {
      this.stats.reject('queueFull');
      return Promise.reject(queueFull(this.#o.model, config.maxQueueSize));
    }
    try {
      this.admit(request.priority, request.deadlineMs);
    } catch (err) {
      return Promise.reject(err);
    }
    const now = this.#o.now();
    if (this.#queue.length === 0) this.#busyFromMs = now;
    return new Promise((resolve, reject) => {
      this.#queue.push({
        id: this.#nextId++,
        rows: Math.max(1, request.rows),
        groupKey: request.groupKey,
        priority: request.priority,
        enqueuedAtMs: now,
        deadlineMs: request.deadlineMs,
        request,
        resolve,
        reject,
      });
      this.stats.queueDepth(this.#queue.length);
      this.#schedule();
    });
  }

  snapshot(): BatchStatsSnapshot & { queueDepth: number; expectedRunMs: number; drainRowsPerMs: number | null } {
    const drain = this.#drainRate.rowsPerMs();
    return {
      ...this.stats.snapshot(),
      queueDepth: this.#queue.length,
      expectedRunMs: Number(this.#expectedRunMs.toFixed(3)),
      drainRowsPerMs: drain === null ? null : Number(drain.toFixed(3)),
    };
  }

  /** Fails every queued request (shutdown after the grace period). Idempotent. */
  destroy(err: InfergateError): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#o.replicas.off('state', this.#onReplicaState);
    for (const item of this.#queue.splice(0)) item.reject(err);
  }

  /** A full queue admits a request of strictly higher priority by shedding its lowest-priority, newest item. */
  #evictForPriority(priority: number): boolean {
    let victim: Pending | undefined;
    for (const item of this.#queue) {
      if (item.priority <= priority) continue;
      if (!victim || item.priority > victim.priority || (item.priority === victim.priority && item.enqueuedAtMs >= victim.enqueuedAtMs)) victim = item;
    }
    if (!victim) return false;
    this.#queue.splice(this.#queue.indexOf(victim), 1);
    this.stats.reject('queueFull');
    victim.reject(queueFull(this.#o.model, this.#o.config.maxQueueSize));
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
    for (;;) {
      const now = this.#o.now();
      this.#expire(now);
      const decision = decideBatch(this.#queue, now, this.#freeSlots(), this.#o.config, this.#expectedRunMs);
      if (decision.kind === 'wait') {
        if (decision.wakeInMs !== null) {
          this.#timer = setTimeout(() => this.#pump(), Math.max(0, decision.wakeInMs));
          this.#timer.unref();
        }
        return;
      }
      const ids = new Set(decision.ids);
      const batch: Pending[] = [];
      for (let i = this.#queue.length - 1; i >= 0; i--) {
        if (ids.has(this.#queue[i]!.id)) batch.push(this.#queue.splice(i, 1)[0]!);
      }
      batch.reverse();
      const rows = batch.reduce((n, p) => n + p.rows, 0);
      this.#drainRate.observe(rows, now - this.#busyFromMs);
      this.#busyFromMs = now;
      this.stats.batchFormed(decision.reason, rows, batch.map((p) => now - p.enqueuedAtMs));
      this.stats.queueDepth(this.#queue.length);
      void this.#run(batch);
    }
  }

  #expire(now: number): void {
    const expired = new Set(expiredItems(this.#queue, now));
    if (expired.size === 0) return;
    for (let i = this.#queue.length - 1; i >= 0; i--) {
      const item = this.#queue[i]!;
      if (!expired.has(item.id)) continue;
      this.#queue.splice(i, 1);
      this.stats.reject('deadline');
      item.reject(new InfergateError('GW_ERR_DEADLINE_EXCEEDED', `queued ${Math.round(now - item.enqueuedAtMs)} ms for a batch of model "${this.#o.model}"`));
    }
  }

  /** Rows queued that would be batched before a request of this priority (same or higher priority). */
  #rowsAhead(priority: number): number {
    let rows = 0;
    for (const item of this.#queue) if (item.priority <= priority) rows += item.rows;
    return rows;
  }

  /** Batch slots of the model's routable replicas, busy or not. */
  #replicaSlots(): number {
    return this.#o.replicas.candidates(this.#o.model).length * this.#o.config.maxInFlightBatchesPerReplica;
  }

  /** Batch slots free now: per ready replica of the model, its allowance minus what it holds. */
  #freeSlots(): number {
    let free = 0;
    for (const replica of this.#o.replicas.candidates(this.#o.model)) {
      free += Math.max(0, this.#o.config.maxInFlightBatchesPerReplica - replica.outstanding);
    }
    return free;
  }

  /** Runs one batch (identical requests once) and answers each member; bisects on a model error. */
  async #run(batch: Pending[]): Promise<void> {
    const unique = new Map<string, Pending[]>();
    for (const item of batch) {
      const key = batch.length === 1 ? '' : dedupeKeyOf(item.request);
      const same = key === undefined ? undefined : unique.get(key);
      if (same) same.push(item);
      else unique.set(key ?? `unique:${item.id}`, [item]);
    }
    if (unique.size < batch.length) this.stats.deduplicated(batch.length - unique.size);
    try {
      await this.#execute([...unique.values()]);
    } finally {
      this.#schedule();
    }
  }

  async #execute(groups: Pending[][]): Promise<void> {
    const { model, version, axes, dispatcher } = this.#o;
    const leaders = groups.map((g) => g[0]!);
    const first = leaders[0]!.request;
    const deadlineMs = Math.max(...leaders.map((p) => p.request.deadlineMs));
    const tensors = leaders.length === 1 ? first.tensors : concatAlongAxes(leaders.map((p) => p.request.tensors), axes.inputs);
    const encode = (budgetMs: number): Uint8Array => encodeFrame<InferRequestHeader>(requestHeader(model, version, first.outputs, budgetMs), tensors);
    const startedMs = this.#o.now();
    let answer: Uint8Array;
    try {
      answer = await dispatcher.dispatch(model, encode, deadlineMs);
    } catch (err) {
      const error = err instanceof InfergateError ? err : new InfergateError('GW_ERR_INTERNAL', String(err));
      if (error.code === 'GW_ERR_MODEL_EXECUTION' && groups.length > 1) {
        // Poison isolation: re-run each half; the bad request ends up alone.
        this.stats.bisected();
        const middle = Math.ceil(groups.length / 2);
        await Promise.all([this.#execute(groups.slice(0, middle)), this.#execute(groups.slice(middle))]);
        return;
      }
      for (const group of groups) for (const item of group) item.reject(error);
      return;
    }
    this.#expectedRunMs = 0.8 * this.#expectedRunMs + 0.2 * (this.#o.now() - startedMs);

    const whole = answerFromFrame(answer);
    if (leaders.length === 1) {
      for (const item of groups[0]!) item.resolve(whole);
      return;
    }
    // Each member gets views of its own rows; nothing is re-encoded here.
    const parts = splitAlongAxes(whole.tensors, leaders.map((p) => p.request.rows), axes.outputs);
    for (const [i, group] of groups.entries()) {
      const own: InferAnswer = { model: whole.model, version: whole.version, tensors: parts[i]! };
      for (const item of group) item.resolve(own);
    }
  }
}

/** The drain rate follows the load over about this long. */
const DRAIN_RATE_WINDOW_MS = 1_000;

/** Requests larger than this are not compared byte for byte (they are rarely identical, and the key would be large). */
const MAX_DEDUPE_BYTES = 16 * 1024;

/**
 * The identity of a request within its batch: the cache key when there is
 * one, else the raw input bytes as a latin1 string (exact, and much cheaper
 * than a SHA-256 for small tensors; members of a batch already share names,
 * datatypes and non-batch dims). Undefined: never merged.
 */
function dedupeKeyOf(request: BatchRequest): string | undefined {
  if (request.dedupeKey !== undefined) return request.dedupeKey;
  let bytes = 0;
  for (const t of request.tensors) bytes += t.data.byteLength;
  if (bytes > MAX_DEDUPE_BYTES) return undefined;
  let key = '';
  for (const t of request.tensors) key += `\u0000${Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).toString('latin1')}`;
  return key;
}

function queueFull(model: string, size: number): InfergateError {
  const error = new InfergateError('GW_ERR_QUEUE_FULL', `model "${model}" has ${size} requests queued`);
  error.retryAfterSeconds = 1;
  return error;
}
