// In-process result cache tier: least-recently-used eviction bounded by the
// bytes held (not the entry count — one [256,512] answer weighs as much as
// thousands of [1,10] ones), with a TTL per entry. A Map iterates in
// insertion order, so re-inserting on every hit keeps the oldest entry first
// and eviction is O(1) per entry.

import type { CacheTier, TierEntry } from './tier.ts';

export type LruStats = { entries: number; bytes: number; maxBytes: number; evictions: number; expirations: number };

type Entry = { value: Uint8Array; expiresAtMs: number };

export class MemoryLru implements CacheTier {
  readonly name = 'memory';
  readonly #maxBytes: number;
  readonly #now: () => number;
  readonly #entries = new Map<string, Entry>();
  #bytes = 0;
  #evictions = 0;
  #expirations = 0;

  constructor(options: { maxBytes: number; now: () => number }) {
    this.#maxBytes = options.maxBytes;
    this.#now = options.now;
  }

  get(key: string): TierEntry | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    const ttlMs = entry.expiresAtMs - this.#now();
    if (ttlMs <= 0) {
      this.#remove(key, entry);
      this.#expirations++;
      return undefined;
    }
    // Move to the most-recently-used end.
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    return { bytes: entry.value, ttlMs };
  }

  /** Stores a value for ttlMs; a value larger than the whole cache is not stored. */
  set(key: string, value: Uint8Array, ttlMs: number): void {
    const old = this.#entries.get(key);
    if (old) this.#remove(key, old);
    if (value.byteLength > this.#maxBytes || ttlMs <= 0) return;
    // A view into a larger buffer (e.g. a socket read) would keep all of it
    // alive while counting only its own bytes: store a copy of just the view.
    const own = value.byteLength === value.buffer.byteLength ? value : value.slice();
    this.#entries.set(key, { value: own, expiresAtMs: this.#now() + ttlMs });
    this.#bytes += value.byteLength;
    for (const [oldestKey, oldest] of this.#entries) {
      if (this.#bytes <= this.#maxBytes) break;
      this.#remove(oldestKey, oldest);
      this.#evictions++;
    }
  }

  /** Removes every entry whose key starts with `prefix`. */
  deletePrefix(prefix: string): number {
    let removed = 0;
    for (const [key, entry] of this.#entries) {
      if (!key.startsWith(prefix)) continue;
      this.#remove(key, entry);
      removed++;
    }
    return removed;
  }

  stats(): LruStats {
    return { entries: this.#entries.size, bytes: this.#bytes, maxBytes: this.#maxBytes, evictions: this.#evictions, expirations: this.#expirations };
  }

  #remove(key: string, entry: Entry): void {
    this.#entries.delete(key);
    this.#bytes -= entry.value.byteLength;
  }
}
