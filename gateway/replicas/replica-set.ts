// Owns the replicas and answers "which replica should take this request":
// only ready replicas that serve the model are candidates, and the
// least-connections policy picks among them. Requests that arrive while a
// model has no usable replica wait here (bounded, each until its deadline)
// and are woken when a replica becomes ready.

import { EventEmitter } from 'node:events';
import { InfergateError } from '../../common/errors.ts';
import { pickLeastConnections } from '../balancer/least-connections.ts';
import type { Replica } from './replica.ts';

/** Replicas a request already failed on, with the generation it failed on. */
export type Tried = Map<Replica, number>;

type Waiter = {
  model: string;
  tried: Tried;
  resolve: (replica: Replica) => void;
  reject: (err: InfergateError) => void;
  timer: NodeJS.Timeout;
};

export type ReplicaSetOptions = {
  random: () => number;
  maxWaitingPerModel: number;
};

export class ReplicaSet extends EventEmitter {
  readonly #replicas: Replica[] = [];
  readonly #waiters = new Set<Waiter>();
  readonly #random: () => number;
  readonly #maxWaitingPerModel: number;

  constructor(options: ReplicaSetOptions) {
    super();
    this.#random = options.random;
    this.#maxWaitingPerModel = options.maxWaitingPerModel;
  }

  add(replica: Replica): void {
    this.#replicas.push(replica);
    replica.on('state', (r: Replica, from: string, to: string) => {
      this.emit('state', r, from, to);
      if (to === 'ready') this.#wakeWaiters();
    });
  }

  get replicas(): readonly Replica[] {
    return this.#replicas;
  }

  /** Ready replicas serving `model` that this request has not already failed on. */
  candidates(model: string, tried?: Tried): Replica[] {
    return this.#replicas.filter(
      (r) => r.state === 'ready' && r.serves(model) && tried?.get(r) !== r.generation,
    );
  }

  hasReady(model: string): boolean {
    return this.#replicas.some((r) => r.state === 'ready' && r.serves(model));
  }

  /** The least-loaded usable replica now, or undefined. */
  pick(model: string, tried?: Tried): Replica | undefined {
    return pickLeastConnections(this.candidates(model, tried), this.#random);
  }

  /**
   * A usable replica now, or as soon as one becomes ready; rejects with
   * GW_ERR_MODEL_NOT_READY after `waitMs` or when too many requests wait.
   * The replica's outstanding count is taken here, at the moment of the pick
   * (so that a burst of picks spreads out); the caller must `release` it.
   */
  acquire(model: string, tried: Tried, waitMs: number): Promise<Replica> {
    const now = this.pick(model, tried);
    if (now) return Promise.resolve(take(now));
    let waiting = 0;
    for (const w of this.#waiters) if (w.model === model) waiting++;
    if (waiting >= this.#maxWaitingPerModel || waitMs <= 0) {
      return Promise.reject(new InfergateError('GW_ERR_MODEL_NOT_READY', `model "${model}" has no ready replica`));
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        model,
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

  /** Returns a replica taken by `acquire`. */
  release(replica: Replica, succeeded: boolean): void {
    replica.outstanding--;
    if (succeeded) replica.completed++;
    else replica.failed++;
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
      const replica = this.pick(w.model, w.tried);
      if (!replica) continue;
      clearTimeout(w.timer);
      this.#waiters.delete(w);
      w.resolve(take(replica));
    }
  }
}

function take(replica: Replica): Replica {
  replica.outstanding++;
  return replica;
}
