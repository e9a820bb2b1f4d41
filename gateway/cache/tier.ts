// What the result cache asks of a storage tier. Two implement it: the
// in-process tier (synchronous, in front) and Redis (asynchronous, shared by
// gateways, behind). The result cache looks them up in order and refills the
// tiers in front of the one that answered.
//
//   request ──▶ memory ──miss──▶ redis ──miss──▶ compute ──▶ store in both
//                 ▲                │hit
//                 └────refill──────┘
//
// A tier never throws on the request path: a shared tier that fails answers
// "not found" (get) or drops the write (set), and counts it.
//
// Bytes in and out. `set` copies what it keeps: the caller may reuse its
// buffer as soon as set returns. `get` may answer with a view into memory
// the tier reuses (the in-process tier hands out views into its segments,
// which later writes overwrite): `TierEntry.bytes` is valid only until the
// next call to that tier (get, set or deletePrefix). A caller that keeps the
// bytes — or anything decoded from them as views, as answerFromFrame does —
// copies them first.

/** A stored answer and how long it may still be served. */
export type TierEntry = {
  /** Valid until the next call to the tier that returned it (see above). */
  bytes: Uint8Array;
  ttlMs: number;
  /**
   * Names this stored entry: every get of it answers the same stamp until it
   * is replaced, removed, expired or evicted, and no other entry ever gets
   * that stamp. A cache of what was decoded from the bytes is valid while
   * get answers the same stamp. Absent when a tier cannot tell (Redis: every
   * get reads a new copy).
   */
  stamp?: number;
};

export type CacheTier = {
  readonly name: string;
  /** Synchronous tiers answer directly, so an in-process hit costs no promise. */
  get(key: string): TierEntry | undefined | Promise<TierEntry | undefined>;
  /** Stores a copy of `bytes` for ttlMs; a shared tier writes in the background. */
  set(key: string, bytes: Uint8Array, ttlMs: number): void;
  /** Removes every key that starts with `prefix`; resolves with how many. */
  deletePrefix(prefix: string): number | Promise<number>;
  stats(): object;
};
