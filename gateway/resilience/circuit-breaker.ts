// Circuit breakers, over opossum. This is the only file that imports opossum:
// the rest of the gateway sees a Breaker with one state field and `run`.
//
//   closed ──error % over the rolling window > threshold (≥ volumeThreshold calls)──▶ open
//   open ──resetTimeoutMs──▶ half-open ──the single probe succeeds──▶ closed
//                               └──────────the probe fails─────────▶ open
//
// A failure counts only when `isFault(err)` says it is the protected side's
// fault (classified before it gets here): a client's bad input never opens a
// replica's breaker. Every breaker's rolling window is rotated by one shared
// BreakerClock instead of one interval timer per breaker.

import { EventEmitter } from 'node:events';
import CircuitBreaker from 'opossum';

export type BreakerConfig = {
  /** Error share (percent of calls in the rolling window) above which the breaker opens. */
  errorThresholdPercentage: number;
  /** Calls in the rolling window before the error share can open the breaker (opossum's default, 0, lets one failure open it). */
  volumeThreshold: number;
  /** How long an open breaker rejects before letting one probe through. */
  resetTimeoutMs: number;
  /** Length of the rolling window the error share is computed over. */
  rollingWindowMs: number;
  /** Buckets the rolling window is divided into (the clock ticks every rollingWindowMs / rollingBuckets). */
  rollingBuckets: number;
  /** When set, a call that takes longer fails (and counts) as a timeout; unset: the caller bounds its own calls. */
  callTimeoutMs?: number;
};

export type BreakerState = 'closed' | 'open' | 'half-open';

export type BreakerSnapshot = {
  state: BreakerState;
  /** Calls and failures in the current rolling window. */
  calls: number;
  failures: number;
  rejected: number;
  opened: number;
};

/** Thrown by `run` when the breaker is open (or its half-open probe is already taken). */
export class BreakerOpenError extends Error {
  readonly code = 'EOPENBREAKER';

  constructor(name: string) {
    super(`circuit breaker of ${name} is open`);
    this.name = 'BreakerOpenError';
  }
}

/** Thrown by `run` when the action outlived `callTimeoutMs`; always counts as a failure. */
export class BreakerTimeoutError extends Error {
  readonly code = 'ETIMEDOUT';

  constructor(name: string, timeoutMs: number) {
    super(`${name} did not answer within ${timeoutMs} ms`);
    this.name = 'BreakerTimeoutError';
  }
}

/** One timer that rotates the rolling-window buckets of every breaker it is given to. */
export class BreakerClock {
  readonly emitter = new EventEmitter<{ rotate: [] }>();
  readonly #timer: NodeJS.Timeout;

  constructor(bucketMs: number) {
    this.emitter.setMaxListeners(0);
    this.#timer = setInterval(() => this.emitter.emit('rotate'), bucketMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}

type Action = () => Promise<unknown>;

export type BreakerEvents = { state: [to: BreakerState, from: BreakerState] };

/** Emits 'state' on every transition. */
export class Breaker extends EventEmitter<BreakerEvents> {
  readonly name: string;
  readonly #create: () => CircuitBreaker<[Action], unknown>;
  #breaker: CircuitBreaker<[Action], unknown>;
  #state: BreakerState = 'closed';
  #opened = 0;

  constructor(name: string, config: BreakerConfig, clock: BreakerClock, isFault: (err: unknown) => boolean) {
    super();
    this.name = name;
    const { callTimeoutMs } = config;
    // The call timeout is ours rather than opossum's so that its error is told apart from the action's own ETIMEDOUT.
    const call = callTimeoutMs === undefined ? (action: Action) => action() : (action: Action) => withTimeout(action(), callTimeoutMs, name);
    this.#create = () => this.#wire(new CircuitBreaker<[Action], unknown>(call, {
      name,
      errorThresholdPercentage: config.errorThresholdPercentage,
      volumeThreshold: config.volumeThreshold,
      resetTimeout: config.resetTimeoutMs,
      rollingCountTimeout: config.rollingWindowMs,
      rollingCountBuckets: config.rollingBuckets,
      timeout: false,
      errorFilter: (err: unknown) => !(err instanceof BreakerTimeoutError || isFault(err)),
      rotateBucketController: clock.emitter,
      // Percentiles and snapshot events cost a timer and work per call; nothing reads them.
      rollingPercentilesEnabled: false,
      enableSnapshots: false,
    }));
    this.#breaker = this.#create();
  }

  #wire(breaker: CircuitBreaker<[Action], unknown>): CircuitBreaker<[Action], unknown> {
    breaker.on('open', () => {
      this.#opened++;
      this.#set('open');
    });
    breaker.on('halfOpen', () => this.#set('half-open'));
    breaker.on('close', () => this.#set('closed'));
    return breaker;
  }

  get state(): BreakerState {
    return this.#state;
  }

  /** Whether a call now would be let through: closed, or half-open with its single probe not yet taken. */
  admits(): boolean {
    return this.#breaker.closed || this.#breaker.pendingClose;
  }

  /** Runs `action` under the breaker; rejects with BreakerOpenError without running it when open. */
  async run<T>(action: () => Promise<T>): Promise<T> {
    try {
      return (await this.#breaker.fire(action)) as T;
    } catch (err) {
      if ((err as { code?: string } | null)?.code === 'EOPENBREAKER') throw new BreakerOpenError(this.name);
      throw err;
    }
  }

  /**
   * Closed, with an empty window (e.g. the replica's process was replaced and
   * checked ready: the old process's failures say nothing about the new one).
   * opossum cannot clear a window, so this swaps in a fresh breaker.
   */
  reset(): void {
    this.#breaker.shutdown();
    this.#breaker = this.#create();
    this.#set('closed');
  }

  snapshot(): BreakerSnapshot {
    const stats = this.#breaker.stats;
    return { state: this.#state, calls: stats.fires, failures: stats.failures, rejected: stats.rejects, opened: this.#opened };
  }

  /** Stops listening to the clock. */
  shutdown(): void {
    this.#breaker.shutdown();
  }

  #set(to: BreakerState): void {
    const from = this.#state;
    if (from === to) return;
    this.#state = to;
    this.emit('state', to, from);
  }
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number, name: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new BreakerTimeoutError(name, timeoutMs)), timeoutMs);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
