// Token buckets in this process: a Map from key to bucket, bounded.
//
// A flood of distinct client addresses must not grow the Map without end, so
// it holds at most `maxKeys` buckets, in least-recently-used order (a take
// moves its key to the end). Making room for a new key:
//
//   oldest ─▶ [full][full][part][full] … [newest]
//              └── up to SWEEP oldest are looked at: full ones are dropped
//                  (a full bucket is the same as none: nothing is forgotten);
//                  none full → the least recently used one is dropped.
//
// Dropping a bucket that is not full forgets what its client owes: the client
// starts again from a full bucket. That only happens while more than
// `maxKeys` clients were active within one refill time, and is counted.

import { fullAtMs, take, type Decision, type Limit } from './token-bucket.ts';
import type { RateLimiter } from './rate-limiter.ts';

/** How many of the oldest buckets one insert looks at for full ones: a bound on the work of a take. */
const SWEEP = 32;

export type LocalLimiterOptions = {
  /** Most buckets held (default 100 000: about 10 MB). */
  maxKeys?: number;
  /** Monotonic milliseconds (default performance.now). */
  now?: () => number;
};

export type LocalLimiterStats = {
  keys: number;
  /** Full buckets dropped to make room (harmless). */
  droppedFull: number;
  /** Buckets dropped before they were full (their clients got a fresh burst). */
  droppedActive: number;
};

type Entry = { tokens: number; updatedMs: number; fullAtMs: number };

export class LocalLimiter implements RateLimiter {
  readonly #buckets = new Map<string, Entry>();
  readonly #maxKeys: number;
  readonly #now: () => number;
  #droppedFull = 0;
  #droppedActive = 0;

  constructor(options: LocalLimiterOptions = {}) {
    this.#maxKeys = Math.max(1, options.maxKeys ?? 100_000);
    this.#now = options.now ?? (() => performance.now());
  }

  take(key: string, limit: Limit, cost: number): Decision {
    const nowMs = this.#now();
    let entry = this.#buckets.get(key);
    if (entry) this.#buckets.delete(key); // re-inserted below: Map order is recency order
    else if (this.#buckets.size >= this.#maxKeys) this.#makeRoom(nowMs);
    const result = take(entry, nowMs, limit, cost);
    if (!entry) entry = { tokens: 0, updatedMs: 0, fullAtMs: 0 };
    entry.tokens = result.bucket.tokens;
    entry.updatedMs = result.bucket.updatedMs;
    entry.fullAtMs = fullAtMs(result.bucket, limit);
    this.#buckets.set(key, entry);
    return result.decision;
  }

  get size(): number {
    return this.#buckets.size;
  }

  stats(): LocalLimiterStats {
    return { keys: this.#buckets.size, droppedFull: this.#droppedFull, droppedActive: this.#droppedActive };
  }

  async close(): Promise<void> {
    this.#buckets.clear();
  }

  #makeRoom(nowMs: number): void {
    let looked = 0;
    let freed = 0;
    for (const [key, entry] of this.#buckets) {
      if (looked++ === SWEEP) break;
      if (entry.fullAtMs <= nowMs) {
        this.#buckets.delete(key);
        freed++;
      }
    }
    this.#droppedFull += freed;
    if (freed > 0) return;
    const oldest = this.#buckets.keys().next();
    if (oldest.done) return;
    this.#buckets.delete(oldest.value);
    this.#droppedActive++;
  }
}
