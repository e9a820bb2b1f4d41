// Callers that wait for something to become available, each at most its own
// time: the replica set's requests waiting for a ready replica, the
// registry's requests waiting for a version to finish loading. The owner
// wakes them on every change it sees; each waiter is then served, refused,
// or left waiting.

type Entry<K, T> = { key: K; resolve: (value: T) => void; reject: (err: unknown) => void; timer: NodeJS.Timeout };

/** What `wake` makes of one waiter: a value, a refusal, or undefined to keep it waiting. */
export type Settlement<T> = { value: T } | { error: unknown } | undefined;

export class TimedWaiters<K, T> {
  readonly #entries = new Set<Entry<K, T>>();
  readonly #unrefTimers: boolean;

  /** `unrefTimers`: a waiter's timer does not keep the process alive (its owner refuses it at shutdown instead). */
  constructor(options: { unrefTimers: boolean }) {
    this.#unrefTimers = options.unrefTimers;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Waiters whose key matches. */
  count(matches: (key: K) => boolean): number {
    let n = 0;
    for (const entry of this.#entries) if (matches(entry.key)) n++;
    return n;
  }

  /** Waits at most `waitMs`; then rejects with `timedOut()`. */
  wait(key: K, waitMs: number, timedOut: () => Error): Promise<T> {
    return new Promise((resolve, reject) => {
      const entry: Entry<K, T> = {
        key,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.#entries.delete(entry);
          reject(timedOut());
        }, waitMs),
      };
      if (this.#unrefTimers) entry.timer.unref();
      this.#entries.add(entry);
    });
  }

  /** Asks `settle` about each waiter, in the order they came. */
  wake(settle: (key: K) => Settlement<T>): void {
    for (const entry of this.#entries) {
      const settlement = settle(entry.key);
      if (!settlement) continue;
      clearTimeout(entry.timer);
      this.#entries.delete(entry);
      if ('value' in settlement) entry.resolve(settlement.value);
      else entry.reject(settlement.error);
    }
  }

  /** Refuses every waiter with `err`. */
  rejectAll(err: unknown): void {
    this.wake(() => ({ error: err }));
  }
}
