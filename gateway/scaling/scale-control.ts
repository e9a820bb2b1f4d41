// Scales one model's local replicas while it serves: PUT
// /admin/models/{m}/replicas, and a reloaded config.yaml's `replicas`.
//
//   scale m N  → desired = N → repeat: step = nextScaleStep(fleet now) →
//                  load:    a running worker loads m (set aside meanwhile),
//                           and takes traffic once its report says so
//                  spawn:   a new worker process hosting m starts; it takes
//                           traffic once ready, on the slow-start ramp
//                  release: m is taken off the worker (no new request goes
//                           there), the requests on it finish, then the
//                           worker unloads m, or stops when m was its only
//                           model
//              → until the fleet has N replicas of m
//
// Steps run one at a time with the repository's loads and unloads (the
// `exclusively` queue), so each starts from what the last left. A new
// desired count takes over at the next step.

import { InfergateError } from '../../common/errors.ts';
import type { Logger } from '../../common/logger.ts';
import type { ModelSelection } from '../../common/model-repository.ts';
import { formatModelSelection } from '../../common/model-selection.ts';
import type { ModelRegistry } from '../models/registry.ts';
import type { Replica } from '../replicas/replica.ts';
import type { ReplicaSet } from '../replicas/replica-set.ts';
import type { WorkerPlacement } from '../supervisor/placement.ts';
import { newWorkerIds, nextScaleStep, type ScaleStep, type WorkerView } from './scale-plan.ts';

/** The local worker fleet, as the supervisor runs it. */
export type LocalFleet = {
  readonly replicas: Replica[];
  readonly placements: WorkerPlacement[];
  apply(placements: readonly WorkerPlacement[]): Promise<void>;
};

export type ScaleSettings = {
  /** Replicas added or released by one step (scaling.maxStepReplicas). */
  maxStepReplicas: number;
  /** Worker processes the gateway runs at most (scaling.maxWorkers). */
  maxWorkers: number;
  /** A new worker that is not ready this long after it starts fails its step. */
  readyTimeoutMs: number;
  /** A released replica's requests get this long to finish before the worker lets go of the model. */
  drainMs: number;
  /** One load or unload call on a worker fails after this long. */
  callTimeoutMs: number;
};

export type ScaleControlDeps = {
  registry: ModelRegistry;
  replicas: ReplicaSet;
  fleet: LocalFleet;
  /** Runs `action` alone among the repository's loads, unloads and scaling steps. */
  exclusively: <T>(action: () => Promise<T>) => Promise<T>;
  /** Throws GW_ERR_ADMIN_CONFLICT while another action owns the model (a rollout of it). */
  checkFree: (model: string) => void;
  /** Loads `model` into a running replica, set aside meanwhile, and takes its report. */
  loadOn: (replica: Replica, model: string) => Promise<void>;
  settings: ScaleSettings;
  /** Wall-clock time, for the actions' timestamps. */
  wallClockMs: () => number;
  logger: Logger;
};

export type ScaleAction = { at: string; kind: 'load' | 'spawn' | 'release'; replicas: string[]; outcome: 'done' | 'failed'; detail?: string };

export type ScaleStatus = {
  desiredReplicas: number;
  /** Local replicas placed for the model, by state (starting, ready, draining, stopped). */
  replicas: Record<string, string[]>;
  scaling: boolean;
  /** Why the fleet stops short of the desired count, when it does. */
  shortBy?: string;
  lastActions: ScaleAction[];
};

/** What a scale call answers (202): the count asked for, where the fleet is, and the first step. */
export type ScalePlan = { model: string; desiredReplicas: number; currentReplicas: number; nextStep: ScaleStep };

const ACTIONS_KEPT = 20;

type ModelScaling = { desired: number; running: boolean; shortBy: string | undefined; actions: ScaleAction[] };

export class ScaleControl {
  readonly #deps: ScaleControlDeps;
  readonly #models = new Map<string, ModelScaling>();

  constructor(deps: ScaleControlDeps) {
    this.#deps = deps;
  }

  /** Sets the model's desired replica count and starts moving the fleet toward it; throws 404 or 400 naming the field. */
  scale(model: string, desiredReplicas: number): ScalePlan {
    const config = this.#deps.registry.model(model).config;
    this.#deps.checkFree(model);
    const min = config.minReplicas ?? 0;
    const max = Math.min(config.maxReplicas ?? Infinity, this.#deps.settings.maxWorkers);
    if (!Number.isSafeInteger(desiredReplicas) || desiredReplicas < min || desiredReplicas > max) {
      const bounds = `minReplicas ${min}, maxReplicas ${config.maxReplicas ?? 'none'}, scaling.maxWorkers ${this.#deps.settings.maxWorkers}`;
      throw new InfergateError('GW_ERR_INVALID_ADMIN_REQUEST', `replicas: expected a whole number from ${min} to ${max} (${bounds}), got ${JSON.stringify(desiredReplicas)}`);
    }
    const state = this.#stateOf(model);
    state.desired = desiredReplicas;
    if (!state.running) void this.#run(model, state);
    const workers = this.#workers();
    return {
      model,
      desiredReplicas,
      currentReplicas: workers.filter((w) => w.models.includes(model)).length,
      nextStep: nextScaleStep(model, desiredReplicas, workers, this.#deps.settings.maxStepReplicas, this.#deps.settings.maxWorkers),
    };
  }

  /** Worker processes that may still start under scaling.maxWorkers. */
  room(): number {
    return Math.max(0, this.#deps.settings.maxWorkers - this.#deps.fleet.replicas.length);
  }

  /** Starts `count` new worker processes running `selection` alone; resolves with them once ready (throws when one is not in time). Call exclusively. */
  async startWorkers(selection: ModelSelection, count: number): Promise<Replica[]> {
    const ids = newWorkerIds(this.#workers(), count);
    await this.#start(selection, ids);
    return this.#byIds(ids);
  }

  /** Takes `model` off these replicas: their requests of it finish, then each unloads it, or stops when it was its only model. Call exclusively. */
  releaseReplicas(model: string, replicas: readonly Replica[]): Promise<void> {
    return this.#release(model, replicas.map((r) => r.id));
  }

  /** The model's desired count (its local replicas now, before any scale call), replicas by state, and last actions. */
  status(model: string): ScaleStatus {
    this.#deps.registry.model(model);
    const hosts = this.#deps.fleet.replicas.filter((r) => r.serves(model));
    const state = this.#models.get(model);
    const byState: Record<string, string[]> = {};
    for (const replica of hosts) (byState[replica.state] ??= []).push(replica.id);
    const status: ScaleStatus = { desiredReplicas: state?.desired ?? hosts.length, replicas: byState, scaling: state?.running ?? false, lastActions: state?.actions ?? [] };
    if (state?.shortBy) status.shortBy = state.shortBy;
    return status;
  }

  #stateOf(model: string): ModelScaling {
    let state = this.#models.get(model);
    if (!state) this.#models.set(model, (state = { desired: 0, running: false, shortBy: undefined, actions: [] }));
    return state;
  }

  async #run(model: string, state: ModelScaling): Promise<void> {
    state.running = true;
    try {
      // Each step re-reads the desired count and the fleet: a later call takes over from here.
      while (await this.#deps.exclusively(() => this.#step(model, state)));
    } catch (err) {
      this.#deps.logger.error({ model, err }, 'scaling stopped');
    } finally {
      state.running = false;
    }
  }

  /** One step toward the desired count; false when there is nothing (more) to do or the step failed. */
  async #step(model: string, state: ModelScaling): Promise<boolean> {
    if (!this.#deps.registry.models.some((m) => m.name === model)) return false;
    const { maxStepReplicas, maxWorkers } = this.#deps.settings;
    const step = nextScaleStep(model, state.desired, this.#workers(), maxStepReplicas, maxWorkers);
    state.shortBy = step.shortBy;
    if (step.load.length + step.spawn.length + step.release.length === 0) return false;
    const results = await Promise.all([
      step.load.length === 0 || this.#act(state, 'load', step.load, () => this.#load(model, step.load)),
      step.spawn.length === 0 || this.#act(state, 'spawn', step.spawn, () => this.#spawn(model, step.spawn)),
      step.release.length === 0 || this.#act(state, 'release', step.release, () => this.#release(model, step.release)),
    ]);
    return results.every(Boolean) && step.shortBy === undefined;
  }

  async #act(state: ModelScaling, kind: ScaleAction['kind'], replicas: string[], run: () => Promise<void>): Promise<boolean> {
    const at = new Date(this.#deps.wallClockMs()).toISOString();
    try {
      await run();
      this.#record(state, { at, kind, replicas, outcome: 'done' });
      return true;
    } catch (err) {
      const detail = (err as Error).message;
      this.#deps.logger.error({ kind, replicas, err }, 'scaling step failed');
      this.#record(state, { at, kind, replicas, outcome: 'failed', detail });
      return false;
    }
  }

  #record(state: ModelScaling, action: ScaleAction): void {
    state.actions.push(action);
    if (state.actions.length > ACTIONS_KEPT) state.actions.shift();
    this.#deps.logger.info({ ...action }, 'scaling step');
  }

  async #load(model: string, ids: readonly string[]): Promise<void> {
    // One at a time: each is set aside while it loads, and the others keep serving.
    for (const replica of this.#byIds(ids)) {
      replica.place(model, this.#deps.registry.placement(model));
      try {
        await this.#deps.loadOn(replica, model);
      } catch (err) {
        replica.place(model, undefined);
        throw err;
      } finally {
        this.#deps.registry.observe(this.#deps.replicas.replicas);
      }
    }
  }

  #spawn(model: string, ids: readonly string[]): Promise<void> {
    return this.#start(this.#deps.registry.placement(model), ids);
  }

  async #start(selection: ModelSelection, ids: readonly string[]): Promise<void> {
    const { fleet } = this.#deps;
    await fleet.apply([...fleet.placements, ...ids.map((id) => ({ id, models: [formatModelSelection(selection)] }))]);
    await Promise.all(this.#byIds(ids).map((replica) => this.#ready(replica)));
  }

  async #release(model: string, ids: readonly string[]): Promise<void> {
    const { fleet, replicas, registry, settings } = this.#deps;
    const leaving = this.#byIds(ids);
    const emptied = new Set(leaving.filter((r) => r.models.length === 1).map((r) => r.id));
    // Off the model first: no new request of it goes there, whatever happens next.
    for (const replica of leaving) replica.place(model, undefined);
    registry.observe(replicas.replicas);
    // A worker with no model left stops: the supervisor takes it out of the set, and it drains (SIGTERM) first.
    if (emptied.size > 0) await fleet.apply(fleet.placements.filter((p) => !emptied.has(p.id)));
    for (const replica of leaving.filter((r) => !emptied.has(r.id) && r.state === 'ready')) {
      // Set aside while the requests on it finish, so that the worker unloads a model no request still needs.
      const report = await replicas.aside(replica, settings.drainMs, () => replica.client.unloadModel(model, settings.callTimeoutMs));
      replica.setReport(report);
    }
    registry.observe(replicas.replicas);
  }

  /** Resolves once the replica is ready; throws when it is not within the ready timeout. */
  #ready(replica: Replica): Promise<void> {
    if (replica.state === 'ready') return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onState = (changed: Replica, _from: string, to: string): void => {
        if (changed !== replica || to !== 'ready') return;
        done();
        resolve();
      };
      const timer = setTimeout(() => {
        done();
        reject(new InfergateError('GW_ERR_MODEL_NOT_READY', `${replica.id} was not ready within ${this.#deps.settings.readyTimeoutMs} ms`));
      }, this.#deps.settings.readyTimeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.#deps.replicas.off('state', onState);
      };
      this.#deps.replicas.on('state', onState);
    });
  }

  #byIds(ids: readonly string[]): Replica[] {
    return this.#deps.fleet.replicas.filter((r) => ids.includes(r.id));
  }

  #workers(): WorkerView[] {
    return this.#deps.fleet.replicas.map((r) => ({ id: r.id, models: r.models, ready: r.state === 'ready' }));
  }
}
