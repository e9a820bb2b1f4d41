// The autoscaler's mechanism: every interval it observes each model whose
// config.yaml turns autoscaling on (or dry-run): ready local replicas, the
// requests of the model in flight or queued in the gateway. It asks the pure
// decision (autoscale-policy.ts) over a window of those observations. In `on`
// mode a decision to move becomes a scale call (scale-control.ts). In
// `dry-run` it is logged and reported, and nothing changes. The last
// decision of each model is shown in GET /admin/models/{m} and as metrics.

import type { Logger } from '../../common/logger.ts';
import type { ModelConfig } from '../../config/model-schema.ts';
import type { ModelRegistry } from '../models/registry.ts';
import { decideReplicas, type AutoscaleDecision, type AutoscaleObservation, type AutoscaleSettings } from './autoscale-policy.ts';
import type { ScaleControl } from './scale-control.ts';

type AutoscalingConfig = NonNullable<ModelConfig['autoscaling']>;

export type AutoscalerDeps = {
  registry: ModelRegistry;
  scaling: Pick<ScaleControl, 'scale' | 'status'>;
  /** Requests of the model in flight or queued in the gateway now (InferService.running). */
  ongoingRequests: (model: string) => number;
  /** The summed time (s) of the model's requests that ended so far (RequestMetrics.busySeconds). */
  busySeconds: (model: string) => number;
  /** Requests of the model that left a batcher's queue so far and their summed queue time (ModelBatching.queueTotals). */
  queueTotals: (model: string) => { count: number; sumMs: number };
  /** Whether a rollout owns the model's replicas now: the autoscaler leaves it alone, and starts a fresh window after. */
  rolloutRuns: (model: string) => boolean;
  /** Scale calls may not go above this (scaling.maxWorkers). */
  maxWorkers: number;
  intervalMs: number;
  now: () => number;
  wallClockMs: () => number;
  logger: Logger;
};

/** What the autoscaler last made of a model (GET /admin/models/{m}, metrics). */
export type AutoscalerStatus = {
  mode: 'dry-run' | 'on';
  lastDecision: (AutoscaleDecision & { at: string }) | null;
  lastObservation: AutoscaleObservation | null;
};

/** When a target is not given: two requests in flight per replica (one running, one waiting). */
const DEFAULT_TARGET_ONGOING_REQUESTS = 2;

type ModelState = {
  window: AutoscaleObservation[];
  desired: number | undefined;
  lastActionAtMs: number | undefined;
  /** The batchers' queue totals, the requests' busy seconds and the time at the last tick. */
  queued: { count: number; sumMs: number };
  busySeconds: number;
  atMs: number;
  status: AutoscalerStatus;
};

export class Autoscaler {
  readonly #deps: AutoscalerDeps;
  readonly #models = new Map<string, ModelState>();
  #timer: NodeJS.Timeout | null = null;

  constructor(deps: AutoscalerDeps) {
    this.#deps = deps;
  }

  start(): void {
    this.#timer ??= setInterval(() => this.tick(), this.#deps.intervalMs);
    this.#timer.unref();
  }

  close(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** The model's autoscaler status; null when autoscaling is off for it. */
  status(model: string): AutoscalerStatus | null {
    return this.#models.get(model)?.status ?? null;
  }

  /** Each autoscaled model's last decision (for metrics). */
  decisions(): Array<{ model: string; mode: string; desiredReplicas: number }> {
    const decisions: Array<{ model: string; mode: string; desiredReplicas: number }> = [];
    for (const [model, { status }] of this.#models) if (status.lastDecision) decisions.push({ model, mode: status.mode, desiredReplicas: status.lastDecision.desiredReplicas });
    return decisions;
  }

  /** Observes every autoscaled model once and acts on what the policy decides. */
  tick(): void {
    const seen = new Set<string>();
    for (const model of this.#deps.registry.models) {
      const config = model.config.autoscaling;
      if (!config || config.mode === 'off' || model.configError !== undefined || this.#deps.rolloutRuns(model.name)) continue;
      seen.add(model.name);
      this.#observe(model.name, config, model.config);
    }
    for (const name of [...this.#models.keys()]) if (!seen.has(name)) this.#models.delete(name);
  }

  #observe(model: string, config: AutoscalingConfig, modelConfig: ModelConfig): void {
    const { scaling, now } = this.#deps;
    const settings = this.#settingsOf(config, modelConfig);
    const nowMs = now();
    const scaleStatus = scaling.status(model);
    const mode = config.mode === 'on' ? 'on' : 'dry-run';
    let state = this.#models.get(model);
    if (!state || state.status.mode !== mode) {
      state = { window: [], desired: undefined, lastActionAtMs: undefined, queued: this.#deps.queueTotals(model), busySeconds: this.#deps.busySeconds(model), atMs: nowMs, status: { mode, lastDecision: null, lastObservation: null } };
      this.#models.set(model, state);
    }
    const observation = this.#observation(model, state, nowMs, scaleStatus.replicas.ready?.length ?? 0);
    state.window.push(observation);
    const keepMs = Math.max(settings.upscaleDelayMs, settings.downscaleDelayMs) + 2 * this.#deps.intervalMs;
    while (state.window.length > 0 && state.window[0]!.atMs < nowMs - keepMs) state.window.shift();
    // Dry-run follows its own decisions as if they had been carried out; `on` follows the scale control's count.
    const desired = mode === 'dry-run' ? (state.desired ?? scaleStatus.desiredReplicas) : scaleStatus.desiredReplicas;
    const decision = decideReplicas(settings, { desiredReplicas: desired, lastActionAtMs: state.lastActionAtMs }, state.window, nowMs);
    state.status.lastObservation = observation;
    state.status.lastDecision = { ...decision, at: new Date(this.#deps.wallClockMs()).toISOString() };
    if (decision.action === 'hold') return;
    state.lastActionAtMs = nowMs;
    state.desired = decision.desiredReplicas;
    this.#deps.logger.info({ model, mode, from: desired, to: decision.desiredReplicas, reason: decision.reason }, 'autoscaler decision');
    if (mode !== 'on') return;
    try {
      scaling.scale(model, decision.desiredReplicas);
    } catch (err) {
      this.#deps.logger.warn({ model, err }, 'autoscaler could not scale');
    }
  }

  /** What the model looks like now, from the totals' growth since the last tick (which it then records). */
  #observation(model: string, state: ModelState, nowMs: number, readyReplicas: number): AutoscaleObservation {
    // The mean time queued of the requests that left a queue since the last tick (0 when none did, or unbatched).
    const queued = this.#deps.queueTotals(model);
    const leftQueue = queued.count - state.queued.count;
    // Ongoing requests: their mean over the interval (Little's law: the time the requests that ended spent, over
    // the interval), or those running now when more (long requests end after the interval they ran in).
    const busySeconds = this.#deps.busySeconds(model);
    const intervalSeconds = (nowMs - state.atMs) / 1000;
    const mean = intervalSeconds > 0 ? (busySeconds - state.busySeconds) / intervalSeconds : 0;
    const observation: AutoscaleObservation = {
      atMs: nowMs,
      readyReplicas,
      ongoingRequests: Math.max(Math.round(mean * 10) / 10, this.#deps.ongoingRequests(model)),
      queueDelayMs: leftQueue > 0 ? (queued.sumMs - state.queued.sumMs) / leftQueue : 0,
    };
    state.queued = queued;
    state.busySeconds = busySeconds;
    state.atMs = nowMs;
    return observation;
  }

  #settingsOf(config: AutoscalingConfig, modelConfig: ModelConfig): AutoscaleSettings {
    const maxReplicas = Math.min(modelConfig.maxReplicas ?? this.#deps.maxWorkers, this.#deps.maxWorkers);
    return {
      targetOngoingRequests: config.targetQueueDelayMs === undefined ? (config.targetOngoingRequests ?? DEFAULT_TARGET_ONGOING_REQUESTS) : undefined,
      targetQueueDelayMs: config.targetQueueDelayMs,
      // Autoscaling never takes a model to zero replicas: it could not see load come back.
      minReplicas: Math.min(Math.max(1, modelConfig.minReplicas ?? 1), maxReplicas),
      maxReplicas,
      upscaleDelayMs: config.upscaleDelayMs,
      downscaleDelayMs: config.downscaleDelayMs,
      maxStepUp: config.maxStepUp,
      maxStepDown: config.maxStepDown,
      cooldownMs: config.cooldownMs,
    };
  }
}
