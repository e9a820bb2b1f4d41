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
//
// Decoded answers are kept only for hot keys (hot-memo.ts), while the tier
// still holds the stored entry they came from, and they own their bytes: a
// tier may hand out views into memory it reuses (tier.ts), so what is
// decoded is decoded from a copy.

import { SlotMap } from '../../common/slot-map.ts';
import { cacheKey, type CacheKeyParts } from './cache-key.ts';
import { HotMemo, type HotMemoLimits, type HotMemoStats } from './hot-memo.ts';
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
  /** Decoded answers of hot keys kept between hits (memory-costs.ts splitMemoryBudget); without it every hit decodes. */
  hotMemo?: HotMemoLimits;
};

export type PurgeResult = { prefix: string; removed: Record<string, number>; errors: Record<string, string> };

type Answer<V> = { value: V; outcome: CacheOutcome };

const IDENTITY: CacheCodec<Uint8Array> = { toBytes: (v) => v, fromBytes: (b) => b };

export class ResultCache<V = Uint8Array> {
  readonly #settings: ResultCacheOptions<V>;
  readonly #codec: CacheCodec<V>;
  /**
   * One flight per key being looked up in an asynchronous tier or computed.
   * Bounded by the requests in flight, nothing to evict: each flight is
   * started by a request the HTTP front accepted (server.maxInFlightRequests
   * at once) and leaves the map when its lookup or computation settles
   * (bounded by that request's deadline). A SlotMap, not a Map: a Map's stale tables would keep every flight (and
   * the request behind it) alive into the old generation (common/slot-map.ts).
   */
  readonly #inFlight = new SlotMap<string, Promise<Answer<V>>>();
  readonly #stats: ResultCacheStats;
  readonly #memo: HotMemo<V> | undefined;

  constructor(options: ResultCacheOptions<V>) {
    this.#settings = options;
    this.#codec = options.codec ?? (IDENTITY as unknown as CacheCodec<V>);
    const hitsByTier = Object.fromEntries(options.tiers.map((tier) => [tier.name, 0]));
    this.#stats = { hits: 0, hitsByTier, misses: 0, joins: 0, bypasses: 0, stores: 0, tooLarge: 0, undecodable: 0 };
    this.#memo = options.hotMemo && options.hotMemo.maxBytes > 0 ? new HotMemo<V>(options.hotMemo) : undefined;
  }

  /** Whether answers of this model are cached at all (no key is needed when not and nothing else uses it). */
  enabledFor(model: string): boolean {
    return this.#settings.policyFor(model).enabled;
  }

  /**
   * The full key of a request: <prefix>:<model>:<version>:<sha256> (model and version URI-encoded, so ':' cannot blur
   * them). Joined, not concatenated: a join makes one flat string where `${a}${b}` keeps a rope of every piece
   * alive with the key, several times larger (memory-costs.ts), and the tiers keep keys.
   */
  keyFor(parts: CacheKeyParts): string {
    return this.keyOf(parts.model, parts.version, cacheKey(parts));
  }

  /** The full key from a digest computed apart (cacheKeySliced, for large inputs hashed in time slices). */
  keyOf(model: string, version: string, digest: string): string {
    return [this.#prefixOf(model, version), digest].join('');
  }

  async getOrCompute(model: string, key: string, bypass: boolean, compute: () => Promise<V>): Promise<Answer<V>> {
    const policy = this.#settings.policyFor(model);
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
    const prefix = version === undefined ? `${this.#settings.keyPrefix}:${encodeURIComponent(model)}:` : this.#prefixOf(model, version);
    const result: PurgeResult = { prefix, removed: {}, errors: {} };
    this.#memo?.deletePrefix(prefix);
    for (const tier of this.#settings.tiers) {
      try {
        result.removed[tier.name] = await tier.deletePrefix(prefix);
      } catch (err) {
        result.errors[tier.name] = (err as Error)?.message ?? String(err);
      }
    }
    return result;
  }

  stats(): ResultCacheStats & { inFlight: number; hotMemo: HotMemoStats | null; tiers: Record<string, object> } {
    const tiers = Object.fromEntries(this.#settings.tiers.map((tier) => [tier.name, tier.stats()]));
    const hotMemo = this.#memo?.stats() ?? null;
    return { ...this.#stats, hitsByTier: { ...this.#stats.hitsByTier }, inFlight: this.#inFlight.size, hotMemo, tiers };
  }

  /**
   * The tiers in order, for peek and getOrCompute: a hit from a synchronous
   * tier in place (counted; earlier tiers refilled), a promise of the rest of
   * the walk from the first asynchronous tier on, or undefined.
   */
  #lookup(key: string): Answer<V> | Promise<Answer<V> | undefined> | undefined {
    const { tiers } = this.#settings;
    for (let i = 0; i < tiers.length; i++) {
      const found = tiers[i]!.get(key);
      if (found instanceof Promise) return this.#lookupFrom(key, i, found);
      const value = found && this.#decode(key, found);
      if (value) return this.#hit(key, i, found, value);
    }
    return undefined;
  }

  async #lookupFrom(key: string, from: number, pending: Promise<TierEntry | undefined>): Promise<Answer<V> | undefined> {
    const { tiers } = this.#settings;
    for (let i = from; i < tiers.length; i++) {
      const found = await (i === from ? pending : tiers[i]!.get(key));
      const value = found && this.#decode(key, found);
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
    const tier = this.#settings.tiers[tierIndex]!;
    this.#stats.hits++;
    this.#stats.hitsByTier[tier.name]!++;
    // Refill the faster tiers for the time the entry has left, never longer.
    for (let i = 0; i < tierIndex; i++) this.#settings.tiers[i]!.set(key, entry.bytes, entry.ttlMs);
    return { value, outcome: 'hit' };
  }

  async #computeAndStore(key: string, policy: CachePolicy, compute: () => Promise<V>): Promise<V> {
    const value = await compute();
    const bytes = this.#codec.toBytes(value);
    if (bytes.byteLength > policy.maxEntryBytes) this.#stats.tooLarge++;
    else {
      for (const tier of this.#settings.tiers) tier.set(key, bytes, policy.ttlSeconds * 1000);
      this.#stats.stores++;
    }
    return value;
  }

  /**
   * The value of a stored entry: the memo's while the tier answers the stamp it was decoded under (the same object
   * on every hit: values are shared between hits, so nothing downstream may change them), else decoded from a copy
   * of the bytes (they may be a view into memory the tier reuses) and, for a stamped entry, memoized.
   */
  #decode(key: string, entry: TierEntry): V | undefined {
    const { stamp } = entry;
    const memo = stamp === undefined ? undefined : this.#memo;
    const known = memo?.get(key, stamp!);
    if (known !== undefined) return known;
    const own = new Uint8Array(entry.bytes.byteLength);
    own.set(entry.bytes);
    let value: V;
    try {
      value = this.#codec.fromBytes(own);
    } catch {
      this.#stats.undecodable++;
      return undefined;
    }
    memo?.set(key, stamp!, value, own.byteLength);
    return value;
  }

  #prefixOf(model: string, version: string): string {
    return `${this.#settings.keyPrefix}:${encodeURIComponent(model)}:${encodeURIComponent(version)}:`;
  }
}
