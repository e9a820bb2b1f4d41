// Token buckets shared by every gateway, in Redis: one atomic script per take
// (redis-script.ts), bounded by a timeout, and a plan for Redis being away.
//
//   state  ──take──▶
//   starting/up ──▶ script (≤ timeoutMs) ──answer──▶ Decision (state up)
//                                        └─error/timeout─▶ state down, fallback
//   down  ─────────▶ fallback at once; one take per probeIntervalMs is sent
//                    to Redis as a probe (state probing) and waits ≤ timeoutMs
//   fallback: failMode 'open'   → this gateway's own bucket (a LocalLimiter):
//                                 each gateway still holds the limit by
//                                 itself, so N gateways let through ≤ N × it;
//             failMode 'closed' → rejects with GW_ERR_RATE_LIMIT_UNAVAILABLE
//                                 (503, Retry-After).
//
// While Redis is down no request waits on it: a disconnected client fails a
// command at once (no offline queue), and a connected Redis that stopped
// answering gets only the probes, so commands do not pile up behind it. The
// outage is logged once when it starts and once when it ends.

import { InfergateError } from '../../common/errors.ts';
import { silentLogger, type Logger } from '../../common/logger.ts';
import { LocalLimiter } from './local-limiter.ts';
import type { RateLimiter } from './rate-limiter.ts';
import { defineTake, type ScriptClient, type TakeReply } from './redis-script.ts';
import type { Decision, Limit } from './token-bucket.ts';

export type FailMode = 'open' | 'closed';

/** The ioredis client, as far as the limiter uses it (the cache's fail-fast 'commands' client: gateway/cache/redis-client.ts). */
export type LimiterRedisClient = ScriptClient & {
  readonly status: string;
  on(event: 'error', listener: (err: Error) => void): unknown;
  on(event: 'ready', listener: () => void): unknown;
  quit(): Promise<unknown>;
  disconnect(): void;
};

export type RedisLimiterOptions = {
  /** Owned from here on: closed by close(). */
  client: LimiterRedisClient;
  /** Buckets live at `<keyPrefix>:rl:<key>`. */
  keyPrefix: string;
  failMode: FailMode;
  /** The longest a take waits for Redis (default 75 ms). */
  timeoutMs?: number;
  /** While Redis is down, how often one take tries it again (default 250 ms). */
  probeIntervalMs?: number;
  /** Fail-open's per-gateway buckets (default: a LocalLimiter of 100 000 keys). */
  fallback?: RateLimiter & { take(key: string, limit: Limit, cost: number): Decision };
  logger?: Logger;
  /** Monotonic milliseconds, for the probe interval (default performance.now). */
  now?: () => number;
};

export type StoreState = 'starting' | 'up' | 'down' | 'probing' | 'closed';

export type RedisLimiterStats = {
  state: StoreState;
  /** Takes decided without Redis (failed, timed out, or not sent while it was down). */
  storeFailures: number;
  /** Of those: Redis answered with an error, or the connection was down. */
  errors: number;
  /** Of those: Redis did not answer within timeoutMs. */
  timeouts: number;
  /** Of those: not sent, Redis being known down. */
  skipped: number;
};

class StoreTimeoutError extends Error {
  constructor(timeoutMs: number) {
    super(`the rate limit store did not answer within ${timeoutMs} ms`);
    this.name = 'StoreTimeoutError';
  }
}

export class RedisLimiter implements RateLimiter {
  readonly #client: LimiterRedisClient;
  readonly #run: (key: string, ratePerSecond: number, burst: number, cost: number) => Promise<TakeReply>;
  readonly #prefix: string;
  readonly #failMode: FailMode;
  readonly #timeoutMs: number;
  readonly #probeIntervalMs: number;
  readonly #fallback: NonNullable<RedisLimiterOptions['fallback']>;
  readonly #logger: Logger;
  readonly #now: () => number;
  #state: StoreState = 'starting';
  #lastProbeMs = -Infinity;
  readonly #stats = { errors: 0, timeouts: 0, skipped: 0 };
  #closing: Promise<void> | undefined;

  constructor(options: RedisLimiterOptions) {
    this.#client = options.client;
    this.#prefix = `${options.keyPrefix}:rl:`;
    this.#failMode = options.failMode;
    this.#timeoutMs = options.timeoutMs ?? 75;
    this.#probeIntervalMs = options.probeIntervalMs ?? 250;
    this.#fallback = options.fallback ?? new LocalLimiter();
    this.#logger = options.logger ?? silentLogger();
    this.#now = options.now ?? (() => performance.now());
    this.#run = defineTake(this.#client);
    // ioredis reports connection trouble as 'error' events (and prints them when nobody listens).
    this.#client.on('error', (err) => {
      if (this.#state === 'starting' || this.#state === 'up') this.#moveTo('down', err);
    });
    this.#client.on('ready', () => {
      if (this.#state !== 'up' && this.#state !== 'closed') this.#moveTo('up');
    });
  }

  take(key: string, limit: Limit, cost: number): Decision | Promise<Decision> {
    const ready = this.#client.status === 'ready';
    if (ready && (this.#state === 'up' || this.#state === 'starting')) return this.#fromStore(key, limit, cost);
    if (ready && this.#state === 'down' && this.#now() - this.#lastProbeMs >= this.#probeIntervalMs) {
      this.#state = 'probing';
      this.#lastProbeMs = this.#now();
      return this.#fromStore(key, limit, cost);
    }
    if (this.#state === 'up') this.#moveTo('down', new Error(`the Redis connection is ${this.#client.status}`));
    this.#stats.skipped++;
    return this.#withoutStore(key, limit, cost);
  }

  /** Takes decided without Redis so far: the gateway's "rate limit store failures" metric. */
  get storeFailures(): number {
    return this.#stats.errors + this.#stats.timeouts + this.#stats.skipped;
  }

  stats(): RedisLimiterStats {
    return { state: this.#state, storeFailures: this.storeFailures, ...this.#stats };
  }

  /** Quits the client, waiting at most timeoutMs (a take in flight is bounded by it anyway); idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#state = 'closed';
      // A stalled Redis would hold QUIT's answer for as long as it sleeps: disconnect after the timeout.
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<void>((resolve) => (timer = setTimeout(resolve, this.#timeoutMs)));
      await Promise.race([this.#client.quit().catch(() => {}), timedOut]);
      clearTimeout(timer);
      this.#client.disconnect();
      await this.#fallback.close();
    })();
    return this.#closing;
  }

  #fromStore(key: string, limit: Limit, cost: number): Promise<Decision> {
    const { ratePerSecond, burst } = limit;
    return new Promise<Decision>((resolve) => {
      let settled = false;
      // Decided without Redis; fail-closed resolves with a rejected promise, which rejects this one.
      const withoutStore = () => {
        settled = true;
        resolve(this.#withoutStore(key, limit, cost));
      };
      // Our own timer: ioredis's commandTimeout does not cover auto-pipelined commands. It judges in the
      // check phase (setImmediate), after the poll phase has read the socket: when the event loop was busy
      // past the timeout, an answer that did arrive in time is taken, and the gateway's lag is not blamed
      // on Redis.
      const timer = setTimeout(() => {
        setImmediate(() => {
          if (settled) return;
          this.#stats.timeouts++;
          this.#failed(new StoreTimeoutError(this.#timeoutMs));
          withoutStore();
        });
      }, this.#timeoutMs);
      timer.unref();
      this.#run(this.#prefix + key, ratePerSecond, burst, cost).then(
        (reply) => {
          if (settled) return; // answered after its timeout: already decided without it
          settled = true;
          clearTimeout(timer);
          if (this.#state !== 'up' && this.#state !== 'closed') this.#moveTo('up');
          resolve({ allowed: reply[0] === 1, limit: burst, remaining: reply[1], resetSeconds: reply[2], retryAfterSeconds: reply[3] });
        },
        (err: Error) => {
          if (settled) return;
          clearTimeout(timer);
          this.#stats.errors++;
          this.#failed(err);
          withoutStore();
        },
      );
    });
  }

  /** Fail-open: this gateway's own bucket. Fail-closed: a catalogued refusal (thrown; a rejection from #fromStore). */
  #withoutStore(key: string, limit: Limit, cost: number): Decision | Promise<Decision> {
    if (this.#failMode === 'open') return this.#fallback.take(key, limit, cost);
    const error = new InfergateError('GW_ERR_RATE_LIMIT_UNAVAILABLE');
    error.retryAfterSeconds = Math.max(1, Math.ceil(this.#probeIntervalMs / 1000));
    return Promise.reject(error);
  }

  #failed(err: Error): void {
    if (this.#state === 'probing') this.#state = 'down';
    else if (this.#state === 'up' || this.#state === 'starting') this.#moveTo('down', err);
  }

  /** The one transition function: logs an outage when it starts and when it ends, not per take. */
  #moveTo(next: 'up' | 'down', err?: Error): void {
    const previous = this.#state;
    this.#state = next;
    if (next === 'down') {
      this.#lastProbeMs = this.#now();
      this.#logger.warn({ err, failMode: this.#failMode }, `rate limit store (Redis) unavailable; failing ${this.#failMode} until it answers`);
    } else if (previous === 'starting') this.#logger.info('rate limit store (Redis) connected');
    else this.#logger.info({ storeFailures: this.storeFailures }, 'rate limit store (Redis) answers again');
  }
}
