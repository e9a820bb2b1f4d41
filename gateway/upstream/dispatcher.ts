// Sends one request frame to a replica of its model and returns the answer,
// trying another replica when one fails in a way another could fix (crash,
// reset, 5xx), within the request's deadline and a bounded number of
// attempts. A request that finds no ready replica waits for one (bounded by
// its deadline), so a restart of the only replica delays requests instead of
// failing them.

import { EventEmitter } from 'node:events';
import { InfergateError } from '../../common/errors.ts';
import type { Replica } from '../replicas/replica.ts';
import type { ReplicaSet, Tried } from '../replicas/replica-set.ts';
import { UpstreamFailure } from './failure.ts';

export type DispatcherOptions = {
  replicas: ReplicaSet;
  maxAttempts: number;
  now: () => number;
};

/** Emits 'failure' (replica, UpstreamFailure) for every failed attempt. */
export class Dispatcher extends EventEmitter {
  readonly #replicas: ReplicaSet;
  readonly #maxAttempts: number;
  readonly #now: () => number;

  constructor(options: DispatcherOptions) {
    super();
    this.#replicas = options.replicas;
    this.#maxAttempts = options.maxAttempts;
    this.#now = options.now;
  }

  /** Resolves with the worker's response frame; rejects with an InfergateError. */
  async dispatch(model: string, frame: Uint8Array, deadlineMs: number): Promise<Uint8Array> {
    const tried: Tried = new Map();
    let lastFailure: UpstreamFailure | undefined;
    for (let attempt = 1; attempt <= this.#maxAttempts; attempt++) {
      const remainingMs = deadlineMs - this.#now();
      if (remainingMs <= 0) break;

      let replica: Replica;
      try {
        replica = await this.#replicas.acquire(model, tried, remainingMs);
      } catch (err) {
        // Waiting ran out: the first failure says more than "not ready".
        throw lastFailure?.error ?? err;
      }

      try {
        const answer = await replica.client.infer(frame, deadlineMs - this.#now());
        this.#replicas.release(replica, true);
        return answer;
      } catch (err) {
        const failure = err instanceof UpstreamFailure ? err : new UpstreamFailure('transport', new InfergateError('GW_ERR_INTERNAL', String(err)));
        this.#replicas.release(replica, !failure.replicaFault);
        this.emit('failure', replica, failure);
        if (!failure.retryable) throw failure.error;
        tried.set(replica, replica.generation);
        lastFailure = failure;
      }
    }
    if (this.#now() >= deadlineMs) {
      throw new InfergateError('GW_ERR_DEADLINE_EXCEEDED', lastFailure ? `last attempt: ${lastFailure.error.message}` : undefined);
    }
    throw new InfergateError('GW_ERR_UPSTREAM_UNAVAILABLE', `${this.#maxAttempts} attempts failed; last: ${lastFailure?.error.message}`);
  }
}
