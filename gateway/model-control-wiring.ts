// What changes the served models and their replicas while the gateway runs:
// the repository control (load, unload, reload; poll mode's watch) and the
// scale control (replica counts), sharing one queue of actions. app.ts owns
// their lifecycle.

import type { Logger } from '../common/logger.ts';
import type { WorkerModelsBody } from '../common/wire.ts';
import type { GatewayConfig } from '../config/schema.ts';
import type { ModelRegistry } from './models/registry.ts';
import type { Replica } from './replicas/replica.ts';
import type { ReplicaSet } from './replicas/replica-set.ts';
import { RepositoryControl } from './repository/repository-control.ts';
import { pollingWatch, type RepositoryWatch } from './repository/repository-watch.ts';
import { ScaleControl, type LocalFleet } from './scaling/scale-control.ts';

export type ModelControlDeps = {
  config: GatewayConfig;
  registry: ModelRegistry;
  replicas: ReplicaSet;
  fleet: LocalFleet;
  acceptReport: (replica: Replica, report: WorkerModelsBody) => void;
  drained: (model: string) => Promise<void>;
  logger: Logger;
};

export function buildModelControl(deps: ModelControlDeps): { repository: RepositoryControl; scaling: ScaleControl; watch: RepositoryWatch | null } {
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
  const watch = config.models.controlMode === 'poll' ? pollingWatch(config.models, repository, logger) : null;
  return { repository, scaling, watch };
}
