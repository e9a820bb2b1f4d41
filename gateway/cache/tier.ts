// What the result cache asks of a storage tier. Two implement it: the
// in-process LRU (synchronous, in front) and Redis (asynchronous, shared by
// gateways, behind). The result cache looks them up in order and refills the
// tiers in front of the one that answered.
//
//   request ──▶ memory ──miss──▶ redis ──miss──▶ compute ──▶ store in both
//                 ▲                │hit
//                 └────refill──────┘
//
// A tier never throws on the request path: a shared tier that fails answers
// "not found" (get) or drops the write (set), and counts it.

/** A stored answer and how long it may still be served. */
export type TierEntry = { bytes: Uint8Array; ttlMs: number };

export type CacheTier = {
  readonly name: string;
  /** Synchronous tiers answer directly, so an in-process hit costs no promise. */
  get(key: string): TierEntry | undefined | Promise<TierEntry | undefined>;
  /** Stores for ttlMs; a shared tier writes in the background. */
  set(key: string, bytes: Uint8Array, ttlMs: number): void;
  /** Removes every key that starts with `prefix`; resolves with how many. */
  deletePrefix(prefix: string): number | Promise<number>;
  stats(): object;
};
