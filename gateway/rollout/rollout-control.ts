// Rollouts of a new model version while the model serves (POST, GET and
// DELETE /admin/models/{m}/rollouts): the mechanism around rollout.ts, which
// owns the timer and the worker processes.
//
//   start     the version serving now is pinned as stable (label `stable`;
//             the replicas placed to run the versions they run now, so a
//             restart keeps them) → candidate worker processes start with
//             the candidate alone → once it is READY, with the stable's
//             signature, the first stage begins
//   tick      every tickMs the gates are read; a failed one rolls back
//   promote   every stable replica loads the candidate beside the stable
//             version (one at a time, set aside meanwhile) → the stable
//             label moves to the candidate → the replicas retire the old
//             versions → the candidate's own workers are released
//   roll back the candidate takes no new request at once → its workers
//             drain and stop → the model serves as before the rollout
//
// The fleet steps run in the one queue of model changes (`exclusively`), and
// while a rollout runs, scaling and repository loads of its model are
// refused (409): each would fight it over the same replicas.

import { clientText, InfergateError } from '../../common/errors.ts';
import type { Logger } from '../../common/logger.ts';
import { scanModelRepository, type ModelSelection } from '../../common/model-repository.ts';
import type { InferAnswer, ModelSignature, TensorSpec } from '../../common/wire.ts';
import type { InferCall } from '../infer/infer-service.ts';
import type { ModelRegistry } from '../models/registry.ts';
import type { Replica } from '../replicas/replica.ts';
import type { ReplicaSet } from '../replicas/replica-set.ts';
import { Rollout, type RolloutStatus } from './rollout.ts';
import { parseRolloutPlan } from './rollout-plan.ts';

/** What a rollout needs of the worker fleet (scale-control.ts). */
export type RolloutWorkers = {
  room(): number;
  startWorkers(selection: ModelSelection, count: number): Promise<Replica[]>;
  releaseReplicas(model: string, replicas: readonly Replica[]): Promise<void>;
};

export type RolloutControlDeps = {
  repository: string;
  registry: ModelRegistry;
  replicas: ReplicaSet;
  /** The local workers: the replicas a rollout re-places (others serve what their own config says). */
  localReplicas: () => readonly Replica[];
  workers: RolloutWorkers;
  exclusively: <T>(action: () => Promise<T>) => Promise<T>;
  /** Fails the requests of one version waiting for a replica or queued in its batcher (they fall back to stable). */
  failWaiting: (model: string, version: string, err: InfergateError) => void;
  /** Loads the versions a running replica is placed to run, set aside meanwhile; throws when it cannot. */
  loadOn: (replica: Replica, model: string) => Promise<void>;
  runShadow: (call: InferCall, version: string) => Promise<InferAnswer>;
  /** How often the gates are read. */
  tickMs: number;
  /** A rollout whose candidate has had no ready replica this long rolls back. */
  maxPauseMs: number;
  now: () => number;
  wallClockMs: () => number;
  random: () => number;
  /** A rollout rolls back for a reason of its own (a gate, a pause, a failure), not an abort. */
  onRollBack?: (model: string, reason: string) => void;
  logger: Logger;
};

/** The workers of one rollout, and since when none of its candidates is ready. */
type Fleet = { candidates: Replica[]; stableHosts: Replica[]; servedBefore: string[]; pausedSinceMs: number | undefined };

export class RolloutControl {
  readonly #deps: RolloutControlDeps;
  /** Each model's last rollout, running or ended. */
  readonly #rollouts = new Map<string, Rollout>();
  /** The running rollouts whose candidate takes traffic: what the infer path asks about (one map lookup per request). */
  readonly #traffic = new Map<string, Rollout>();
  readonly #fleets = new WeakMap<Rollout, Fleet>();
  readonly #outcomes = new Map<string, { promoted: number; rolledBack: number }>();
  #timer: NodeJS.Timeout | null = null;

  constructor(deps: RolloutControlDeps) {
    this.#deps = deps;
    // A candidate replica that stops being ready pauses its rollout at once, not at the next tick.
    deps.replicas.on('state', (replica: Replica) => {
      for (const rollout of this.#traffic.values()) if (this.#fleets.get(rollout)?.candidates.includes(replica)) this.#checkCandidates(rollout);
    });
  }

  /** The running rollout of a model, for the infer path; undefined when none. */
  traffic(model: string): Rollout | undefined {
    return this.#traffic.get(model);
  }

  /** Throws GW_ERR_ADMIN_CONFLICT while a rollout of the model runs. */
  checkFree(model: string): void {
    const rollout = this.#rollouts.get(model);
    if (rollout?.running) {
      throw new InfergateError('GW_ERR_ADMIN_CONFLICT', `model ${clientText(model)} has a rollout of version ${rollout.candidate} in progress (${rollout.state}); wait for it, or abort it with DELETE /admin/models/{m}/rollouts/current`);
    }
  }

  runs(model: string): boolean {
    return this.#rollouts.get(model)?.running === true;
  }

  /** Starts a rollout (202 with its status); throws 404, 400 naming the field, or 409. */
  start(model: string, body: unknown): RolloutStatus {
    const { registry, workers } = this.#deps;
    registry.model(model);
    this.checkFree(model);
    const plan = parseRolloutPlan(body, { maxCandidateReplicas: 64 });
    const stable = registry.resolveVersion(model, undefined);
    if (stable.state !== 'READY') throw new InfergateError('GW_ERR_ADMIN_CONFLICT', `model ${clientText(model)} has no stable version serving to compare with (version ${stable.version} is ${stable.state})`);
    if (plan.version === stable.version) throw new InfergateError('GW_ERR_INVALID_ADMIN_REQUEST', `version: ${plan.version} is already the stable version of ${clientText(model)}`);
    const file = scanModelRepository(this.#deps.repository, [{ name: model, versions: [plan.version] }])[0]?.versions[0];
    if (!file || file.missing) throw new InfergateError('GW_ERR_INVALID_ADMIN_REQUEST', `version: model ${clientText(model)} has no version ${clientText(plan.version)} in the repository (${file?.path ?? 'no directory'})`);
    if (workers.room() < plan.candidateReplicas) {
      throw new InfergateError('GW_ERR_ADMIN_CONFLICT', `no room for ${plan.candidateReplicas} candidate worker${plan.candidateReplicas === 1 ? '' : 's'}: ${workers.room()} more may start under scaling.maxWorkers`);
    }
    const rollout = new Rollout(model, stable.version, plan, {
      runShadow: this.#deps.runShadow,
      now: this.#deps.now,
      wallClockMs: this.#deps.wallClockMs,
      random: this.#deps.random,
    });
    this.#rollouts.set(model, rollout);
    this.#deps.logger.info({ model, stable: stable.version, candidate: plan.version }, 'rollout started');
    void this.#deps.exclusively(() => this.#prepare(rollout)).catch((err) => this.#rollBack(rollout, `preparation failed: ${(err as Error).message}`));
    return rollout.status();
  }

  /** The model's running or last rollout; throws 404. */
  status(model: string): RolloutStatus {
    this.#deps.registry.model(model);
    const rollout = this.#rollouts.get(model);
    if (!rollout) throw new InfergateError('GW_ERR_ROLLOUT_NOT_FOUND', `model ${clientText(model)} has had no rollout`);
    return rollout.status();
  }

  /** DELETE (or another gateway of the fleet, saying why): aborts the running rollout and rolls back; throws 404 when none runs, 409 once promotion has begun. */
  abort(model: string, reason = 'aborted by DELETE /admin/models/{m}/rollouts/current'): RolloutStatus {
    this.#deps.registry.model(model);
    const rollout = this.#rollouts.get(model);
    if (!rollout?.running) throw new InfergateError('GW_ERR_ROLLOUT_NOT_FOUND', `model ${clientText(model)} has no rollout in progress`);
    if (rollout.state === 'promoting') throw new InfergateError('GW_ERR_ADMIN_CONFLICT', `the rollout of ${clientText(model)} version ${rollout.candidate} is being promoted; it can no longer be aborted`);
    this.#rollBack(rollout, reason, true);
    return rollout.status();
  }

  /** Each model's candidate share and its rollouts' outcomes so far (for the metrics). */
  summaries(): Array<{ model: string; candidate: string; candidatePercent: number; promoted: number; rolledBack: number }> {
    return [...this.#rollouts].map(([model, r]) => ({ model, candidate: r.candidate, candidatePercent: r.candidatePercent, ...(this.#outcomes.get(model) ?? { promoted: 0, rolledBack: 0 }) }));
  }

  close(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  async #prepare(rollout: Rollout): Promise<void> {
    const { registry, replicas, workers } = this.#deps;
    const { model, stable, candidate } = rollout;
    if (rollout.state !== 'preparing') return;
    const servedBefore = registry.model(model).versions.map((v) => v.version);
    const local = this.#deps.localReplicas();
    const stableHosts = replicas.replicas.filter((r) => r.serves(model) && local.includes(r));
    const fleet: Fleet = { candidates: [], stableHosts, servedBefore, pausedSinceMs: undefined };
    this.#fleets.set(rollout, fleet);
    registry.pinStable(model, stable);
    for (const host of stableHosts) host.place(model, { name: model, versions: servedBefore });
    registry.observe(replicas.replicas);
    // The registry learns of the candidate version only once its workers are up: until then it is not LOADING
    // anywhere, so the gateway's readiness does not drop for a rollout.
    fleet.candidates = await workers.startWorkers({ name: model, versions: [candidate] }, rollout.plan.candidateReplicas);
    this.#serve(model, [...servedBefore, candidate]);
    registry.observe(replicas.replicas);
    const state = registry.status(model).find((v) => v.version === candidate);
    if (state?.state !== 'READY') throw new Error(`version ${candidate} is ${state?.state ?? 'missing'}${state?.reason ? `: ${state.reason}` : ''}`);
    const differs = signatureDifference(registry.resolve(model, stable).signature, registry.resolve(model, candidate).signature);
    if (differs) throw new Error(`version ${candidate}'s signature differs from stable ${stable}'s: ${differs}`);
    if (rollout.state !== 'preparing') return;
    rollout.begin();
    this.#traffic.set(model, rollout);
    if (!this.#timer) {
      this.#timer = setInterval(() => this.#tick(), this.#deps.tickMs);
      this.#timer.unref();
    }
  }

  #tick(): void {
    for (const rollout of this.#traffic.values()) {
      if (rollout.state !== 'shadow' && rollout.state !== 'canary') continue;
      this.#checkCandidates(rollout);
      // A candidate missing for too long rolled it back just now.
      if (!this.#traffic.has(rollout.model)) continue;
      const move = rollout.tick();
      if (move === 'rollback') this.#rollBack(rollout, rollout.reason ?? 'a gate failed');
      else if (move === 'promote') this.#promote(rollout);
    }
    if (this.#traffic.size === 0) this.close();
  }

  /** Pauses the candidate's traffic while none of its replicas is ready; rolls back when that lasts. */
  #checkCandidates(rollout: Rollout): void {
    const fleet = this.#fleets.get(rollout)!;
    const ready = fleet.candidates.filter((r) => r.state === 'ready' && r.runs(rollout.model, rollout.candidate)).length;
    if (ready > 0) {
      fleet.pausedSinceMs = undefined;
      rollout.pause(undefined);
      return;
    }
    const since = (fleet.pausedSinceMs ??= this.#deps.now());
    const states = fleet.candidates.map((r) => `${r.id} ${r.state}`).join(', ');
    rollout.pause(`no candidate replica is ready (${states})`);
    // Canary requests waiting for a candidate replica are answered by stable now rather than after the restart.
    this.#deps.failWaiting(rollout.model, rollout.candidate, new InfergateError('GW_ERR_MODEL_NOT_READY', `no replica of candidate version ${rollout.candidate} is ready`));
    if (this.#deps.now() - since >= this.#deps.maxPauseMs) this.#rollBack(rollout, `no candidate replica was ready for ${this.#deps.maxPauseMs} ms (${states})`);
  }

  #promote(rollout: Rollout): void {
    const { registry, replicas, loadOn, logger } = this.#deps;
    const { model, candidate } = rollout;
    const fleet = this.#fleets.get(rollout)!;
    rollout.promoting();
    logger.info({ model, stable: rollout.stable, candidate }, 'rollout gates passed: promoting');
    const promote = async (): Promise<void> => {
      // Both versions on every stable replica first, so that the label moves with the whole fleet able to serve it.
      for (const host of fleet.stableHosts.filter((r) => r.state === 'ready')) {
        host.place(model, { name: model, versions: [...fleet.servedBefore, candidate] });
        await loadOn(host, model);
      }
      this.#traffic.delete(model);
      registry.pinStable(model, candidate);
      this.#serve(model, [candidate]);
      for (const host of fleet.stableHosts) host.place(model, { name: model, versions: [candidate] });
      registry.observe(replicas.replicas);
      for (const host of fleet.stableHosts.filter((r) => r.state === 'ready')) await loadOn(host, model);
      await this.#deps.workers.releaseReplicas(model, fleet.candidates);
      registry.observe(replicas.replicas);
      this.#ended(rollout, 'promoted', `version ${candidate} is stable; version ${rollout.stable} retired`);
    };
    void this.#deps.exclusively(promote).catch((err) => {
      // A replica could not load the candidate: the stable version serves as before.
      registry.pinStable(model, rollout.stable);
      this.#rollBack(rollout, `promotion failed: ${(err as Error).message}`);
    });
  }

  #rollBack(rollout: Rollout, reason: string, aborted = false): void {
    if (rollout.state === 'rolling-back' || !rollout.running) return;
    const { registry, replicas, loadOn, logger } = this.#deps;
    const { model } = rollout;
    // No request goes to the candidate from here on; those on it finish (or are answered by stable).
    this.#traffic.delete(model);
    rollout.rollingBack(reason);
    logger.warn({ model, stable: rollout.stable, candidate: rollout.candidate, reason: rollout.reason }, 'rollout rolling back');
    if (!aborted) this.#deps.onRollBack?.(model, reason);
    const restore = async (): Promise<void> => {
      const fleet = this.#fleets.get(rollout);
      if (fleet) {
        for (const host of fleet.stableHosts) host.place(model, { name: model, versions: fleet.servedBefore });
        await this.#deps.workers.releaseReplicas(model, fleet.candidates);
        this.#serve(model, fleet.servedBefore);
        registry.observe(replicas.replicas);
        // A replica that had loaded the candidate for a promotion lets go of it.
        for (const host of fleet.stableHosts.filter((r) => r.state === 'ready' && r.runs(model, rollout.candidate))) await loadOn(host, model);
      }
      registry.observe(replicas.replicas);
    };
    void this.#deps
      .exclusively(restore)
      .catch((err) => logger.error({ model, err }, 'rollback did not finish cleanly'))
      .finally(() => this.#ended(rollout, 'rolled-back', `version ${rollout.stable} serves alone: ${rollout.reason}`));
  }

  #ended(rollout: Rollout, state: 'promoted' | 'rolled-back', detail: string): void {
    rollout.finished(state, detail);
    const outcomes = this.#outcomes.get(rollout.model) ?? { promoted: 0, rolledBack: 0 };
    if (state === 'promoted') outcomes.promoted++;
    else outcomes.rolledBack++;
    this.#outcomes.set(rollout.model, outcomes);
    this.#deps.logger[state === 'promoted' ? 'info' : 'warn']({ model: rollout.model, candidate: rollout.candidate, state, detail }, `rollout ${state}`);
  }

  /** The registry serves these versions of the model (their files as the repository has them now). */
  #serve(model: string, versions: readonly string[]): void {
    const [scanned] = scanModelRepository(this.#deps.repository, [{ name: model, versions: [...new Set(versions)] }]);
    if (scanned) this.#deps.registry.upsert(scanned);
  }
}

/** How two signatures differ (names, datatypes, shapes of inputs and outputs); undefined when they do not. */
export function signatureDifference(stable: ModelSignature, candidate: ModelSignature): string | undefined {
  const key = (specs: readonly TensorSpec[]) => specs.map((s) => `${s.name} ${s.datatype} [${s.shape.join(',')}]`).sort().join('; ');
  if (key(stable.inputs) !== key(candidate.inputs)) return `inputs ${key(candidate.inputs)}, not ${key(stable.inputs)}`;
  if (key(stable.outputs) !== key(candidate.outputs)) return `outputs ${key(candidate.outputs)}, not ${key(stable.outputs)}`;
  return undefined;
}
