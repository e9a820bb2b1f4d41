// Per-entry metadata of the in-process tier as a struct of arrays: one typed
// array per field, indexed by entry id, instead of one object per entry.
// Hundreds of thousands of small entries then cost a few large arrays that
// the garbage collector never walks (typed arrays hold no pointers), and
// their memory is known exactly: SLOT_BYTES per slot of capacity.
//
//   id:        0      1      2      3   …
//   segment  [ 4    |  -1  |  4   |  7  ]   -1: free
//   offset   [ 0    |      |  176 |  0  ]   record start in the segment
//   length   [ 166  |      |  166 |  40 ]   payload bytes
//   expiresAt[ …ms  |      |  …   |  …  ]
//   stamp    [ 9    |      |  12  |  10 ]   never reused (see tier.ts)
//   hit      [ 1    |      |  0   |  0  ]   CLOCK's reference bit
//   keys     [ 'k9' |      | 'k12'| 'k10']  for removing the Map entry on eviction
//
// Ids are reused through a free stack; capacity grows by half when it runs
// out (doubling left up to half the table unused: 1.3 MB of a 14 MiB tier of
// classifier answers) and never shrinks. The tier counts it, so growth
// happens only within budget.

export const SLOT_BYTES =
  Int32Array.BYTES_PER_ELEMENT + // segment
  Uint32Array.BYTES_PER_ELEMENT + // offset
  Uint32Array.BYTES_PER_ELEMENT + // length
  Float64Array.BYTES_PER_ELEMENT + // expiresAtMs
  Float64Array.BYTES_PER_ELEMENT + // stamp
  Uint8Array.BYTES_PER_ELEMENT + // hit
  Int32Array.BYTES_PER_ELEMENT + // free stack
  8; // keys: one pointer per element (a packed JS array without pointer compression)

const INITIAL_CAPACITY = 64;

export class EntryTable {
  segment = new Int32Array(0);
  offset = new Uint32Array(0);
  length = new Uint32Array(0);
  expiresAtMs = new Float64Array(0);
  stamp = new Float64Array(0);
  hit = new Uint8Array(0);
  keys: (string | undefined)[] = [];
  #free = new Int32Array(0);
  #freeCount = 0;

  get capacity(): number {
    return this.segment.length;
  }

  /** Bytes held by the arrays: capacity × SLOT_BYTES. */
  get bytes(): number {
    return this.capacity * SLOT_BYTES;
  }

  /** Bytes the next allocate() adds when no id is free (0 when one is). */
  get growthBytes(): number {
    return this.#freeCount > 0 ? 0 : (this.#nextCapacity() - this.capacity) * SLOT_BYTES;
  }

  get hasFree(): boolean {
    return this.#freeCount > 0;
  }

  /** A free id (its fields are the caller's to fill), growing the table when none is free. */
  allocate(): number {
    if (this.#freeCount === 0) this.#grow(this.#nextCapacity());
    return this.#free[--this.#freeCount]!;
  }

  release(id: number): void {
    this.segment[id] = -1;
    this.keys[id] = undefined;
    this.#free[this.#freeCount++] = id;
  }

  #nextCapacity(): number {
    return Math.max(INITIAL_CAPACITY, Math.ceil(this.capacity * 1.5));
  }

  #grow(capacity: number): void {
    const old = this.capacity;
    this.segment = grown(this.segment, new Int32Array(capacity));
    this.offset = grown(this.offset, new Uint32Array(capacity));
    this.length = grown(this.length, new Uint32Array(capacity));
    this.expiresAtMs = grown(this.expiresAtMs, new Float64Array(capacity));
    this.stamp = grown(this.stamp, new Float64Array(capacity));
    this.hit = grown(this.hit, new Uint8Array(capacity));
    this.#free = grown(this.#free, new Int32Array(capacity));
    this.segment.fill(-1, old);
    // new Array(n).fill() is a packed array of exactly n pointers (8 bytes each, measured); push would over-allocate.
    const keys = new Array<string | undefined>(capacity).fill(undefined);
    for (let id = 0; id < old; id++) keys[id] = this.keys[id];
    this.keys = keys;
    // The new ids go on the free stack highest first, so the lowest is handed out first.
    for (let id = capacity - 1; id >= old; id--) this.#free[this.#freeCount++] = id;
  }
}

function grown<T extends Int32Array | Uint32Array | Float64Array | Uint8Array>(from: T, to: T): T {
  to.set(from as never);
  return to;
}
