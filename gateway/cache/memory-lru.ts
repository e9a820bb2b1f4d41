// The in-process result cache tier, bounded by what it keeps alive in the
// process — payloads, keys, index and metadata — not only by payload bytes
// (a hostile client's 400k unique 166-byte answers once took 1 GB of RSS
// under a 64 MiB bound: keys, entry objects, one ArrayBuffer per payload).
//
//   Map<key, id> ──▶ entry table (typed arrays: segment, offset, length,
//                    expiry, stamp, hit bit)          entry-table.ts
//                      │
//                      ▼
//                    segments: [rec rec rec …][rec rec …] … [head: rec │ free]
//                                                            segments.ts
//
// Writes append to the head segment. When the head is full and the budget
// allows no other segment, the oldest one is reclaimed — CLOCK (second
// chance) at segment granularity, an approximation of LRU: the entries hit
// since they were written stay (moved to the front of that segment, which
// becomes the head, their reference bit cleared), expired and unreferenced
// ones go. A working set that is hit between two reclaims of its segment
// therefore stays however much other traffic passes through.
//
// `bytes` counts segments allocated (whole), the entry table (its capacity),
// and per entry INDEX_ENTRY_BYTES plus the key's characters (measured:
// memory-costs.ts). Every set ends within maxBytes: index growth past the
// bound frees the oldest segments (their referenced entries copied into the
// head while it has room).
//
// `get` hands out a view into a segment: valid until the tier is next called
// (tier.ts). No timers: expiry is checked on get and on reclaim.

import type { CacheTier, TierEntry } from './tier.ts';
import { EntryTable } from './entry-table.ts';
import { INDEX_ENTRY_BYTES } from './memory-costs.ts';
import { recordBytes, Segments } from './segments.ts';

export type MemoryLruOptions = {
  maxBytes: number;
  now: () => number;
  /** Default: maxBytes / 32 within [64 KiB, 4 MiB]. A payload must fit in one segment to be stored. */
  segmentBytes?: number;
};

export type LruStats = {
  entries: number;
  /** Everything counted against maxBytes (segments, entry table, index, keys). */
  bytes: number;
  maxBytes: number;
  evictions: number;
  expirations: number;
  /** Payloads larger than a segment: not stored here. */
  tooLarge: number;
  segments: number;
  segmentBytes: number;
  payloadBytes: number;
};

const KIB = 1024;

/**
 * A 32nd of the budget: a segment and the index of its entries are the step by which the tier grows, so smaller
 * steps use the budget better (a 14 MiB tier of classifier answers held 79 % of what fits with 16 segments' worth,
 * 94 % with 32), while a default tier (56 MiB) still takes any answer up to maxEntryBytes (1 MiB) in 1.75 MiB.
 */
export function defaultSegmentBytes(maxBytes: number): number {
  return Math.min(4096 * KIB, Math.max(64 * KIB, Math.floor(maxBytes / 32 / (4 * KIB)) * 4 * KIB));
}

export class MemoryLru implements CacheTier {
  readonly name = 'memory';
  readonly #maxBytes: number;
  readonly #now: () => number;
  readonly #segments: Segments;
  readonly #table = new EntryTable();
  readonly #ids = new Map<string, number>();
  #keyChars = 0;
  #payloadBytes = 0;
  /** Bytes of the live entries' records (header, payload, padding): with the index, the ratio that sizes the next segment. */
  #recordBytes = 0;
  #nextStamp = 1;
  #evictions = 0;
  #expirations = 0;
  #tooLarge = 0;

  constructor(options: MemoryLruOptions) {
    this.#maxBytes = options.maxBytes;
    this.#now = options.now;
    this.#segments = new Segments(options.segmentBytes ?? defaultSegmentBytes(options.maxBytes));
  }

  get(key: string): TierEntry | undefined {
    const id = this.#ids.get(key);
    if (id === undefined) return undefined;
    const t = this.#table;
    const ttlMs = t.expiresAtMs[id]! - this.#now();
    if (ttlMs <= 0) {
      this.#remove(id);
      this.#expirations++;
      return undefined;
    }
    t.hit[id] = 1;
    return { bytes: this.#segments.payload(t.segment[id]!, t.offset[id]!, t.length[id]!), ttlMs, stamp: t.stamp[id]! };
  }

  /** Stores a copy of `value` for ttlMs (the caller may reuse `value` afterwards). */
  set(key: string, value: Uint8Array, ttlMs: number): void {
    const old = this.#ids.get(key);
    if (old !== undefined) this.#remove(old);
    if (!(ttlMs > 0)) return;
    const record = recordBytes(value.byteLength);
    if (record > this.#segments.segmentBytes) {
      this.#tooLarge++;
      return;
    }
    const indexBytes = INDEX_ENTRY_BYTES + key.length;
    const id = this.#newId(indexBytes);
    if (id < 0) return;
    if (!this.#makeRoom(record, indexBytes)) {
      this.#table.release(id);
      return;
    }
    const t = this.#table;
    t.offset[id] = this.#segments.append(id, value);
    t.segment[id] = this.#segments.head;
    t.length[id] = value.byteLength;
    t.expiresAtMs[id] = this.#now() + ttlMs;
    t.stamp[id] = this.#nextStamp++;
    t.hit[id] = 0;
    t.keys[id] = key;
    this.#ids.set(key, id);
    this.#keyChars += key.length;
    this.#payloadBytes += value.byteLength;
    this.#recordBytes += record;
    while (this.#bytes() > this.#maxBytes && this.#ids.size > 0) this.#reclaimOldest(true);
  }

  /** Removes every entry whose key starts with `prefix`. */
  deletePrefix(prefix: string): number {
    let removed = 0;
    for (const [key, id] of this.#ids) {
      if (!key.startsWith(prefix)) continue;
      this.#remove(id);
      removed++;
    }
    return removed;
  }

  stats(): LruStats {
    return {
      entries: this.#ids.size,
      bytes: this.#bytes(),
      maxBytes: this.#maxBytes,
      evictions: this.#evictions,
      expirations: this.#expirations,
      tooLarge: this.#tooLarge,
      segments: this.#segments.count,
      segmentBytes: this.#segments.segmentBytes,
      payloadBytes: this.#payloadBytes,
    };
  }

  #bytes(): number {
    return this.#segments.bytes + this.#table.bytes + this.#ids.size * INDEX_ENTRY_BYTES + this.#keyChars;
  }

  /** A free entry id; the table grows only within the budget (releasing the oldest segments frees ids). -1: no room at all. */
  #newId(indexBytes: number): number {
    const t = this.#table;
    const fits = () => this.#bytes() + t.growthBytes + indexBytes <= this.#maxBytes;
    while (!t.hasFree && !fits() && this.#ids.size > 0) this.#reclaimOldest(true);
    return t.hasFree || fits() ? t.allocate() : -1;
  }

  /** Room in the head for a record: a new segment while the budget allows one, else the oldest reclaimed. */
  #makeRoom(record: number, indexBytes: number): boolean {
    const s = this.#segments;
    while (s.room < record) {
      if (this.#canAllocate(indexBytes)) s.allocate();
      else if (s.count === 0) return false;
      else this.#reclaimOldest(false);
    }
    return true;
  }

  /**
   * Whether a new segment fits, with the index its entries will bring: as
   * many index bytes per segment byte as the live entries have now (else a
   * segment of small entries would be allocated only to be freed again when
   * their index crosses the bound).
   */
  #canAllocate(indexBytes: number): boolean {
    const s = this.#segments;
    const indexPerByte = this.#recordBytes === 0 ? 0 : (this.#ids.size * INDEX_ENTRY_BYTES + this.#keyChars) / this.#recordBytes;
    const projected = s.count === 0 ? s.segmentBytes : s.segmentBytes * (1 + indexPerByte);
    return this.#bytes() + projected + indexBytes <= this.#maxBytes;
  }

  /**
   * CLOCK over segments (second chance): walks the oldest segment's records
   * in order; a record that is still its entry's live copy, was hit since it
   * was written and has not expired stays, its bit cleared — moved to the
   * front of this segment, which becomes the head (release false), or copied
   * into the head while it has room, the segment's buffer then freed
   * (release true: the budget needs the bytes back). The others go.
   */
  #reclaimOldest(release: boolean): void {
    const s = this.#segments;
    const t = this.#table;
    const segment = s.oldest;
    const isHead = segment === s.head;
    const used = s.used(segment);
    const now = this.#now();
    let kept = 0;
    for (let offset = 0; offset < used; ) {
      const id = s.idAt(segment, offset);
      const size = recordBytes(s.lengthAt(segment, offset));
      if (t.segment[id] === segment && t.offset[id] === offset) {
        const expired = t.expiresAtMs[id]! <= now;
        const referenced = t.hit[id] === 1 && !expired;
        if (referenced && !release) {
          s.move(segment, offset, kept);
          t.offset[id] = kept;
          t.hit[id] = 0;
          kept += size;
        } else if (referenced && !isHead && s.room >= size) {
          t.offset[id] = s.appendRecord(segment, offset);
          t.segment[id] = s.head;
          t.hit[id] = 0;
        } else {
          if (expired) this.#expirations++;
          else this.#evictions++;
          this.#remove(id);
        }
      }
      offset += size;
    }
    if (release && !isHead) s.release(segment);
    else s.reuseAsHead(segment, kept);
  }

  #remove(id: number): void {
    const t = this.#table;
    const key = t.keys[id]!;
    this.#ids.delete(key);
    this.#keyChars -= key.length;
    this.#payloadBytes -= t.length[id]!;
    this.#recordBytes -= recordBytes(t.length[id]!);
    t.release(id);
  }
}
