// Passive outlier ejection across a model's replicas: a replica whose run of
// failures (its own faults only) reached consecutiveFailuresToEject is taken
// out of rotation for a while, unless its models already have their share of
// ejected replicas (health-policy.ts mayEject). It only marks the replica's
// health record; routing reads `usable`.

import type { Logger } from '../../common/logger.ts';
import { mayEject } from './health-policy.ts';
import type { ReplicaHealth } from './replica-health.ts';

/** What ejection reads of a replica. */
export type EjectionMember = {
  readonly id: string;
  readonly models: readonly string[];
  serves(model: string): boolean;
  readonly health: ReplicaHealth;
};

/**
 * Records a failure that was `replica`'s fault; ejects it when that ends a long enough run and every model it
 * serves may lose one more replica among `fleet`. Returns the ejection's length in ms, or undefined.
 */
export function recordReplicaFault(replica: EjectionMember, fleet: readonly EjectionMember[], maxEjectionPercent: number, logger: Logger): number | undefined {
  if (!replica.health.onFailure()) return undefined;
  for (const model of replica.models) {
    const ofModel = fleet.filter((r) => r.serves(model));
    const ejected = ofModel.filter((r) => r.health.ejected).length;
    if (!mayEject(ejected, ofModel.length, maxEjectionPercent)) {
      logger.warn(
        { replica: replica.id, model, consecutiveFailures: replica.health.consecutiveFailures, ejected, replicas: ofModel.length },
        'would eject the replica, but its model has its share of ejected replicas already',
      );
      replica.health.ejectionRefused();
      return undefined;
    }
  }
  const consecutiveFailures = replica.health.consecutiveFailures;
  const durationMs = replica.health.eject();
  logger.warn({ replica: replica.id, durationMs, consecutiveFailures }, 'replica ejected after consecutive failures');
  return durationMs;
}
