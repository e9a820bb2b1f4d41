// What changes the served models and their replicas while the gateway runs:
// the repository control (load, unload, reload; poll mode's watch), the
// scale control (replica counts) sharing one queue of actions with it, and
// the autoscaler that drives the scale control. app.ts owns their lifecycle.

import type { Logger } from '../common/logger.ts';
import type { WorkerModelsBody } from '../common/wire.ts';
import type { GatewayConfig } from '../config/schema.ts';
import type { ModelRegistry } from './models/registry.ts';
import type { Replica } from './replicas/replica.ts';
import type { ReplicaSet } from './replicas/replica-set.ts';
import { RepositoryControl } from './repository/repository-control.ts';
import { pollingWatch, type RepositoryWatch } from './repository/repository-watch.ts';
import { Autoscaler } from './scaling/autoscaler.ts';
import { ScaleControl, type LocalFleet } from './scaling/scale-control.ts';
import type { ModelScaling } from './http/scale-routes.ts';

export type ModelControlDeps = {
  config: GatewayConfig;
  registry: ModelRegistry;
  replicas: ReplicaSet;
  fleet: LocalFleet;
  acceptReport: (replica: Replica, report: WorkerModelsBody) => void;
  drained: (model: string) => Promise<void>;
  /** The autoscaler's inputs: see AutoscalerDeps. */
  ongoingRequests: (model: string) => number;
  busySeconds: (model: string) => number;
  queueTotals: (model: string) => { count: number; sumMs: number };
  now: () => number;
  logger: Logger;
};

export type ModelControl = {
  repository: RepositoryControl;
  autoscaler: Autoscaler;
  /** Scaling as the admin routes see it: the scale control, with the autoscaler's last decision in each status. */
  adminScaling: ModelScaling;
  watch: RepositoryWatch | null;
};

export function buildModelControl(deps: ModelControlDeps): ModelControl {
  const { config, registry, replicas, fleet, logger } = deps;
  const repository = new RepositoryControl({
    repository: config.models.repository,
    include: config.models.include,
    registry,
    replicas,
    localReplicas: () => fleet.replicas,
    defaultReplicas: config.models.defaultReplicas,
    acceptReport: deps.acceptReport,
    drained: deps.drained,
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
  replicas.on('state', (replica, _from, to) => {
    if (to === 'ready') void repository.catchUp(replica);
  });
  const autoscaler = new Autoscaler({
    registry,
    scaling,
    ongoingRequests: deps.ongoingRequests,
    busySeconds: deps.busySeconds,
    queueTotals: deps.queueTotals,
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
  return { repository, autoscaler, adminScaling, watch };
}
