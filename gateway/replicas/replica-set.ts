// Owns the replicas and answers "which replica should take this request":
// ready replicas that serve the model and are usable (active checks pass, not
// ejected, breaker admits) are candidates — all ready ones in panic mode, when
// too few are usable — and weighted least-connections picks among them
// (slow-start weight). Every outcome comes back through `release`, which feeds
// passive outlier ejection (never ejecting more than maxEjectionPercent of a
// model's replicas). Requests that arrive while a model has no ready replica
// wait here (bounded, each until its deadline) and are woken when one is.

import { EventEmitter } from 'node:events';
import { InfergateError } from '../../common/errors.ts';
import { pickLeastConnections } from '../balancer/least-connections.ts';
import { mayEject, routableReplicas } from '../health/health-policy.ts';
import type { UpstreamFailure } from '../upstream/failure.ts';
import type { Replica } from './replica.ts';

/** Replicas a request already failed on, with the generation it failed on. */
export type Tried = Map<Replica, number>;

/** A picked replica; `panic`: picked in panic mode, so its breaker may be open and is bypassed. */
export type Acquired = { replica: Replica; panic: boolean };

type Waiter = {
  model: string;
  version: string | undefined;
  tried: Tried;
  resolve: (acquired: Acquired) => void;
  reject: (err: InfergateError) => void;
  timer: NodeJS.Timeout;
};

export type ReplicaSetOptions = {
  random: () => number;
  maxWaitingPerModel: number;
  panicThresholdPercent: number;
  maxEjectionPercent: number;
  log: (message: string) => void;
};

/** Emits 'added' (replica), 'state' (replica, from, to) and 'ejected' (replica, durationMs). */
export class ReplicaSet extends EventEmitter {
  readonly #replicas: Replica[] = [];
  readonly #waiters = new Set<Waiter>();
  readonly #o: ReplicaSetOptions;
  readonly #weightOf = (r: Replica) => r.health.weight();

  constructor(options: ReplicaSetOptions) {
    super();
    this.#o = options;
  }

  add(replica: Replica): void {
    this.#replicas.push(replica);
    this.emit('added', replica);
    replica.on('state', (r: Replica, from: string, to: string) => {
      // Slow start for a restarted replica rejoining replicas that kept serving; replicas
      // that start together with the gateway share traffic evenly from the start.
      if (to === 'ready') r.health.onReady(r.generation > 0 && this.#replicas.some((o) => o !== r && o.state === 'ready' && o.models.some((m) => r.serves(m))));
      this.emit('state', r, from, to);
      if (to === 'ready') this.#wakeWaiters();
    });
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
    return routableReplicas(ready, isUsable, this.#o.panicThresholdPercent);
  }

  /** Routable replicas of `model` `version` that this request has not already failed on. */
  candidates(model: string, version: string | undefined, tried?: Tried): Replica[] {
    return this.route(model, version).replicas.filter((r) => tried?.get(r) !== r.generation);
  }

  /** Whether a replica of `model` that is not ready now may become ready (starting, or stopped and to be restarted). */
  mayGainReady(model: string): boolean {
    return this.#replicas.some((r) => r.serves(model) && (r.state === 'starting' || r.state === 'stopped'));
  }

  /** The least-loaded routable replica now, or undefined. */
  pick(model: string, version: string | undefined, tried?: Tried): Acquired | undefined {
    const { replicas, panic } = this.route(model, version);
    const fresh = tried ? replicas.filter((r) => tried.get(r) !== r.generation) : replicas;
    const replica = pickLeastConnections(fresh, this.#o.random, this.#weightOf);
    return replica && { replica, panic };
  }

  /**
   * A usable replica now, or as soon as one becomes ready; rejects with
   * GW_ERR_MODEL_NOT_READY after `waitMs` or when too many requests wait.
   * The replica's outstanding count is taken here, at the moment of the pick
   * (so that a burst of picks spreads out); the caller must `release` it.
   */
  acquire(model: string, version: string | undefined, tried: Tried, waitMs: number): Promise<Acquired> {
    const now = this.pick(model, version, tried);
    if (now) return Promise.resolve(take(now));
    let waiting = 0;
    for (const w of this.#waiters) if (w.model === model) waiting++;
    if (waiting >= this.#o.maxWaitingPerModel || waitMs <= 0) {
      return Promise.reject(new InfergateError('GW_ERR_MODEL_NOT_READY', `model "${model}" has no ready replica`));
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        model,
        version,
        tried,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.#waiters.delete(waiter);
          reject(new InfergateError('GW_ERR_MODEL_NOT_READY', `model "${model}" had no ready replica for ${waitMs} ms`));
        }, waitMs),
      };
      waiter.timer.unref();
      this.#waiters.add(waiter);
    });
  }

  /** Returns a replica taken by `acquire`, with the attempt's failure (null: it succeeded). */
  release(replica: Replica, failure: UpstreamFailure | null): void {
    replica.outstanding--;
    if (!failure) {
      replica.completed++;
      replica.health.onSuccess();
      return;
    }
    replica.failed++;
    if (failure.replicaFault && replica.health.onFailure()) this.#maybeEject(replica);
  }

  /** Passive outlier ejection, unless the replica's models already have their share of ejected replicas. */
  #maybeEject(replica: Replica): void {
    for (const model of replica.models) {
      const ofModel = this.#replicas.filter((r) => r.serves(model));
      const ejected = ofModel.filter((r) => r.health.ejected).length;
      if (!mayEject(ejected, ofModel.length, this.#o.maxEjectionPercent)) {
        this.#o.log(`${replica.id}: would eject after ${replica.health.consecutiveFailures} failures in a row, but ${ejected} of ${ofModel.length} replicas of "${model}" are ejected already`);
        replica.health.ejectionRefused();
        return;
      }
    }
    const durationMs = replica.health.eject();
    this.#o.log(`${replica.id}: ejected for ${durationMs} ms after consecutive failures`);
    this.emit('ejected', replica, durationMs);
  }

  /** Fails every waiting request (shutdown). */
  rejectWaiters(err: InfergateError): void {
    for (const w of this.#waiters) {
      clearTimeout(w.timer);
      w.reject(err);
    }
    this.#waiters.clear();
  }

  #wakeWaiters(): void {
    for (const w of this.#waiters) {
      const acquired = this.pick(w.model, w.version, w.tried);
      if (!acquired) continue;
      clearTimeout(w.timer);
      this.#waiters.delete(w);
      w.resolve(take(acquired));
    }
  }
}

function take(acquired: Acquired): Acquired {
  acquired.replica.outstanding++;
  return acquired;
}

const isUsable = (replica: Replica): boolean => replica.health.usable;
