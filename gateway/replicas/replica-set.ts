// The fleet: replicas join (`add`) and leave (`remove`) at run time, from
// whatever source made them (the supervisor of local workers, a static list
// of addresses), and the set answers "which replica should take this
// request". Ready replicas that run the model version are candidates; the
// balancer's rules choose among them (balancer/: panic mode over the usable
// ones, slow-start weights, weighted least-connections). Every outcome comes
// back through `release`, which feeds passive outlier ejection
// (health/outlier-ejection.ts). Requests that arrive while a model has no
// ready replica wait here (bounded, each until its deadline) and are woken
// when one is.

import { EventEmitter } from 'node:events';
import { InfergateError } from '../../common/errors.ts';
import { TimedWaiters } from '../../common/timed-waiters.ts';
import type { Logger } from '../../common/logger.ts';
import { pickLeastConnections } from '../balancer/least-connections.ts';
import { routableReplicas } from '../balancer/panic-mode.ts';
import { slowStartWeight, type SlowStartSettings } from '../balancer/slow-start.ts';
import { recordReplicaFault } from '../health/outlier-ejection.ts';
import type { Replica, ReplicaSnapshot } from './replica.ts';
import type { ReplicaState } from './replica-state.ts';

/** Replicas a request already failed on, with the generation it failed on. */
export type Tried = Map<Replica, number>;

/** A picked replica; `panic`: picked in panic mode, so its breaker may be open and is bypassed. */
export type Acquired = { replica: Replica; panic: boolean };

/** How an attempt on a replica ended: null for success, else whether the failure was the replica's fault. */
export type AttemptOutcome = { readonly replicaFault: boolean } | null;

/** A request waiting for a ready replica of its model version. */
type Wanted = { model: string; version: string | undefined; tried: Tried | undefined };

export type ReplicaSetSettings = {
  random: () => number;
  now: () => number;
  maxWaitingPerModel: number;
  panicThresholdPercent: number;
  maxEjectionPercent: number;
  slowStart: SlowStartSettings;
  logger: Logger;
};

export type ReplicaSetEvents = {
  added: [replica: Replica];
  removed: [replica: Replica];
  state: [replica: Replica, from: ReplicaState, to: ReplicaState];
  ejected: [replica: Replica, durationMs: number];
};

export class ReplicaSet extends EventEmitter<ReplicaSetEvents> {
  readonly #replicas: Replica[] = [];
  // Timers do not hold the process: the gateway refuses every waiter as it closes.
  readonly #waiters = new TimedWaiters<Wanted, Acquired>({ unrefTimers: true });
  readonly #settings: ReplicaSetSettings;
  /** Replicas that joined a fleet already serving: they ramp up (slow start) even on their first start. */
  readonly #lateJoiners = new WeakSet<Replica>();
  readonly #onState = (r: Replica, from: ReplicaState, to: ReplicaState): void => {
    if (to === 'ready') this.#onReady(r);
    this.emit('state', r, from, to);
    if (to !== 'ready') return;
    this.#wakeWaiters();
    for (const listener of this.#capacityListeners) listener();
  };
  readonly #weightOf = (r: Replica): number => this.weightOf(r);
  readonly #capacityListeners = new Set<() => void>();
  /** Replicas set aside now (see `aside`): none, the usual case, costs routing nothing. */
  #setAside = 0;

  constructor(settings: ReplicaSetSettings) {
    super();
    this.#settings = settings;
  }

  add(replica: Replica): void {
    if (this.#replicas.includes(replica)) return;
    if (this.#replicas.some((o) => o.state === 'ready')) this.#lateJoiners.add(replica);
    this.#replicas.push(replica);
    replica.on('state', this.#onState);
    this.emit('added', replica);
    if (replica.state === 'ready') this.#onState(replica, 'starting', 'ready');
  }

  /**
   * Takes a replica out of the set: it is offered to no new request. Requests already sent to it finish (or fail
   * and are retried elsewhere); its source stops it.
   */
  remove(replica: Replica): void {
    const index = this.#replicas.indexOf(replica);
    if (index === -1) return;
    this.#replicas.splice(index, 1);
    replica.off('state', this.#onState);
    this.emit('removed', replica);
  }

  get replicas(): readonly Replica[] {
    return this.#replicas;
  }

  /**
   * The replicas traffic for `model` `version` goes to now (usable ones, or every ready one in panic mode); only
   * replicas that loaded that version. An undefined version: any replica placed to serve the model.
   */
  route(model: string, version: string | undefined): { replicas: readonly Replica[]; panic: boolean } {
    const ready = this.#replicas.filter((r) => r.state === 'ready' && r.runs(model, version));
    // A replica set aside (loading a model) serves only a model no other ready replica runs.
    const inService = this.#setAside > 0 ? ready.filter((r) => !r.aside) : ready;
    return routableReplicas(inService.length > 0 ? inService : ready, isUsable, this.#settings.panicThresholdPercent);
  }

  /** Routable replicas of `model` `version` that this request has not already failed on. */
  candidates(model: string, version: string | undefined, tried?: Tried): Replica[] {
    return this.route(model, version).replicas.filter((r) => tried?.get(r) !== r.generation);
  }

  /** The batcher's view of capacity: the routable replicas of a model version (batching/batcher.ts BatchCapacity). */
  routable(model: string, version: string): readonly Replica[] {
    return this.route(model, version).replicas;
  }

  /**
   * Calls `listener` whenever capacity may have grown: a replica turned ready, or finished a request (of any model:
   * models share workers, so one model's batch waits for another's). Returns the unsubscribe.
   */
  onCapacityChange(listener: () => void): () => void {
    this.#capacityListeners.add(listener);
    return () => this.#capacityListeners.delete(listener);
  }

  /**
   * Runs `work` (a model load) with `replica` out of routing wherever another replica can serve: building a session
   * holds the worker's one thread, so a request sent to it meanwhile would wait behind the build. The requests
   * already on it finish first (waited for at most `drainMs`). A model this replica alone serves keeps sending to it,
   * and pauses for the build: nothing else can serve it.
   */
  async aside<T>(replica: Replica, drainMs: number, work: () => Promise<T>): Promise<T> {
    replica.aside = true;
    this.#setAside++;
    try {
      await this.#drained(replica, drainMs);
      return await work();
    } finally {
      replica.aside = false;
      this.#setAside--;
      for (const listener of this.#capacityListeners) listener();
    }
  }

  /** Resolves once `replica` has no request outstanding, or after `maxMs`. */
  #drained(replica: Replica, maxMs: number): Promise<void> {
    if (replica.outstanding === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        unsubscribe();
        resolve();
      };
      const timer = setTimeout(done, maxMs);
      const unsubscribe = this.onCapacityChange(() => {
        if (replica.outstanding === 0) done();
      });
    });
  }

  /** Whether a replica of `model` that is not ready now may become ready (starting, or stopped and to be restarted). */
  mayGainReady(model: string): boolean {
    return this.#replicas.some((r) => r.serves(model) && (r.state === 'starting' || r.state === 'stopped'));
  }

  /** The least-loaded routable replica now, or undefined. */
  pick(model: string, version: string | undefined, tried?: Tried): Acquired | undefined {
    const { replicas, panic } = this.route(model, version);
    const fresh = tried && tried.size > 0 ? replicas.filter((r) => tried.get(r) !== r.generation) : replicas;
    const replica = pickLeastConnections(fresh, this.#settings.random, this.#weightOf);
    return replica && { replica, panic };
  }

  /**
   * A usable replica now, or as soon as one becomes ready; rejects with
   * GW_ERR_MODEL_NOT_READY after `waitMs` or when too many requests wait.
   * The replica's outstanding count is taken here, at the moment of the pick
   * (so that a burst of picks spreads out); the caller must `release` it.
   */
  acquire(model: string, version: string | undefined, tried: Tried | undefined, waitMs: number): Promise<Acquired> {
    const now = this.pick(model, version, tried);
    if (now) return Promise.resolve(take(now));
    if (waitMs <= 0 || this.#waiters.count((w) => w.model === model) >= this.#settings.maxWaitingPerModel) {
      return Promise.reject(new InfergateError('GW_ERR_MODEL_NOT_READY', `model "${model}" has no ready replica`));
    }
    return this.#waiters.wait({ model, version, tried }, waitMs, () => new InfergateError('GW_ERR_MODEL_NOT_READY', `model "${model}" had no ready replica for ${waitMs} ms`));
  }

  /** `acquire` when a replica is ready now (no promise, no wait); undefined otherwise. */
  tryAcquire(model: string, version: string | undefined, tried: Tried | undefined): Acquired | undefined {
    const now = this.pick(model, version, tried);
    return now && take(now);
  }

  /** Returns a replica taken by `acquire`, with the attempt's outcome. */
  release(replica: Replica, outcome: AttemptOutcome): void {
    replica.outstanding--;
    for (const listener of this.#capacityListeners) listener();
    if (!outcome) {
      replica.completed++;
      replica.health.onSuccess();
      return;
    }
    replica.failed++;
    if (!outcome.replicaFault) return;
    const durationMs = recordReplicaFault(replica, this.#replicas, this.#settings.maxEjectionPercent, this.#settings.logger);
    if (durationMs !== undefined) this.emit('ejected', replica, durationMs);
  }

  /** A replica's slow-start traffic weight now (1 = a full share). */
  weightOf(replica: Replica): number {
    const { windowMs, minWeightPercent } = this.#settings.slowStart;
    return slowStartWeight(this.#settings.now() - replica.rampStartedMs, windowMs, minWeightPercent);
  }

  /** Every member's state, counters, health and weight (the admin view). */
  snapshots(): ReplicaSnapshot[] {
    return this.#replicas.map((r) => r.snapshot(this.weightOf(r)));
  }

  /** Fails the requests waiting for a replica that runs this version of the model (a rollout's candidate that lost its replicas). */
  rejectWaitersFor(model: string, version: string, err: InfergateError): void {
    this.#waiters.wake((w) => (w.model === model && w.version === version ? { error: err } : undefined));
  }

  /** Fails every waiting request (shutdown). */
  rejectWaiters(err: InfergateError): void {
    this.#waiters.rejectAll(err);
  }

  /**
   * A fresh process passed its readiness check: its health starts over, and it ramps up when it joins replicas
   * that kept serving (restarted, or added to a running fleet). Replicas that start together with the gateway
   * share traffic evenly from the start.
   */
  #onReady(r: Replica): void {
    r.health.onReady();
    const joinsServingPeers = (r.generation > 0 || this.#lateJoiners.has(r)) && this.#replicas.some((o) => o !== r && o.state === 'ready' && o.models.some((m) => r.serves(m)));
    r.rampStartedMs = joinsServingPeers ? this.#settings.now() : -Infinity;
  }

  #wakeWaiters(): void {
    this.#waiters.wake((w) => {
      const acquired = this.pick(w.model, w.version, w.tried);
      return acquired && { value: take(acquired) };
    });
  }
}

function take(acquired: Acquired): Acquired {
  acquired.replica.outstanding++;
  return acquired;
}

const isUsable = (replica: Replica): boolean => replica.health.usable;
