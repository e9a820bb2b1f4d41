// A map for entries that come and go all the time (requests in flight, keyed
// by id or cache key) whose values hold a request's state: the values live in
// an array of slots, and a Map holds only key → slot number.
//
// Why not a Map of the values themselves: V8's Map rehashes its table every
// few hundred inserts under insert/delete churn (deleted entries are only
// dropped by a rehash), and the table it leaves behind keeps every entry it
// held plus a pointer to its successor (for iterators that outlive it). Once
// one of those tables is in the old generation — always, right after a major
// GC, which promotes everything live — it is dead but uncollected until the
// next major GC, and the scavenger treats its pointers as roots: the next
// table survives, is promoted in turn, and so on. Every value ever stored
// then survives two scavenges and is promoted with all it references — a
// whole request per entry. The gateway promoted ~15 MB/s of dead requests
// that way at 8k req/s, its heap grew to 4× its live size between major GCs
// and V8 kept the freed pages pooled: ~480 MB RSS for ~50 MB live.
//
// Here the stale tables hold keys and small integers only; a slot is cleared
// the moment its entry goes, so no stale structure points at a value.

export class SlotMap<K, V> {
  readonly #slots = new Map<K, number>();
  #keys: (K | undefined)[] = [];
  #values: (V | undefined)[] = [];
  readonly #free: number[] = [];

  get size(): number {
    return this.#slots.size;
  }

  has(key: K): boolean {
    return this.#slots.has(key);
  }

  get(key: K): V | undefined {
    const slot = this.#slots.get(key);
    return slot === undefined ? undefined : this.#values[slot];
  }

  set(key: K, value: V): this {
    let slot = this.#slots.get(key);
    if (slot === undefined) {
      slot = this.#free.pop() ?? this.#values.length;
      this.#slots.set(key, slot);
      this.#keys[slot] = key;
    }
    this.#values[slot] = value;
    return this;
  }

  delete(key: K): boolean {
    const slot = this.#slots.get(key);
    if (slot === undefined) return false;
    this.#slots.delete(key);
    this.#keys[slot] = undefined;
    this.#values[slot] = undefined;
    this.#free.push(slot);
    return true;
  }

  /** Removes every entry, and lets go of the slot arrays. */
  clear(): void {
    this.#slots.clear();
    this.#keys = [];
    this.#values = [];
    this.#free.length = 0;
  }

  /** A snapshot of the entries (in no particular order): the caller may delete while walking it. */
  entries(): [K, V][] {
    const out: [K, V][] = [];
    for (const slot of this.#slots.values()) out.push([this.#keys[slot]!, this.#values[slot]!]);
    return out;
  }

  values(): V[] {
    const out: V[] = [];
    for (const slot of this.#slots.values()) out.push(this.#values[slot]!);
    return out;
  }
}
