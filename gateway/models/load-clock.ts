// How long each model version took to load: the clock starts when a version
// turns LOADING (or a reload of its files begins, though it stays READY) and
// stops when it turns READY, its warm-up included. Read by GET /admin/models.

export type VersionLoad = { loadingSinceMs: number; readyAtMs?: number; loadMs?: number };

export class LoadClock {
  /** "name/version" → its last load. */
  readonly #loads = new Map<string, VersionLoad>();
  readonly #now: () => number;

  constructor(now: () => number) {
    this.#now = now;
  }

  /** A load of these versions begins now: the next READY stops their clocks. */
  begins(keys: readonly string[]): void {
    for (const key of keys) this.#loads.set(key, { loadingSinceMs: this.#now() });
  }

  /** A version's state, as recomputed: starts the clock when it starts loading, stops it when it turns READY. */
  observe(key: string, state: string): void {
    const known = this.#loads.get(key);
    if (state === 'LOADING' && (known === undefined || known.readyAtMs !== undefined)) this.#loads.set(key, { loadingSinceMs: this.#now() });
    else if (state === 'READY' && known !== undefined && known.readyAtMs === undefined) {
      const readyAtMs = this.#now();
      this.#loads.set(key, { loadingSinceMs: known.loadingSinceMs, readyAtMs, loadMs: readyAtMs - known.loadingSinceMs });
    }
  }

  last(key: string): VersionLoad | undefined {
    return this.#loads.get(key);
  }
}
