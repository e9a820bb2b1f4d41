// Passive outlier ejection across a model's replicas: a replica whose run of
// failures (its own faults only) reached consecutiveFailuresToEject is taken
// out of rotation for a while, unless its models already have their share of
// ejected replicas (health-policy.ts mayEject). It only marks the replica's
// health record; routing reads `usable`.

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
export function recordReplicaFault(replica: EjectionMember, fleet: readonly EjectionMember[], maxEjectionPercent: number, log: (message: string) => void): number | undefined {
  if (!replica.health.onFailure()) return undefined;
  for (const model of replica.models) {
    const ofModel = fleet.filter((r) => r.serves(model));
    const ejected = ofModel.filter((r) => r.health.ejected).length;
    if (!mayEject(ejected, ofModel.length, maxEjectionPercent)) {
      log(`${replica.id}: would eject after ${replica.health.consecutiveFailures} failures in a row, but ${ejected} of ${ofModel.length} replicas of "${model}" are ejected already`);
      replica.health.ejectionRefused();
      return undefined;
    }
  }
  const durationMs = replica.health.eject();
  log(`${replica.id}: ejected for ${durationMs} ms after consecutive failures`);
  return durationMs;
}
