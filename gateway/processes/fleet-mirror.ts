// What the leader process (server.processes > 1) tells its fronts about the
// fleet it runs: its local workers (where they listen, what they report), the
// models as its registry has them (versions, unloads, the stable pin, the file
// served for each version), and each running rollout's split. A front serves
// traffic on that picture and never changes it; every change is made by the
// leader, which owns the workers and the model control. Pure: building a
// mirror reads the leader's state, applying one writes the front's registry.

import type { RepositoryModel } from '../../common/model-repository.ts';
import type { ModelRegistry } from '../models/registry.ts';
import type { FoundWorker } from '../sources/discovery.ts';
import type { Replica } from '../replicas/replica.ts';
import { splitsToCandidate } from '../rollout/traffic-split.ts';
import type { RolloutTraffic } from '../infer/infer-service.ts';

/** A rollout's split as fronts apply it: the share of requests naming no version that go to the candidate. */
export type MirroredSplit = { stable: string; candidate: string; percent: number };

export type FleetMirror = {
  /** The leader's local workers that take traffic or are on their way to it. */
  workers: FoundWorker[];
  models: RepositoryModel[];
  /** Models being unloaded: they take no new request. */
  unloading: string[];
  /** Model → the version a rollout pinned as stable. */
  stable: Record<string, string>;
  /** "name/version" → the sha256 of the file the leader serves. */
  fingerprints: Record<string, string>;
  rollouts: Record<string, MirroredSplit>;
};

export type LeaderState = {
  registry: ModelRegistry;
  /** The replicas of the leader's own worker processes. */
  localReplicas: readonly Replica[];
  /** Model → its rollout's split, while one takes traffic. */
  split: (model: string) => MirroredSplit | undefined;
};

/** Replica states in which a front keeps a worker: one the leader drains or lost drains out of the fronts too. */
const MIRRORED_STATES = new Set(['starting', 'ready']);

export function mirrorOf({ registry, localReplicas, split }: LeaderState): FleetMirror {
  const models = registry.models;
  const stable: Record<string, string> = {};
  const rollouts: Record<string, MirroredSplit> = {};
  for (const { name } of models) {
    const pinned = registry.stableVersion(name);
    if (pinned !== undefined) stable[name] = pinned;
    const rollout = split(name);
    if (rollout) rollouts[name] = rollout;
  }
  return {
    workers: localReplicas
      .filter((r) => MIRRORED_STATES.has(r.state))
      .map((r) => (r.state === 'ready' && r.report ? { id: r.id, address: r.address, report: r.report } : { id: r.id, address: r.address })),
    models,
    unloading: models.filter((m) => registry.status(m.name).some((v) => v.state === 'UNLOADING')).map((m) => m.name),
    stable,
    fingerprints: Object.fromEntries(registry.fingerprints()),
    rollouts,
  };
}

/**
 * Brings a front's registry in line with the leader's: models added, rescanned or removed, unloads begun, pins,
 * and the files learned (a version the leader reloaded from a new file is learned anew from the next report).
 * The caller then observes the replicas.
 */
export function applyMirror(mirror: FleetMirror, registry: ModelRegistry): void {
  const leaderModels = new Map(mirror.models.map((m) => [m.name, m]));
  for (const model of registry.models) if (!leaderModels.has(model.name)) registry.remove(model.name);
  const known = new Map(registry.models.map((m) => [m.name, m]));
  const unloading = new Set(mirror.unloading);
  for (const model of mirror.models) {
    const mine = known.get(model.name);
    const wasUnloading = mine !== undefined && registry.status(model.name).some((v) => v.state === 'UNLOADING');
    if (!mine || JSON.stringify(mine) !== JSON.stringify(model) || (wasUnloading && !unloading.has(model.name))) registry.upsert(model);
    if (unloading.has(model.name) && !wasUnloading) registry.beginUnload(model.name);
    if (registry.stableVersion(model.name) !== mirror.stable[model.name]) registry.pinStable(model.name, mirror.stable[model.name]);
  }
  const stale = new Set<string>();
  for (const [key, fingerprint] of registry.fingerprints()) {
    const served = mirror.fingerprints[key];
    if (served !== undefined && served !== fingerprint) stale.add(key.slice(0, key.lastIndexOf('/')));
  }
  for (const name of stale) registry.forgetFiles(name);
}

/**
 * A front's view of a rollout: the same sticky split as the leader's, on the percentage the leader passed on.
 * Its gates read the leader's own traffic, so a front reports no outcome and sends no shadow copy.
 */
export function mirroredTraffic(split: MirroredSplit, random: () => number): RolloutTraffic {
  return {
    stable: split.stable,
    candidate: split.candidate,
    toCandidate: (sessionKey) => splitsToCandidate(split.percent, sessionKey, random),
    settled: () => {},
    shadow: () => {},
  };
}
