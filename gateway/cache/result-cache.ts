// The result cache as the infer path sees it: per-model policy, the key,
// single-flight and the storage tiers (the in-process LRU in front, Redis
// behind when configured). A request either gets a stored answer (hit, from
// the first tier that has it; the tiers in front are refilled), joins an
// identical request already running (joined), or runs and stores its answer
// in every tier (miss); `bypass` (Cache-Control: no-cache) skips the lookup
// but still stores the fresh answer.
//
//   lookup: in flight? ─yes─▶ joined
//             │no
//             ▼
//           memory ─hit─▶ hit          (no promise, no flight)
//             │miss
//             ▼  ── one flight per key from here: identical requests join it
//           redis ─hit─▶ refill memory ▶ hit
//             │miss / down / slow (≤ redisTimeoutMs)
//             ▼
//           compute ─▶ store in memory, and in Redis in the background
//
// Single-flight is per gateway process: identical requests on two gateways
// both run (the shared tier then serves later repeats on both).

import { cacheKey, type CacheKeyParts } from './cache-key.ts';
import type { CacheTier, TierEntry } from './tier.ts';

export type CachePolicy = { enabled: boolean; ttlSeconds: number; maxEntryBytes: number };
export type CacheOutcome = 'hit' | 'miss' | 'joined' | 'bypass' | 'off';

export type ResultCacheStats = {
  hits: number;
  /** Hits by the tier that answered. */
  hitsByTier: Record<string, number>;
  misses: number;
  joins: number;
  bypasses: number;
  stores: number;
  tooLarge: number;
  /** Stored answers that could not be decoded (served as misses). */
  undecodable: number;
};

/** How values become the bytes the tiers store, and back (only on a store and on a hit). */
export type CacheCodec<V> = { toBytes: (value: V) => Uint8Array; fromBytes: (bytes: Uint8Array) => V };

export type ResultCacheOptions<V> = {
  /** Looked up in order: the fastest (in-process) first. */
  tiers: readonly CacheTier[];
  keyPrefix: string;
  policyFor: (model: string) => CachePolicy;
  /** Required unless V is Uint8Array. */
  codec?: CacheCodec<V>;
};

export type PurgeResult = { prefix: string; removed: Record<string, number>; errors: Record<string, string> };

type Answer<V> = { value: V; outcome: CacheOutcome };

const IDENTITY: CacheCodec<Uint8Array> = { toBytes: (v) => v, fromBytes: (b) => b };

export class ResultCache<V = Uint8Array> {
  readonly #o: ResultCacheOptions<V>;
  readonly #codec: CacheCodec<V>;
  readonly #inFlight = new Map<string, Promise<Answer<V>>>();
  readonly #stats: ResultCacheStats;
  /** Decoded values of stored buffers still referenced by a tier. */
  readonly #decoded = new WeakMap<Uint8Array, V>();

  constructor(options: ResultCacheOptions<V>) {
    this.#o = options;
    this.#codec = options.codec ?? (IDENTITY as unknown as CacheCodec<V>);
    const hitsByTier = Object.fromEntries(options.tiers.map((tier) => [tier.name, 0]));
    this.#stats = { hits: 0, hitsByTier, misses: 0, joins: 0, bypasses: 0, stores: 0, tooLarge: 0, undecodable: 0 };
  }

  /** Whether answers of this model are cached at all (no key is needed when not and nothing else uses it). */
  enabledFor(model: string): boolean {
    return this.#o.policyFor(model).enabled;
  }

  /** The full key of a request: <prefix>:<model>:<version>:<sha256> (model and version URI-encoded, so ':' cannot blur them). */
  keyFor(parts: CacheKeyParts): string {
    return `${this.#prefixOf(parts.model, parts.version)}${cacheKey(parts)}`;
  }

  async getOrCompute(model: string, key: string, bypass: boolean, compute: () => Promise<V>): Promise<Answer<V>> {
    const policy = this.#o.policyFor(model);
    if (!policy.enabled) return { value: await compute(), outcome: 'off' };
    if (bypass) {
      this.#stats.bypasses++;
      return { value: await this.#computeAndStore(key, policy, compute), outcome: 'bypass' };
    }

    const running = this.#inFlight.get(key);
    if (running) {
      this.#stats.joins++;
      return { value: (await running).value, outcome: 'joined' };
    }
    // Synchronous tiers answer in place; the lookup of the first asynchronous one starts the flight.
    const stored = this.#lookup(key);
    if (stored && !(stored instanceof Promise)) return stored;
    const flight = this.#fly(key, policy, compute, stored);
    this.#inFlight.set(key, flight);
    try {
      return await flight;
    } finally {
      this.#inFlight.delete(key);
    }
  }

  /**
   * A stored answer for `key` from the first tier that has one (counted as a
   * hit; earlier tiers are refilled), or undefined. Never computes: the
   * caller falls back to getOrCompute. Answers in place when a synchronous
   * tier (memory) has the entry — the hit path then costs no promise — and
   * with a promise once an asynchronous tier (Redis) must be asked.
   */
  peek(key: string): V | undefined | Promise<V | undefined> {
    const stored = this.#lookup(key);
    return stored instanceof Promise ? stored.then((answer) => answer?.value) : stored?.value;
  }

  /** Removes a model's entries (every version, or one) from every tier, this gateway's and the shared one. */
  async purge(model: string, version?: string): Promise<PurgeResult> {
    const prefix = version === undefined ? `${this.#o.keyPrefix}:${encodeURIComponent(model)}:` : this.#prefixOf(model, version);
    const result: PurgeResult = { prefix, removed: {}, errors: {} };
    for (const tier of this.#o.tiers) {
      try {
        result.removed[tier.name] = await tier.deletePrefix(prefix);
      } catch (err) {
        result.errors[tier.name] = (err as Error)?.message ?? String(err);
      }
    }
    return result;
  }

  stats(): ResultCacheStats & { inFlight: number; tiers: Record<string, object> } {
    const tiers = Object.fromEntries(this.#o.tiers.map((tier) => [tier.name, tier.stats()]));
    return { ...this.#stats, hitsByTier: { ...this.#stats.hitsByTier }, inFlight: this.#inFlight.size, tiers };
  }

  /**
   * The tiers in order, for peek and getOrCompute: a hit from a synchronous
   * tier in place (counted; earlier tiers refilled), a promise of the rest of
   * the walk from the first asynchronous tier on, or undefined.
   */
  #lookup(key: string): Answer<V> | Promise<Answer<V> | undefined> | undefined {
    const { tiers } = this.#o;
    for (let i = 0; i < tiers.length; i++) {
      const found = tiers[i]!.get(key);
      if (found instanceof Promise) return this.#lookupFrom(key, i, found);
      const value = found && this.#decode(found);
      if (value) return this.#hit(key, i, found, value);
    }
    return undefined;
  }

  async #lookupFrom(key: string, from: number, pending: Promise<TierEntry | undefined>): Promise<Answer<V> | undefined> {
    const { tiers } = this.#o;
    for (let i = from; i < tiers.length; i++) {
      const found = await (i === from ? pending : tiers[i]!.get(key));
      const value = found && this.#decode(found);
      if (value) return this.#hit(key, i, found, value);
    }
    return undefined;
  }

  /** Awaits the asynchronous tiers' lookup (already started, when there is one), else computes. */
  async #fly(key: string, policy: CachePolicy, compute: () => Promise<V>, lookup: Promise<Answer<V> | undefined> | undefined): Promise<Answer<V>> {
    const stored = lookup && (await lookup);
    if (stored) return stored;
    const value = await this.#computeAndStore(key, policy, compute);
    this.#stats.misses++;
    return { value, outcome: 'miss' };
  }

  #hit(key: string, tierIndex: number, entry: TierEntry, value: V): Answer<V> {
    const tier = this.#o.tiers[tierIndex]!;
    this.#stats.hits++;
    this.#stats.hitsByTier[tier.name]!++;
    // Refill the faster tiers for the time the entry has left, never longer.
    for (let i = 0; i < tierIndex; i++) this.#o.tiers[i]!.set(key, entry.bytes, entry.ttlMs);
    return { value, outcome: 'hit' };
  }

  async #computeAndStore(key: string, policy: CachePolicy, compute: () => Promise<V>): Promise<V> {
    const value = await compute();
    const bytes = this.#codec.toBytes(value);
    if (bytes.byteLength > policy.maxEntryBytes) this.#stats.tooLarge++;
    else {
      for (const tier of this.#o.tiers) tier.set(key, bytes, policy.ttlSeconds * 1000);
      this.#stats.stores++;
    }
    return value;
  }

  #decode(entry: TierEntry): V | undefined {
    // The in-process tier hands back the same buffer on every hit of an entry: decode it once. (Values are
    // shared between hits, so nothing downstream may change them.)
    const known = this.#decoded.get(entry.bytes);
    if (known !== undefined) return known;
    try {
      const value = this.#codec.fromBytes(entry.bytes);
      this.#decoded.set(entry.bytes, value);
      return value;
    } catch {
      this.#stats.undecodable++;
      return undefined;
    }
  }

  #prefixOf(model: string, version: string): string {
    return `${this.#o.keyPrefix}:${encodeURIComponent(model)}:${encodeURIComponent(version)}:`;
  }
}
