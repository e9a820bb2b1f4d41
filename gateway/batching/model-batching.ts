// Per-model batching plans: the gateway's batching defaults merged with each
// model's config.yaml, the model's batch axes (read from its signature once a
// replica reported it), and one Batcher per model version, made on first use.

import { InfergateError } from '../../common/errors.ts';
import type { BatchingConfig } from '../../config/batching-schema.ts';
import type { RepositoryModel } from '../../common/model-repository.ts';
import type { ResolvedModel } from '../models/registry.ts';
import type { Dispatcher } from '../upstream/dispatcher.ts';
import { batchAxesFor, type BatchAxes } from './batch-axes.ts';
import { Batcher, type BatchCapacity } from './batcher.ts';
import type { RejectReason } from './batch-stats.ts';
import type { RunObserver } from '../telemetry/request-record.ts';

type ModelSettings = { config: BatchingConfig; timeoutMs: number; batchAxes: Record<string, number> | undefined };

/** How one request of one model version is to run. */
export type ModelPlan = {
  /** Undefined when batching is off for the model or its signature cannot be batched. */
  batcher: Batcher | undefined;
  axes: BatchAxes | undefined;
  /** Input → batch axis when the model's signature has batch axes (batched or not): where limits.maxRowsPerRequest applies. */
  batchAxes: ReadonlyMap<string, number> | undefined;
  unbatchedReason: string | undefined;
  timeoutMs: number;
  priorityLevels: number;
  defaultPriority: number;
};

export type ModelBatchingOptions = {
  defaults: BatchingConfig;
  requestTimeoutMs: number;
  /** limits.maxResponseBytes: most output bytes of one request's answer. */
  maxResponseBytes: number;
  /** The model as the registry has it now (its config.yaml's batching settings). */
  modelOf: (name: string) => RepositoryModel;
  dispatcher: Dispatcher;
  capacity: BatchCapacity;
  now: () => number;
  /** Told of every batch frame a worker ran. */
  onRun?: RunObserver;
};

export class ModelBatching {
  readonly #deps: ModelBatchingOptions;
  /** Per model record (a reload with another config.yaml brings a new record, and so new settings). */
  readonly #settings = new WeakMap<RepositoryModel, ModelSettings>();
  readonly #plans = new Map<string, ModelPlan & { model: RepositoryModel }>();
  /** Batchers of reloaded models, still running what they hold (failed at shutdown like the others). */
  readonly #retired = new Set<Batcher>();

  constructor(options: ModelBatchingOptions) {
    this.#deps = options;
  }

  /** A request's deadline when it names none: the model's `batching.defaultTimeoutMs`, else `upstream.requestTimeoutMs`. */
  defaultTimeoutMs(modelName: string): number {
    return this.#settingsOf(this.#deps.modelOf(modelName)).timeoutMs;
  }

  plan(model: ResolvedModel): ModelPlan {
    const record = this.#deps.modelOf(model.name);
    const key = `${model.name}/${model.version}`;
    const known = this.#plans.get(key);
    // A plan stands while its model record does; a reload makes the next request plan afresh (the old batcher drains).
    if (known && known.model === record) return known;
    if (known?.batcher) {
      known.batcher.retire();
      this.#retired.add(known.batcher);
    }
    const settings = this.#settingsOf(record);
    const { config } = settings;
    const axes = batchAxesFor(model.signature, settings.batchAxes);
    const base = {
      timeoutMs: settings.timeoutMs,
      priorityLevels: config.priorityLevels,
      defaultPriority: config.defaultPriority,
      batchAxes: axes.ok ? axes.axes.inputs : undefined,
    };
    let plan: ModelPlan;
    if (!config.enabled) plan = { ...base, batcher: undefined, axes: undefined, unbatchedReason: 'batching is off in config' };
    else if (!axes.ok) plan = { ...base, batcher: undefined, axes: undefined, unbatchedReason: axes.reason };
    else {
      const batcher = new Batcher({
        model: model.name,
        version: model.version,
        config,
        maxResponseBytes: this.#deps.maxResponseBytes,
        axes: axes.axes,
        dispatcher: this.#deps.dispatcher,
        capacity: this.#deps.capacity,
        now: this.#deps.now,
        ...(this.#deps.onRun ? { onRun: this.#deps.onRun } : {}),
      });
      plan = { ...base, batcher, axes: axes.axes, unbatchedReason: undefined };
    }
    this.#plans.set(key, { ...plan, model: record });
    return plan;
  }

  #settingsOf(model: RepositoryModel): ModelSettings {
    let settings = this.#settings.get(model);
    if (!settings) this.#settings.set(model, (settings = settingsOf(model, this.#deps.defaults, this.#deps.requestTimeoutMs)));
    return settings;
  }

  /** The requests queued now in each batcher (the retired ones' still count, under their version). */
  queueDepths(): Array<{ model: string; version: string; depth: number }> {
    const depths = new Map<string, { model: string; version: string; depth: number }>();
    for (const batcher of this.#batchers()) {
      const key = `${batcher.model}/${batcher.version}`;
      const entry = depths.get(key) ?? { model: batcher.model, version: batcher.version, depth: 0 };
      entry.depth += batcher.queueDepth;
      depths.set(key, entry);
    }
    return [...depths.values()];
  }

  /** Requests of `model` that left a batcher's queue so far, and their summed time queued (for a mean over an interval). */
  queueTotals(model: string): { count: number; sumMs: number } {
    const totals = { count: 0, sumMs: 0 };
    for (const batcher of this.#batchers()) {
      if (batcher.model !== model) continue;
      const { queueMs } = batcher.stats.snapshot();
      totals.count += queueMs.count;
      totals.sumMs += queueMs.count * queueMs.mean;
    }
    return totals;
  }

  /** Requests every batcher refused so far, by reason (retired batchers included). */
  rejects(): Record<RejectReason, number> {
    const totals: Record<RejectReason, number> = { queueFull: 0, deadline: 0, expectedWait: 0, cancelled: 0 };
    for (const batcher of this.#batchers()) {
      const { rejects } = batcher.stats.snapshot();
      for (const reason of Object.keys(totals) as RejectReason[]) totals[reason] += rejects[reason];
    }
    return totals;
  }

  #batchers(): Batcher[] {
    const live = [...this.#plans.values()].flatMap((p) => (p.batcher ? [p.batcher] : []));
    return [...live, ...this.#retired];
  }

  /** Per model version: batching on or off (and why), queue depth and the batcher's statistics. */
  snapshot(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [key, plan] of this.#plans) {
      out[key] = plan.batcher ? { batching: true, ...plan.batcher.snapshot() } : { batching: false, reason: plan.unbatchedReason };
    }
    return out;
  }

  /** Fails the requests queued for one version of a model (see Batcher.failQueued). */
  failQueued(model: string, version: string, err: InfergateError): void {
    for (const batcher of this.#batchers()) if (batcher.model === model && batcher.version === version) batcher.failQueued(err);
  }

  destroy(err: InfergateError): void {
    for (const plan of this.#plans.values()) plan.batcher?.destroy(err);
    for (const batcher of this.#retired) batcher.destroy(err);
  }
}

function settingsOf(model: RepositoryModel, defaults: BatchingConfig, requestTimeoutMs: number): ModelSettings {
  const { batchAxes, defaultTimeoutMs, ...overrides } = model.config.batching ?? {};
  const config: BatchingConfig = { ...defaults, ...stripUndefined(overrides) };
  if (config.defaultPriority > config.priorityLevels) config.defaultPriority = config.priorityLevels;
  return { config, timeoutMs: defaultTimeoutMs ?? requestTimeoutMs, batchAxes };
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
