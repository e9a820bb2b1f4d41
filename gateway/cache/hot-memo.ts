// The result cache's memo of decoded answers for hot keys: a hit on a key in
// the memo costs no decoding and hands back the same object every time, so
// the HTTP layer's reply rendered for that object (a WeakMap keyed by the
// answer) is reused too. Decoding a stored frame is cheap but not free, and
// rendering its JSON is most of a small hit's work.
//
// An entry is valid only while the tier still holds the exact stored entry
// it was decoded from: it keeps the tier's stamp (tier.ts), and a lookup
// with another stamp misses. The memo never serves bytes the tier dropped.
//
// Bounded by entries and by bytes, counted inside cache.memoryMaxBytes
// (memory-costs.ts: frame × 7 + overhead, for the decoded answer and the
// reply rendered for it). Eviction is CLOCK over the Map's insertion order
// (FIFO with second chance): the oldest entry goes unless it was hit since it
// was inserted, in which case it moves to the back with its bit cleared — a
// hit costs a field write, not the Map delete and re-insert of an exact LRU.

import { MEMO_ENTRY_OVERHEAD_BYTES, MEMO_FRAME_FACTOR } from './memory-costs.ts';

export type HotMemoLimits = { maxEntries: number; maxBytes: number };

export type HotMemoStats = { entries: number; bytes: number; maxEntries: number; maxBytes: number; hits: number; misses: number; evictions: number };

type Memo<V> = { stamp: number; value: V; bytes: number; hit: boolean };

/** What a memo entry is counted as: the decoded answer and its rendered reply (frame × 7), overhead and key. */
export function memoEntryBytes(key: string, frameBytes: number): number {
  return frameBytes * MEMO_FRAME_FACTOR + MEMO_ENTRY_OVERHEAD_BYTES + key.length;
}

export class HotMemo<V> {
  readonly #limits: HotMemoLimits;
  readonly #entries = new Map<string, Memo<V>>();
  #bytes = 0;
  #hits = 0;
  #misses = 0;
  #evictions = 0;

  constructor(limits: HotMemoLimits) {
    this.#limits = limits;
  }

  /** The value decoded from the stored entry with this stamp, if the memo holds it. */
  get(key: string, stamp: number): V | undefined {
    const memo = this.#entries.get(key);
    if (memo === undefined || memo.stamp !== stamp) {
      this.#misses++;
      return undefined;
    }
    memo.hit = true;
    this.#hits++;
    return memo.value;
  }

  /** Keeps a value decoded from the stored entry `stamp` of `key`; one that cannot fit is not kept. */
  set(key: string, stamp: number, value: V, frameBytes: number): void {
    this.delete(key);
    const bytes = memoEntryBytes(key, frameBytes);
    const { maxEntries, maxBytes } = this.#limits;
    if (bytes > maxBytes || maxEntries <= 0) return;
    // Room first, then the new entry: inserted before, it could be the victim itself.
    for (const [oldestKey, oldest] of this.#entries) {
      if (this.#entries.size < maxEntries && this.#bytes + bytes <= maxBytes) break;
      this.#entries.delete(oldestKey);
      if (oldest.hit) {
        // Second chance: to the back, bit cleared (the loop meets it again only after every other entry).
        oldest.hit = false;
        this.#entries.set(oldestKey, oldest);
      } else {
        this.#bytes -= oldest.bytes;
        this.#evictions++;
      }
    }
    this.#entries.set(key, { stamp, value, bytes, hit: false });
    this.#bytes += bytes;
  }

  delete(key: string): void {
    const memo = this.#entries.get(key);
    if (memo === undefined) return;
    this.#entries.delete(key);
    this.#bytes -= memo.bytes;
  }

  deletePrefix(prefix: string): void {
    for (const key of this.#entries.keys()) if (key.startsWith(prefix)) this.delete(key);
  }

  stats(): HotMemoStats {
    const { maxEntries, maxBytes } = this.#limits;
    return { entries: this.#entries.size, bytes: this.#bytes, maxEntries, maxBytes, hits: this.#hits, misses: this.#misses, evictions: this.#evictions };
  }
}
