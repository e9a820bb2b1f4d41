// The admin actions that reach every gateway of a fleet (several gateways
// sharing workers and Redis): a scale, a rollout started or aborted, a model
// loaded or unloaded. The gateway an operator called takes the action and
// publishes it; every other gateway takes it on what it runs itself (its own
// local workers, its own registry), so that the fleet stays alike whichever
// gateway was called. A purge reaches the fleet through the cache's own
// channel. Pure: wrapping the admin targets, and reading an action heard.

import type { ModelRollouts, ModelScaling } from '../http/model-admin-routes.ts';
import type { RepositoryControl } from '../repository/repository-control.ts';

export type FleetAction =
  | { kind: 'scale'; model: string; replicas: number }
  | { kind: 'rolloutStart'; model: string; plan: unknown }
  /** `reason`: set when the rollout rolled back by itself on the gateway that published it (a gate, a pause). */
  | { kind: 'rolloutAbort'; model: string; reason?: string }
  | { kind: 'load'; model: string }
  | { kind: 'unload'; model: string };

/** What the admin routes act on. */
export type AdminTargets = {
  scaling: ModelScaling;
  rollouts: ModelRollouts;
  repository: Pick<RepositoryControl, 'index' | 'load' | 'unload'>;
};

/** The targets, each action that succeeds here also published (a refused one is not). */
export function publishingTargets(targets: AdminTargets, publish: (action: FleetAction) => void): AdminTargets {
  const { scaling, rollouts, repository } = targets;
  return {
    scaling: {
      scale: (model, replicas) => {
        const plan = scaling.scale(model, replicas);
        publish({ kind: 'scale', model, replicas });
        return plan;
      },
      status: (model) => scaling.status(model),
    },
    rollouts: {
      start: (model, plan) => {
        const status = rollouts.start(model, plan);
        publish({ kind: 'rolloutStart', model, plan });
        return status;
      },
      status: (model) => rollouts.status(model),
      abort: (model) => {
        const status = rollouts.abort(model);
        publish({ kind: 'rolloutAbort', model });
        return status;
      },
    },
    repository: {
      index: () => repository.index(),
      load: async (model) => {
        await repository.load(model);
        publish({ kind: 'load', model });
      },
      unload: async (model) => {
        await repository.unload(model);
        publish({ kind: 'unload', model });
      },
    },
  };
}

/** Takes an action another gateway took; throws what the target throws (a conflict, an unknown model). */
export async function takeAction(targets: AdminTargets, action: FleetAction): Promise<void> {
  switch (action.kind) {
    case 'scale':
      targets.scaling.scale(action.model, action.replicas);
      return;
    case 'rolloutStart':
      targets.rollouts.start(action.model, action.plan);
      return;
    case 'rolloutAbort':
      targets.rollouts.abort(action.model, `aborted on another gateway of the fleet${action.reason ? `, which rolled back: ${action.reason}` : ''}`);
      return;
    case 'load':
      return targets.repository.load(action.model);
    case 'unload':
      return targets.repository.unload(action.model);
  }
}

const KINDS = new Set(['scale', 'rolloutStart', 'rolloutAbort', 'load', 'unload']);

/** An action as published, or null for anything else on the channel (another version's message, garbage). */
export function parseAction(value: unknown): FleetAction | null {
  if (typeof value !== 'object' || value === null) return null;
  const { kind, model, replicas } = value as Record<string, unknown>;
  if (typeof kind !== 'string' || !KINDS.has(kind) || typeof model !== 'string') return null;
  if (kind === 'scale' && typeof replicas !== 'number') return null;
  return value as FleetAction;
}
