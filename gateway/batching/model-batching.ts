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
  models: readonly RepositoryModel[];
  dispatcher: Dispatcher;
  capacity: BatchCapacity;
  now: () => number;
};

export class ModelBatching {
  readonly #deps: ModelBatchingOptions;
  readonly #settings = new Map<string, ModelSettings>();
  readonly #plans = new Map<string, ModelPlan>();

  constructor(options: ModelBatchingOptions) {
    this.#deps = options;
    for (const model of options.models) {
      const own = model.config.batching ?? {};
      const { batchAxes, defaultTimeoutMs, ...overrides } = own;
      const config: BatchingConfig = { ...options.defaults, ...stripUndefined(overrides) };
      if (config.defaultPriority > config.priorityLevels) config.defaultPriority = config.priorityLevels;
      this.#settings.set(model.name, { config, timeoutMs: defaultTimeoutMs ?? options.requestTimeoutMs, batchAxes });
    }
  }

  plan(model: ResolvedModel): ModelPlan {
    const key = `${model.name}/${model.version}`;
    const known = this.#plans.get(key);
    if (known) return known;
    const settings = this.#settings.get(model.name)!;
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
      });
      plan = { ...base, batcher, axes: axes.axes, unbatchedReason: undefined };
    }
    this.#plans.set(key, plan);
    return plan;
  }

  /** Per model version: batching on or off (and why), queue depth and the batcher's statistics. */
  snapshot(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [key, plan] of this.#plans) {
      out[key] = plan.batcher ? { batching: true, ...plan.batcher.snapshot() } : { batching: false, reason: plan.unbatchedReason };
    }
    return out;
  }

  destroy(err: InfergateError): void {
    for (const plan of this.#plans.values()) plan.batcher?.destroy(err);
  }
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
