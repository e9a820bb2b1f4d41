// Per-model batching plans: the gateway's batching defaults merged with each
// model's config.yaml, the model's batch axes (read from its signature once a
// replica reported it), and one Batcher per model version, made on first use.
// Also checks the priority and deadline a request asks for (by header or
// parameter: the front reads them; this only judges the values).

import { InfergateError } from '../../common/errors.ts';
import { describe } from '../../common/kserve/json-tensor.ts';
import type { BatchingConfig } from '../../config/batching-schema.ts';
import type { RepositoryModel } from '../../common/model-repository.ts';
import type { ResolvedModel } from '../models/registry.ts';
import type { ReplicaSet } from '../replicas/replica-set.ts';
import type { Dispatcher } from '../upstream/dispatcher.ts';
import { batchAxesFor, type BatchAxes } from './batch-axes.ts';
import { Batcher } from './batcher.ts';

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
  replicas: ReplicaSet;
  now: () => number;
};

export class ModelBatching {
  readonly #o: ModelBatchingOptions;
  readonly #settings = new Map<string, ModelSettings>();
  readonly #plans = new Map<string, ModelPlan>();

  constructor(options: ModelBatchingOptions) {
    this.#o = options;
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
        maxResponseBytes: this.#o.maxResponseBytes,
        axes: axes.axes,
        dispatcher: this.#o.dispatcher,
        replicas: this.#o.replicas,
        now: this.#o.now,
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

/** The priority a request asks for (a header's text or a parameter's value); 1 is highest. Undefined when it asks for none. */
export function askedPriority(raw: unknown, plan: ModelPlan): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if ((typeof raw !== 'string' && typeof raw !== 'number') || raw === '' || !Number.isInteger(value) || value < 1 || value > plan.priorityLevels) {
    throw new InfergateError('GW_ERR_INVALID_REQUEST', `priority must be an integer from 1 (highest) to ${plan.priorityLevels}, got ${describe(raw)}`);
  }
  return value;
}

/** The time budget a request asks for, capped at the model's default (a client may shorten its deadline, never lengthen it). Undefined when it asks for none. */
export function askedTimeoutMs(raw: unknown, plan: ModelPlan): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if ((typeof raw !== 'string' && typeof raw !== 'number') || raw === '' || !Number.isFinite(value) || value <= 0) {
    throw new InfergateError('GW_ERR_INVALID_REQUEST', `timeout must be a positive number of milliseconds, got ${describe(raw)}`);
  }
  return Math.min(value, plan.timeoutMs);
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
