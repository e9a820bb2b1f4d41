// The result cache as the infer path sees it: per-model policy, the key,
// single-flight and the storage tier(s). A request either gets a stored
// answer (hit), joins an identical request already running (joined), or runs
// and stores its answer (miss); `bypass` (Cache-Control: no-cache) skips the
// lookup but still stores the fresh answer.
//
// Single-flight is per gateway process: identical requests on two gateways
// both run (a shared tier then serves later repeats on both).

import { cacheKey, type CacheKeyParts } from './cache-key.ts';
import type { MemoryLru } from './memory-lru.ts';

export type CachePolicy = { enabled: boolean; ttlSeconds: number; maxEntryBytes: number };
export type CacheOutcome = 'hit' | 'miss' | 'joined' | 'bypass' | 'off';

export type ResultCacheStats = {
  hits: number;
  misses: number;
  joins: number;
  bypasses: number;
  stores: number;
  tooLarge: number;
};

/** How values become the bytes the tiers store, and back (only on a store and on a hit). */
export type CacheCodec<V> = { toBytes: (value: V) => Uint8Array; fromBytes: (bytes: Uint8Array) => V };

export type ResultCacheOptions<V> = {
  memory: MemoryLru;
  keyPrefix: string;
  policyFor: (model: string) => CachePolicy;
  /** Required unless V is Uint8Array. */
  codec?: CacheCodec<V>;
};

const IDENTITY: CacheCodec<Uint8Array> = { toBytes: (v) => v, fromBytes: (b) => b };

export class ResultCache<V = Uint8Array> {
  readonly #o: ResultCacheOptions<V>;
  readonly #codec: CacheCodec<V>;
  readonly #inFlight = new Map<string, Promise<V>>();
  readonly #stats: ResultCacheStats = { hits: 0, misses: 0, joins: 0, bypasses: 0, stores: 0, tooLarge: 0 };

  constructor(options: ResultCacheOptions<V>) {
    this.#o = options;
    this.#codec = options.codec ?? (IDENTITY as unknown as CacheCodec<V>);
  }

  /** Whether answers of this model are cached at all (no key is needed when not and nothing else uses it). */
  enabledFor(model: string): boolean {
    return this.#o.policyFor(model).enabled;
  }

  /** The full key of a request: <prefix>:<model>:<version>:<sha256>. */
  keyFor(parts: CacheKeyParts): string {
    return `${this.#o.keyPrefix}:${parts.model}:${parts.version}:${cacheKey(parts)}`;
  }

  async getOrCompute(
    model: string,
    key: string,
    bypass: boolean,
    compute: () => Promise<V>,
  ): Promise<{ value: V; outcome: CacheOutcome }> {
    const policy = this.#o.policyFor(model);
    if (!policy.enabled) return { value: await compute(), outcome: 'off' };

    if (!bypass) {
      const stored = this.#o.memory.get(key);
      if (stored) {
        this.#stats.hits++;
        return { value: this.#codec.fromBytes(stored), outcome: 'hit' };
      }
      const running = this.#inFlight.get(key);
      if (running) {
        this.#stats.joins++;
        return { value: await running, outcome: 'joined' };
      }
    }

    const run = compute();
    if (!bypass) this.#inFlight.set(key, run);
    try {
      const value = await run;
      const bytes = this.#codec.toBytes(value);
      if (bytes.byteLength > policy.maxEntryBytes) this.#stats.tooLarge++;
      else {
        this.#o.memory.set(key, bytes, policy.ttlSeconds * 1000);
        this.#stats.stores++;
      }
      if (bypass) this.#stats.bypasses++;
      else this.#stats.misses++;
      return { value, outcome: bypass ? 'bypass' : 'miss' };
    } finally {
      if (this.#inFlight.get(key) === run) this.#inFlight.delete(key);
    }
  }

  stats(): ResultCacheStats & { memory: ReturnType<MemoryLru['stats']>; inFlight: number } {
    return { ...this.#stats, memory: this.#o.memory.stats(), inFlight: this.#inFlight.size };
  }
}
