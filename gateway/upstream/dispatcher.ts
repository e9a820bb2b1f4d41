// Sends one request frame to a replica of its model and returns the answer,
// trying another replica when one fails in a way another could fix (crash,
// reset, 5xx, attempt timeout), within the request's deadline, a bounded
// number of attempts and the retry budget. Each attempt runs under the
// replica's circuit breaker (bypassed in panic mode, when every replica would
// otherwise be refused) and is bounded by min(attempt timeout, time left). A
// request that finds no ready replica waits for one (bounded by its
// deadline), so a restart of the only replica delays requests instead of
// failing them.

import { EventEmitter } from 'node:events';
import { InfergateError } from '../../common/errors.ts';
import type { FrameBytes } from '../../common/wire.ts';
import type { Replica } from '../replicas/replica.ts';
import type { Acquired, ReplicaSet, Tried } from '../replicas/replica-set.ts';
import { BreakerOpenError } from '../resilience/circuit-breaker.ts';
import type { RetryBudget } from '../resilience/retry-budget.ts';
import { UpstreamFailure } from './failure.ts';

export type DispatcherOptions = {
  replicas: ReplicaSet;
  maxAttempts: number;
  attemptTimeoutMs: number;
  retryBudget: RetryBudget;
  now: () => number;
};

/** 'failure': every failed attempt, with the replica it failed on (for metrics and logs). */
export type DispatcherEvents = { failure: [replica: Replica, failure: UpstreamFailure] };

export class Dispatcher extends EventEmitter<DispatcherEvents> {
  readonly #deps: DispatcherOptions;

  constructor(deps: DispatcherOptions) {
    super();
    this.#deps = deps;
  }

  /**
   * Resolves with the worker's response frame from a replica that loaded `version` of
   * `model` (undefined: any replica placed to serve it); rejects with an InfergateError.
   * `encode` makes the request frame for the time the request has left: a
   * retry's frame carries what is left when it is sent, so the worker that
   * gets it drops the work once the client's deadline has passed.
   */
  dispatch(model: string, version: string | undefined, encode: (budgetMs: number) => FrameBytes, deadlineMs: number): Promise<Uint8Array> {
    return this.run(model, version, (replica, timeoutMs, budgetMs) => replica.client.infer(encode(budgetMs), timeoutMs), deadlineMs);
  }

  /**
   * `dispatch` for any kind of call: `send` sends the request to the replica it is given, bounded by
   * `timeoutMs` (the attempt timeout or the time left), and rejects with an UpstreamFailure that says whether
   * another replica may succeed. Replicas, breakers, retries, the retry budget and the deadline are the same.
   */
  async run<T>(model: string, version: string | undefined, send: (replica: Replica, timeoutMs: number, budgetMs: number) => Promise<T>, deadlineMs: number): Promise<T> {
    const { replicas, retryBudget, now } = this.#deps;
    // Made on the first failure: most requests succeed on their first attempt.
    let tried: Tried | undefined;
    let lastFailure: UpstreamFailure | undefined;
    retryBudget.recordRequest();
    for (let attempt = 1; attempt <= this.#deps.maxAttempts; attempt++) {
      const remainingMs = deadlineMs - now();
      if (remainingMs <= 0) break;

      // Every ready replica failed this request and none is on its way: waiting would only burn the deadline.
      if (lastFailure && replicas.candidates(model, version, tried).length === 0 && !replicas.mayGainReady(model)) throw lastFailure.error;
      // A refused call (nothing was sent) is tried elsewhere for free; a real retry spends budget.
      if (lastFailure && lastFailure.origin !== 'rejected' && !retryBudget.tryRetry()) {
        throw lastFailure.error;
      }

      let acquired = replicas.tryAcquire(model, version, tried);
      try {
        acquired ??= await replicas.acquire(model, version, tried, remainingMs);
      } catch (err) {
        // Waiting ran out: the first failure says more than "not ready".
        throw lastFailure?.error ?? err;
      }

      const { replica } = acquired;
      try {
        const budgetMs = deadlineMs - now();
        const timeoutMs = Math.min(this.#deps.attemptTimeoutMs, budgetMs);
        const answer = await this.#attempt(acquired, () => send(replica, timeoutMs, budgetMs));
        replicas.release(replica, null);
        return answer;
      } catch (err) {
        const failure = asFailure(err, replica);
        replicas.release(replica, failure);
        this.emit('failure', replica, failure);
        if (!failure.retryable) throw failure.error;
        (tried ??= new Map()).set(replica, replica.generation);
        lastFailure = failure;
      }
    }
    if (now() >= deadlineMs) {
      throw new InfergateError('GW_ERR_DEADLINE_EXCEEDED', lastFailure ? `last attempt: ${lastFailure.error.message}` : undefined);
    }
    throw new InfergateError('GW_ERR_UPSTREAM_UNAVAILABLE', `${this.#deps.maxAttempts} attempts failed; last: ${lastFailure?.error.message}`);
  }

  #attempt<T>({ replica, panic }: Acquired, call: () => Promise<T>): Promise<T> {
    const { breaker } = replica.health;
    // In panic mode an open breaker is bypassed: spreading over every replica beats failing every request.
    return panic && !breaker.admits() ? call() : breaker.run(call);
  }
}

function asFailure(err: unknown, replica: Replica): UpstreamFailure {
  if (err instanceof UpstreamFailure) return err;
  if (err instanceof BreakerOpenError) {
    return new UpstreamFailure('rejected', new InfergateError('GW_ERR_UPSTREAM_UNAVAILABLE', `replica ${replica.id}: ${err.message}`));
  }
  return new UpstreamFailure('transport', new InfergateError('GW_ERR_INTERNAL', String(err)));
}
