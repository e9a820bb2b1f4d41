// A fast path for cache hits: the result-cache key is a hash over *decoded*
// tensors (so flat, nested and binary encodings of one tensor share an
// entry), which means a hit still pays for decoding the whole JSON body —
// on the heavy demo model (512 floats) about half the cost of a hit. A body
// that comes back byte for byte decodes to the same request, so this index
// remembers, per raw body (with the model, the resolved version and the
// binary header length that decide how it is parsed), the cache key it
// decoded to and the parts of the request the answer echoes (its id and
// which outputs go back as binary data). A repeat then goes straight to the
// cache tiers; a miss there (expired, evicted, purged) falls back to the full
// path, so an entry here can never serve an answer the tiers no longer hold.
//
// Bounded by entries (each is small: a digest, a key and an id), least
// recently used first out; per gateway process.

import { hash } from 'node:crypto';

export type RawBodyEntry = {
  key: string;
  id: string | undefined;
  binaryOutputs: string[] | undefined;
};

export class RawBodyIndex {
  readonly #maxEntries: number;
  readonly #entries = new Map<string, RawBodyEntry>();

  constructor(maxEntries: number) {
    this.#maxEntries = maxEntries;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The digest of a raw request body and everything that decides how it is parsed. */
  static digest(model: string, version: string, binaryHeaderLength: number | undefined, body: Uint8Array): string {
    // One-shot hashing of the body alone (no Hash object): about 1.5 µs less per request on a 5 KB body.
    return `${model.length}:${model}:${version.length}:${version}:${binaryHeaderLength ?? '-'}:${hash('sha256', body, 'base64')}`;
  }

  get(digest: string): RawBodyEntry | undefined {
    const entry = this.#entries.get(digest);
    if (entry) {
      // Re-inserting keeps the Map's insertion order least recently used first.
      this.#entries.delete(digest);
      this.#entries.set(digest, entry);
    }
    return entry;
  }

  set(digest: string, entry: RawBodyEntry): void {
    if (this.#maxEntries <= 0) return;
    this.#entries.delete(digest);
    this.#entries.set(digest, entry);
    if (this.#entries.size > this.#maxEntries) this.#entries.delete(this.#entries.keys().next().value!);
  }
}
