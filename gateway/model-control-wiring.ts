// What changes the served models and their replicas while the gateway runs:
// the repository control (load, unload, reload; poll mode's watch), the
// scale control (replica counts) and the rollouts (new versions behind
// gates), sharing one queue of actions, and the autoscaler that drives the
// scale control. app.ts owns their lifecycle.

import type { Logger } from '../common/logger.ts';
import type { InferAnswer, WorkerModelsBody } from '../common/wire.ts';
import type { GatewayConfig } from '../config/schema.ts';
import type { ModelBatching } from './batching/model-batching.ts';
import type { InferCall } from './infer/infer-service.ts';
import type { ModelRegistry } from './models/registry.ts';
import type { Replica } from './replicas/replica.ts';
import type { ReplicaSet } from './replicas/replica-set.ts';
import { RepositoryControl } from './repository/repository-control.ts';
import { pollingWatch, type RepositoryWatch } from './repository/repository-watch.ts';
import { RolloutControl } from './rollout/rollout-control.ts';
import { Autoscaler } from './scaling/autoscaler.ts';
import { ScaleControl, type LocalFleet } from './scaling/scale-control.ts';
import type { ModelScaling } from './http/model-admin-routes.ts';
import { createRedisClient } from './cache/redis-client.ts';
import { AdminBus } from './fleet/admin-bus.ts';
import { publishingTargets, takeAction, type AdminTargets } from './fleet/fleet-actions.ts';

export type ModelControlDeps = {
  config: GatewayConfig;
  registry: ModelRegistry;
  replicas: ReplicaSet;
  fleet: LocalFleet;
  batching: Pick<ModelBatching, 'failQueued'>;
  acceptReport: (replica: Replica, report: WorkerModelsBody) => void;
  drained: (model: string) => Promise<void>;
  /** The autoscaler's inputs: see AutoscalerDeps. */
  ongoingRequests: (model: string) => number;
  busySeconds: (model: string) => number;
  queueTotals: (model: string) => { count: number; sumMs: number };
  /** Runs a rollout's shadow copy of a call on the candidate version. */
  runShadow: (call: InferCall, version: string) => Promise<InferAnswer>;
  /** Whether this process shares its admin actions with the fleet's other gateways (when Redis is configured); a front process leaves that to its leader. */
  sharesAdminActions: boolean;
  now: () => number;
  random: () => number;
  logger: Logger;
};

/** How often a rollout's gates are read, and how long its candidate may have no ready replica before it rolls back. */
const ROLLOUT_TICK_MS = 250;
const ROLLOUT_MAX_PAUSE_MS = 60_000;

export type ModelControl = {
  repository: RepositoryControl;
  autoscaler: Autoscaler;
  rollouts: RolloutControl;
  /** Scaling as the admin routes see it: the scale control, with the autoscaler's last decision in each status. */
  adminScaling: ModelScaling;
  watch: RepositoryWatch | null;
  /** What the admin routes act on: scaling, rollouts, repository, each action published to the fleet when shared. */
  admin: AdminTargets;
  /** The channel of the fleet's admin actions, when shared. */
  bus: AdminBus | null;
};

export function buildModelControl(deps: ModelControlDeps): ModelControl {
  const { config, registry, replicas, fleet, logger } = deps;
  let bus: AdminBus | null = null;
  const repository = new RepositoryControl({
    repository: config.models.repository,
    include: config.models.include,
    registry,
    replicas,
    localReplicas: () => fleet.replicas,
    defaultReplicas: config.models.defaultReplicas,
    acceptReport: deps.acceptReport,
    drained: deps.drained,
    checkFree: (model) => rollouts.checkFree(model),
    callTimeoutMs: config.workers.startupTimeoutMs,
    onLoaded: (name, count) => {
      try {
        scaling.scale(name, count);
      } catch (err) {
        logger.warn({ model: name, replicas: count, err }, "config.yaml's replica count cannot be applied");
      }
    },
    logger,
  });
  const scaling = new ScaleControl({
    registry,
    replicas,
    fleet,
    exclusively: (action) => repository.exclusively(action),
    loadOn: (replica, model) => repository.loadOn(replica, model),
    checkFree: (model) => rollouts.checkFree(model),
    settings: {
      maxStepReplicas: config.scaling.maxStepReplicas,
      maxWorkers: config.scaling.maxWorkers,
      readyTimeoutMs: config.workers.startupTimeoutMs,
      drainMs: config.workers.drainTimeoutMs,
      callTimeoutMs: config.workers.startupTimeoutMs,
    },
    wallClockMs: Date.now,
    logger,
  });
  const rollouts = new RolloutControl({
    repository: config.models.repository,
    registry,
    replicas,
    localReplicas: () => fleet.replicas,
    workers: scaling,
    exclusively: (action) => repository.exclusively(action),
    failWaiting: (model, version, err) => {
      replicas.rejectWaitersFor(model, version, err);
      deps.batching.failQueued(model, version, err);
    },
    loadOn: (replica, model) => repository.loadOn(replica, model),
    runShadow: deps.runShadow,
    tickMs: ROLLOUT_TICK_MS,
    maxPauseMs: ROLLOUT_MAX_PAUSE_MS,
    now: deps.now,
    wallClockMs: Date.now,
    random: deps.random,
    // A rollout one gateway of a fleet rolls back is aborted on the others too.
    onRollBack: (model, reason) => bus?.publish({ kind: 'rolloutAbort', model, reason }),
    logger,
  });
  replicas.on('state', (replica, _from, to) => {
    if (to === 'ready') void repository.catchUp(replica);
  });
  const autoscaler = new Autoscaler({
    registry,
    scaling,
    ongoingRequests: deps.ongoingRequests,
    busySeconds: deps.busySeconds,
    queueTotals: deps.queueTotals,
    rolloutRuns: (model) => rollouts.runs(model),
    maxWorkers: config.scaling.maxWorkers,
    intervalMs: config.scaling.autoscaleIntervalMs,
    now: deps.now,
    wallClockMs: Date.now,
    logger,
  });
  const adminScaling: ModelScaling = {
    scale: (model, replicas) => scaling.scale(model, replicas),
    status: (model) => ({ ...scaling.status(model), autoscaler: autoscaler.status(model) }),
  };
  const watch = config.models.controlMode === 'poll' ? pollingWatch(config.models, repository, logger) : null;
  const own: AdminTargets = { scaling: adminScaling, rollouts, repository };
  bus = deps.sharesAdminActions ? fleetBus(config, own, logger) : null;
  const shared = bus;
  return { repository, autoscaler, rollouts, adminScaling, watch, admin: shared ? publishingTargets(own, (action) => shared.publish(action)) : own, bus };
}

/** With Redis configured (and server.shareAdminActions): every gateway on the same Redis and key prefix takes the actions any of them took, on what it runs itself. */
function fleetBus(config: GatewayConfig, own: AdminTargets, logger: Logger): AdminBus | null {
  const { cache } = config;
  if (!config.server.shareAdminActions || (cache.redisUrl === '' && cache.redisNodes.length === 0)) return null;
  return new AdminBus({
    publisher: createRedisClient(cache, 'admin'),
    subscriber: createRedisClient(cache, 'subscriber'),
    channel: `${cache.keyPrefix}:admin`,
    heard: (action, from) => {
      logger.info({ action: action.kind, model: action.model, from }, 'taking an admin action another gateway took');
      takeAction(own, action).catch((err: unknown) => logger.warn({ action: action.kind, model: action.model, from, err }, 'an admin action another gateway took failed here'));
    },
    logger,
  });
}
